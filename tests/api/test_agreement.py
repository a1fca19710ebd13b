"""One definition of every number: the overview, the emissions API (every group_by and grain), the FOCUS export,
Prometheus' period totals and the weekly digest give the same energy, CO2e and cost for the same team, filter and
period. Periods are anchored on the fleet's own last collected day, not on the clock.

The fleet (tests/api/conftest.py) mixes priced instance-hours (ml.g5.2xlarge, ml.c5.xlarge) with one type the price
table lacks, so a cost is the sum of its priced parts everywhere, never null on one surface and a number on another.
"""

import datetime as dt

import pytest
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from collectors.models import VariantHour
from dashboard.api.reports import TEAM_TOTALS, prometheus_text
from dashboard.notify import digest
from tests.api.conftest import bearer

GROUPINGS = ("none", "account", "region", "endpoint", "instance_type", "team", "tag:env")
NUMBERS = ("energy_kwh", "co2e_kg", "embodied_co2e_kg", "instance_hours", "cost_usd")
FOCUS = {
    "energy_kwh": "x_EnergyKwh",
    "co2e_kg": "x_CarbonEmissionsKgCo2e",
    "embodied_co2e_kg": "x_EmbodiedKgCo2e",
    "instance_hours": "ConsumedQuantity",
    "cost_usd": "ListCost",
}


def total(rows: list[dict], key: str) -> float | None:
    """Sums a column whose unknowns are None (a cost): None only when every value is."""
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


def focus(client, token: str, start: dt.date, end: dt.date, **params) -> dict:
    response = client.get(
        "/api/v1/focus/", {"start": start.isoformat(), "end": end.isoformat(), **params}, **bearer(token)
    )
    assert response.status_code == 200, response.content
    rows = response.json()["results"]  # one row per endpoint and day, unpaged
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
    every_series_agrees(client, tokens["read"], expected, start, end)
    same(expected, focus(client, tokens["read"], start, end), "FOCUS")
    # /metrics at any time of the period's last day: its 30d totals are the overview's
    at = dt.datetime.combine(end, dt.time(17, 42), dt.UTC)
    same(expected, metrics(prometheus_text(teams[0], at), "30d"), "Prometheus")
    response = client.get("/metrics", **bearer(tokens["read"]))
    assert response.status_code == 200 and set(metrics(response.content.decode(), "30d")) == set(NUMBERS)


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
