"""One definition of every number: the overview, the emissions API (every group_by and grain), the FOCUS export and
the weekly digest give the same energy, CO2e and cost for the same team and period.

The fleet (tests/api/conftest.py) mixes priced instance-hours (ml.g5.2xlarge, ml.c5.xlarge) with one type the price
table lacks, so a cost is the sum of its priced parts everywhere, never null on one surface and a number on another.
"""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

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
        assert actual[name] == pytest.approx(expected[name], rel=1e-9, abs=1e-9), f"{name} differs in {where}"


def overview(client, start: dt.date, end: dt.date) -> dict:
    response = client.get(reverse("home"), {"period": "custom", "from": start.isoformat(), "to": end.isoformat()})
    assert response.status_code == 200
    return response.context["summary"]


def emissions(client, token: str, start: dt.date, end: dt.date, **params) -> list[dict]:
    response = client.get(
        "/api/v1/emissions/", {"start": start.isoformat(), "end": end.isoformat(), **params}, **bearer(token)
    )
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_the_overview_the_api_focus_and_the_digest_agree(client, alice, fleet, tokens, teams):
    end = timezone.now().date()
    start = end - dt.timedelta(days=29)  # the hour grain covers up to 31 days: every grain over the same period
    client.force_login(alice)
    expected = overview(client, start, end)
    assert expected["cost_usd"] is not None and 0 < expected["priced_pct"] < 100  # a mixed fleet, as claimed
    for group_by in GROUPINGS:
        for grain in ("hour", "day", "week", "month"):
            rows = emissions(client, tokens["read"], start, end, group_by=group_by, grain=grain)
            same(expected, {name: total(rows, name) for name in NUMBERS}, f"emissions {group_by}/{grain}")
            priced = sum(row["priced_instance_hours"] for row in rows)
            assert 100 * priced / expected["instance_hours"] == pytest.approx(expected["priced_pct"])

    response = client.get(
        "/api/v1/focus/", {"start": start.isoformat(), "end": end.isoformat()}, **bearer(tokens["read"])
    )
    focus = response.json()["results"]  # one row per endpoint and day, unpaged
    same(expected, {name: total(focus, column) for name, column in FOCUS.items()}, "FOCUS")


def test_the_digest_week_agrees_with_the_api_and_the_overview(client, alice, fleet, tokens, teams):
    today = timezone.now().date()
    week_start = today - dt.timedelta(days=today.weekday() + 7)  # last complete week, Monday to Sunday
    week_end = week_start + dt.timedelta(days=6)
    client.force_login(alice)
    expected = overview(client, week_start, week_end)
    assert expected["instance_hours"] > 0 or today.weekday() == 6  # the fleet's 8 days reach into last week
    same(expected, digest.content(teams[0], week_start)["this"], "the digest")
    rows = emissions(client, tokens["read"], week_start, week_end)
    same(expected, {name: total(rows, name) for name in NUMBERS}, "emissions over the digest's week")
