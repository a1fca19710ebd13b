"""The ``prices`` source: list prices from the (simulated) AWS Price List over HTTP, hosting prices only, history
kept, faults handled as for the other sources; the cost of an hour is the price in effect then."""

import datetime as dt
import json

import pandas as pd
import pytest
from django.core.management import call_command
from django.urls import reverse

from collectors import aws, iam, runner
from collectors.models import CollectionState, Price, VariantHour
from collectors.models.health import Source
from dashboard.footprint import price_book, queries
from dashboard.footprint.filters import Filters
from sandbox import fleet as fl
from sandbox import pricing
from tests.web import factories


@pytest.fixture
def price_list(sandbox_control):
    """The sandbox's catalog as seeded, before and after the test (price changes are undone)."""
    sandbox_control("DELETE", "prices")
    yield sandbox_control
    sandbox_control("DELETE", "prices")


def collect(account):
    return runner.run(account, aws.PRICING_REGION, Source.PRICES)


def fleet_pairs() -> set[tuple[str, str]]:
    pairs = {(v.instance_type, e.region) for e in fl.build_fleet() for v in e.variants if v.instance_type}
    return pairs | {(e.swap.old_instance_type, e.region) for e in fl.build_fleet() if e.swap}


def test_it_stores_hosting_prices_for_every_region_and_never_a_decoy(prod, price_list):
    summary = collect(prod)
    hosting = Price.objects.filter(service="sagemaker-inference")
    stored = {(p.sku, p.region): float(p.usd) for p in hosting}
    assert fleet_pairs() <= set(stored)
    for (instance_type, region), usd in stored.items():
        assert usd == pytest.approx(pricing.hosting_usd(instance_type, region)), (instance_type, region)
        for component, (_, _, factor) in pricing.COMPONENTS.items():
            if factor != 1.0:  # the training, notebook, processing, transform and async prices of the same type
                decoy = round(pricing.hosting_usd(instance_type, region) * factor, 4)
                assert usd != pytest.approx(decoy), (instance_type, region, component)
    assert {p.unit for p in hosting} == {"hour"} and {p.currency for p in hosting} == {"USD"}
    assert hosting.get(sku="ml.m5.xlarge", region="eu-west-1").usage_type == "EU-Host:ml.m5.xlarge"
    assert summary.details["new_rows"] == Price.objects.count() and summary.details["refused"] == 0


def test_serverless_logs_and_s3_prices_are_stored_too(prod, price_list):
    collect(prod)
    serverless = Price.objects.get(service="sagemaker-serverless", sku="compute-gb-second", region="us-east-1")
    assert float(serverless.usd) == pytest.approx(0.00002) and serverless.unit == "gb-second"
    assert Price.objects.get(service="sagemaker-serverless", sku="requests", region="us-east-1").unit == "request"
    logs = Price.objects.filter(service="cloudwatch-logs")
    assert {p.region for p in logs} == set(fl.REGIONS) and {p.sku for p in logs} == {"STANDARD"}  # no ingestion
    s3 = Price.objects.get(service="s3", sku="GLACIER", region="us-east-1")
    assert float(s3.usd) == pytest.approx(0.0036) and s3.unit == "gb-month"


def test_it_is_idempotent_and_uses_the_collectors_own_identity(prod, research, price_list):
    collect(prod)
    count = Price.objects.count()
    price_list("DELETE", "calls")
    again = collect(prod)
    assert again.details["new_rows"] == 0 and Price.objects.count() == count
    calls = price_list("GET", "calls")["calls"]
    assert {c["service"] for c in calls} == {"pricing"} and {c["operation"] for c in calls} == {"GetProducts"}
    assert not {c["account"] for c in calls} & {fl.PROD, fl.RESEARCH}  # no role assumed in a customer account
    assert {c["region"] for c in calls} == {"us-east-1"}


def test_a_changed_price_is_a_new_row_and_each_hour_is_priced_by_its_own_date(prod, price_list):
    collect(prod)
    old = pricing.hosting_usd("ml.m5.xlarge", "us-east-1")
    change = factories.this_hour().replace(hour=0) - dt.timedelta(days=1)  # midnight UTC, mid-history
    match = {"instanceType": "ml.m5.xlarge-Hosting", "regionCode": "us-east-1"}
    price_list("POST", "prices", {"match": match, "usd": 0.31, "effective_date": change.isoformat()})
    collect(prod)
    rows = Price.objects.filter(service="sagemaker-inference", sku="ml.m5.xlarge", region="us-east-1")
    assert [(float(p.usd), p.effective_date) for p in rows.order_by("effective_date")][1] == (0.31, change)
    assert float(rows.earliest("effective_date").usd) == old  # the old price is kept, not overwritten

    endpoint = factories.endpoint(prod, "priced", instance_type="ml.m5.xlarge", count=2, hours=72)
    factories.estimate()
    hours = VariantHour.objects.filter(endpoint=endpoint)
    expected = sum(h.instance_hours * (0.31 if h.hour >= change else old) for h in hours)
    assert any(h.hour < change for h in hours) and any(h.hour >= change for h in hours)

    accounts = queries.team_accounts(prod.team)
    first, last = hours.earliest("hour").hour.date(), hours.latest("hour").hour.date()
    totals = queries.endpoint_totals(accounts, Filters("custom", first, last, "day"), [endpoint.pk])
    assert float(totals["cost_usd"].sum()) == pytest.approx(expected, rel=1e-9)
    assert set(totals["price_source"]) == {price_book.COLLECTED}
    hourly = queries.hourly_series(accounts, Filters("custom", first, last, "hour"), [endpoint.pk])
    assert float(hourly["cost_usd"].sum()) == pytest.approx(expected, rel=1e-9)
    for grain in ("day", "week", "month"):
        series = queries.grouped_series(accounts, first, last, grain, [endpoint.pk], "endpoint_id")
        assert float(series["cost_usd"].sum()) == pytest.approx(expected, rel=1e-9), grain
    # Rows priced at their own moment by the one cost function: before, at and long before the change, and now.
    moments = [change - dt.timedelta(hours=1), change, dt.datetime(2020, 1, 1, tzinfo=dt.UTC)]
    rows = pd.DataFrame({"instance_type": "ml.m5.xlarge", "region": "us-east-1", "instance_hours": [2.0, 2.0, 1.0]})
    costs = queries.with_cost(rows.assign(hour=moments))["cost_usd"].tolist()
    assert costs[0] == 2 * old and costs[1] == pytest.approx(0.62) and costs[2] == old  # the earliest before it
    assert queries.with_cost(rows.head(1))["cost_usd"].iloc[0] == pytest.approx(2 * 0.31)  # no time: now


def test_throttling_slows_the_collector_down_and_a_denial_is_recorded(prod, price_list):
    price_list("POST", "faults", {"operation": "GetProducts", "error": "ThrottlingException", "count": 3})
    assert collect(prod).details["new_rows"] > 0
    Price.objects.all().delete()
    price_list("POST", "faults", {"operation": "GetProducts", "error": "AccessDeniedException", "message": "no"})
    with pytest.raises(runner.CollectionFailed, match="AccessDeniedException"):
        collect(prod)
    state = CollectionState.objects.get(source=Source.PRICES)
    assert state.last_error.startswith("AccessDeniedException") and state.consecutive_failures == 1
    assert not Price.objects.exists()


def test_collect_runs_prices_once_for_all_accounts_and_the_hourly_fan_out_does_not(prod, research, price_list):
    jobs = runner.plan([prod, research])
    assert [(a, r) for a, r, s in jobs if s == Source.PRICES] == [(prod, aws.PRICING_REGION)]
    assert Source.PRICES not in runner.HOURLY_SOURCES
    call_command("collect", "--source", "prices", "--no-estimate")
    assert Price.objects.filter(region="eu-north-1").exists()


def test_the_demo_fleet_is_fully_priced_once_prices_are_collected(prod, research, price_list, capsys):
    call_command("collect")
    share = {}
    for label in ("after", "before"):
        if label == "before":
            Price.objects.all().delete()  # the shipped table alone
        frames = [
            queries.endpoint_totals(queries.team_accounts(account.team), Filters("custom", *period(), "day"), None)
            for account in (prod, research)
        ]
        share[label] = queries.summary(pd.concat(frames))["priced_pct"]
    print(
        f"demo instance-hours priced: {share['before']:.1f} % with the shipped table, {share['after']:.1f} % collected"
    )
    assert share["after"] == pytest.approx(100.0) and share["before"] < 100.0


def period() -> tuple[dt.date, dt.date]:
    today = dt.datetime.now(dt.UTC).date()
    return today - dt.timedelta(days=fl.HISTORY_DAYS + 1), today


def test_the_collectors_own_policy_allows_get_products_and_the_customer_role_does_not_need_it():
    own = json.loads(iam.collector_policy("WattsonReadOnly"))
    assert {"Sid": "PriceListRead", "Effect": "Allow", "Action": ["pricing:GetProducts"], "Resource": "*"} in own[
        "Statement"
    ]
    assert "pricing:GetProducts" not in iam.permissions_policy()


def test_the_overview_says_which_prices_priced_the_cost(client, alice, prod, price_list):
    factories.endpoint(prod, "labelled", instance_type="ml.m5.xlarge", hours=24)
    factories.estimate()
    client.force_login(alice)
    assert "prices: shipped table (offline fallback)" in client.get(reverse("home")).content.decode()
    collect(prod)
    page = client.get(reverse("home")).content.decode()
    assert f"prices: AWS Price List, collected {dt.datetime.now(dt.UTC):%Y-%m-%d}" in page


def test_collection_health_shows_the_price_list_run_and_the_daily_job(client, alice, prod, price_list):
    collect(prod)
    client.force_login(alice)
    page = client.get(reverse("collection-health")).content.decode()
    assert "<td>us-east-1</td><td>AWS Price List</td>" in page
    assert "<tr><td>prices</td><td>86400 s</td>" in page


def test_savings_are_priced_with_the_collected_prices(prod, research, price_list):
    from dashboard.recommend import engine
    from dashboard.recommend.models import Recommendation

    kinds = Recommendation.Kind
    resizing = Recommendation.objects.filter(kind__in=[kinds.OVERPROVISIONED, kinds.GPU_UNUSED, kinds.SILICON])
    call_command("collect")

    def unpriced() -> list[str]:
        for account in (prod, research):
            engine.recompute(account.team)
        assert resizing.exists()
        return list(resizing.filter(monthly_usd_saved__isnull=True).values_list("subject", flat=True))

    assert unpriced() == []  # every instance-type proposal has a price once the Price List is collected
    Price.objects.all().delete()
    assert unpriced()  # with the shipped table alone, some of them said "$ unknown"
