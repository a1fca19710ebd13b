"""Recommendation rows as a rule would have stored them, for tests of totals and of the page that shows them."""

from itertools import count

from django.utils import timezone

from dashboard.recommend.models import Recommendation

Kind, Status = Recommendation.Kind, Recommendation.Status
_serial = count(1)


def rec(  # noqa: PLR0913 - one argument per field a test varies
    team,
    account,
    kind: str,
    co2e_kg: float,
    usd: float | None,
    *,
    endpoint=None,
    variant: str = "AllTraffic",
    status: str = Status.OPEN,
    proposed: dict | None = None,
    region: str = "us-east-1",
) -> Recommendation:
    """One stored recommendation saving ``co2e_kg`` and ``usd`` a month (range ±20 %)."""
    serial = next(_serial)
    now = timezone.now()
    return Recommendation.objects.create(
        team=team,
        kind=kind,
        subject=f"test:{kind}:{serial}",
        account=account,
        region=region,
        endpoint=endpoint,
        variant_name=variant if endpoint is not None else "",
        title=f"{kind} #{serial}",
        proposal="Do the thing.",
        proposed=proposed or {},
        evidence={"hours": 48},
        evidence_hours=48,
        monthly_kwh_saved=co2e_kg * 2,
        monthly_co2e_kg_saved=co2e_kg,
        monthly_co2e_kg_saved_low=co2e_kg * 0.8,
        monthly_co2e_kg_saved_high=co2e_kg * 1.2,
        monthly_usd_saved=usd,
        confidence="medium",
        cli_command="aws sagemaker help",
        status=status,
        first_seen=now,
        computed_at=now,
    )
