"""The endpoint page of an IC endpoint shows its inference components with their own energy and carbon, the
unreserved capacity as its own line, and totals that add up to the endpoint's; other endpoints show none."""

from __future__ import annotations

import pytest
from django.urls import reverse

from collectors.models import VariantHour
from dashboard.footprint.models import ComponentHourEstimate
from tests.footprint.test_components import INVOCATIONS, PLAN, ic_endpoint
from tests.web import factories
from tests.web.html import number, table


@pytest.fixture
def fleet(teams):
    owner = factories.account(teams[0], "111122223333", "prod")
    row, found = ic_endpoint(owner)
    plain = factories.endpoint(owner, "plain-endpoint", hours=len(PLAN))
    factories.estimate()
    return row, found, plain


def page(client, alice, endpoint, **params):
    client.force_login(alice)
    response = client.get(reverse("endpoint", args=[endpoint.pk]), params)
    assert response.status_code == 200
    return response


def test_the_page_lists_each_component_and_the_unreserved_capacity(client, alice, fleet):
    row, found, _ = fleet
    response = page(client, alice, row, period="7d", grain="hour")
    html = response.content.decode()
    assert 'id="inference-components"' in html
    rows = table(html, "components")
    header, body = rows[0], {r[0]: r for r in rows[1:]}
    assert set(body) == {
        "llm-assistant-chat",
        "llm-assistant-summarize",
        "llm-assistant-codegen",
        "Unreserved capacity",
    }
    energy = header.index("Energy (kWh)")
    for name, component in (("llm-assistant-chat", found["chat"]), ("llm-assistant-codegen", found["codegen"])):
        by_hand = sum(e.energy_kwh for e in ComponentHourEstimate.objects.filter(component=component))
        assert number(body[name][energy]) == pytest.approx(by_hand, abs=0.0005)
    unreserved = sum(e.energy_kwh for e in ComponentHourEstimate.objects.filter(endpoint=row, component__isnull=True))
    assert number(body["Unreserved capacity"][energy]) == pytest.approx(unreserved, abs=0.0005) and unreserved > 0
    assert number(body["llm-assistant-chat"][header.index("Inferences")]) == INVOCATIONS["chat"] * len(PLAN)
    assert number(body["llm-assistant-chat"][header.index("Copies now")]) == 2
    assert "scaled to zero — no instance cost of its own" in body["llm-assistant-codegen"]
    assert body["llm-assistant-chat"][header.index("Reserved now")] == "2 accelerators, 8 cores, 48 GB"
    shares = [number(r[header.index("Share of the endpoint's energy (%)")]) for r in body.values()]
    assert sum(shares) == pytest.approx(100, abs=0.3)  # one IC variant: the components are the whole endpoint


def test_the_totals_add_up_to_the_endpoints_energy(client, alice, fleet):
    row, _, _ = fleet
    section = page(client, alice, row, period="7d", grain="hour").context["components"]
    hours = VariantHour.objects.filter(endpoint=row).select_related("estimate")
    endpoint_kwh = sum(h.estimate.energy_kwh for h in hours)
    assert section["totals"]["energy_kwh"] == pytest.approx(endpoint_kwh, rel=1e-9)
    assert section["endpoint_energy_kwh"] == pytest.approx(endpoint_kwh, rel=1e-9)
    assert section["totals"]["co2e_kg"] == pytest.approx(sum(h.estimate.co2e_kg for h in hours), rel=1e-9)


def test_the_window_is_the_pages(client, alice, fleet):
    """A one-day calendar period before the hours were collected: the components are listed with no energy."""
    row, _, _ = fleet
    response = page(client, alice, row, period="custom", **{"from": "2020-01-01", "to": "2020-01-01"})
    section = response.context["components"]
    assert section["totals"]["energy_kwh"] == 0
    assert len(section["table"].rows) == 3  # the three components, no unreserved line without hours


def test_an_endpoint_without_components_has_no_such_card(client, alice, fleet):
    _, _, plain = fleet
    response = page(client, alice, plain)
    assert response.context["components"] is None
    assert 'id="inference-components"' not in response.content.decode()
    assert table(response.content.decode(), "components") == []


def test_the_components_table_downloads_as_csv(client, alice, fleet):
    row, _, _ = fleet
    response = page(client, alice, row, csv="components")
    text = b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()
    assert "llm-assistant-chat" in text and "Unreserved capacity" in text


def test_the_chart_stacks_each_components_energy_to_the_variants(client, alice, fleet):
    row, _, _ = fleet
    response = page(client, alice, row, period="7d", grain="hour")
    chart = next(c for c in response.context["charts"] if c["id"] == "components-chart")
    assert chart["layout"]["barmode"] == "stack"
    names = [trace["name"] for trace in chart["data"] if trace.get("showlegend", True)]
    assert names == [
        "llm-assistant-chat (kWh)",
        "llm-assistant-codegen (kWh)",
        "llm-assistant-summarize (kWh)",
        "Unreserved capacity (kWh)",
    ]
    stacked: dict[str, float] = {}
    for trace in chart["data"]:
        for x, y in zip(trace["x"], trace["y"], strict=True):
            stacked[x] = stacked.get(x, 0.0) + (y or 0.0)
    hours = VariantHour.objects.filter(endpoint=row).select_related("estimate")
    by_hand = {h.hour.replace(tzinfo=None).isoformat(): h.estimate.energy_kwh for h in hours}
    assert stacked.keys() == by_hand.keys()
    for x, energy in by_hand.items():
        assert stacked[x] == pytest.approx(energy, abs=1e-5)
    assert 'id="components-chart"' in response.content.decode()


def test_other_endpoints_have_no_components_chart(client, alice, fleet):
    _, _, plain = fleet
    assert all(c["id"] != "components-chart" for c in page(client, alice, plain).context["charts"])
