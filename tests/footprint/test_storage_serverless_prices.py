"""Storage and serverless priced by the collected AWS Price List, the shipped table as the labelled offline
fallback: the storage page and the storage recommendations' savings price stored bytes with one function and
agree; a collected price change prices each date by the price then; serverless cost is GB-seconds x the GB-second
price + requests x the request price, recomputed here from the stored hours."""

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest
from django.urls import reverse
from django.utils import timezone

from collectors.models import Endpoint, LogGroupSnapshot, Price, VariantConfig, VariantHour
from dashboard.footprint import price_book, queries
from dashboard.footprint.filters import Filters
from dashboard.recommend import engine, savings
from dashboard.recommend.models import Recommendation
from estimator import prices as shipped
from tests.web import factories

GIB = 2**30
URL = "/storage/"
LOGS_EU = 0.0337  # a collected CloudWatch Logs GB-month price in eu-west-1 (the shipped table has none there)


@pytest.fixture(autouse=True)
def fresh_book():
    """The book ``last_loaded`` hands out is per thread: none from another test, before or after."""
    price_book._last.book = None
    yield
    price_book._last.book = None


@pytest.fixture
def acct(teams):
    return factories.account(teams[0], "111122223333", "ml-prod", regions=("us-east-1", "eu-west-1"))


def midnight(days_ago: int) -> dt.datetime:
    return dt.datetime.combine(timezone.now().date() - dt.timedelta(days=days_ago), dt.time(), dt.UTC)


def price(service: str, sku: str, unit: str, region: str, usd: float, effective: dt.datetime) -> Price:
    return Price.objects.create(
        service=service,
        sku=sku,
        region=region,
        unit=unit,
        usd=Decimal(str(usd)),
        effective_date=effective,
        source_sku=f"TEST{Price.objects.count()}",
        usage_type="test",
        collected_at=timezone.now(),
    )


def log_group(acct, name: str, stored_bytes: int, region: str, days_ago: int = 0) -> LogGroupSnapshot:
    return LogGroupSnapshot.objects.create(
        account=acct,
        region=region,
        name=name,
        day=timezone.now().date() - dt.timedelta(days=days_ago),
        stored_bytes=stored_bytes,
        retention_days=None,  # never expires: the retention rule proposes 30 days
        log_group_class="STANDARD",
        created_time=timezone.now() - dt.timedelta(days=400),
        collected_at=timezone.now(),
    )


def page_rows(client, **params) -> tuple[dict, dict, str]:
    response = client.get(URL, params)
    assert response.status_code == 200
    logs = {row["name"]: row for row in response.context["tables"][0].rows}
    return logs, response.context["summary"], response.content.decode()


def retention_saving(team, name: str) -> Recommendation:
    engine.recompute(team)
    return Recommendation.objects.get(team=team, kind=Recommendation.Kind.LOG_RETENTION, subject__endswith=name)


# --- storage ------------------------------------------------------------------------------------------------------


def test_the_storage_page_and_the_retention_saving_use_the_collected_logs_price(client, alice, teams, acct):
    assert shipped.storage_usd_per_gb_month("logs", "STANDARD", "eu-west-1") is None  # "$ unknown" before
    collected = price("cloudwatch-logs", "STANDARD", "gb-month", "eu-west-1", LOGS_EU, midnight(200))
    log_group(acct, "/aws/sagemaker/Endpoints/eu", 40 * GIB, "eu-west-1")
    client.force_login(alice)
    logs, summary, html = page_rows(client)
    row = logs["/aws/sagemaker/Endpoints/eu"]
    assert row["cost_usd_month"] == pytest.approx(40 * LOGS_EU, rel=1e-12)
    assert row["price_source"] == price_book.COLLECTED
    label = f"AWS Price List, collected {collected.collected_at:%Y-%m-%d}"
    assert summary["price_label"] == label and f"prices: {label}" in html
    rec = retention_saving(teams[0], "/aws/sagemaker/Endpoints/eu")
    dropped = rec.evidence["dropped_bytes"]
    assert dropped > 0
    assert rec.monthly_usd_saved == pytest.approx(dropped / GIB * LOGS_EU, rel=1e-9)
    assert rec.monthly_usd_saved == pytest.approx(savings.storage_monthly("logs", "STANDARD", dropped, "eu-west-1").usd)
    # one number: the page's price per GiB is the saving's
    assert row["cost_usd_month"] / 40 == pytest.approx(rec.monthly_usd_saved / (dropped / GIB), rel=1e-9)


def test_without_collected_prices_the_shipped_table_prices_storage_and_says_so(client, alice, teams, acct):
    log_group(acct, "/aws/sagemaker/Endpoints/us", 40 * GIB, "us-east-1")
    log_group(acct, "/aws/sagemaker/Endpoints/eu", 40 * GIB, "eu-west-1")
    client.force_login(alice)
    logs, summary, html = page_rows(client)
    table = shipped.storage_usd_per_gb_month("logs", "STANDARD", "us-east-1")
    assert logs["/aws/sagemaker/Endpoints/us"]["cost_usd_month"] == pytest.approx(40 * table, rel=1e-12)
    assert logs["/aws/sagemaker/Endpoints/us"]["price_source"] == price_book.SHIPPED
    assert logs["/aws/sagemaker/Endpoints/eu"]["cost_usd_month"] is None  # no price anywhere: unknown, not 0
    assert summary["price_label"] == "shipped table (offline fallback)"
    assert "prices: shipped table (offline fallback)" in html
    us = retention_saving(teams[0], "/aws/sagemaker/Endpoints/us")
    assert us.monthly_usd_saved == pytest.approx(us.evidence["dropped_bytes"] / GIB * table, rel=1e-9)
    assert retention_saving(teams[0], "/aws/sagemaker/Endpoints/eu").monthly_usd_saved is None


def test_a_collected_storage_price_change_prices_each_snapshot_day_by_the_price_then(client, alice, acct):
    price("cloudwatch-logs", "STANDARD", "gb-month", "eu-west-1", LOGS_EU, midnight(200))
    price("cloudwatch-logs", "STANDARD", "gb-month", "eu-west-1", 0.05, midnight(10))
    log_group(acct, "/app/eu", 10 * GIB, "eu-west-1", days_ago=25)
    log_group(acct, "/app/eu", 20 * GIB, "eu-west-1", days_ago=0)
    client.force_login(alice)
    logs, _, _ = page_rows(client)
    assert logs["/app/eu"]["cost_usd_month"] == pytest.approx(20 * 0.05, rel=1e-12)  # today's snapshot, new price
    past = timezone.now().date() - dt.timedelta(days=20)
    logs, _, _ = page_rows(client, period="custom", **{"from": past - dt.timedelta(days=29), "to": past})
    assert logs["/app/eu"]["cost_usd_month"] == pytest.approx(10 * LOGS_EU, rel=1e-12)  # 25 days ago, old price
    book = price_book.PriceBook.load()
    assert price_book.storage_usd("logs", "STANDARD", "eu-west-1", midnight(11), book) == (
        pytest.approx(LOGS_EU),
        price_book.COLLECTED,
    )
    assert price_book.storage_usd("logs", "STANDARD", "eu-west-1", midnight(10), book)[0] == pytest.approx(0.05)
    assert price_book.storage_usd("logs", "STANDARD", "eu-west-1", midnight(900), book)[0] == pytest.approx(LOGS_EU)


# --- serverless ---------------------------------------------------------------------------------------------------

GB_SECOND = (0.0000224, 0.0000300)  # collected eu-west-1 compute prices, before and after the change
REQUEST = 0.00000022
HOURS = 72
MEMORY_MB = 2048


def serverless_endpoint(acct, name: str = "sentiment-serverless", region: str = "eu-west-1") -> Endpoint:
    start = midnight(HOURS // 24 - 1) - dt.timedelta(days=1)
    row = Endpoint.objects.create(
        account=acct,
        region=region,
        name=name,
        status="InService",
        mode="serverless",
        first_seen=start,
        last_seen=timezone.now(),
        created_time=start,
    )
    VariantConfig.objects.create(
        endpoint=row, variant_name="AllTraffic", valid_from=start, instance_type="", serverless_memory_mb=MEMORY_MB
    )
    VariantHour.objects.bulk_create(
        [
            VariantHour(
                endpoint=row,
                variant_name="AllTraffic",
                hour=start + dt.timedelta(hours=h),
                instance_type="",
                serverless_memory_mb=MEMORY_MB,
                instance_hours=0.0,
                memory_util_pct=30.0,
                invocations=float(0 if h % 7 == 0 else 100 + 13 * h),
                model_latency_us=None if h % 7 == 0 else 20_000.0 + 500 * (h % 5),
                collected_at=timezone.now(),
            )
            for h in range(HOURS)
        ]
    )
    return row


def expected_serverless(endpoint: Endpoint, change: dt.datetime) -> tuple[float, float, float]:
    """(cost, GB-seconds, requests) from the stored hours: each hour's GB-seconds at the price in effect on its day."""
    cost = gb_seconds = requests = 0.0
    for hour in VariantHour.objects.filter(endpoint=endpoint):
        invocations = hour.invocations or 0.0
        seconds = invocations * (hour.model_latency_us or 0.0) / 1e6 * hour.serverless_memory_mb / 1024
        rate = GB_SECOND[1] if hour.hour >= change else GB_SECOND[0]
        cost += seconds * rate + invocations * REQUEST
        gb_seconds, requests = gb_seconds + seconds, requests + invocations
    return cost, gb_seconds, requests


@pytest.fixture
def serverless(acct):
    endpoint = serverless_endpoint(acct)
    factories.estimate()
    change = midnight(1)  # a collected price change in the middle of the endpoint's history, at a day's start
    price("sagemaker-serverless", "compute-gb-second", "gb-second", "eu-west-1", GB_SECOND[0], midnight(300))
    price("sagemaker-serverless", "compute-gb-second", "gb-second", "eu-west-1", GB_SECOND[1], change)
    price("sagemaker-serverless", "requests", "request", "eu-west-1", REQUEST, midnight(300))
    return endpoint, change


def period() -> tuple[dt.date, dt.date]:
    today = timezone.now().date()
    return today - dt.timedelta(days=6), today


def test_serverless_cost_is_gb_seconds_and_requests_at_the_collected_prices_of_their_day(acct, serverless):
    endpoint, change = serverless
    cost, gb_seconds, requests = expected_serverless(endpoint, change)
    assert gb_seconds > 0 and requests > 0
    accounts = queries.team_accounts(acct.team)
    totals = queries.endpoint_totals(accounts, Filters("custom", *period(), "day"), None)
    [row] = totals.to_dict("records")
    assert row["instance_type"] == "" and row["price_source"] == price_book.COLLECTED
    assert row["cost_usd"] == pytest.approx(cost, rel=1e-9)
    assert row["priced_instance_hours"] == 0.0  # serverless has no instance-hours
    assert row["invocations"] == pytest.approx(requests)
    hourly = queries.hourly_series(accounts, Filters("custom", *period(), "hour"), None)
    assert hourly["cost_usd"].sum() == pytest.approx(cost, rel=1e-9)
    assert (hourly["price_source"] == price_book.COLLECTED).all()
    daily = queries.daily_series(accounts, Filters("custom", *period(), "day"), None)
    assert daily["cost_usd"].sum() == pytest.approx(cost, rel=1e-9)
    focus_days = queries.endpoint_days(accounts, *period(), None)
    assert focus_days["cost_usd"].sum() == pytest.approx(cost, rel=1e-9)
    # the change moves the cost: every hour at the old price would cost less
    assert cost > expected_serverless(endpoint, change + dt.timedelta(days=365))[0]


def test_the_endpoint_page_prices_its_serverless_hours_the_same(client, alice, acct, serverless):
    endpoint, change = serverless
    cost = expected_serverless(endpoint, change)[0]
    client.force_login(alice)
    start, end = period()
    for grain in ("hour", "day"):
        params = {"period": "custom", "from": start, "to": end, "grain": grain}
        response = client.get(reverse("endpoint", args=[endpoint.pk]), params)
        assert response.status_code == 200
        assert response.context["cost"]["cost_usd"] == pytest.approx(cost, rel=1e-9), grain


def test_an_hour_with_invocations_but_no_latency_leaves_the_serverless_cost_unknown(acct, serverless):
    endpoint, _ = serverless
    first = VariantHour.objects.filter(endpoint=endpoint, invocations__gt=0).order_by("hour").first()
    VariantHour.objects.filter(pk=first.pk).update(model_latency_us=None)
    accounts = queries.team_accounts(acct.team)
    hourly = queries.hourly_series(accounts, Filters("custom", *period(), "hour"), None)
    assert hourly["cost_usd"].isna().sum() == 1 and hourly["cost_usd"].notna().sum() == HOURS - 1


def test_without_collected_prices_serverless_compute_is_priced_by_the_shipped_table_where_it_has_one(acct):
    us = serverless_endpoint(acct, "us-serverless", region="us-east-1")
    serverless_endpoint(acct, "eu-serverless", region="eu-west-1")
    factories.estimate()
    _, gb_seconds, _ = expected_serverless(us, midnight(0))
    accounts = queries.team_accounts(acct.team)
    totals = queries.endpoint_totals(accounts, Filters("custom", *period(), "day"), None).set_index("endpoint_id")
    table = shipped.serverless_usd_per_gb_second("us-east-1")
    # the shipped table has no request price: offline, only compute is priced
    assert totals.loc[us.pk, "cost_usd"] == pytest.approx(gb_seconds * table, rel=1e-9)
    assert totals.loc[us.pk, "price_source"] == price_book.SHIPPED
    eu = totals.drop(index=us.pk).iloc[0]
    assert pd.isna(eu["cost_usd"]) and pd.isna(eu["price_source"])
    assert queries.price_label(totals) == "shipped table (offline fallback)"


def test_focus_rows_of_a_serverless_endpoint_are_used_and_priced_in_gb_seconds(acct, serverless):
    from dashboard.api import focus

    endpoint, change = serverless
    cost, gb_seconds, requests = expected_serverless(endpoint, change)
    start, end = period()
    rows = focus.focus_rows(focus.focus_frames(acct.team, {"start": start, "end": end}, queries.scope(acct.team)))
    assert rows and {row["x_InstanceType"] for row in rows} == {"serverless"}
    assert {(row["ConsumedUnit"], row["PricingUnit"]) for row in rows} == {("GB-Seconds", "GB-Seconds")}
    assert sum(row["PricingQuantity"] for row in rows) == pytest.approx(gb_seconds, rel=1e-9)
    assert sum(row["ConsumedQuantity"] for row in rows) == pytest.approx(gb_seconds, rel=1e-9)
    assert sum(row["ListCost"] for row in rows) == pytest.approx(cost, rel=1e-9)  # compute and requests
    assert sum(row["x_Invocations"] for row in rows) == pytest.approx(requests)
    assert {row["ListUnitPrice"] for row in rows} == {None} and {row["SkuId"] for row in rows} == {None}
