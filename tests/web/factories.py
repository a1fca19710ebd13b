"""Fleets built straight in the database for page tests (the collectors' own tests cover how rows arrive).

Hours are estimated by the real estimator and rolled up by the real rollup code (``footprint.estimate_pending``).
"""

from datetime import date, timedelta

from django.utils import timezone

from collectors.models import (
    AwsAccount,
    AwsCarbonEstimate,
    Endpoint,
    IdleFinding,
    TuningJob,
    VariantConfig,
    VariantHour,
    Workload,
    WorkloadHour,
)
from dashboard.footprint import estimates as footprint


def this_hour():
    return timezone.now().replace(minute=0, second=0, microsecond=0)


def account(team, account_id: str, name: str = "", regions=("us-east-1", "eu-west-1")) -> AwsAccount:
    return AwsAccount.objects.create(
        team=team,
        account_id=account_id,
        name=name or f"acct-{account_id[-4:]}",
        regions=list(regions),
        role_arn=f"arn:aws:iam::{account_id}:role/Wattson",
    )


def endpoint(
    owner: AwsAccount,
    name: str,
    *,
    region: str = "us-east-1",
    tags: dict | None = None,
    instance_type: str = "ml.m5.xlarge",
    count: int = 1,
    hours: int = 48,
    cpu_util_pct: float = 20.0,
    gpu_util_pct: float | None = None,
    invocations: float = 100.0,
    variant: str = "AllTraffic",
    memory_util_pct: float = 40.0,
) -> Endpoint:
    now = this_hour()
    start = now - timedelta(hours=hours)
    row = Endpoint.objects.create(
        account=owner,
        region=region,
        name=name,
        status="InService",
        tags=tags or {},
        first_seen=start,
        last_seen=now,
        created_time=start,
    )
    VariantConfig.objects.create(
        endpoint=row,
        variant_name=variant,
        valid_from=start,
        instance_type=instance_type,
        initial_instance_count=count,
        current_instance_count=count,
    )
    VariantHour.objects.bulk_create(
        [
            VariantHour(
                endpoint=row,
                variant_name=variant,
                hour=start + timedelta(hours=h),
                instance_type=instance_type,
                instance_hours=count,
                cpu_util_pct=cpu_util_pct,
                gpu_util_pct=gpu_util_pct,
                memory_util_pct=memory_util_pct,
                invocations=invocations,
                collected_at=now,
            )
            for h in range(hours)
        ]
    )
    return row


def change_type(row: Endpoint, variant: str, instance_type: str, hours_ago: int, count: int = 1) -> None:
    """The variant moved to ``instance_type`` ``hours_ago`` hours ago: a new configuration, and hours to match."""
    at = this_hour() - timedelta(hours=hours_ago)
    VariantConfig.objects.filter(endpoint=row, variant_name=variant, valid_to__isnull=True).update(valid_to=at)
    VariantConfig.objects.create(
        endpoint=row,
        variant_name=variant,
        valid_from=at,
        instance_type=instance_type,
        initial_instance_count=count,
        current_instance_count=count,
    )
    VariantHour.objects.filter(endpoint=row, variant_name=variant, hour__gte=at).update(
        instance_type=instance_type, instance_hours=count, collected_at=timezone.now()
    )


def estimate() -> int:
    return footprint.estimate_pending()


def two_team_fleet(teams):
    """Team 0: a GPU and a CPU endpoint in two regions, one of them older than 30 days; team 1: one endpoint."""
    mine = account(teams[0], "111122223333")
    endpoint(mine, "ranker", instance_type="ml.g5.2xlarge", gpu_util_pct=35.0, hours=24 * 40)
    endpoint(mine, "embedder", region="eu-west-1", instance_type="ml.m5.xlarge", count=2, hours=72)
    theirs = account(teams[1], "444455556666")
    endpoint(theirs, "llm", instance_type="ml.p4d.24xlarge", gpu_util_pct=80.0, hours=72)
    return teams


def month_start(months_back: int) -> date:
    """The first day of the month ``months_back`` months before the current UTC month."""
    day = this_hour().date().replace(day=1)
    for _ in range(months_back):
        day = (day - timedelta(days=1)).replace(day=1)
    return day


def last_complete_months(count: int) -> list[date]:
    """The first days of the last ``count`` complete months, oldest first."""
    return [month_start(back) for back in range(count, 0, -1)]


def aws_carbon(  # noqa: PLR0913 - one AWS row: where, when, which version, how much
    owner: AwsAccount,
    month: date,
    location_kg: float,
    *,
    version: str = "v1",
    seen=None,
    region: str = "us-east-1",
    service: str = "AmazonSageMaker",
    origin: str = AwsCarbonEstimate.Origin.API,
) -> AwsCarbonEstimate:
    """AWS's estimate of one account, region, service and month (as the aws_carbon collector stores it): market-based
    half the location-based, scope 1 1 %, scope 2 60 % (market 10 %), scope 3 39 %."""
    seen = seen or timezone.now()
    return AwsCarbonEstimate.objects.create(
        account=owner,
        usage_account_id=owner.account_id,
        region=region,
        service=service,
        month=month,
        model_version=version,
        origin=origin,
        location_co2e_kg=location_kg,
        market_co2e_kg=location_kg / 2,
        scope1_co2e_kg=location_kg * 0.01,
        scope2_location_co2e_kg=location_kg * 0.6,
        scope2_market_co2e_kg=location_kg * 0.1,
        scope3_location_co2e_kg=location_kg * 0.39,
        scope3_market_co2e_kg=location_kg * 0.39,
        first_seen=seen,
        last_seen=seen,
    )


def idle_finding(owner: AwsAccount, name: str, monthly_usd: float, endpoint: Endpoint | None = None) -> IdleFinding:
    """Compute Optimizer's open idle finding on endpoint ``name`` in us-east-1 (matched to ``endpoint`` if given)."""
    now = timezone.now()
    return IdleFinding.objects.create(
        account=owner,
        region="us-east-1",
        resource_arn=f"arn:aws:sagemaker:us-east-1:{owner.account_id}:endpoint/{name}",
        resource_id=name,
        endpoint=endpoint,
        finding="Idle",
        monthly_savings=monthly_usd,
        currency="USD",
        lookback_days=14.0,
        first_seen=now,
        last_seen=now,
    )


def tuning_job(owner: AwsAccount, name: str, *, strategy: str = "Random", max_parallel: int = 10, max_jobs: int = 20,
               region: str = "us-east-1", warm_start_type: str = "", **fields) -> TuningJob:  # fmt: skip
    """A hyperparameter tuning job (its children: ``workload(..., tuning=...)``)."""
    now = this_hour()
    arn = f"arn:aws:sagemaker:{region}:{owner.account_id}:hyper-parameter-tuning-job/{name}"
    return TuningJob.objects.create(
        account=owner, region=region, name=name, arn=arn,
        status="Completed", strategy=strategy, max_parallel_jobs=max_parallel, max_jobs=max_jobs,
        warm_start_type=warm_start_type, created_time=now - timedelta(days=2), end_time=now - timedelta(days=1),
        first_seen=now, last_seen=now, **fields,
    )  # fmt: skip


def workload(  # noqa: PLR0913 - one workload: what, where, when, how busy
    owner: AwsAccount,
    name: str,
    *,
    kind: str = "training",
    region: str = "us-east-1",
    instance_type: str = "ml.p4d.24xlarge",
    count: int = 1,
    hours: int = 3,
    ended_hours_ago: int | None = 1,
    cpu_util_pct: float | None = 30.0,
    gpu_util_pct: float | None = 40.0,
    spot: bool = False,
    tuning: TuningJob | None = None,
    tags: dict | None = None,
    status: str = "",
    **fields,
) -> Workload:
    """A workload with one WorkloadHour per hour it ran (``count`` instance-hours each): a job that ran ``hours``
    hours and ended ``ended_hours_ago`` hours before this hour (None: still running), or a notebook/app in service
    for ``hours`` hours (utilization ``None`` for them: no metric; pass ``cpu_util_pct=None``)."""
    now = this_hour()
    end = None if ended_hours_ago is None else now - timedelta(hours=ended_hours_ago)
    start = (end or now) - timedelta(hours=hours)
    job = kind in ("training", "processing", "transform")
    running = "InProgress" if job else "InService"
    done = {"training": "Completed", "processing": "Completed", "transform": "Completed"}.get(kind, "Stopped")
    row = Workload.objects.create(
        account=owner,
        region=region,
        kind=kind,
        name=name,
        arn=f"arn:aws:sagemaker:{region}:{owner.account_id}:{kind}/{name}",
        status=status or (running if end is None else done),
        instance_type=instance_type,
        instance_count=count,
        spot=spot,
        tuning_job=tuning,
        family=fields.pop("family", name.rsplit("-", 1)[0]),
        created_time=start,
        start_time=start,
        end_time=end if job else None,
        training_seconds=hours * 3600 if kind == "training" and end else None,
        billable_seconds=(hours * 3600 * (0.3 if spot else 1)) if kind == "training" and end else None,
        tags=tags or {},
        first_seen=start,
        last_seen=now,
        **fields,
    )
    metrics = job and cpu_util_pct is not None
    WorkloadHour.objects.bulk_create(
        [
            WorkloadHour(
                workload=row,
                kind=kind,
                hour=start + timedelta(hours=h),
                instance_type=instance_type,
                instance_hours=count,
                spot_instance_hours=count if spot else 0.0,
                hosts=count if metrics else 0,
                cpu_util_pct=cpu_util_pct,
                gpu_util_pct=gpu_util_pct,
                gpu_util_max_pct=None if gpu_util_pct is None else min(100.0, gpu_util_pct * 1.5),
                util_source="metrics" if metrics else "assumed",
                collected_at=now,
            )
            for h in range(hours)
        ]
    )
    return row
