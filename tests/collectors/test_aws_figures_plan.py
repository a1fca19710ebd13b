"""AWS's own figures are collected daily, not hourly: its carbon estimates once per account (account-wide data, in
us-east-1), Compute Optimizer's idle findings per account and region."""

from collectors import runner
from collectors.models.health import Source


def test_the_daily_sources_are_planned_once_per_account_or_per_region_and_never_hourly(prod, research):
    jobs = runner.plan([prod, research], sources=[Source.AWS_CARBON, Source.COMPUTE_OPTIMIZER])
    carbon = [(account, region) for account, region, source in jobs if source == Source.AWS_CARBON]
    assert carbon == [(prod, "us-east-1"), (research, "us-east-1")]
    findings = sorted((account.account_id, region) for account, region, s in jobs if s == Source.COMPUTE_OPTIMIZER)
    assert findings == sorted((a.account_id, r) for a in (prod, research) for r in a.regions)
    assert not {Source.AWS_CARBON, Source.COMPUTE_OPTIMIZER} & set(runner.HOURLY_SOURCES)
    default = {source for _, _, source in runner.plan([prod])}  # a plain `manage.py collect` runs them too
    assert {Source.AWS_CARBON, Source.COMPUTE_OPTIMIZER} <= default
