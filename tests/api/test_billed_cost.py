"""Billed cost (from an account's cost export) beside list cost on every surface: the overview, the endpoint page,
the emissions API, FOCUS, Prometheus and the recommendations' savings; an account without an export shows list
cost only, labelled, and another team's bill never shows.

The billed lines are stored as the ``cost_exports`` collector stores them (its reading of a real export over HTTP
is tested in tests/collectors/test_billed_costs.py); the list cost of the same days is recomputed here from the
stored instance-hours and the shipped price table, independently of the query layer.
"""

import datetime as dt

import pytest
from django.db.models import Sum
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from collectors.models import BilledCostDay, VariantHour
from dashboard.api.reports import prometheus_text
from dashboard.recommend import engine
from dashboard.recommend.models import Recommendation
from estimator import prices
from tests.api.conftest import bearer
from tests.api.test_agreement import overview_and_metrics

RATE = {"ranker": 0.64, "idle": 0.8}  # billed / on-demand: a Savings Plan and an EDP-like discount


def billed_days(endpoint) -> list[dt.date]:
    """Every collected day of the endpoint but the last (the export lags a day)."""
    days = sorted({h.date() for h in VariantHour.objects.filter(endpoint=endpoint).values_list("hour", flat=True)})
    return days[:-1]


def list_usd(endpoint, days: list[dt.date]) -> float:
    """Instance-hours of those days x the shipped hourly price: the list cost, recomputed independently (hours of a
    type and region without a list price add nothing, as the product's cost is the sum of its priced parts)."""
    hours = VariantHour.objects.filter(endpoint=endpoint, hour__date__in=days)
    total = 0.0
    for row in hours:
        total += row.instance_hours * (prices.instance_hour_usd(row.instance_type, endpoint.region) or 0.0)
    return total


def bill(endpoint, rate: float, account=None) -> float:
    """Billed lines per day as the collector stores them, at ``rate`` of the list cost; returns their sum."""
    account = account or endpoint.account
    lines = []
    for day in billed_days(endpoint):
        listed = list_usd(endpoint, [day])
        hours = VariantHour.objects.filter(endpoint=endpoint, hour__date=day).aggregate(h=Sum("instance_hours"))["h"]
        instance_type = VariantHour.objects.filter(endpoint=endpoint).first().instance_type
        lines.append(
            BilledCostDay(
                account=account,
                billing_period=f"{day:%Y-%m}",
                day=day,
                region=endpoint.region,
                endpoint_name=endpoint.name.lower(),
                endpoint=endpoint,
                usage_type=f"USE1-Host:{instance_type}",
                instance_type=instance_type,
                resource_id=f"arn:aws:sagemaker:{endpoint.region}:{account.account_id}:endpoint/{endpoint.name}",
                instance_hours=hours,
                list_cost_usd=listed,
                billed_cost_usd=listed * rate,
            )
        )
    BilledCostDay.objects.bulk_create(lines)
    return sum(line.billed_cost_usd for line in lines)


@pytest.fixture
def billed(fleet):
    prod = fleet["ranker"].account
    prod.cost_export_bucket, prod.cost_export_name = "prod-cur", "cur2"
    prod.save()
    theirs = fleet["theirs"].account
    theirs.cost_export_bucket, theirs.cost_export_name = "their-cur", "cur2"
    theirs.save()
    sums = {name: bill(fleet[name], rate) for name, rate in RATE.items()}
    bill(fleet["theirs"], 0.5)  # another team's bill: never on this team's surfaces
    first = billed_days(fleet["ranker"])[0]
    BilledCostDay.objects.create(  # SageMaker cost no endpoint carries: counted apart, never on an endpoint
        account=prod, billing_period="2026-11", day=first, reason="not hosting",
        usage_type="USE1-Train:ml.p3.2xlarge", billed_cost_usd=12.5,
    )  # fmt: skip
    BilledCostDay.objects.create(  # the endpoint's ML storage volume: its charge, but not usage we measure or price
        account=prod, billing_period="2026-11", day=first, endpoint=fleet["ranker"], endpoint_name="ranker",
        region="us-east-1", reason="other endpoint charge", usage_type="USE1-Host:VolumeUsage.gp2",
        billed_cost_usd=0.75,
    )  # fmt: skip
    return sums


def billed_pairs_list_usd(fleet, names) -> float:
    """Our list cost of exactly the billed endpoint-days."""
    return sum(list_usd(fleet[name], billed_days(fleet[name])) for name in names)


def period(fleet) -> tuple[dt.date, dt.date]:
    end = VariantHour.objects.filter(endpoint=fleet["ranker"]).latest("hour").hour.date()
    return end - dt.timedelta(days=29), end


def test_the_overview_shows_billed_beside_list_for_the_same_days_and_names_the_list_only_account(
    client, alice, fleet, billed, teams
):
    start, end = period(fleet)
    client.force_login(alice)
    page = client.get(reverse("home"), {"period": "custom", "from": start.isoformat(), "to": end.isoformat()})
    view = page.context["billed"]
    assert view.billed_cost_usd == pytest.approx(sum(billed.values()))
    days = billed_days(fleet["idle"])  # the longest-running endpoint: the export covers its days but the last
    assert (view.first_day, view.last_day) == (days[0], days[-1])
    # eu-scorer has no billed line and ranker fewer days: neither adds list cost the bill does not cover
    assert view.list_cost_usd == pytest.approx(billed_pairs_list_usd(fleet, RATE))
    assert view.list_cost_usd < sum(list_usd(fleet[name], days) for name in ("ranker", "idle", "eu"))
    assert view.unattributed_usd == pytest.approx(12.5 + 0.75) and view.accounts_billed == ["prod"]
    exported_list = sum(billed[name] / RATE[name] for name in RATE)
    assert view.below_list_pct == pytest.approx(100 * (1 - sum(billed.values()) / exported_list))
    html = page.content.decode()
    assert f"${sum(billed.values()):,.0f}" in html and "the days the cost export covers" in html
    assert 'data-figure="list_only"' not in html  # the team's only account has an export

    fleet["ranker"].account.cost_export_bucket = ""
    fleet["ranker"].account.cost_export_name = ""
    fleet["ranker"].account.save()
    html = client.get(reverse("home"), {"period": "30d"}).content.decode()
    assert "list cost only (no cost export configured): prod" in html


def test_the_endpoint_page_shows_its_list_cost_priced_share_and_billed_cost(client, alice, fleet, billed):
    start, end = period(fleet)
    client.force_login(alice)
    page = client.get(
        reverse("endpoint", args=[fleet["ranker"].pk]),
        {"period": "custom", "from": start.isoformat(), "to": end.isoformat(), "grain": "day"},
    )
    cost = page.context["cost"]
    all_days = sorted(
        {h.date() for h in VariantHour.objects.filter(endpoint=fleet["ranker"]).values_list("hour", flat=True)}
    )
    assert cost["cost_usd"] == pytest.approx(list_usd(fleet["ranker"], all_days)) and cost["priced_pct"] == 100
    assert cost["billed"].billed_cost_usd == pytest.approx(billed["ranker"])
    assert cost["billed"].list_cost_usd == pytest.approx(list_usd(fleet["ranker"], billed_days(fleet["ranker"])))
    assert cost["billed"].below_list_pct == pytest.approx(36.0)
    assert "36.0 % below the export" in page.content.decode()


def test_the_api_focus_and_prometheus_carry_the_same_billed_cost(client, alice, fleet, billed, tokens, teams):
    start, end = period(fleet)
    dates = {"start": start.isoformat(), "end": end.isoformat()}
    total = sum(billed.values())
    for group_by in ("none", "account", "endpoint", "region", "instance_type", "team"):
        for grain in ("day", "week", "month"):
            rows = client.get(
                "/api/v1/emissions/", {**dates, "group_by": group_by, "grain": grain}, **bearer(tokens["read"])
            ).json()["results"]
            assert sum(r["billed_cost_usd"] or 0 for r in rows) == pytest.approx(total), (group_by, grain)
            for row in rows:
                assert row["priced_share"] == pytest.approx(row["priced_instance_hours"] / row["instance_hours"])
    by_endpoint = client.get(
        "/api/v1/emissions/", {**dates, "group_by": "endpoint", "grain": "month"}, **bearer(tokens["read"])
    ).json()["results"]
    per_endpoint = {}
    for row in by_endpoint:
        per_endpoint[row["endpoint_id"]] = per_endpoint.get(row["endpoint_id"], 0) + (row["billed_cost_usd"] or 0)
    assert per_endpoint[fleet["ranker"].pk] == pytest.approx(billed["ranker"]) and per_endpoint[fleet["eu"].pk] == 0
    hourly = client.get("/api/v1/emissions/", {**dates, "grain": "hour"}, **bearer(tokens["read"])).json()
    assert {row["billed_cost_usd"] for row in hourly["results"]} == {None}  # exports are daily

    focus = client.get("/api/v1/focus/", dates, **bearer(tokens["read"])).json()["results"]
    billed_rows = [row for row in focus if row["x_CostBasis"] == "billed"]
    assert sum(row["EffectiveCost"] for row in billed_rows) == pytest.approx(total)
    assert all(row["BilledCost"] == row["EffectiveCost"] < row["ListCost"] for row in billed_rows)
    assert {row["ResourceName"] for row in billed_rows} == {"ranker", "idle-gpu"}
    listed = [row for row in focus if row["x_CostBasis"] == "list"]
    assert listed and all(row["EffectiveCost"] == row["ListCost"] for row in listed)

    at = dt.datetime.combine(end, dt.time(12), dt.UTC)
    families = {f.name: f for f in text_string_to_metric_families(prometheus_text(teams[0], at))}
    assert families["wattson_team_billed_cost_usd"].samples[0].value == pytest.approx(total)
    client.force_login(alice)
    summary, scraped = overview_and_metrics(client, teams[0])  # the same rolling 30d, within one clock hour
    assert 0 < summary["priced_pct"] < 100  # the eu endpoint's type has no list price there
    assert scraped["priced_share"] == pytest.approx(summary["priced_pct"] / 100)


def test_savings_are_stated_at_the_endpoints_billed_rate(fleet, billed, teams):
    engine.recompute(teams[0])
    idle = Recommendation.objects.filter(endpoint=fleet["idle"], monthly_usd_saved__isnull=False).first()
    assert idle is not None
    assert idle.monthly_usd_saved_billed == pytest.approx(idle.monthly_usd_saved * RATE["idle"])
    eu = Recommendation.objects.filter(endpoint=fleet["eu"]).first()
    assert eu is None or eu.monthly_usd_saved_billed is None  # no billed line: list rate only


def test_the_weekly_digest_states_the_weeks_billed_cost(fleet, billed, teams, alice):
    from dashboard.notify import digest

    days = billed_days(fleet["idle"])
    week_start = days[-1] - dt.timedelta(days=days[-1].weekday() + 7)  # the last complete week before the export's end
    week = [week_start + dt.timedelta(days=n) for n in range(7)]
    expected = sum(
        BilledCostDay.objects.filter(account=fleet["ranker"].account, day=day, reason="").aggregate(
            s=Sum("billed_cost_usd")
        )["s"]
        or 0.0
        for day in week
    )
    assert expected > 0
    data = digest.content(teams[0], week_start)
    assert data["billed"].billed_cost_usd == pytest.approx(expected)
    text = digest.bodies(teams[0], alice, week_start)["text"]
    assert f"Billed (cost export)  ${expected:,.0f} net amortized" in text


def test_a_team_owner_sets_and_clears_the_export_and_clearing_forgets_its_bill(
    client, alice, bob, charlie, fleet, billed, tokens
):
    prod = fleet["ranker"].account
    url = reverse("aws-account-cost-export", args=[prod.pk])
    fields = {"cost_export_bucket": "prod-cur", "cost_export_prefix": "/billing/", "cost_export_name": "cur2"}
    client.force_login(bob)  # a member, not an owner
    assert client.post(url, fields).status_code == 403
    client.force_login(charlie)  # another team's owner: the account is not theirs to see
    assert client.post(url, fields).status_code == 404
    client.force_login(alice)
    bad = client.post(url, {**fields, "cost_export_bucket": "Not_A_Bucket!"})
    assert bad.status_code == 400 and "Not an S3 bucket name." in bad.content.decode()
    assert "s3://Not_A_Bucket!" not in bad.content.decode()  # the page shows what is configured, not what was refused
    half = client.post(url, {**fields, "cost_export_name": ""})
    assert half.status_code == 400 and "needs both its bucket and its name" in half.content.decode()
    assert BilledCostDay.objects.filter(account=prod).count() > 0  # refused changes keep the bill

    assert client.post(url, {**fields, "cost_export_prefix": ""}).status_code == 302  # same export: the bill stays
    assert BilledCostDay.objects.filter(account=prod).exists()
    assert (
        client.post(url, {"cost_export_bucket": "", "cost_export_prefix": "", "cost_export_name": ""}).status_code
        == 302
    )
    prod.refresh_from_db()
    assert not prod.has_cost_export and not BilledCostDay.objects.filter(account=prod).exists()
    assert BilledCostDay.objects.filter(account=fleet["theirs"].account).exists()  # another account's: untouched
    start, end = period(fleet)
    rows = client.get(
        "/api/v1/emissions/", {"start": start.isoformat(), "end": end.isoformat()}, **bearer(tokens["read"])
    ).json()["results"]
    assert {row["billed_cost_usd"] for row in rows} == {None}
    assert "list cost only (no cost export configured): prod" in client.get(reverse("home")).content.decode()


def test_every_cost_column_has_its_priced_share_beside_it(client, alice, fleet, billed):
    from tests.web.html import table

    client.force_login(alice)
    page = client.get(reverse("home"), {"period": "30d", "group": "region"}).content.decode()
    header, *rows = table(page, "breakdown")
    shares = {row[header.index("Region")]: row[header.index("Priced (% of instance-hours)")] for row in rows}
    assert shares == {"us-east-1": "100", "eu-west-1": "0"}  # ml.c5.xlarge has no list price in eu-west-1
    header, *rows = table(page, "trend")
    assert all(row[header.index("Priced (% of instance-hours)")] not in ("", "—") for row in rows if row[0])
