"""An evidence window is never empty: every rule stores its end exclusive (an hour rule the end of its last hour);
storage names its snapshot days."""

from datetime import UTC, date, datetime, timedelta

from dashboard.recommend.evidence import evidence_window, stored_on
from dashboard.recommend.models import Recommendation

Kind = Recommendation.Kind
TEN = datetime(2026, 11, 26, 10, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_a_single_hour_is_a_one_hour_window():
    rec = Recommendation(kind=Kind.OVERPROVISIONED, evidence_hours=1, evidence_start=TEN, evidence_end=TEN + HOUR)
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


def test_a_chart_link_covers_the_evidence_days_of_either_kind_of_rule():
    from dashboard.web.views.recommendations import chart_link

    midnight = datetime(2026, 11, 26, tzinfo=UTC)
    hours = Recommendation(
        kind=Kind.IDLE, endpoint_id=5, evidence_start=midnight - 14 * 24 * HOUR, evidence_end=midnight
    )
    assert chart_link(hours).endswith("?period=custom&from=2026-11-12&to=2026-11-25")  # the last hour: 25 Nov 23:00
    stored = Recommendation(
        kind=Kind.CAPTURE_LIFECYCLE, endpoint_id=5, evidence_start=midnight, evidence_end=midnight + 24 * HOUR
    )
    assert chart_link(stored).endswith("?period=custom&from=2026-11-26&to=2026-11-26")  # one snapshot day
