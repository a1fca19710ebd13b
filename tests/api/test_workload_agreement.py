"""One definition of every workload number: the emissions API grouped by workload kind, the FOCUS export and the
Prometheus per-stage totals give the energy, CO2e (location- and market-based), embodied CO2e, instance-hours and
list cost of ``workload_queries.workload_totals`` for the same team and period; their inference part is the
endpoints' own figures on every surface."""

import datetime as dt

import pytest
from prometheus_client.parser import text_string_to_metric_families

from dashboard.api.reports import STAGE_TOTALS, period_view, prometheus_text
from dashboard.footprint import queries
from dashboard.footprint import workload_queries as wq
from tests.api.conftest import bearer
from tests.api.test_workload_exports import KINDS, bounds, days, workloads  # noqa: F401 - fixture
from tests.web import factories

NUMBERS = ("energy_kwh", "co2e_kg", "co2e_market_kg", "embodied_co2e_kg", "instance_hours", "cost_usd")
FOCUS = {
    "energy_kwh": "x_EnergyKwh",
    "co2e_kg": "x_CO2eLocationKg",
    "co2e_market_kg": "x_CO2eMarketKg",
    "embodied_co2e_kg": "x_EmbodiedCO2eKg",
    "instance_hours": "ConsumedQuantity",
    "cost_usd": "ListCost",
}


def reference(team, start: dt.date, end: dt.date) -> dict[str, dict]:
    """workload_totals summed per kind; cost the priced part (None where nothing is priced)."""
    totals = wq.workload_totals(queries.team_accounts(team), *bounds(start, end))
    result = {}
    for kind in KINDS:
        rows = totals[totals["kind"] == kind]
        result[kind] = {name: float(rows[name].sum()) for name in NUMBERS if name != "cost_usd"}
        result[kind]["cost_usd"] = float(rows["cost_usd"].sum()) if rows["cost_usd"].notna().any() else None
    return result


def same(expected: dict, actual: dict, where: str) -> None:
    for name in NUMBERS:
        if expected[name] is None:
            assert actual[name] in (None, 0.0), f"{name} differs in {where}"
            continue
        assert actual[name] == pytest.approx(expected[name], rel=1e-9, abs=1e-9), f"{name} differs in {where}"


def test_emissions_by_kind_and_focus_agree_with_workload_totals(client, workloads, tokens, teams):
    start, end = days()
    expected = reference(teams[0], start, end)
    assert all(expected[kind]["energy_kwh"] > 0 for kind in KINDS)
    period = {"start": start.isoformat(), "end": end.isoformat()}
    for grain in ("day", "hour", "week", "month"):
        response = client.get(
            "/api/v1/emissions/", {"group_by": "workload_kind", "grain": grain, **period}, **bearer(tokens["read"])
        )
        rows = response.json()["results"]
        for kind in KINDS:
            mine = [row for row in rows if row["group"] == kind]
            actual = {name: sum(row[name] for row in mine) for name in NUMBERS if name != "cost_usd"}
            costs = [row["cost_usd"] for row in mine if row["cost_usd"] is not None]
            actual["cost_usd"] = sum(costs) if costs else None
            same(expected[kind], actual, f"emissions {grain} {kind}")
    focus = client.get("/api/v1/focus/", period, **bearer(tokens["read"])).json()["results"]
    for kind in KINDS:
        mine = [row for row in focus if row["x_WorkloadKind"] == kind]
        actual = {name: sum(row[column] for row in mine) for name, column in FOCUS.items()}
        same(expected[kind], actual, f"FOCUS {kind}")
    # The endpoints' part: the FOCUS inference rows are the emissions API's inference rows.
    rows = client.get("/api/v1/emissions/", {"group_by": "workload_kind", **period}, **bearer(tokens["read"]))
    inference = [row for row in rows.json()["results"] if row["group"] == "inference"]
    endpoints = [row for row in focus if row["x_WorkloadKind"] == "inference"]
    for name, column in FOCUS.items():
        if name == "cost_usd":
            continue  # FOCUS carries billed cost where an export has it; list cost compared by the endpoint tests
        assert sum(r[column] for r in endpoints) == pytest.approx(sum(r[name] for r in inference), rel=1e-9), name


def test_prometheus_stage_totals_are_the_lifecycle_split_of_the_30_days(client, workloads, teams, tokens):
    team = teams[0]
    for _ in range(3):  # read within one clock hour (the 30 days end at the scrape's hour)
        hour = factories.this_hour()
        text = prometheus_text(team, dt.datetime.now(dt.UTC))
        if factories.this_hour() == hour:
            break
    families = {family.name: family for family in text_string_to_metric_families(text)}
    view = period_view("30d", dt.datetime.now(dt.UTC))
    accounts = queries.team_accounts(team)
    split = wq.lifecycle_split(accounts, view.start_time, view.end_time).set_index("stage")
    totals = wq.workload_totals(accounts, view.start_time, view.end_time)
    for name, key, _ in STAGE_TOTALS:
        samples = {s.labels["stage"]: s.value for s in families[name].samples if s.labels["period"] == "30d"}
        assert set(samples) <= set(wq.STAGES)
        for stage in wq.STAGES:
            value = split.loc[stage, key]
            if value != value:  # NaN: nothing priced, no sample
                assert stage not in samples, (name, stage)
            else:
                assert samples[stage] == pytest.approx(float(value), rel=1e-9), (name, stage)
        kinds = {"training": ["training"], "notebooks": ["notebook", "studio-app"]}
        if key != "cost_usd":
            for stage, stage_kinds in kinds.items():  # recomputed from the per-workload totals
                expected = float(totals[totals["kind"].isin(stage_kinds)][key].sum())
                assert samples[stage] == pytest.approx(expected, rel=1e-9), (name, stage)
    team_energy = next(s.value for s in families["wattson_team_energy_kwh"].samples if s.labels["period"] == "30d")
    stage_energy = {s.labels["stage"]: s.value for s in families["wattson_team_stage_energy_kwh"].samples}
    assert stage_energy["inference"] == pytest.approx(team_energy, rel=1e-9)  # the endpoints' own total
    assert stage_energy["storage"] == 0.0
