"""What a recommendation's evidence covers, in words, and never as an empty window.

Endpoint rules look at hours: their window runs from the start of the first hour to the end of the last one (a
single hour is a one-hour window, not "10:00 – 10:00"). Storage rules look at daily snapshots of stored bytes:
they name the days they compared (``stored_on``), which is what their evidence is, not an hour window.
"""

from __future__ import annotations

from datetime import date

from dashboard.recommend.models import STORAGE_KINDS, Recommendation

SNAPSHOT_KINDS = STORAGE_KINDS  # storage rules compare daily snapshots


def stored_on(first: date, last: date, days: int) -> str:
    """The snapshot days a storage rule compared, e.g. "stored bytes on 2026-11-12 and 2026-11-26, 3 snapshot
    days"; a single day says so, since growth cannot be measured from one."""
    if first == last:
        return f"stored bytes on {first.isoformat()}, one snapshot day"
    return f"stored bytes on {first.isoformat()} and {last.isoformat()}, {days} snapshot days"


def hours_window(rec: Recommendation) -> str:
    """'336 hours, 2026-11-12 16:00 – 2026-11-26 16:00 UTC': the first hour's start to the last hour's end."""
    count = f"{rec.evidence_hours} hour{'' if rec.evidence_hours == 1 else 's'}"
    if rec.evidence_start is None or rec.evidence_end is None:
        return count
    end = rec.evidence_end  # exclusive: the end of the last hour looked at
    return f"{count}, {rec.evidence_start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} UTC"


def evidence_window(rec: Recommendation) -> str:
    """What the rule looked at: snapshot days for storage rules, an hour window for the others."""
    if rec.kind in SNAPSHOT_KINDS:
        if described := (rec.evidence or {}).get("compared"):
            return str(described)
        evidence = rec.evidence or {}
        if first := evidence.get("first_day"):  # computed before "compared" was stored
            days = evidence.get("snapshot_days") or evidence.get("lens_days") or 0
            return stored_on(date.fromisoformat(first), date.fromisoformat(evidence["last_day"]), days)
    return hours_window(rec)
