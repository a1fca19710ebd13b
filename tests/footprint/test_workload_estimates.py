"""Workload-hours (jobs, notebooks, Studio apps) are estimated by the same estimator as endpoints: each hour once,
again when re-collected or re-versioned, a refused hour recorded and skipped; energy recomputed independently."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import estimator
from collectors import runner
from collectors.models import WorkloadHour
from dashboard.footprint import queries, workload_estimates
from dashboard.footprint import workload_queries as wq
from dashboard.footprint.models import WorkloadEstimateFailure, WorkloadHourEstimate
from tests.collectors.conftest import aws_env, prod  # noqa: F401 - fixtures
from tests.web import factories


@pytest.fixture
def fleet(teams):
    owner = factories.account(teams[0], "111122223333")
    jobs = {
        "llama": factories.workload(owner, "llama-ft-1", instance_type="ml.p4d.24xlarge", count=2, hours=4,
                                    cpu_util_pct=25.0, gpu_util_pct=35.0),
        "cpu": factories.workload(owner, "prep-1", kind="processing", instance_type="ml.m5.4xlarge", count=2, hours=3,
                                  cpu_util_pct=60.0, gpu_util_pct=None),
        "nb": factories.workload(owner, "research-nb", kind="notebook", instance_type="ml.g5.xlarge", hours=5,
                                 ended_hours_ago=None, cpu_util_pct=None, gpu_util_pct=None),
        "eu": factories.workload(owner, "trn-1", region="eu-west-1", instance_type="ml.trn1.32xlarge", hours=2,
                                 cpu_util_pct=10.0, gpu_util_pct=None),
    }  # fmt: skip
    return owner, jobs


def independent(hour: WorkloadHour) -> pd.Series:
    """The estimator's own answer for one workload-hour, built from the stored inputs (described as hours x 1)."""
    frame = pd.DataFrame(
        [
            {
                "instance_type": hour.instance_type,
                "region": hour.workload.region,
                "hours": hour.instance_hours,  # n instance-hours as n hours of one instance: the same energy
                "instance_count": 1.0,
                "cpu_util_pct": np.nan if hour.cpu_util_pct is None else hour.cpu_util_pct,
                "gpu_util_pct": np.nan if hour.gpu_util_pct is None else hour.gpu_util_pct,
                "memory_util_pct": np.nan if hour.memory_util_pct is None else hour.memory_util_pct,
                "invocations": np.nan,
            }
        ]
    )
    return estimator.estimate(frame, methodology="default").iloc[0]


def test_every_workload_hour_is_estimated_once_with_the_estimators_own_figures(fleet):
    hours = WorkloadHour.objects.all()
    assert workload_estimates.estimate_pending() == hours.count() == 4 + 3 + 5 + 2
    assert workload_estimates.estimate_pending() == 0
    version = estimator.METHODOLOGIES["default"].version
    assert set(WorkloadHourEstimate.objects.values_list("methodology", "methodology_version")) == {("default", version)}
    for hour in hours.select_related("workload", "estimate"):
        expected = independent(hour)
        stored = hour.estimate
        for name in ("energy_kwh", "co2e_kg", "co2e_market_kg", "embodied_co2e_kg", "gpu_kwh", "accelerator_kwh"):
            assert getattr(stored, name) == pytest.approx(float(expected[name]), rel=1e-9), (hour, name)
        assert stored.co2e_kg_low <= stored.co2e_kg <= stored.co2e_kg_high
    p4d = WorkloadHour.objects.filter(workload__name="llama-ft-1").first().estimate
    assert p4d.gpu_kwh > 0 and "grid:us-east-1" in p4d.factors
    trn = WorkloadHour.objects.filter(workload__name="trn-1").first().estimate
    assert trn.accelerator_kwh > 0 and "grid:eu-west-1" in trn.factors


def test_a_notebook_hour_without_metrics_is_charged_the_default_and_says_so(fleet):
    workload_estimates.estimate_pending()
    notebook = WorkloadHour.objects.filter(workload__name="research-nb").first()
    job = WorkloadHour.objects.filter(workload__name="prep-1").first()
    assert notebook.cpu_util_pct is None and "cpu" in notebook.estimate.fallbacks.lower()
    assert "cpu" not in job.estimate.fallbacks.lower() or job.estimate.fallbacks != notebook.estimate.fallbacks


def test_a_recollected_or_reversioned_hour_is_estimated_again(fleet):
    workload_estimates.estimate_pending()
    hour = WorkloadHour.objects.filter(workload__name="prep-1").first()
    before = hour.estimate.energy_kwh
    WorkloadHour.objects.filter(pk=hour.pk).update(
        cpu_util_pct=95.0, collected_at=hour.estimate.computed_at + dt.timedelta(seconds=1)
    )
    WorkloadHourEstimate.objects.filter(workload_hour__workload__name="llama-ft-1").update(methodology_version="0")
    assert workload_estimates.estimate_pending() == 1 + 4
    hour.refresh_from_db()
    hour.estimate.refresh_from_db()
    assert hour.estimate.energy_kwh > before
    assert hour.estimate.energy_kwh == pytest.approx(float(independent(hour)["energy_kwh"]), rel=1e-9)
    assert not WorkloadHourEstimate.objects.exclude(methodology_version=workload_estimates.current_version()).exists()


def test_a_refused_hour_is_recorded_and_skipped_and_the_others_are_estimated(fleet):
    bad = WorkloadHour.objects.filter(workload__name="llama-ft-1").order_by("hour")[1]
    WorkloadHour.objects.filter(pk=bad.pk).update(instance_hours=-3.0)  # the estimator refuses negative usage
    assert workload_estimates.estimate_pending() == WorkloadHour.objects.count() - 1
    failure = WorkloadEstimateFailure.objects.get()
    assert failure.workload_hour_id == bad.pk and failure.methodology_version == workload_estimates.current_version()
    assert not WorkloadHourEstimate.objects.filter(workload_hour=bad).exists()
    assert workload_estimates.estimate_pending() == 0  # not retried until re-collected
    WorkloadHour.objects.filter(pk=bad.pk).update(instance_hours=2.0, collected_at=failure.failed_at
                                                  + dt.timedelta(seconds=1))  # fmt: skip
    assert workload_estimates.estimate_pending() == 1
    assert not WorkloadEstimateFailure.objects.exists()  # mended


def test_batches_cover_every_hour(fleet):
    assert workload_estimates.estimate_pending(batch_size=3) == WorkloadHour.objects.count()
    assert WorkloadHourEstimate.objects.count() == WorkloadHour.objects.count()


# --- the sandbox's seeded workloads, collected over HTTP ------------------------------------------------------


@pytest.fixture
def seeded(prod):
    for source in ("jobs", "job_metrics", "notebooks"):
        runner.run(prod, "us-east-1", source)
    return prod


def inputs(rows: list[WorkloadHour]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "instance_type": [r.instance_type for r in rows],
            "region": [r.workload.region for r in rows],
            "hours": [r.instance_hours for r in rows],
            "instance_count": 1.0,
            "cpu_util_pct": [np.nan if r.cpu_util_pct is None else r.cpu_util_pct for r in rows],
            "gpu_util_pct": [np.nan if r.gpu_util_pct is None else r.gpu_util_pct for r in rows],
            "memory_util_pct": [np.nan if r.memory_util_pct is None else r.memory_util_pct for r in rows],
            "invocations": np.nan,
        }
    )


def test_the_seeded_jobs_energy_is_the_estimators_over_their_collected_hours(seeded, sandbox):
    hours = WorkloadHour.objects.filter(workload__account=seeded)
    assert workload_estimates.estimate_pending() == hours.count() > 0
    jobs = [j for j in sandbox["workloads"]["jobs"] if j["account"] == seeded.account_id and j["region"] == "us-east-1"]
    assert len(jobs) > 10
    start = min(dt.datetime.fromisoformat(j["start"]) for j in jobs if j["start"]) - dt.timedelta(hours=1)
    totals = wq.workload_totals(
        queries.team_accounts(seeded.team), start, factories.this_hour() + dt.timedelta(hours=1)
    )
    totals = totals.set_index(["kind", "name"])
    for job in jobs:
        rows = list(
            hours.filter(workload__kind=job["kind"], workload__name=job["name"]).select_related("workload", "estimate")
        )
        if not rows:  # a job that never started (no timeline)
            assert job["start"] is None or job["instance_hours"] == 0, job["name"]
            continue
        expected = estimator.estimate(inputs(rows), methodology="default")
        stored = sum(r.estimate.energy_kwh for r in rows)
        assert stored == pytest.approx(float(expected["energy_kwh"].sum()), rel=1e-9), job["name"]
        row = totals.loc[(job["kind"], job["name"])]
        assert row["energy_kwh"] == pytest.approx(stored, rel=1e-9)
        assert row["co2e_kg"] == pytest.approx(float(expected["co2e_kg"].sum()), rel=1e-9)
        if job["end"] is not None:  # the seeding's own instance-hours (minutes on each host), finished jobs
            assert row["instance_hours"] == pytest.approx(job["instance_hours"], abs=0.02 * len(job["hosts"]))
        if job["spot"]:
            assert row["spot_instance_hours"] == pytest.approx(row["instance_hours"])
    notebooks = hours.filter(kind__in=["notebook", "studio-app"])
    assert notebooks.exists() and all(
        "cpu" in h.estimate.fallbacks.lower() for h in notebooks.select_related("estimate")
    )
