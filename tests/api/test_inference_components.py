"""/api/v1/endpoints/ lists each endpoint's inference components; /api/v1/emissions/components/ gives usage and
emissions per component and the unreserved capacity, adding up to the endpoint's emissions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from collectors.models import ComponentConfig, InferenceComponent
from dashboard.footprint import components
from dashboard.teams.models import ApiToken
from tests.api.conftest import bearer
from tests.footprint.test_components import INVOCATIONS, PLAN, ic_endpoint
from tests.web import factories

FIELDS = {
    "name",
    "variant_name",
    "status",
    "copy_count",
    "desired_copy_count",
    "cpu_cores_required",
    "accelerators_required",
    "min_memory_mb",
    "cpu_cores_reserved",
    "accelerators_reserved",
    "memory_reserved_mb",
    "deleted_at",
}


@pytest.fixture
def token(alice, teams):
    return ApiToken.issue(alice, teams[0], "components")[1]


@pytest.fixture
def ic_fleet(teams):
    owner = factories.account(teams[0], "111122223333", "prod")
    row, found = ic_endpoint(owner)
    plain = factories.endpoint(owner, "plain-endpoint", hours=len(PLAN))
    factories.estimate()
    return row, found, plain


def endpoints(client, token, **params) -> dict:
    response = client.get("/api/v1/endpoints/", params, **bearer(token))
    assert response.status_code == 200, response.content[:300]
    return {row["name"]: row for row in response.json()["results"]}


def test_an_ic_endpoint_lists_its_components_and_what_they_reserve_now(client, token, ic_fleet):
    row, found, _ = ic_fleet
    listed = endpoints(client, token)
    assert listed["plain-endpoint"]["inference_components"] == []
    by_name = {c["name"]: c for c in listed["llm-assistant"]["inference_components"]}
    assert set(by_name) == {"llm-assistant-chat", "llm-assistant-summarize", "llm-assistant-codegen"}
    assert all(set(c) == FIELDS for c in by_name.values())
    chat = by_name["llm-assistant-chat"]
    assert (chat["copy_count"], chat["desired_copy_count"]) == (2, 2)
    assert (chat["accelerators_required"], chat["cpu_cores_required"], chat["min_memory_mb"]) == (1, 4, 24_576)
    assert (chat["accelerators_reserved"], chat["cpu_cores_reserved"], chat["memory_reserved_mb"]) == (2, 8, 49_152)
    codegen = by_name["llm-assistant-codegen"]
    assert codegen["copy_count"] == 0 and codegen["accelerators_reserved"] == 0 and codegen["deleted_at"] is None
    detail = client.get(f"/api/v1/endpoints/{row.pk}/", **bearer(token)).json()
    assert detail["inference_components"] == listed["llm-assistant"]["inference_components"]


def test_the_latest_configuration_counts_and_a_deleted_component_says_so(client, token, ic_fleet):
    _, found, _ = ic_fleet
    chat = found["chat"]
    now = timezone.now()
    ComponentConfig.objects.filter(component=chat).update(valid_to=now)
    ComponentConfig.objects.create(
        component=chat,
        valid_from=now,
        accelerators_required=1,
        cpu_cores_required=4,
        desired_copy_count=3,
        current_copy_count=3,
    )
    InferenceComponent.objects.filter(pk=found["summarize"].pk).update(deleted_at=now)
    by_name = {c["name"]: c for c in endpoints(client, token)["llm-assistant"]["inference_components"]}
    assert (
        by_name["llm-assistant-chat"]["copy_count"] == 3 and by_name["llm-assistant-chat"]["accelerators_reserved"] == 3
    )
    assert by_name["llm-assistant-summarize"]["deleted_at"] is not None


def test_listing_components_costs_the_same_queries_for_any_number_of_endpoints(client, token, teams):
    owner = factories.account(teams[0], "111122223333", "prod")
    ic_endpoint(owner, "llm-one", plan=PLAN[:1])

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/endpoints/", **bearer(token)).status_code == 200
        return len(queries)

    client.get("/api/v1/endpoints/", **bearer(token))  # the token's last use is written at most once a minute
    few = count()
    for number in range(4):
        ic_endpoint(owner, f"llm-more-{number}", plan=PLAN[:1])
        factories.endpoint(owner, f"plain-{number}", hours=1)
    assert count() == few


def rows_of(client, token, **params) -> list[dict]:
    response = client.get("/api/v1/emissions/components/", params, **bearer(token))
    assert response.status_code == 200, response.content[:300]
    return response.json()["results"]


def test_emissions_by_component_add_up_to_the_endpoints_emissions(client, token, ic_fleet):
    row, found, _ = ic_fleet
    today = timezone.now().date()
    period = {"start": (today - timedelta(days=2)).isoformat(), "end": today.isoformat()}
    rows = rows_of(client, token, **period)
    assert {r["group"] for r in rows} == {
        "llm-assistant-chat",
        "llm-assistant-summarize",
        "llm-assistant-codegen",
        f"llm-assistant/AllTraffic {components.UNRESERVED}",
    }
    assert all(r["endpoint"] == "llm-assistant" for r in rows)  # the plain endpoint has no component rows
    whole = client.get("/api/v1/emissions/", {**period, "group_by": "endpoint"}, **bearer(token)).json()["results"]
    endpoint_rows = [r for r in whole if r["endpoint_id"] == row.pk]
    for measure in ("energy_kwh", "co2e_kg", "embodied_co2e_kg", "instance_hours", "cost_usd"):
        assert sum(r[measure] for r in rows) == pytest.approx(sum(r[measure] for r in endpoint_rows), rel=1e-9)
    chat = [r for r in rows if r["component"] == "llm-assistant-chat"]
    assert sum(r["invocations"] for r in chat) == INVOCATIONS["chat"] * len(PLAN)
    for r in chat:
        assert r["gco2e_per_1k_invocations"] == pytest.approx(
            (r["co2e_kg"] + r["embodied_co2e_kg"]) * 1e6 / r["invocations"]
        )
    unreserved = [r for r in rows if r["component"] is None]
    # per day: the plan's hours straddle midnight between 00:00 and 06:00 UTC, and a day whose hours have every
    # core reserved has an unreserved row of 0 kWh; over the plan there is unreserved capacity
    assert all(r["gco2e_per_1k_invocations"] is None and r["energy_kwh"] >= 0 for r in unreserved)
    assert sum(r["energy_kwh"] for r in unreserved) > 0


def test_emissions_by_component_are_scoped_to_the_team_and_filters(client, token, ic_fleet, teams):
    row, _, _ = ic_fleet
    stranger = factories.account(teams[1], "777788889999", "others")
    ic_endpoint(stranger, "their-llm", plan=PLAN[:2])
    factories.estimate()
    assert all(r["endpoint"] == "llm-assistant" for r in rows_of(client, token))
    assert rows_of(client, token, region="eu-west-1") == []
    assert {r["endpoint_id"] for r in rows_of(client, token, endpoint=row.pk)} == {row.pk}
    csv = client.get("/api/v1/emissions/components/", {"format": "csv"}, **bearer(token))
    assert csv.status_code == 200
    text = b"".join(csv.streaming_content).decode()
    assert text.splitlines()[0].startswith("period_start,group,component,endpoint_id")
    assert "llm-assistant-chat" in text and "their-llm" not in text
