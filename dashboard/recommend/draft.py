"""What a rule produces: a recommendation before the lifecycle (open, dismissed, snoozed, resolved) is applied."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from datetime import datetime

from dashboard.recommend.models import Recommendation

Kind = Recommendation.Kind
Confidence = Recommendation.Confidence
HOURS_PER_MONTH = 730  # 8,760 / 12: "monthly" savings are for this many hours


@dataclass
class Saving:
    """Monthly savings of a change (positive: less); CO2e is operational plus embodied, with its range."""

    kwh: float
    co2e_kg: float
    co2e_kg_low: float
    co2e_kg_high: float
    usd: float | None

    @classmethod
    def difference(cls, current: Saving, proposed: Saving) -> Saving:
        low, high = current.co2e_kg_low - proposed.co2e_kg_low, current.co2e_kg_high - proposed.co2e_kg_high
        point = current.co2e_kg - proposed.co2e_kg
        usd = None if current.usd is None or proposed.usd is None else current.usd - proposed.usd
        # Bounds subtracted across two types of unequal uncertainty (a measured host against a flagged one) need
        # not bracket the point; the range of a saving always holds its point.
        return cls(current.kwh - proposed.kwh, point, min(low, high, point), max(low, high, point), usd)


@dataclass
class Draft:
    """One recommendation as a rule computed it. ``subject`` with ``kind`` identifies it across re-computations."""

    kind: str
    subject: str
    account_id: int  # AwsAccount primary key
    region: str
    title: str
    proposal: str
    saving: Saving
    confidence: str
    cli_command: str
    endpoint_id: int | None = None
    workload_id: int | None = None  # a job's, notebook instance's or Studio app's (issue 19)
    variant_name: str = ""
    proposed: dict = field(default_factory=dict)
    evidence: dict = field(default_factory=dict)
    evidence_hours: int = 0
    evidence_start: datetime | None = None
    evidence_end: datetime | None = None
    caveats: str = ""


def command(*argv: str) -> str:
    """One shell command line, every argument quoted for a POSIX shell."""
    return shlex.join(str(arg) for arg in argv)


def commands(*lines: list[str]) -> str:
    return " && \\\n  ".join(command(*line) for line in lines)
