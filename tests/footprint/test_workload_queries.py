"""The workload query layer: per-workload, per-tuning-job and per-stage totals recomputed from the stored hours and
estimates; cost by each component's price (collected, in effect on the day), Spot scaled by billable / training."""

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from collectors import aws, runner
from collectors.models import Price, VariantHour, WorkloadHour
from collectors.models.health import Source
from dashboard.footprint import price_book, queries, workload_estimates
from dashboard.footprint import workload_queries as wq
from dashboard.footprint.filters import Filters
from tests.collectors.conftest import aws_env, prod  # noqa: F401 - fixtures
from tests.web import factories

HOUR = dt.timedelta(hours=1)


def price(service: str, sku: str, usd: float, region: str = "us-east-1", effective=None, source_sku: str = "SKU1"):
    now = factories.this_hour()
    return Price.objects.create(
        service=service, sku=sku, region=region, unit="hour", usd=Decimal(str(usd)),
        effective_date=effective or dt.datetime(2020, 1, 1, tzinfo=dt.UTC), source_sku=source_sku,
        usage_type=f"USE1-x:{sku}", collected_at=now,
    )  # fmt: skip


@pytest.fixture
def fleet(teams):
    owner = factories.account(teams[0], "111122223333")
    other = factories.account(teams[1], "444455556666")
    hpo = factories.tuning_job(owner, "xgb-hpo", strategy="Random", max_parallel=10, max_jobs=20)
    w = {
        "llama": factories.workload(owner, "llama-ft-1", instance_type="ml.p4d.24xlarge", count=2, hours=4,
                                    cpu_util_pct=25.0, gpu_util_pct=35.0, tags={"team": "nlp", "project": "chat"}),
        "spot": factories.workload(owner, "spotty-1", instance_type="ml.g5.2xlarge", hours=5, spot=True,
                                   cpu_util_pct=50.0, gpu_util_pct=70.0),
        "prep": factories.workload(owner, "prep-1", kind="processing", instance_type="ml.m5.4xlarge", count=2,
                                   hours=3, cpu_util_pct=60.0, gpu_util_pct=None),
        "batch": factories.workload(owner, "batch-1", kind="transform", instance_type="ml.c5.2xlarge", count=4,
                                    hours=2, cpu_util_pct=30.0, gpu_util_pct=None),
        "nb": factories.workload(owner, "research-nb", kind="notebook", instance_type="ml.g5.xlarge", hours=6,
                                 ended_hours_ago=None, cpu_util_pct=None, gpu_util_pct=None),
        "app": factories.workload(owner, "d-1/alice/lab", kind="studio-app", instance_type="ml.t3.medium", hours=6,
                                  ended_hours_ago=None, cpu_util_pct=None, gpu_util_pct=None),
        "old": factories.workload(owner, "old-1", instance_type="ml.m5.xlarge", hours=2, ended_hours_ago=24 * 40),
        "theirs": factories.workload(other, "theirs-1", instance_type="ml.p5.48xlarge", hours=2),
    }  # fmt: skip
    w["hpo"] = [
        factories.workload(owner, f"xgb-hpo-{i:03d}", instance_type="ml.m5.xlarge", hours=1 + i % 2,
                           ended_hours_ago=2 + i, tuning=hpo, cpu_util_pct=40.0 + i, gpu_util_pct=None)
        for i in range(5)
    ]  # fmt: skip
    price("sagemaker-training", "ml.p4d.24xlarge", 40.0)
    price("sagemaker-training", "ml.g5.2xlarge", 1.5)
    price("sagemaker-training", "ml.m5.xlarge", 0.25)
    price("sagemaker-processing", "ml.m5.4xlarge", 1.0)
    price("sagemaker-notebook", "ml.g5.xlarge", 1.2)
    price("sagemaker-inference", "ml.p4d.24xlarge", 99.0)  # hosting: never a job's price
    workload_estimates.estimate_pending()
    return owner, w, hpo


def period(days: int = 30):
    end = factories.this_hour()
    return end - dt.timedelta(days=days), end


def expected_rows(workload, start, end) -> dict:
    hours = list(
        WorkloadHour.objects.filter(workload=workload, hour__gte=start, hour__lt=end).select_related("estimate")
    )

    def s(get):  # noqa: E306
        return sum(get(h) for h in hours)

    cpu = [(h.cpu_util_pct, h.instance_hours) for h in hours if h.cpu_util_pct is not None]
    return {
        "hours": len({h.hour for h in hours}),
        "instance_hours": s(lambda h: h.instance_hours),
        "spot_instance_hours": s(lambda h: h.spot_instance_hours),
        "energy_kwh": s(lambda h: h.estimate.energy_kwh),
        "co2e_kg": s(lambda h: h.estimate.co2e_kg),
        "co2e_market_kg": s(lambda h: h.estimate.co2e_market_kg),
        "embodied_co2e_kg": s(lambda h: h.estimate.embodied_co2e_kg),
        "cpu_util_pct": sum(c * w for c, w in cpu) / sum(w for _, w in cpu) if cpu else None,
        "gpu_util_max_pct": max((h.gpu_util_max_pct for h in hours if h.gpu_util_max_pct is not None), default=None),
    }


def test_workload_totals_are_the_sums_of_their_hours(fleet):
    owner, w, _ = fleet
    start, end = period()
    accounts = queries.team_accounts(owner.team)
    totals = wq.workload_totals(accounts, start, end).set_index("name")
    assert list(wq.workload_totals(accounts, start, end).columns) == wq.TOTAL_COLUMNS
    mine = {w[k].name for k in ("llama", "spot", "prep", "batch", "nb", "app")} | {j.name for j in w["hpo"]}
    assert set(totals.index) == mine  # not the other team's, not one outside the period
    for name in mine:
        expected = expected_rows(totals.loc[name, "workload_id"], start, end)
        for column, value in expected.items():
            if value is None:
                assert pd.isna(totals.loc[name, column]), (name, column)
            else:
                assert totals.loc[name, column] == pytest.approx(value, rel=1e-9), (name, column)
    llama = totals.loc["llama-ft-1"]
    assert llama["team"] == "nlp" and llama["project"] == "chat" and llama["account_id"] == "111122223333"
    assert llama["gpu_util_pct"] == pytest.approx(35.0) and llama["instance_hours"] == 8.0
    assert totals["co2e_kg"].is_monotonic_decreasing


def test_cost_is_the_components_list_price_and_spot_pays_the_billable_share(fleet):
    owner, w, _ = fleet
    start, end = period()
    totals = wq.workload_totals(queries.team_accounts(owner.team), start, end).set_index("name")
    assert totals.loc["llama-ft-1", "cost_usd"] == pytest.approx(8 * 40.0)  # Training, not hosting's 99
    spot = w["spot"]
    ratio = spot.billable_seconds / spot.training_seconds
    assert ratio == pytest.approx(0.3)
    assert totals.loc["spotty-1", "cost_usd"] == pytest.approx(5 * 1.5 * ratio)
    assert totals.loc["spotty-1", "spot_instance_hours"] == 5.0
    assert totals.loc["prep-1", "cost_usd"] == pytest.approx(6 * 1.0)
    assert totals.loc["research-nb", "cost_usd"] == pytest.approx(6 * 1.2)
    assert pd.isna(totals.loc["batch-1", "cost_usd"])  # no Batch Transform price collected: unpriced
    assert pd.isna(totals.loc["d-1/alice/lab", "cost_usd"])  # a Studio app: no component priced
    assert totals.loc["llama-ft-1", "price_source"] == price_book.COLLECTED
    assert totals.loc["batch-1", "price_source"] is None


def test_a_price_change_prices_each_day_at_its_own_price(fleet):
    owner, w, _ = fleet
    nb = w["nb"]
    hours = list(WorkloadHour.objects.filter(workload=nb).order_by("hour"))
    change = dt.datetime.combine(hours[-1].hour.date(), dt.time(), dt.UTC)
    price("sagemaker-notebook", "ml.g5.xlarge", 2.0, effective=change, source_sku="SKU2")
    start, end = period()
    expected = sum(h.instance_hours * (2.0 if h.hour.date() >= change.date() else 1.2) for h in hours)
    totals = wq.workload_totals(queries.team_accounts(owner.team), start, end, ids=[nb.pk])
    assert totals["cost_usd"].iloc[0] == pytest.approx(expected)


def test_kind_and_ids_narrow_the_rows(fleet):
    owner, w, _ = fleet
    start, end = period()
    accounts = queries.team_accounts(owner.team)
    assert set(wq.workload_totals(accounts, start, end, kind="processing")["name"]) == {"prep-1"}
    assert set(wq.workload_totals(accounts, start, end, kind=["notebook", "studio-app"])["name"]) == {
        "research-nb", "d-1/alice/lab"}  # fmt: skip
    assert set(wq.workload_totals(accounts, start, end, ids=[w["llama"].pk])["name"]) == {"llama-ft-1"}
    assert wq.workload_totals(accounts, end, end + HOUR).empty
    assert list(wq.workload_totals([], start, end).columns) == wq.TOTAL_COLUMNS


def test_tuning_totals_are_their_childrens_sums(fleet):
    owner, w, hpo = fleet
    start, end = period()
    accounts = queries.team_accounts(owner.team)
    tuning = wq.tuning_totals(accounts, start, end)
    assert list(tuning.columns) == wq.TUNING_COLUMNS and len(tuning) == 1
    row = tuning.iloc[0]
    children = [expected_rows(j.pk, start, end) for j in w["hpo"]]
    assert row["tuning_job_id"] == hpo.pk and row["children"] == 5 and row["strategy"] == "Random"
    assert row["max_parallel_jobs"] == 10
    for column in ("instance_hours", "energy_kwh", "co2e_kg", "embodied_co2e_kg"):
        assert row[column] == pytest.approx(sum(c[column] for c in children), rel=1e-9)
    assert row["cost_usd"] == pytest.approx(sum(c["instance_hours"] for c in children) * 0.25)


def test_workload_series_is_its_hours_with_their_estimates(fleet):
    _, w, _ = fleet
    series = wq.workload_series(w["llama"].pk)
    hours = list(WorkloadHour.objects.filter(workload=w["llama"]).order_by("hour").select_related("estimate"))
    assert list(series.columns) == wq.SERIES_COLUMNS and len(series) == len(hours) == 4
    assert list(series["energy_kwh"]) == pytest.approx([h.estimate.energy_kwh for h in hours])
    assert list(series["hour"]) == [h.hour for h in hours]
    assert (series["instance_hours"] == 2.0).all() and (series["gpu_util_pct"] == 35.0).all()
    late = wq.workload_series(w["llama"].pk, hours[2].hour, hours[-1].hour + HOUR)
    assert len(late) == 2


def test_lifecycle_split_takes_inference_from_the_endpoints_and_stages_from_workload_kinds(fleet):
    owner, w, _ = fleet
    factories.endpoint(owner, "ranker", instance_type="ml.g5.2xlarge", gpu_util_pct=35.0, hours=48)
    factories.estimate()
    start, end = period(7)
    accounts = queries.team_accounts(owner.team)
    split = wq.lifecycle_split(accounts, start, end).set_index("stage")
    assert tuple(split.index) == wq.STAGES
    filters = Filters("custom", start.date(), (end - HOUR).date(), "day", window=(start, end))
    endpoints = queries.summary(queries.endpoint_totals(accounts, filters, None))
    assert split.loc["inference", "co2e_kg"] == pytest.approx(endpoints["co2e_kg"], rel=1e-9)
    assert split.loc["inference", "energy_kwh"] == pytest.approx(endpoints["energy_kwh"], rel=1e-9)
    hours = VariantHour.objects.filter(endpoint__account=owner, hour__gte=start, hour__lt=end)
    direct = sum(h.estimate.energy_kwh for h in hours.select_related("estimate"))
    assert split.loc["inference", "energy_kwh"] == pytest.approx(direct, rel=1e-9) and direct > 0
    totals = wq.workload_totals(accounts, start, end)
    for stage, kinds in {"training": ["training"], "processing": ["processing"], "transform": ["transform"],
                         "notebooks": ["notebook", "studio-app"]}.items():  # fmt: skip
        rows = totals[totals["kind"].isin(kinds)]
        assert split.loc[stage, "energy_kwh"] == pytest.approx(rows["energy_kwh"].sum(), rel=1e-9), stage
        assert rows["energy_kwh"].sum() > 0, stage
        assert split.loc[stage, "instance_hours"] == pytest.approx(rows["instance_hours"].sum()), stage
    assert (
        split.loc["storage", "energy_kwh"] == 0.0
    )  # no snapshot in this fleet (tests/footprint/test_storage_footprint.py)
    assert "unpriced" in split.loc["notebooks", "note"]  # the Studio app's hours are not priced


def test_running_workloads_of_one_hour(fleet):
    owner, w, _ = fleet
    hour = factories.this_hour() - HOUR
    assert wq.latest_hour(owner.team, factories.this_hour()) == hour
    rows = {r["name"]: r for r in wq.workload_hour(owner.team, hour)}
    assert set(rows) == {"research-nb", "d-1/alice/lab"}  # the only ones still running
    nb = WorkloadHour.objects.get(workload=w["nb"], hour=hour)
    assert rows["research-nb"]["energy_kwh"] == pytest.approx(nb.estimate.energy_kwh)
    assert rows["research-nb"]["kind"] == "notebook" and rows["research-nb"]["cpu_util_pct"] is None


# --- component prices from the (simulated) AWS Price List, over HTTP ------------------------------------------

COMPONENT_FACTORS = {  # sandbox/pricing.py: each component's simulated price over hosting
    "sagemaker-training": "Training",
    "sagemaker-notebook": "Notebook",
    "sagemaker-processing": "Processing",
    "sagemaker-transform": "Batch Transform",
}


def test_training_notebook_processing_and_transform_prices_are_collected_under_their_own_services(
    prod, sandbox_control
):
    from sandbox import pricing

    sandbox_control("DELETE", "prices")
    summary = runner.run(prod, aws.PRICING_REGION, Source.PRICES)
    assert summary.details["refused"] == 0
    for service, component in COMPONENT_FACTORS.items():
        rows = Price.objects.filter(service=service)
        assert rows.exists(), service
        factor = pricing.COMPONENTS[component][2]
        sample = rows.filter(region="us-east-1", sku__in=["ml.m5.xlarge", "ml.p4d.24xlarge", "ml.g5.xlarge"])
        assert sample.count() == 3, service
        for row in sample:
            assert float(row.usd) == pytest.approx(round(pricing.hosting_usd(row.sku, row.region) * factor, 4))
            assert row.unit == "hour" and row.source_sku
    hosting = Price.objects.get(service="sagemaker-inference", sku="ml.m5.xlarge", region="us-east-1")
    assert float(hosting.usd) == pytest.approx(pricing.hosting_usd("ml.m5.xlarge", "us-east-1"))  # unchanged
    assert not Price.objects.exclude(
        service__in=["sagemaker-inference", "sagemaker-serverless", "cloudwatch-logs", "s3", *COMPONENT_FACTORS]
    ).exists()  # asynchronous inference is not read

    job = factories.workload(prod, "priced-job-1", instance_type="ml.m5.xlarge", count=3, hours=2)
    nb = factories.workload(prod, "priced-nb", kind="notebook", instance_type="ml.g5.xlarge", hours=2,
                            ended_hours_ago=None, cpu_util_pct=None, gpu_util_pct=None)  # fmt: skip
    workload_estimates.estimate_pending()
    start, end = period()
    totals = wq.workload_totals(queries.team_accounts(prod.team), start, end, ids=[job.pk, nb.pk]).set_index("name")
    training = Price.objects.get(service="sagemaker-training", sku="ml.m5.xlarge", region="us-east-1")
    notebook = Price.objects.get(service="sagemaker-notebook", sku="ml.g5.xlarge", region="us-east-1")
    assert totals.loc["priced-job-1", "cost_usd"] == pytest.approx(6 * float(training.usd))
    assert totals.loc["priced-nb", "cost_usd"] == pytest.approx(2 * float(notebook.usd))
    sandbox_control("DELETE", "prices")


def test_a_heterogeneous_job_counts_each_hour_once_and_sums_its_types(fleet):
    owner, _, _ = fleet
    job = factories.workload(owner, "hetero-1", instance_type="ml.p4d.24xlarge", count=1, hours=3)
    first = WorkloadHour.objects.filter(workload=job).order_by("hour")
    WorkloadHour.objects.bulk_create(
        [
            WorkloadHour(workload=job, kind="training", hour=h.hour, instance_type="ml.m5.xlarge", instance_hours=2.0,
                         cpu_util_pct=10.0, hosts=2, util_source="metrics", collected_at=h.collected_at)
            for h in first
        ]
    )  # fmt: skip
    workload_estimates.estimate_pending()
    start, end = period()
    row = wq.workload_totals(queries.team_accounts(owner.team), start, end, ids=[job.pk]).iloc[0]
    hours = list(WorkloadHour.objects.filter(workload=job).select_related("estimate"))
    assert len(hours) == 6 and row["hours"] == 3  # three hours, two instance types each
    assert row["instance_hours"] == pytest.approx(3 * 1 + 3 * 2)
    assert row["energy_kwh"] == pytest.approx(sum(h.estimate.energy_kwh for h in hours), rel=1e-9)
    weighted = (3 * 1 * 30.0 + 3 * 2 * 10.0) / 9  # instance-hour-weighted CPU over both types
    assert row["cpu_util_pct"] == pytest.approx(weighted)
    assert row["cost_usd"] == pytest.approx(3 * 40.0 + 6 * 0.25)  # each type at its own Training price


def test_a_market_based_co2e_any_hour_lacks_is_unknown_not_a_low_sum(fleet):
    owner, w, hpo = fleet
    from dashboard.footprint.models import WorkloadHourEstimate

    one = WorkloadHourEstimate.objects.filter(workload_hour__workload=w["llama"]).first()
    WorkloadHourEstimate.objects.filter(pk=one.pk).update(co2e_market_kg=None)
    start, end = period()
    totals = wq.workload_totals(queries.team_accounts(owner.team), start, end).set_index("name")
    assert pd.isna(totals.loc["llama-ft-1", "co2e_market_kg"])
    assert not pd.isna(totals.loc["spotty-1", "co2e_market_kg"])  # known (0 kg where AWS matched it with renewables)
    assert totals.loc["llama-ft-1", "co2e_kg"] > 0  # the location-based figure is still known


def test_an_unestimated_hour_counts_its_instance_hours_but_no_energy(fleet):
    owner, w, _ = fleet
    job = factories.workload(owner, "fresh-1", instance_type="ml.m5.xlarge", hours=2)  # not estimated yet
    start, end = period()
    row = wq.workload_totals(queries.team_accounts(owner.team), start, end, ids=[job.pk]).iloc[0]
    assert row["instance_hours"] == 2.0 and row["energy_kwh"] == 0.0
    assert row["estimated_instance_hours"] == 0.0
    workload_estimates.estimate_pending()
    row = wq.workload_totals(queries.team_accounts(owner.team), start, end, ids=[job.pk]).iloc[0]
    assert row["energy_kwh"] > 0 and row["estimated_instance_hours"] == 2.0
