"""One definition of every number: the overview, the emissions API (every group_by and grain), the FOCUS export,
Prometheus' period totals and the weekly digest give the same energy, CO2e (location- and market-based) and cost
for the same team, filter and period. Periods are anchored on the fleet's own last collected day, not on the clock.
A market-based CO2e that any hour lacks (estimated before it existed) is null on every surface, never a low sum.

The fleet (tests/api/conftest.py) mixes priced instance-hours (ml.g5.2xlarge, ml.c5.xlarge) with one type the price
table lacks, so a cost is the sum of its priced parts everywhere, never null on one surface and a number on another.
"""

import datetime as dt

import pytest
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from collectors.models import VariantHour
from dashboard.api.reports import TEAM_TOTALS, prometheus_text
from dashboard.footprint import rollups
from dashboard.footprint.models import VariantHourEstimate
from dashboard.notify import digest
from dashboard.web.views.overview import MARKET_HELP
from tests.api.conftest import bearer
from tests.web.html import number, table

GROUPINGS = ("none", "account", "region", "endpoint", "instance_type", "team", "tag:env")
NUMBERS = ("energy_kwh", "co2e_kg", "co2e_market_kg", "embodied_co2e_kg", "instance_hours", "cost_usd")
FOCUS = {
    "energy_kwh": "x_EnergyKwh",
    "co2e_kg": "x_CO2eLocationKg",
    "co2e_market_kg": "x_CO2eMarketKg",
    "embodied_co2e_kg": "x_EmbodiedCO2eKg",
    "instance_hours": "ConsumedQuantity",
    "cost_usd": "ListCost",
}
# Unknown (None) when any part is, where a cost is known when any part is: market-based CO2e, by either name.
COMPLETE = ("co2e_market_kg", FOCUS["co2e_market_kg"])


def total(rows: list[dict], key: str) -> float | None:
    """Sums a column whose unknowns are None: a cost is None only when every value is, a market-based CO2e when
    any value is."""
    if key in COMPLETE and any(row[key] is None for row in rows):
        return None
    known = [row[key] for row in rows if row[key] is not None]
    return sum(known) if known else None


def same(expected: dict, actual: dict, where: str) -> None:
    for name in NUMBERS:
        if expected[name] is None:  # no part of it priced: null everywhere, never 0 on one surface
            assert actual[name] is None, f"{name} differs in {where}"
            continue
        assert actual[name] == pytest.approx(expected[name], rel=1e-9, abs=1e-9), f"{name} differs in {where}"


def last_day(team) -> dt.date:
    """The fleet's last collected UTC day: what every period here ends on."""
    return VariantHour.objects.filter(endpoint__account__team=team).latest("hour").hour.date()


def overview(client, start: dt.date, end: dt.date, **filters) -> dict:
    response = client.get(
        reverse("home"), {"period": "custom", "from": start.isoformat(), "to": end.isoformat(), **filters}
    )
    assert response.status_code == 200 and not response.context["view"].errors
    return response.context["summary"]


def overview_and_metrics(client, team) -> tuple[dict, dict]:
    """The overview's "30d" totals and the Prometheus exposition's, read within one clock hour (both are the last
    30 x 24 whole hours before it: asked again if the hour turned in between)."""
    for _ in range(3):
        hour = timezone.now().replace(minute=0, second=0, microsecond=0)
        response = client.get(reverse("home"), {"period": "30d"})
        assert response.status_code == 200 and not response.context["view"].errors
        scraped = metrics(prometheus_text(team, timezone.now()), "30d")
        if timezone.now().replace(minute=0, second=0, microsecond=0) == hour:
            return response.context["summary"], scraped
    raise AssertionError("the clock hour turned on every try")


def focus(client, token: str, start: dt.date, end: dt.date, **params) -> dict:
    response = client.get(
        "/api/v1/focus/", {"start": start.isoformat(), "end": end.isoformat(), **params}, **bearer(token)
    )
    assert response.status_code == 200, response.content
    rows = response.json()["results"]  # one row per endpoint, day and instance type, unpaged
    # FOCUS forbids a null cost: an unpriced row says so in x_CostBasis and carries 0, which is not a known cost.
    rows = [{**row, "ListCost": row["ListCost"] if row["x_CostBasis"] != "unpriced" else None} for row in rows]
    # Instance-hours are the ConsumedQuantity of rows used in hours (serverless rows count GB-seconds)
    rows = [{**row, "ConsumedQuantity": row["ConsumedQuantity"] * (row["ConsumedUnit"] == "Hours")} for row in rows]
    return {name: total(rows, column) for name, column in FOCUS.items()}


def metrics(text: str, period: str) -> dict:
    """The team's period totals in a Prometheus exposition, by the API's names (a missing cost is None)."""
    families = {family.name: family for family in text_string_to_metric_families(text)}
    values = {}
    for family, name, _ in TEAM_TOTALS:
        samples = [s.value for s in families[family].samples if s.labels == {"period": period}]
        assert len(samples) <= 1
        values[name] = samples[0] if samples else None
    return values


def every_series_agrees(client, token: str, expected: dict, start: dt.date, end: dt.date, **params) -> None:
    for group_by in GROUPINGS:
        for grain in ("hour", "day", "week", "month"):
            rows = emissions(client, token, start, end, group_by=group_by, grain=grain, **params)
            same(expected, {name: total(rows, name) for name in NUMBERS}, f"emissions {group_by}/{grain} {params}")
            priced = sum(row["priced_instance_hours"] for row in rows)
            assert 100 * priced / expected["instance_hours"] == pytest.approx(expected["priced_pct"])


def emissions(client, token: str, start: dt.date, end: dt.date, **params) -> list[dict]:
    response = client.get(
        "/api/v1/emissions/", {"start": start.isoformat(), "end": end.isoformat(), **params}, **bearer(token)
    )
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_the_overview_the_api_focus_and_prometheus_agree_over_30_days(client, alice, fleet, tokens, teams):
    end = last_day(teams[0])
    start = end - dt.timedelta(days=29)  # the overview's 30d; the hour grain covers up to 31 days
    client.force_login(alice)
    expected = overview(client, start, end)
    assert expected["cost_usd"] is not None and 0 < expected["priced_pct"] < 100  # a mixed fleet, as claimed
    assert expected["co2e_market_kg"] is not None  # estimated by the current estimator: every hour has it
    every_series_agrees(client, tokens["read"], expected, start, end)
    same(expected, focus(client, tokens["read"], start, end), "FOCUS")
    # /metrics: its 30d totals are the overview's 30d, the same rolling window of whole hours
    rolling, scraped = overview_and_metrics(client, teams[0])
    same(rolling, scraped, "Prometheus")
    assert scraped["priced_share"] == pytest.approx(rolling["priced_pct"] / 100)
    assert scraped["billed_cost_usd"] is None  # no cost export configured: no billed figure, never the list cost
    response = client.get("/metrics", **bearer(tokens["read"]))
    assert response.status_code == 200
    assert set(metrics(response.content.decode(), "30d")) == {*NUMBERS, "priced_share", "billed_cost_usd"}


@pytest.mark.parametrize("filters", [{"region": "us-east-1"}, {"region": "eu-west-1"}], ids=["us", "eu"])
def test_a_filtered_view_agrees_between_the_overview_the_api_and_focus(client, alice, fleet, tokens, teams, filters):
    end = last_day(teams[0])
    start = end - dt.timedelta(days=29)
    client.force_login(alice)
    expected = overview(client, start, end, **filters)
    assert expected["instance_hours"] > 0
    every_series_agrees(client, tokens["read"], expected, start, end, **filters)
    same(expected, focus(client, tokens["read"], start, end, **filters), f"FOCUS {filters}")


def test_the_digest_week_agrees_with_the_api_focus_and_the_overview(client, alice, fleet, tokens, teams):
    end = last_day(teams[0])
    week_start = end - dt.timedelta(days=end.weekday() + 7)  # the last complete week before the last day
    week_end = week_start + dt.timedelta(days=6)
    client.force_login(alice)
    expected = overview(client, week_start, week_end)
    assert expected["instance_hours"] > 0  # the fleet's 8 days reach into that week
    same(expected, digest.content(teams[0], week_start)["this"], "the digest")
    every_series_agrees(client, tokens["read"], expected, week_start, week_end)
    same(expected, focus(client, tokens["read"], week_start, week_end), "FOCUS over the digest's week")


def test_a_market_figure_missing_from_one_hour_is_null_on_every_surface(client, alice, fleet, tokens, teams):
    end = last_day(teams[0])
    start = end - dt.timedelta(days=29)
    # market-based factors are 0 where AWS matches all of a region's energy: figures that differ hour by hour
    VariantHourEstimate.objects.update(co2e_market_kg=F("co2e_kg") * 0.5)
    rollups.rebuild()
    hour = VariantHour.objects.filter(endpoint=fleet["ranker"]).order_by("hour")[30]
    VariantHourEstimate.objects.filter(variant_hour=hour).update(co2e_market_kg=None)  # estimated before 2.0.0
    rollups.refresh(rollups.cells_of([{"endpoint_id": hour.endpoint_id, "hour": hour.hour}]))
    client.force_login(alice)
    expected = overview(client, start, end)
    assert expected["co2e_market_kg"] is None and expected["co2e_kg"] > 0
    page = client.get(reverse("home"), {"period": "custom", "from": start.isoformat(), "to": end.isoformat()})
    assert b'data-figure="co2e_market_kg">\xe2\x80\x94</strong>' in page.content  # an em dash, not 0
    every_series_agrees(client, tokens["read"], expected, start, end)
    same(expected, focus(client, tokens["read"], start, end), "FOCUS")
    rolling, scraped = overview_and_metrics(client, teams[0])
    assert rolling["co2e_market_kg"] is None
    same(rolling, scraped, "Prometheus")
    # the endpoint page: the variant that holds the hour shows a dash beside its location-based figure
    page = client.get(
        reverse("endpoint", args=[fleet["ranker"].pk]),
        {"period": "custom", "from": start.isoformat(), "to": end.isoformat(), "grain": "day"},
    ).content.decode()
    header, *rows = table(page, "variants")
    market, location = header.index("CO2e (market-based, kg)"), header.index("Operational CO2e (kg)")
    assert [row[market] for row in rows] == ["—"] and number(rows[0][location]) > 0
    assert f'title="{MARKET_HELP}"' in page.replace("&#x27;", "'")
    # the other endpoints keep their figure: only what holds the hour is unknown
    others = overview(client, start, end, region="eu-west-1")
    assert others["co2e_market_kg"] > 0
    same(others, focus(client, tokens["read"], start, end, region="eu-west-1"), "FOCUS eu")
