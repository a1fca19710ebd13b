"""An evidence window is never empty: hours run to the end of the last hour; storage names its snapshot days."""

from datetime import UTC, date, datetime

from dashboard.recommend.evidence import evidence_window, stored_on
from dashboard.recommend.models import Recommendation

Kind = Recommendation.Kind
TEN = datetime(2026, 11, 26, 10, tzinfo=UTC)


def test_a_single_hour_is_a_one_hour_window():
    rec = Recommendation(kind=Kind.OVERPROVISIONED, evidence_hours=1, evidence_start=TEN, evidence_end=TEN)
    assert evidence_window(rec) == "1 hour, 2026-11-26 10:00 – 2026-11-26 11:00 UTC"


def test_hours_without_a_window_are_counted_only():
    assert evidence_window(Recommendation(kind=Kind.CONSOLIDATION, evidence_hours=48)) == "48 hours"


def test_storage_names_the_days_it_compared_even_when_stored_before_it_said_so():
    rec = Recommendation(
        kind=Kind.CAPTURE_LIFECYCLE,
        evidence={"first_day": "2026-11-12", "last_day": "2026-11-26", "lens_days": 14},
        evidence_hours=336,
        evidence_start=TEN,
        evidence_end=TEN,
    )
    assert evidence_window(rec) == "stored bytes on 2026-11-12 and 2026-11-26, 14 snapshot days"
    assert stored_on(date(2026, 11, 26), date(2026, 11, 26), 1) == "stored bytes on 2026-11-26, one snapshot day"
