"""Reconciliation rows and the idle comparison, recomputed independently from the rows the tests create."""

import datetime as dt

import pytest
from django.db.models import Sum
from django.utils import timezone

from collectors.models import IdleFinding, VariantHour
from dashboard.footprint import reconciliation
from dashboard.footprint.idle import IdlePolicy
from tests.web.factories import account, aws_carbon, endpoint, estimate, idle_finding, month_start, this_hour

pytestmark = pytest.mark.django_db


def our_month(owner, region, month):
    """Our sums for one account, region and month, straight from the estimated hours."""
    start = dt.datetime.combine(month, dt.time(), dt.UTC)
    stop = dt.datetime.combine((month + dt.timedelta(days=32)).replace(day=1), dt.time(), dt.UTC)
    hours = VariantHour.objects.filter(endpoint__account=owner, endpoint__region=region, hour__gte=start, hour__lt=stop)
    sums = hours.aggregate(
        co2e=Sum("estimate__co2e_kg"), embodied=Sum("estimate__embodied_co2e_kg"), kwh=Sum("estimate__energy_kwh")
    )
    return {key: value or 0.0 for key, value in sums.items()}, hours.values("hour").distinct().count()


@pytest.fixture
def fleet(teams):
    mine = account(teams[0], "111122223333")
    endpoint(mine, "ranker", hours=24 * 75)
    theirs = account(teams[1], "444455556666")
    endpoint(theirs, "llm", hours=24 * 75)
    estimate()
    return mine, theirs


def test_rows_recomputed_latest_version_and_one_sided_months(teams, fleet):
    mine, theirs = fleet
    last, before, old = month_start(1), month_start(2), month_start(8)
    aws_carbon(mine, last, 40.0, version="v1", seen=timezone.now() - dt.timedelta(days=20))
    aws_carbon(
        mine, last, 55.0, version="v2", seen=timezone.now() - dt.timedelta(days=2)
    )  # a revision: the latest wins
    aws_carbon(mine, old, 0.0)  # below AWS's precision, and a month we have no hours of
    aws_carbon(mine, last, 999.0, service="AmazonEC2")  # another service: not ours to compare
    aws_carbon(theirs, last, 777.0)  # another team

    first, stop = reconciliation.last_complete_months(this_hour().date())
    assert (first, stop) == (month_start(12), month_start(0))
    found = {(r["account_id"], r["month"]): r for r in reconciliation.rows(teams[0], first, stop)}
    assert {key[0] for key in found} == {"111122223333"}

    row = found[("111122223333", f"{last:%Y-%m}")]
    ours, hours = our_month(mine, "us-east-1", last)
    assert row["aws_location_based_co2e_kg"] == 55.0
    assert row["aws_market_based_co2e_kg"] == 27.5
    assert row["aws_model_version"] == "v2" and row["aws_versions"] == 2
    assert row["aws_below_precision"] is False
    assert row["co2e_kg"] == pytest.approx(ours["co2e"])
    assert row["embodied_co2e_kg"] == pytest.approx(ours["embodied"])
    assert row["energy_kwh"] == pytest.approx(ours["kwh"])
    assert row["co2e_kg"] > 0
    assert row["ratio"] == pytest.approx(55.0 / (ours["co2e"] + ours["embodied"]))
    days = (month_start(0) - last).days
    assert row["coverage_pct"] == pytest.approx(100.0 * hours / (24 * days))

    # We have hours, AWS no row yet: AWS null, ours summed; the month started before our first hour: partial.
    partial = found[("111122223333", f"{before:%Y-%m}")]
    ours, hours = our_month(mine, "us-east-1", before)
    assert partial["aws_location_based_co2e_kg"] is None and partial["aws_model_version"] is None
    assert partial["ratio"] is None
    assert partial["co2e_kg"] == pytest.approx(ours["co2e"])
    days = (last - before).days
    assert partial["coverage_pct"] == pytest.approx(100.0 * hours / (24 * days))

    # AWS has it, we have no hours: ours 0, coverage 0, below precision flagged, no ratio.
    lone = found[("111122223333", f"{old:%Y-%m}")]
    assert lone["aws_below_precision"] is True and lone["aws_location_based_co2e_kg"] == 0.0
    assert lone["co2e_kg"] == 0.0 and lone["energy_kwh"] == 0.0 and lone["coverage_pct"] == 0.0
    assert lone["ratio"] is None


def test_the_export_s_older_versions_read_later_do_not_displace_the_latest(teams, fleet):
    """The CARBON_EMISSIONS export delivers a month's older versions too, often read after the API's newest: the
    latest is the highest model version, whenever it was read, and every version is listed, once, with its origins."""
    mine, _ = fleet
    last = month_start(1)
    now = timezone.now()
    aws_carbon(mine, last, 55.0, version="v3.10.0", seen=now - dt.timedelta(days=3))  # the API: the newest
    aws_carbon(mine, last, 48.0, version="v3.9.1", seen=now - dt.timedelta(days=1), origin="export")
    aws_carbon(mine, last, 55.0, version="v3.10.0", seen=now - dt.timedelta(days=1), origin="export")
    aws_carbon(mine, last, 41.0, version="v2.0.0", seen=now, origin="export")  # read last, oldest version
    first, stop = reconciliation.last_complete_months(this_hour().date())
    (row,) = [r for r in reconciliation.rows(teams[0], first, stop) if r["month"] == f"{last:%Y-%m}"]
    assert (row["aws_model_version"], row["aws_location_based_co2e_kg"], row["aws_versions"]) == ("v3.10.0", 55.0, 3)
    assert [(v["model_version"], v["location_co2e_kg"]) for v in row["aws_history"]] == [
        ("v2.0.0", 41.0),
        ("v3.9.1", 48.0),
        ("v3.10.0", 55.0),
    ]
    assert row["aws_history"][-1]["origins"] == ["CARBON_EMISSIONS data export", "Sustainability API"]


def test_filters_and_gap(teams, fleet):
    mine, _ = fleet
    last = month_start(1)
    aws_carbon(mine, last, 50.0)
    aws_carbon(mine, last, 5.0, region="eu-west-1")
    first, stop = reconciliation.last_complete_months(this_hour().date())
    assert [r["region"] for r in reconciliation.rows(teams[0], first, stop, region="eu-west-1")] == ["eu-west-1"]
    assert reconciliation.rows(teams[0], first, stop, account_id="444455556666") == []
    one = reconciliation.rows(teams[0], last, month_start(0), region="us-east-1")
    assert [r["month"] for r in one] == [f"{last:%Y-%m}"]
    items = reconciliation.gap(one[0])
    operational, scope3, collection = items[:3]
    assert operational.aws_kg == pytest.approx(50.0 * 0.61)
    assert operational.difference_kg == pytest.approx(50.0 * 0.61 - one[0]["co2e_kg"])
    assert scope3.aws_kg == pytest.approx(50.0 * 0.39) and scope3.ours_kg == one[0]["embodied_co2e_kg"]
    whole = one[0]["co2e_kg"] + one[0]["embodied_co2e_kg"]
    assert collection.ours_kg == pytest.approx(whole * 100 / one[0]["coverage_pct"])
    assert 1.0 < reconciliation.pue("us-east-1") < 1.3


def test_idle_comparison_groups(teams):
    mine = account(teams[0], "111122223333")
    both = endpoint(mine, "both-idle", hours=24 * 10, invocations=0.0, cpu_util_pct=1.0)
    ours_only = endpoint(mine, "ours-idle", hours=24 * 10, invocations=0.0, cpu_util_pct=1.0)
    aws_only = endpoint(mine, "busy", hours=24 * 10, invocations=3.0)
    estimate()
    now = timezone.now()
    idle_finding(mine, "both-idle", 120.0, both)
    idle_finding(mine, "busy", 120.0, aws_only)
    idle_finding(mine, "gone", 120.0)  # an endpoint we do not know
    IdleFinding.objects.create(
        account=mine,
        region="us-east-1",
        resource_arn="arn:old",
        endpoint=ours_only,
        finding="Idle",
        first_seen=now,
        last_seen=now,
        resolved_at=now,
    )  # resolved: AWS no longer flags it
    policy = IdlePolicy(min_hours=7 * 24)
    found = {r["endpoint"]: r for r in reconciliation.idle(teams[0], policy, now)}
    assert found["both-idle"]["flagged_by"] == "both" and found["both-idle"]["reason"] == ""
    assert found["ours-idle"]["flagged_by"] == "ours"
    assert found["busy"]["flagged_by"] == "aws"
    assert "inferences" in found["busy"]["reason"]
    assert (found["gone"]["flagged_by"], found["gone"]["endpoint_id"]) == ("aws", None)  # listed by its name

    # Our waste: the idle period's estimated hours, operational + embodied, straight from the hours.
    hours = VariantHour.objects.filter(endpoint=ours_only)
    sums = hours.aggregate(
        kwh=Sum("estimate__energy_kwh"), co2e=Sum("estimate__co2e_kg"), emb=Sum("estimate__embodied_co2e_kg")
    )
    assert found["ours-idle"]["waste_kwh"] == pytest.approx(sums["kwh"])
    assert found["ours-idle"]["waste_co2e_kg"] == pytest.approx(sums["co2e"] + sums["emb"])
    # AWS-only: over its 14-day look-back, i.e. all of the 10 days we have.
    busy = VariantHour.objects.filter(endpoint=aws_only).aggregate(kwh=Sum("estimate__energy_kwh"))
    assert found["busy"]["waste_kwh"] == pytest.approx(busy["kwh"])
    assert found["busy"]["aws_monthly_savings"] == 120.0

    assert all(r["endpoint"] != "ours-idle" for r in reconciliation.idle(teams[1], policy, now))


def test_no_ratio_for_a_month_we_collected_only_part_of(teams, fleet):
    mine, _ = fleet
    before = month_start(2)  # the fleet's 75 days of hours begin inside it
    aws_carbon(mine, before, 30.0)
    first, stop = reconciliation.last_complete_months(this_hour().date())
    row = next(r for r in reconciliation.rows(teams[0], first, stop) if r["month"] == f"{before:%Y-%m}")
    assert 0 < row["coverage_pct"] < reconciliation.RATIO_MIN_COVERAGE_PCT and row["co2e_kg"] > 0
    assert row["aws_location_based_co2e_kg"] == 30.0 and row["ratio"] is None
    whole = row["co2e_kg"] + row["embodied_co2e_kg"]
    collection = reconciliation.gap(row)[2]  # the gap still compares: ours scaled to the whole month
    assert collection.ours_kg == pytest.approx(whole * 100 / row["coverage_pct"])
