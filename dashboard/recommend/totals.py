"""What a list of recommendations saves, counted once: the one definition pages, digests and the API read.

Several rules propose alternatives for the same variant (right-size it, move it to Graviton or off its GPU, to a
lower-carbon region, delete it when idle): applying one changes what the others would save, so their savings do
not add up. A total counts at most one alternative per variant: the one the team applied (resolved), else one it
keeps (open, then snoozed), else the largest saving (kg CO2e, then dollars). A consolidation replaces several
endpoints at once: it is counted instead of its members' alternatives only when it saves more CO2e than they do
together. Storage items (a log group, a capture prefix) are counted each on its own.

Storage items whose savings round to nothing on the page (it prints kg CO2e to two decimals and dollars whole) are
*minor*: under ``MINOR_CO2E_KG`` and ``MINOR_USD`` a month. The page shows them as one collapsed line with their
count and summed savings, not one card each; totals still count them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dashboard.recommend.models import STORAGE_KINDS, Recommendation
from dashboard.teams.models import Team

Kind, Status = Recommendation.Kind, Recommendation.Status
MINOR_CO2E_KG = 0.005  # kg CO2e a month: shows as "0.00 kg CO2e"
MINOR_USD = 0.50  # dollars a month: a small cost saving beside a CO2e saving that prints as nothing
VARIANT_KINDS = frozenset(Kind.values) - STORAGE_KINDS - {Kind.CONSOLIDATION}
# Which alternative of a variant the team chose: applied first, then kept, then the ones it turned down.
STATUS_RANK: dict[str, int] = {
    Status.RESOLVED: 0,
    Status.OPEN: 1,
    Status.SNOOZED: 2,
    Status.WITHDRAWN: 3,
    Status.DISMISSED: 4,
}


@dataclass(frozen=True)
class Totals:
    """Monthly savings of the counted recommendations; ``usd`` sums the priced ones (``unpriced`` have none)."""

    co2e_kg: float
    usd: float
    counted: int
    shown: int
    unpriced: int

    @property
    def left_out(self) -> int:
        """Alternatives shown but not counted, because another one for the same variant is."""
        return self.shown - self.counted


def is_minor(rec: Recommendation) -> bool:
    """A storage item saving less than ``MINOR_CO2E_KG`` and ``MINOR_USD`` a month (unpriced: by CO2e alone)."""
    cheap = rec.monthly_usd_saved is None or rec.monthly_usd_saved < MINOR_USD
    return rec.kind in STORAGE_KINDS and rec.monthly_co2e_kg_saved < MINOR_CO2E_KG and cheap


def split_minor(recs: Iterable[Recommendation]) -> tuple[list[Recommendation], list[Recommendation]]:
    """(the recommendations worth a card each, the minor ones), each in the order given."""
    recs = list(recs)
    return [r for r in recs if not is_minor(r)], [r for r in recs if is_minor(r)]


def preference(rec: Recommendation) -> tuple[int, float, float, int]:
    """Sort key: the alternative a total counts for its variant comes first."""
    return (STATUS_RANK.get(rec.status, 5), -rec.monthly_co2e_kg_saved, -(rec.monthly_usd_saved or 0), rec.pk or 0)


def one_per_variant(recs: Iterable[Recommendation]) -> list[Recommendation]:
    """The recommendations a total counts: the preferred alternative of each variant, every other item once."""
    chosen: dict[tuple[object, ...], Recommendation] = {}
    for rec in sorted(recs, key=preference):
        key = (rec.endpoint_id, rec.variant_name) if rec.kind in VARIANT_KINDS else ("item", rec.kind, rec.pk)
        chosen.setdefault(key, rec)
    counted = [r for r in chosen.values() if r.kind != Kind.CONSOLIDATION]
    for consolidation in (r for r in chosen.values() if r.kind == Kind.CONSOLIDATION):
        counted = _with_consolidation(counted, consolidation)
    return counted


def consolidated(rec: Recommendation, consolidation: Recommendation) -> bool:
    """Whether ``rec`` is about a variant of an endpoint that ``consolidation`` would delete."""
    names = (consolidation.proposed or {}).get("deleted_endpoints", [])
    same_place = rec.account_id == consolidation.account_id and rec.region == consolidation.region
    return rec.kind in VARIANT_KINDS and same_place and rec.endpoint is not None and rec.endpoint.name in names


def _with_consolidation(counted: list[Recommendation], consolidation: Recommendation) -> list[Recommendation]:
    members = [r for r in counted if consolidated(r, consolidation)]
    if consolidation.monthly_co2e_kg_saved <= sum(r.monthly_co2e_kg_saved for r in members):
        return counted
    return [r for r in counted if r not in members] + [consolidation]


def savings_total(recs: Iterable[Recommendation]) -> Totals:
    """Monthly savings of ``recs`` (endpoints loaded), counting one alternative per variant (module docstring)."""
    recs = list(recs)
    counted = one_per_variant(recs)
    priced = [r.monthly_usd_saved for r in counted if r.monthly_usd_saved is not None]
    return Totals(
        co2e_kg=sum(r.monthly_co2e_kg_saved for r in counted),
        usd=sum(priced),
        counted=len(counted),
        shown=len(recs),
        unpriced=len(counted) - len(priced),
    )


def team_savings_total(team: Team, status: str = Status.OPEN) -> Totals:
    """The team's recommendations of ``status`` ("" for any), totalled as the Recommendations page totals them."""
    recs = Recommendation.objects.filter(team=team).select_related("endpoint")
    return savings_total(recs.filter(status=status) if status else recs)
