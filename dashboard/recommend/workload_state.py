"""Whether a workload recommendation was applied (issue 19), for ``engine.CurrentState``: a training family's
newest job now runs as proposed (on Trainium, on Spot, on the proposed type and count), a tuning family's newest
tuning job searches as proposed (Bayesian, fewer in parallel, warm-started), or a notebook instance or Studio app
has auto-stop, is stopped or is gone. Three queries per team, whatever the number of recommendations."""

from __future__ import annotations

from dataclasses import dataclass

from collectors.models import TuningJob, Workload
from collectors.models.workloads import INTERACTIVE_KINDS, RUNNING_STATUSES, WorkloadKind
from dashboard.recommend.models import Recommendation
from dashboard.recommend.workload_rules import tuning_family

Kind = Recommendation.Kind
TRAINING_KINDS = frozenset({Kind.TRAINIUM, Kind.MANAGED_SPOT, Kind.TRAINING_GPU_LOW})
TUNING_KINDS = frozenset({Kind.TUNING_STRATEGY, Kind.TUNING_PARALLEL, Kind.TUNING_WARM_START})
IDLE_KINDS = frozenset({Kind.NOTEBOOK_IDLE, Kind.STUDIO_APP_IDLE})
WORKLOAD_KINDS = TRAINING_KINDS | TUNING_KINDS | IDLE_KINDS
ADAPTIVE_STRATEGIES = ("Bayesian", "Hyperband")  # both choose new jobs from finished ones


def place(subject: str) -> tuple[str, str, str]:
    """(account id, region, family or name) of a workload recommendation's subject "<kind>:<acct>/<region>/<name>"."""
    account, region, name = subject.split(":", 1)[1].split("/", 2)
    return account, region, name


@dataclass
class WorkloadState:
    families: dict[tuple[str, str, str], dict]  # newest training job per family
    tuning: dict[tuple[str, str, str], dict]  # newest tuning job per tuning family
    interactive: dict[int, dict]  # notebook instances and Studio apps by id

    @classmethod
    def of(cls, team) -> WorkloadState:
        families: dict[tuple[str, str, str], dict] = {}
        jobs = (
            Workload.objects.filter(account__team=team, kind=WorkloadKind.TRAINING)
            .order_by("start_time", "created_time", "id")
            .values("account__account_id", "region", "family", "name", "instance_type", "instance_count", "spot")
        )
        for job in jobs:  # oldest first: the newest of each family stays
            families[(job["account__account_id"], job["region"], job["family"] or job["name"])] = job
        tuning: dict[tuple[str, str, str], dict] = {}
        for job in (
            TuningJob.objects.filter(account__team=team)
            .order_by("created_time", "id")
            .values("account__account_id", "region", "name", "strategy", "max_parallel_jobs", "warm_start_type")
        ):
            tuning[(job["account__account_id"], job["region"], tuning_family(job["name"]))] = job
        interactive = {
            row["id"]: row
            for row in Workload.objects.filter(account__team=team, kind__in=INTERACTIVE_KINDS).values(
                "id", "status", "auto_stop", "deleted_at"
            )
        }
        return cls(families, tuning, interactive)

    def applied(self, rec: Recommendation) -> bool:
        proposed = rec.proposed or {}
        if rec.kind in IDLE_KINDS:
            found = self.interactive.get(rec.workload_id or -1)
            return (
                found is None
                or found["auto_stop"] is True
                or found["deleted_at"] is not None
                or found["status"] not in RUNNING_STATUSES
            )
        key = place(rec.subject)
        if rec.kind in TUNING_KINDS:
            latest = self.tuning.get(key)
            if latest is None:
                return False
            if rec.kind == Kind.TUNING_STRATEGY:
                return latest["strategy"] in ADAPTIVE_STRATEGIES
            if rec.kind == Kind.TUNING_PARALLEL:
                return (latest["max_parallel_jobs"] or 0) <= proposed.get("max_parallel_jobs", 0)
            return bool(latest["warm_start_type"])
        latest = self.families.get(key)
        if latest is None:
            return False
        if rec.kind == Kind.TRAINIUM:
            return latest["instance_type"].startswith("ml.trn")
        if rec.kind == Kind.MANAGED_SPOT:
            return bool(latest["spot"])
        return latest["instance_type"] == proposed.get("instance_type") and (latest["instance_count"] or 1) <= (
            proposed.get("instance_count") or 10**6
        )
