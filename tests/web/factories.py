"""Fleets built straight in the database for page tests (the collectors' own tests cover how rows arrive).

Hours are estimated by the real estimator and rolled up by the real rollup code (``footprint.estimate_pending``).
"""

from datetime import timedelta

from django.utils import timezone

from collectors.models import AwsAccount, Endpoint, VariantConfig, VariantHour
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
