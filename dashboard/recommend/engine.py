"""Re-computes a team's recommendations and keeps their lifecycle.

A recommendation is identified by (team, kind, subject), so re-computing updates it instead of adding another.
Dismissed ones stay dismissed and snoozed ones stay snoozed until their date, with fresh numbers; one that no
rule produces any more is *resolved* when the configuration now matches what it proposed, else *withdrawn*.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from collectors.models import Endpoint, LogGroupSnapshot, VariantConfig
from dashboard.footprint.billed import discount_ratios
from dashboard.footprint.price_book import PriceBook
from dashboard.recommend.draft import Draft
from dashboard.recommend.endpoint_rules import endpoint_drafts
from dashboard.recommend.history import scaled_to_zero
from dashboard.recommend.models import Recommendation, TeamPolicy
from dashboard.recommend.workload_state import WORKLOAD_KINDS, WorkloadState
from dashboard.teams.models import Team

log = logging.getLogger(__name__)
Status = Recommendation.Status
LIVE = (Status.OPEN, Status.SNOOZED)


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    resolved: int = 0
    withdrawn: int = 0
    reopened: int = 0


def policy_of(team: Team) -> TeamPolicy:
    return TeamPolicy.objects.get_or_create(team=team)[0]


def drafts_for(team: Team, policy: TeamPolicy, now: datetime) -> list[Draft]:
    from dashboard.recommend.storage_rules import storage_drafts
    from dashboard.recommend.workload_rules import workload_drafts

    return endpoint_drafts(team, policy, now) + storage_drafts(team, policy, now) + workload_drafts(team, policy, now)


BILLED_RATE_DAYS = 30


def billed_rates(drafts: list[Draft], now: datetime) -> dict[int, float]:
    """Billed ÷ on-demand per endpoint of the drafts, over the last ``BILLED_RATE_DAYS`` of the cost exports."""
    ids = sorted({d.endpoint_id for d in drafts if d.endpoint_id is not None})
    return discount_ratios(ids, (now - timedelta(days=BILLED_RATE_DAYS)).date()) if ids else {}


def _fields(draft: Draft, now: datetime, rates: dict[int, float]) -> dict:
    saving = draft.saving
    rate = rates.get(draft.endpoint_id) if draft.endpoint_id is not None else None
    return {
        "account_id": draft.account_id,
        "region": draft.region,
        "endpoint_id": draft.endpoint_id,
        "workload_id": draft.workload_id,
        "variant_name": draft.variant_name,
        "title": draft.title,
        "proposal": draft.proposal,
        "proposed": draft.proposed,
        "evidence": draft.evidence,
        "evidence_hours": draft.evidence_hours,
        "evidence_start": draft.evidence_start,
        "evidence_end": draft.evidence_end,
        "monthly_kwh_saved": saving.kwh,
        "monthly_co2e_kg_saved": saving.co2e_kg,
        "monthly_co2e_kg_saved_low": saving.co2e_kg_low,
        "monthly_co2e_kg_saved_high": saving.co2e_kg_high,
        "monthly_usd_saved": saving.usd,
        "monthly_usd_saved_billed": None if saving.usd is None or rate is None else saving.usd * rate,
        "confidence": draft.confidence,
        "caveats": draft.caveats,
        "cli_command": draft.cli_command,
        "computed_at": now,
    }


def recompute(team: Team, now: datetime | None = None) -> Outcome:
    now = now or timezone.now()
    policy = policy_of(team)
    PriceBook.load()  # savings price proposals with the prices collected by now (savings.monthly reads this book)
    drafts = {(d.kind, d.subject): d for d in drafts_for(team, policy, now)}
    rates = billed_rates(list(drafts.values()), now)
    outcome = Outcome()
    with transaction.atomic():
        existing = {(r.kind, r.subject): r for r in Recommendation.objects.select_for_update().filter(team=team)}
        state = CurrentState.of(team)
        for key, draft in drafts.items():
            _upsert(team, existing.get(key), draft, now, outcome, rates)
        for key, rec in existing.items():
            if key not in drafts and rec.status in LIVE:
                _close(rec, state, now, outcome)
    log.info("recommendations for %s: %s", team, outcome)
    return outcome


def _upsert(  # noqa: PLR0913 - the team, the stored and the new recommendation, the clock, the tally, billed rates
    team: Team, rec: Recommendation | None, draft: Draft, now: datetime, outcome: Outcome, rates: dict[int, float]
) -> None:
    fields = _fields(draft, now, rates)
    if rec is None:
        Recommendation.objects.create(team=team, kind=draft.kind, subject=draft.subject, first_seen=now, **fields)
        outcome.created += 1
        return
    for name, value in fields.items():
        setattr(rec, name, value)
    if rec.status in (Status.RESOLVED, Status.WITHDRAWN) or (
        rec.status == Status.SNOOZED and rec.snoozed_until and rec.snoozed_until <= now.date()
    ):
        rec.status, rec.snoozed_until, rec.resolved_at = Status.OPEN, None, None
        outcome.reopened += 1
    rec.save()
    outcome.updated += 1


def _close(rec: Recommendation, state: CurrentState, now: datetime, outcome: Outcome) -> None:
    if state.applied(rec):
        rec.status, rec.resolved_at = Status.RESOLVED, now
        outcome.resolved += 1
    else:
        rec.status = Status.WITHDRAWN
        outcome.withdrawn += 1
    rec.save(update_fields=["status", "resolved_at"])


@dataclass
class CurrentState:
    """What the team's AWS looks like now, to tell a recommendation that was applied from one that lapsed."""

    endpoints: dict[int, dict]
    configs: dict[tuple[int, str], dict]
    retention: dict[tuple[str, str, str], int | None]
    workloads: WorkloadState | None = None  # jobs, tuning jobs, notebooks and Studio apps (issue 19)

    @classmethod
    def of(cls, team: Team) -> CurrentState:
        endpoints = {
            e["id"]: e
            for e in Endpoint.objects.filter(account__team=team).values(
                "id", "name", "deleted_at", "mode", "capture_enabled", "capture_pct"
            )
        }
        configs = {
            (c["endpoint_id"], c["variant_name"]): c
            for c in VariantConfig.objects.filter(endpoint__account__team=team, valid_to__isnull=True).values(
                "endpoint_id",
                "variant_name",
                "instance_type",
                "initial_instance_count",
                "serverless_memory_mb",
                "min_instance_count",
                "inference_components",
            )
        }
        latest = {}
        for row in (
            LogGroupSnapshot.objects.filter(account__team=team)
            .order_by("day")
            .values("account__account_id", "region", "name", "retention_days")
        ):
            latest[(row["account__account_id"], row["region"], row["name"])] = row["retention_days"]
        return cls(endpoints, configs, latest, WorkloadState.of(team))

    def applied(self, rec: Recommendation) -> bool:
        if rec.kind in WORKLOAD_KINDS:
            return self.workloads is not None and self.workloads.applied(rec)
        proposed, endpoint = rec.proposed or {}, self.endpoints.get(rec.endpoint_id or -1)
        if "deleted_endpoints" in proposed:
            names = {e["name"]: e for e in self.endpoints.values()}
            return all(names.get(n) is None or names[n]["deleted_at"] for n in proposed["deleted_endpoints"])
        if proposed.get("deleted"):
            return endpoint is None or endpoint["deleted_at"] is not None or endpoint["mode"] in ("async", "serverless")
        if "retention_days" in proposed:
            account, region, name = rec.subject.removeprefix("log-group:").split("/", 2)
            retention = self.retention.get((account, region, name))
            return retention is not None and retention <= proposed["retention_days"]
        if "capture_pct" in proposed:
            return endpoint is not None and (
                not endpoint["capture_enabled"] or (endpoint["capture_pct"] or 0) <= proposed["capture_pct"]
            )
        config = self.configs.get((rec.endpoint_id, rec.variant_name))
        if endpoint is None or config is None:
            return False
        return configuration_applied(rec, endpoint, config)


def configuration_applied(rec: Recommendation, endpoint: dict, config: dict) -> bool:
    """Whether the variant's configuration now is what ``rec`` proposed for it."""
    proposed = rec.proposed or {}
    if "instance_type" in proposed:
        return config["instance_type"] == proposed["instance_type"] and (
            config["initial_instance_count"] or 0
        ) <= proposed.get("instance_count", 10**6)
    if "serverless_memory_mb" in proposed:
        return config["serverless_memory_mb"] is not None
    if proposed.get("mode") == "async":
        return endpoint["mode"] == "async"
    if proposed.get("min_instance_count") == 0:  # scale to zero through inference components
        return config["inference_components"] and config["min_instance_count"] == 0
    if "min_capacity" in proposed:  # scale to zero through auto scaling: not collected, but seen in the hours
        return endpoint["deleted_at"] is None and scaled_to_zero(rec.endpoint_id, rec.variant_name)
    return False


def recompute_all(now: datetime | None = None) -> dict[str, Outcome]:
    return {team.slug: recompute(team, now) for team in Team.objects.all()}
