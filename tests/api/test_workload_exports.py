"""Workloads in the exports: /api/v1/emissions/?group_by=workload_kind (a group per kind beside the endpoints'
"inference"; every other grouping unchanged), the FOCUS export's workload rows and the Prometheus workload gauges and
per-stage totals."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from prometheus_client.parser import text_string_to_metric_families

from collectors.models import Price, WorkloadHour
from dashboard.api import focus
from dashboard.api.reports import STAGE_TOTALS, WORKLOAD_GAUGES
from dashboard.footprint import queries, workload_estimates
from dashboard.footprint import workload_queries as wq
from tests.api.conftest import bearer
from tests.web import factories

KINDS = {"training", "processing", "transform", "notebook", "studio-app"}


def price(service: str, sku: str, usd: float, region: str = "us-east-1"):
    return Price.objects.create(
        service=service, sku=sku, region=region, unit="hour", usd=Decimal(str(usd)),
        effective_date=dt.datetime(2020, 1, 1, tzinfo=dt.UTC), source_sku=f"SKU{len(service)}{sku}"[:32],
        usage_type=f"USE1-x:{sku}", collected_at=factories.this_hour(),
    )  # fmt: skip


@pytest.fixture
def workloads(fleet, teams):
    prod = fleet["ranker"].account
    other = fleet["theirs"].account
    rows = {
        "llama": factories.workload(prod, "llama-ft-1", instance_type="ml.p4d.24xlarge", count=2, hours=4,
                                    tags={"team": "recsys", "project": "chat"}),
        "spot": factories.workload(prod, "spotty-1", instance_type="ml.g5.2xlarge", hours=5, spot=True,
                                   tags={"team": "growth"}),
        "prep": factories.workload(prod, "prep-1", kind="processing", instance_type="ml.m5.4xlarge", count=2,
                                   hours=3, gpu_util_pct=None, region="eu-west-1"),
        "batch": factories.workload(prod, "batch-1", kind="transform", instance_type="ml.c5.2xlarge", count=4,
                                    hours=2, gpu_util_pct=None),
        "nb": factories.workload(prod, "research-nb", kind="notebook", instance_type="ml.g5.xlarge", hours=30,
                                 ended_hours_ago=None, cpu_util_pct=None, gpu_util_pct=None),
        "app": factories.workload(prod, "d-1/alice/lab", kind="studio-app", instance_type="ml.t3.medium", hours=6,
                                  ended_hours_ago=None, cpu_util_pct=None, gpu_util_pct=None),
        "theirs": factories.workload(other, "theirs-1", instance_type="ml.p5.48xlarge", hours=2),
    }  # fmt: skip
    price("sagemaker-training", "ml.p4d.24xlarge", 40.0)
    price("sagemaker-training", "ml.g5.2xlarge", 1.5)
    price("sagemaker-processing", "ml.m5.4xlarge", 1.0, region="eu-west-1")
    price("sagemaker-notebook", "ml.g5.xlarge", 1.2)
    workload_estimates.estimate_pending()
    return rows


def days() -> tuple[dt.date, dt.date]:
    today = factories.this_hour().date()
    return today - dt.timedelta(days=6), today


def bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return (
        dt.datetime.combine(start, dt.time(), dt.UTC),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC),
    )


def emissions(client, token, **params) -> list[dict]:
    response = client.get("/api/v1/emissions/", params, **bearer(token))
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_group_by_workload_kind_adds_a_group_per_kind_beside_inference(client, workloads, tokens, teams):
    start, end = days()
    period = {"start": start.isoformat(), "end": end.isoformat()}
    rows = emissions(client, tokens["read"], group_by="workload_kind", **period)
    groups = {row["group"] for row in rows}
    assert groups == {"inference"} | KINDS
    plain = emissions(client, tokens["read"], **period)
    inference = [row for row in rows if row["group"] == "inference"]
    assert [r["period_start"] for r in inference] == [r["period_start"] for r in plain]
    for mine, theirs in zip(inference, plain, strict=True):
        for name in ("energy_kwh", "co2e_kg", "instance_hours", "cost_usd", "invocations"):
            assert mine[name] == pytest.approx(theirs[name], rel=1e-9), name
        assert mine["billed_cost_usd"] == theirs["billed_cost_usd"]
    totals = wq.workload_totals(queries.team_accounts(teams[0]), *bounds(start, end))
    for kind in KINDS:
        mine = [row for row in rows if row["group"] == kind]
        expected = totals[totals["kind"] == kind]
        assert sum(r["energy_kwh"] for r in mine) == pytest.approx(expected["energy_kwh"].sum(), rel=1e-9), kind
        assert sum(r["instance_hours"] for r in mine) == pytest.approx(expected["instance_hours"].sum()), kind
        assert all(r["invocations"] == 0 and r["billed_cost_usd"] is None for r in mine)
    studio = [row for row in rows if row["group"] == "studio-app"]
    assert all(r["cost_usd"] is None and r["priced_share"] == 0 for r in studio)  # no component price: unpriced
    spot = workloads["spot"]
    training = [row for row in rows if row["group"] == "training"]
    expected_cost = 8 * 40.0 + 5 * 1.5 * spot.billable_seconds / spot.training_seconds
    assert sum(r["cost_usd"] or 0 for r in training) == pytest.approx(expected_cost)


def test_other_groupings_and_narrowing(client, workloads, tokens):
    start, end = days()
    period = {"start": start.isoformat(), "end": end.isoformat()}
    plain = emissions(client, tokens["read"], **period)
    assert {row["group"] for row in plain} == {"all"}  # the default stays the endpoints' alone
    eu = emissions(client, tokens["read"], group_by="workload_kind", region="eu-west-1", **period)
    assert {row["group"] for row in eu} == {"inference", "processing"}
    growth = emissions(client, tokens["read"], group_by="workload_kind", team="growth", **period)
    assert {row["group"] for row in growth} == {"inference", "training"}
    growth_hours = sum(r["instance_hours"] for r in growth if r["group"] == "training")
    assert growth_hours == pytest.approx(5.0)  # the spot job only
    one = emissions(client, tokens["read"], group_by="workload_kind", endpoint=workloads["llama"].account.endpoints
                    .get(name="ranker").pk, **period)  # fmt: skip
    assert {row["group"] for row in one} == {"inference"}  # an endpoint asked for: no workloads
    theirs = emissions(client, tokens["outsider"], group_by="workload_kind", **period)
    assert {row["group"] for row in theirs} == {"inference", "training"}
    for grain in ("hour", "week", "month"):
        rows = emissions(client, tokens["read"], group_by="workload_kind", grain=grain, **period)
        day = emissions(client, tokens["read"], group_by="workload_kind", **period)
        for kind in KINDS:
            a = sum(r["co2e_kg"] for r in rows if r["group"] == kind)
            b = sum(r["co2e_kg"] for r in day if r["group"] == kind)
            assert a == pytest.approx(b, rel=1e-9), (grain, kind)
    response = client.get(
        "/api/v1/emissions/", {"group_by": "workload_kind", "format": "csv", **period}, **bearer(tokens["read"])
    )
    text = b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()
    assert {row["group"] for row in csv.DictReader(io.StringIO(text))} == {"inference"} | KINDS
    bad = client.get("/api/v1/emissions/", {"group_by": "workload"}, **bearer(tokens["read"]))
    assert bad.status_code == 400 and "workload_kind" in bad.content.decode()


def focus_rows(client, token, **params) -> dict:
    response = client.get("/api/v1/focus/", params, **bearer(token))
    assert response.status_code == 200, response.content
    return response.json()


def test_focus_has_a_row_per_workload_day_and_type(client, workloads, tokens, teams):
    start, end = days()
    data = focus_rows(client, tokens["read"], start=start.isoformat(), end=end.isoformat())
    assert "x_WorkloadKind" in data["columns"] and data["columns"] == focus.FIELDS
    rows = data["results"]
    assert {row["x_WorkloadKind"] for row in rows} == {"inference"} | KINDS
    assert all(row["ResourceType"] == "SageMaker Endpoint" for row in rows if row["x_WorkloadKind"] == "inference")
    llama = [row for row in rows if row["ResourceName"] == "llama-ft-1"]
    assert llama and all(row["ResourceId"] == workloads["llama"].arn for row in llama)
    assert {row["ResourceType"] for row in llama} == {"SageMaker Training Job"}
    assert all("Training on ml.p4d.24xlarge" in row["ChargeDescription"] for row in llama)
    assert sum(row["ConsumedQuantity"] for row in llama) == 8.0
    assert sum(row["ListCost"] for row in llama) == pytest.approx(320.0)
    assert {row["ListUnitPrice"] for row in llama} == {40.0} and {row["x_CostBasis"] for row in llama} == {"list"}
    assert {row["SkuId"] for row in llama} == {"SKU18ml.p4d.24xlarge"}
    assert all(row["Tags"] == {"team": "recsys", "project": "chat"} for row in llama)
    hours = WorkloadHour.objects.filter(workload=workloads["llama"]).select_related("estimate")
    assert sum(row["x_EnergyKwh"] for row in llama) == pytest.approx(sum(h.estimate.energy_kwh for h in hours))
    spot = [row for row in rows if row["ResourceName"] == "spotty-1"]
    for row in spot:  # billed share of the instance-hours: ListCost = ListUnitPrice x PricingQuantity
        assert row["PricingQuantity"] == pytest.approx(row["ConsumedQuantity"] * 0.3)
        assert row["ListCost"] == pytest.approx(row["ListUnitPrice"] * row["PricingQuantity"])
        assert "managed Spot" in row["ChargeDescription"]
    studio = [row for row in rows if row["x_WorkloadKind"] == "studio-app"]
    assert studio and all(row["x_CostBasis"] == "unpriced" and row["ListCost"] == 0 for row in studio)
    assert all(row["ListUnitPrice"] is None for row in studio)
    assert not [row for row in rows if row["ResourceName"] == "theirs-1"]  # another team's
    for row in rows:  # FOCUS wants a day per row and no null cost
        assert row["ChargePeriodStart"].endswith("T00:00:00Z") and row["BilledCost"] is not None


def test_focus_csv_and_narrowing(client, workloads, tokens):
    start, end = days()
    period = {"start": start.isoformat(), "end": end.isoformat()}
    response = client.get("/api/v1/focus/", {"format": "csv", **period}, **bearer(tokens["read"]))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {row["x_WorkloadKind"] for row in rows} == {"inference"} | KINDS
    eu = focus_rows(client, tokens["read"], region="eu-west-1", **period)["results"]
    assert {row["x_WorkloadKind"] for row in eu} == {"inference", "processing"}
    assert {row["RegionId"] for row in eu} == {"eu-west-1"}


def scrape(client, token) -> dict:
    response = client.get("/metrics", **bearer(token))
    assert response.status_code == 200
    text = response.content.decode()
    for name in [name for name, _ in WORKLOAD_GAUGES] + [name for name, _, _ in STAGE_TOTALS]:
        assert f"# HELP {name} " in text and f"# TYPE {name} gauge" in text
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_prometheus_gauges_of_running_workloads(client, workloads, tokens):
    families = scrape(client, tokens["read"])
    watts = {s.labels["name"]: s for s in families["wattson_workload_watts"].samples}
    assert set(watts) == {"research-nb", "d-1/alice/lab"}  # the running ones; finished jobs are not gauges
    sample = watts["research-nb"]
    assert sample.labels == {"kind": "notebook", "account_id": "111122223333", "region": "us-east-1",
                             "name": "research-nb"}  # fmt: skip
    hour = dt.datetime.fromtimestamp(families["wattson_workload_data_hour_timestamp_seconds"].samples[0].value, dt.UTC)
    stored = WorkloadHour.objects.get(workload=workloads["nb"], hour=hour).estimate
    assert sample.value == pytest.approx(stored.energy_kwh * 1000)
    gco2e = {s.labels["name"]: s.value for s in families["wattson_workload_gco2e_per_hour"].samples}
    assert gco2e["research-nb"] == pytest.approx(1000 * (stored.co2e_kg + stored.embodied_co2e_kg))
    assert not families["wattson_workload_cpu_util_pct"].samples  # no host metrics for notebooks: no gauge


def test_workload_rows_have_the_specifications_types_and_nulls(client, workloads, tokens):
    from tests.api.test_focus import MANDATORY, SPEC, csv_type_ok, json_type_ok

    start, end = days()
    period = {"start": start.isoformat(), "end": end.isoformat()}
    rows = [r for r in focus_rows(client, tokens["read"], **period)["results"] if r["x_WorkloadKind"] != "inference"]
    assert {row["x_WorkloadKind"] for row in rows} == KINDS
    for row in rows:
        assert set(row) >= MANDATORY
        for name, value in row.items():
            column = SPEC.get(name)
            if column is None:
                assert name.startswith("x_"), name
            elif value is None:
                assert column["allows_nulls"] == "True", f"{name} is null, which FOCUS 1.2 forbids"
            else:
                assert json_type_ok(column["data_type"], value), f"{name}={value!r} is not {column['data_type']}"
    response = client.get("/api/v1/focus/", {"format": "csv", **period}, **bearer(tokens["read"]))
    lines = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    for row in [line for line in lines if line["x_WorkloadKind"] != "inference"]:
        for name, text in row.items():
            column = SPEC.get(name)
            if column is None:
                continue
            if text == "":
                assert column["allows_nulls"] == "True", f"{name} is empty, which FOCUS 1.2 forbids"
            else:
                assert csv_type_ok(column["data_type"], text), f"{name}={text!r} is not {column['data_type']}"
