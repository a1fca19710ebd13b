"""Workload recommendations (issue 19): which rule fires on which jobs, tuning jobs, notebooks and Studio apps,
what each saves, and how each resolves once the advice is followed.

Savings are recomputed here from the stored rows: a hardware change straight through the estimator on a frame
built in this file (the work each hour did, spread over the proposed hardware), a share of what ran from the
hours' stored estimates, a cost from the prices inserted here. None of it goes through the rules' code."""

import datetime as dt
import math
from decimal import Decimal

import pandas as pd
import pytest
from django.db.models import Sum
from django.utils import timezone

import estimator
from collectors.models import Price, Workload, WorkloadHour
from dashboard.footprint.models import WorkloadHourEstimate
from dashboard.footprint.workload_estimates import estimate_pending
from dashboard.notify.models import Alert
from dashboard.recommend import engine
from dashboard.recommend.models import Recommendation, TeamPolicy
from dashboard.recommend.workload_rules import workload_drafts
from estimator.catalog import hardware
from tests.collectors.conftest import aws_env, prod  # noqa: F401 - the sandbox account fixtures, shared
from tests.web import factories

Kind, Status = Recommendation.Kind, Recommendation.Status
MONTH = 730
LOOKBACK_HOURS = 14 * 24
SCALE = MONTH / LOOKBACK_HOURS
ACCOUNT = "111122223333"


@pytest.fixture
def owner(teams):
    return factories.account(teams[0], ACCOUNT, "prod")


def price(sku: str, usd: float, service: str = "sagemaker-training", region: str = "us-east-1") -> None:
    """A collected list price per instance-hour (what the Price List collector stores)."""
    now = timezone.now()
    Price.objects.create(
        service=service,
        sku=sku,
        region=region,
        unit="hour",
        usd=Decimal(str(usd)),
        effective_date=now - dt.timedelta(days=400),
        source_sku=f"TEST{sku}",
        collected_at=now,
    )


def drafts(team, **policy) -> dict:
    saved = TeamPolicy.objects.get_or_create(team=team)[0]
    for name, value in policy.items():
        setattr(saved, name, value)
    saved.save()
    return {(d.kind, d.subject): d for d in workload_drafts(team, saved, timezone.now())}


def of_kind(found: dict, kind: str) -> list:
    return [d for (k, _), d in found.items() if k == kind]


def replay_frame(rows: list[dict], current: str, proposed: str, factor: float = 1.0) -> pd.DataFrame:
    """Each hour's busy vCPUs, GPUs and GB on ``current`` spread over ``factor`` x the instances of ``proposed``."""
    now, new = hardware(current), hardware(proposed)

    def devices(row):
        return float(max(row["gpu_count"] or 0, row["accelerator_count"] or 0))

    out = []
    for h in rows:
        instances = h["instance_hours"] * factor
        cpu = (h["cpu_util_pct"] or 0) / 100 * float(now["vcpus"]) * h["instance_hours"]
        gpu = (h["gpu_util_pct"] or 0) / 100 * devices(now) * h["instance_hours"]
        memory = (h["memory_util_pct"] or 0) / 100 * float(now["memory_gb"]) * h["instance_hours"]
        out.append(
            {
                "instance_type": proposed,
                "region": "us-east-1",
                "hours": 1.0,
                "instance_count": instances,
                "cpu_util_pct": min(100.0, 100 * cpu / (float(new["vcpus"]) * instances)),
                "gpu_util_pct": min(100.0, 100 * gpu / (devices(new) * instances)) if devices(new) else math.nan,
                "memory_util_pct": min(100.0, 100 * memory / (float(new["memory_gb"]) * instances)),
                "invocations": math.nan,
            }
        )
    return pd.DataFrame(out)


def monthly(frame: pd.DataFrame) -> dict:
    out = estimator.estimate(frame)
    return {
        "kwh": out["energy_kwh"].sum() * SCALE,
        "co2e_kg": (out["co2e_kg"].sum() + out["embodied_co2e_kg"].sum()) * SCALE,
    }


def hours_of(*workloads) -> list[dict]:
    return list(WorkloadHour.objects.filter(workload__in=workloads).order_by("hour", "workload_id").values())


def stored(workloads, hours=None) -> dict:
    """The stored estimates of the workloads' hours (of ``hours`` only, when given)."""
    rows = WorkloadHourEstimate.objects.filter(workload_hour__workload__in=workloads)
    if hours is not None:
        rows = rows.filter(workload_hour__hour__in=hours)
    sums = rows.aggregate(kwh=Sum("energy_kwh"), co2e=Sum("co2e_kg"), embodied=Sum("embodied_co2e_kg"))
    return {"kwh": sums["kwh"] or 0.0, "co2e_kg": (sums["co2e"] or 0.0) + (sums["embodied"] or 0.0)}


def with_memory(*workloads, pct: float = 20.0) -> None:
    WorkloadHour.objects.filter(workload__in=workloads).update(memory_util_pct=pct)


# --- Trainium -----------------------------------------------------------------------------------------------------


def test_trainium_replays_a_pytorch_gpu_family_on_trn1_and_names_awss_claims(teams, owner):
    first = factories.workload(
        owner, "llama-ft-001", hours=3, ended_hours_ago=30, gpu_util_pct=60.0, framework="pytorch"
    )
    second = factories.workload(
        owner, "llama-ft-002", hours=4, ended_hours_ago=5, gpu_util_pct=70.0, framework="pytorch"
    )
    xgb = factories.workload(owner, "xgb-train-001", instance_type="ml.g5.2xlarge", framework="xgboost")
    with_memory(first, second, xgb)
    estimate_pending()
    found = drafts(teams[0])
    [draft] = of_kind(found, Kind.TRAINIUM)  # xgboost has no Neuron port: no advice for it
    assert draft.subject == f"trainium:{ACCOUNT}/us-east-1/llama-ft"
    assert draft.workload_id == second.pk and draft.proposed["instance_type"] == "ml.trn1.32xlarge"
    rows = hours_of(first, second)
    now_fp = monthly(replay_frame(rows, "ml.p4d.24xlarge", "ml.p4d.24xlarge"))
    new_fp = monthly(replay_frame(rows, "ml.p4d.24xlarge", "ml.trn1.32xlarge"))
    assert draft.saving.kwh == pytest.approx(now_fp["kwh"] - new_fp["kwh"], rel=1e-6)
    assert draft.saving.co2e_kg == pytest.approx(now_fp["co2e_kg"] - new_fp["co2e_kg"], rel=1e-6)
    assert draft.saving.co2e_kg > 0 and draft.saving.co2e_kg_low <= draft.saving.co2e_kg <= draft.saving.co2e_kg_high
    assert "29 %" in draft.caveats and "52 %" in draft.caveats and "Neuron" in draft.caveats
    assert "AWS's own figures" in draft.caveats
    assert 'instance_type="ml.trn1.32xlarge"' in draft.cli_command.replace("'", '"')
    assert draft.evidence_hours == 7 and draft.evidence["jobs"] == 2


def test_a_single_gpu_family_goes_to_trn1_2xlarge_priced_at_training_prices(teams, owner):
    job = factories.workload(owner, "bert-small-001", instance_type="ml.g5.2xlarge", hours=5, framework="huggingface")
    with_memory(job)
    price("ml.g5.2xlarge", 1.515)
    price("ml.trn1.2xlarge", 1.34)
    estimate_pending()
    [draft] = of_kind(drafts(teams[0]), Kind.TRAINIUM)
    assert draft.proposed["instance_type"] == "ml.trn1.2xlarge"
    assert "from sagemaker.huggingface import HuggingFace" in draft.cli_command
    instance_hours = sum(h["instance_hours"] for h in hours_of(job))
    assert draft.saving.usd == pytest.approx((1.515 - 1.34) * instance_hours * SCALE, rel=1e-6)


def test_a_family_already_on_trainium_gets_no_trainium_advice_and_its_advice_resolves(teams, owner):
    factories.workload(owner, "llama-ft-001", hours=3, ended_hours_ago=30, framework="pytorch")
    estimate_pending()
    engine.recompute(teams[0])
    rec = Recommendation.objects.get(kind=Kind.TRAINIUM)
    assert rec.status == Status.OPEN and rec.workload.name == "llama-ft-001"
    factories.workload(owner, "llama-ft-002", instance_type="ml.trn1.32xlarge", hours=3, framework="pytorch")
    estimate_pending()
    engine.recompute(teams[0])
    rec.refresh_from_db()
    assert rec.status == Status.RESOLVED


# --- managed Spot -------------------------------------------------------------------------------------------------


def test_managed_spot_saves_money_not_carbon_at_the_teams_own_spot_rate(teams, owner):
    price("ml.g5.2xlarge", 1.515)
    runs = [
        factories.workload(
            owner,
            f"churn-{n:03d}",
            instance_type="ml.g5.2xlarge",
            hours=2,
            ended_hours_ago=10 + 20 * n,
            framework="pytorch",
            max_runtime_seconds=4 * 3600,
        )  # fmt: skip
        for n in range(3)
    ]
    # the team's own Spot jobs on the type paid 30 % of their training time (billable / training seconds)
    factories.workload(owner, "other-spot-001", instance_type="ml.g5.2xlarge", hours=6, spot=True)
    long = factories.workload(owner, "pretrain-001", instance_type="ml.g5.2xlarge", hours=30,
                              max_runtime_seconds=40 * 3600)  # fmt: skip
    estimate_pending()
    found = drafts(teams[0])
    spot = {d.subject: d for d in of_kind(found, Kind.MANAGED_SPOT)}
    assert set(spot) == {f"managed-spot:{ACCOUNT}/us-east-1/churn"}  # a 30-hour job is not rerun lightly
    draft = spot[f"managed-spot:{ACCOUNT}/us-east-1/churn"]
    instance_hours = sum(h["instance_hours"] for h in hours_of(*runs))
    on_demand = 1.515 * instance_hours * SCALE
    assert draft.saving.usd == pytest.approx(on_demand * (1 - 0.3), rel=1e-6)
    assert (draft.saving.kwh, draft.saving.co2e_kg) == (0.0, 0.0)
    assert "saves money, not energy" in draft.caveats and draft.evidence["spot_paid_share_measured"] is True
    assert draft.workload_id == runs[0].pk  # the newest run (it ended 10 hours ago)
    assert "use_spot_instances=True" in draft.cli_command and "checkpoint_s3_uri" in draft.cli_command
    assert long.pk not in {d.workload_id for d in of_kind(found, Kind.MANAGED_SPOT)}


def test_without_spot_jobs_of_its_own_the_saving_assumes_a_typical_spot_share(teams, owner):
    price("ml.m5.xlarge", 0.23)
    job = factories.workload(owner, "etl-train-001", instance_type="ml.m5.xlarge", hours=2, gpu_util_pct=None,
                             max_runtime_seconds=3 * 3600)  # fmt: skip
    estimate_pending()
    [draft] = of_kind(drafts(teams[0]), Kind.MANAGED_SPOT)
    assert draft.saving.usd == pytest.approx(0.23 * 2 * SCALE * 0.7, rel=1e-6)
    assert draft.confidence == "low" and draft.evidence["spot_paid_share_measured"] is False
    engine.recompute(teams[0])
    factories.workload(owner, "etl-train-002", instance_type="ml.m5.xlarge", hours=2, gpu_util_pct=None, spot=True,
                       ended_hours_ago=0)  # fmt: skip
    Workload.objects.filter(pk=job.pk).update(end_time=job.end_time - dt.timedelta(hours=1))
    estimate_pending()
    engine.recompute(teams[0])
    assert Recommendation.objects.get(kind=Kind.MANAGED_SPOT).status == Status.RESOLVED


# --- tuning -------------------------------------------------------------------------------------------------------


def tuning_run(owner, name: str, children: int, **fields):
    tuning = factories.tuning_job(owner, name, **fields)
    kids = [
        factories.workload(
            owner,
            f"{name}-{n:03d}",
            instance_type="ml.m5.xlarge",
            hours=1,
            ended_hours_ago=2 + n,
            gpu_util_pct=None,
            tuning=tuning,
            family=name,
        )  # fmt: skip
        for n in range(children)
    ]
    return tuning, kids


def test_random_search_with_many_jobs_is_advised_bayesian_at_a_tenth_of_the_jobs(teams, owner):
    tuning, kids = tuning_run(owner, "xgb-hpo", 12, strategy="Random", max_parallel=10, max_jobs=12)
    small, _ = tuning_run(owner, "tiny-hpo", 4, strategy="Random", max_parallel=2, max_jobs=4)
    estimate_pending()
    found = drafts(teams[0])
    [draft] = of_kind(found, Kind.TUNING_STRATEGY)  # 4 children: too few to matter
    assert draft.subject == f"tuning-strategy:{ACCOUNT}/us-east-1/xgb-hpo" and draft.proposed == {
        "strategy": "Bayesian"
    }
    expected = stored(kids)
    assert draft.saving.kwh == pytest.approx(expected["kwh"] * 0.9 * SCALE, rel=1e-6)
    assert draft.saving.co2e_kg == pytest.approx(expected["co2e_kg"] * 0.9 * SCALE, rel=1e-6)
    assert draft.saving.co2e_kg_low <= draft.saving.co2e_kg <= draft.saving.co2e_kg_high
    assert draft.confidence == "low" and "AWS's guidance" in draft.caveats
    assert '"Strategy":"Bayesian"' in draft.cli_command and "MaxNumberOfTrainingJobs" in draft.cli_command
    assert draft.workload_id in {k.pk for k in kids}
    [parallel] = of_kind(found, Kind.TUNING_PARALLEL)  # 10 in parallel against the policy's 4
    assert parallel.saving.co2e_kg == 0 and parallel.saving.kwh == 0 and "No energy or cost saving" in parallel.caveats
    assert parallel.proposed == {"max_parallel_jobs": 4} and "MaxParallelTrainingJobs" in parallel.cli_command
    assert not of_kind(found, Kind.TUNING_WARM_START)  # tuned once


def test_a_family_retuned_without_warm_start_is_advised_to_warm_start(teams, owner):
    first, first_kids = tuning_run(owner, "rec-hpo-001", 3, strategy="Bayesian", max_parallel=2, max_jobs=3)
    second, second_kids = tuning_run(owner, "rec-hpo-002", 3, strategy="Bayesian", max_parallel=2, max_jobs=3)
    type(second).objects.filter(pk=second.pk).update(created_time=first.created_time + dt.timedelta(hours=1))
    estimate_pending()
    found = drafts(teams[0])
    [draft] = of_kind(found, Kind.TUNING_WARM_START)
    assert draft.subject == f"tuning-warm-start:{ACCOUNT}/us-east-1/rec-hpo"
    expected = stored(first_kids + second_kids)
    assert draft.saving.co2e_kg == pytest.approx(expected["co2e_kg"] * 0.5 * SCALE, rel=1e-6)
    assert "rec-hpo-001" in draft.cli_command and "IdenticalDataAndAlgorithm" in draft.cli_command
    assert not of_kind(found, Kind.TUNING_STRATEGY) and not of_kind(found, Kind.TUNING_PARALLEL)


def test_a_newer_bayesian_tuning_job_resolves_the_strategy_advice(teams, owner):
    tuning_run(owner, "xgb-hpo", 12, strategy="Random", max_parallel=3, max_jobs=12)
    estimate_pending()
    engine.recompute(teams[0])
    rec = Recommendation.objects.get(kind=Kind.TUNING_STRATEGY)
    newer = factories.tuning_job(owner, "xgb-hpo-002", strategy="Bayesian", max_parallel=3, max_jobs=2)
    type(newer).objects.filter(pk=newer.pk).update(created_time=timezone.now())
    engine.recompute(teams[0])
    rec.refresh_from_db()
    assert rec.status == Status.RESOLVED


# --- low GPU use in training --------------------------------------------------------------------------------------


def test_a_family_using_little_of_its_gpus_is_replayed_on_less(teams, owner):
    runs = [
        factories.workload(
            owner,
            f"cv-train-{n:03d}",
            instance_type="ml.g5.12xlarge",
            hours=4,
            ended_hours_ago=3 + 10 * n,
            cpu_util_pct=5.0,
            gpu_util_pct=10.0,
            framework="pytorch",
        )  # fmt: skip
        for n in range(2)
    ]
    with_memory(*runs, pct=10.0)
    estimate_pending()
    [draft] = of_kind(drafts(teams[0]), Kind.TRAINING_GPU_LOW)
    target, count = draft.proposed["instance_type"], draft.proposed["instance_count"]
    assert target.startswith("ml.g5.") and target != "ml.g5.12xlarge" and count == 1
    assert float(hardware(target)["gpu_count"]) <= 4
    rows = hours_of(*runs)
    now_fp = monthly(replay_frame(rows, "ml.g5.12xlarge", "ml.g5.12xlarge"))
    new_fp = monthly(replay_frame(rows, "ml.g5.12xlarge", target))
    assert draft.saving.co2e_kg == pytest.approx(now_fp["co2e_kg"] - new_fp["co2e_kg"], rel=1e-6)
    assert draft.saving.co2e_kg > 0
    assert draft.evidence["gpu_util_pct_p95"] == pytest.approx(10.0) and "LowGPUUtilization" in draft.proposal
    # a family that keeps its GPUs busy gets nothing
    busy = factories.workload(owner, "busy-train-001", instance_type="ml.g5.12xlarge", hours=4, gpu_util_pct=85.0)
    with_memory(busy)
    estimate_pending()
    assert {d.subject for d in of_kind(drafts(teams[0]), Kind.TRAINING_GPU_LOW)} == {draft.subject}


# --- notebooks and Studio apps ------------------------------------------------------------------------------------


def out_of_hours(hour: dt.datetime) -> bool:
    """The default working time, 08:00-19:00 UTC Monday to Friday, written out independently."""
    hour = hour.astimezone(dt.UTC)
    return hour.weekday() >= 5 or hour.hour < 8 or hour.hour >= 19


def test_a_notebook_running_nights_without_auto_stop_is_advised_an_auto_stop_lifecycle_configuration(teams, owner):
    price("ml.g5.xlarge", 1.41, service="sagemaker-notebook")
    nb = factories.workload(owner, "research-nb", kind="notebook", instance_type="ml.g5.xlarge", hours=72,
                            ended_hours_ago=None, cpu_util_pct=None, gpu_util_pct=None)  # fmt: skip
    factories.workload(owner, "team-nb", kind="notebook", instance_type="ml.t3.medium", hours=72, ended_hours_ago=None,
                       cpu_util_pct=None, gpu_util_pct=None, auto_stop=True)  # fmt: skip
    estimate_pending()
    found = drafts(teams[0])
    [draft] = of_kind(found, Kind.NOTEBOOK_IDLE)  # team-nb stops itself
    assert draft.subject == f"notebook-idle:{ACCOUNT}/us-east-1/research-nb" and draft.workload_id == nb.pk
    outside = [h["hour"] for h in hours_of(nb) if out_of_hours(h["hour"])]
    assert draft.evidence["out_of_hours_instance_hours"] == len(outside) > 0
    expected = stored([nb], outside)
    assert draft.saving.kwh == pytest.approx(expected["kwh"] * SCALE, rel=1e-6)
    assert draft.saving.co2e_kg == pytest.approx(expected["co2e_kg"] * SCALE, rel=1e-6)
    assert draft.saving.usd == pytest.approx(1.41 * len(outside) * SCALE, rel=1e-6)
    assert "create-notebook-instance-lifecycle-config" in draft.cli_command
    assert "update-notebook-instance" in draft.cli_command and "--lifecycle-config-name" in draft.cli_command
    assert draft.proposed == {"auto_stop": True}


def test_a_studio_app_gets_idle_settings_on_its_space(teams, owner):
    app = factories.workload(owner, "d-abc/ml-space/default", kind="studio-app", instance_type="ml.t3.large", hours=60,
                             ended_hours_ago=None, cpu_util_pct=None, gpu_util_pct=None, domain_id="d-abc",
                             space_name="ml-space")  # fmt: skip
    estimate_pending()
    [draft] = of_kind(drafts(teams[0]), Kind.STUDIO_APP_IDLE)
    assert (
        draft.subject == f"studio-app-idle:{ACCOUNT}/us-east-1/d-abc/ml-space/default" and draft.workload_id == app.pk
    )
    assert "update-space" in draft.cli_command and '"LifecycleManagement":"ENABLED"' in draft.cli_command
    outside = [h["hour"] for h in hours_of(app) if out_of_hours(h["hour"])]
    assert draft.saving.co2e_kg == pytest.approx(stored([app], outside)["co2e_kg"] * SCALE, rel=1e-6)


def test_working_time_is_the_teams_policy(teams, owner):
    factories.workload(owner, "night-nb", kind="notebook", instance_type="ml.t3.medium", hours=72, ended_hours_ago=None,
                       cpu_util_pct=None, gpu_util_pct=None)  # fmt: skip
    estimate_pending()
    assert of_kind(drafts(teams[0]), Kind.NOTEBOOK_IDLE)
    # working around the clock every day: nothing runs out of hours
    assert not of_kind(drafts(teams[0], working_hours="00-24", working_days="mon-sun"), Kind.NOTEBOOK_IDLE)


def test_notebook_advice_resolves_when_auto_stop_is_configured_or_it_is_stopped(teams, owner):
    first = factories.workload(owner, "nb-one", kind="notebook", instance_type="ml.t3.medium", hours=72,
                               ended_hours_ago=None, cpu_util_pct=None, gpu_util_pct=None)  # fmt: skip
    second = factories.workload(owner, "nb-two", kind="notebook", instance_type="ml.t3.medium", hours=72,
                                ended_hours_ago=None, cpu_util_pct=None, gpu_util_pct=None)  # fmt: skip
    estimate_pending()
    engine.recompute(teams[0])
    assert Recommendation.objects.filter(kind=Kind.NOTEBOOK_IDLE, status=Status.OPEN).count() == 2
    Workload.objects.filter(pk=first.pk).update(auto_stop=True, lifecycle_config_name="nb-one-autostop")
    Workload.objects.filter(pk=second.pk).update(status="Stopped")
    outcome = engine.recompute(teams[0])
    assert outcome.resolved == 2
    assert set(Recommendation.objects.filter(kind=Kind.NOTEBOOK_IDLE).values_list("status", flat=True)) == {
        Status.RESOLVED
    }


def test_log_retention_covers_training_and_notebook_log_groups(teams, owner):
    """The log-retention rule reads every log group, the jobs' and notebooks' included."""
    from collectors.models import LogGroupSnapshot

    today = timezone.now().date()
    for name in ("/aws/sagemaker/TrainingJobs", "/aws/sagemaker/NotebookInstances"):
        for days_ago in (7, 0):
            LogGroupSnapshot.objects.create(
                account=owner,
                region="us-east-1",
                name=name,
                day=today - dt.timedelta(days=days_ago),
                stored_bytes=(40 - days_ago) * (1 << 30),
                retention_days=None,
                collected_at=timezone.now(),
            )
    engine.recompute(teams[0])
    subjects = set(Recommendation.objects.filter(kind=Kind.LOG_RETENTION).values_list("subject", flat=True))
    assert subjects == {
        f"log-group:{ACCOUNT}/us-east-1//aws/sagemaker/TrainingJobs",
        f"log-group:{ACCOUNT}/us-east-1//aws/sagemaker/NotebookInstances",
    }


def test_without_a_training_price_spot_advice_still_comes_without_a_dollar_figure(teams, owner):
    factories.workload(owner, "nightly-001", instance_type="ml.m5.2xlarge", hours=1, gpu_util_pct=None,
                       max_runtime_seconds=2 * 3600)  # fmt: skip
    estimate_pending()
    [draft] = of_kind(drafts(teams[0]), Kind.MANAGED_SPOT)
    assert draft.saving.usd is None and "No training price is known for ml.m5.2xlarge" in draft.caveats


@pytest.mark.parametrize(
    ("hours", "days", "at", "outside"),
    [
        ("08-19", "mon-fri", "2026-11-23T07:00", True),  # Monday before 08:00
        ("08-19", "mon-fri", "2026-11-23T08:00", False),
        ("08-19", "mon-fri", "2026-11-23T19:00", True),  # the end hour is not working time
        ("08-19", "mon-fri", "2026-11-28T12:00", True),  # Saturday
        ("22-06", "sun-thu", "2026-11-29T23:00", False),  # a night shift, Sunday night
        ("22-06", "sun-thu", "2026-11-27T23:00", True),  # Friday is not a working day
        ("09-17", "mon,wed", "2026-11-24T10:00", True),  # Tuesday
        ("nonsense", "funday", "2026-11-23T12:00", False),  # unreadable: the default, 08-19 mon-fri
    ],
)
def test_working_time(hours, days, at, outside):
    from dashboard.recommend.working_hours import WorkingTime

    working = WorkingTime.parse(hours, days)
    stamp = dt.datetime.fromisoformat(at).replace(tzinfo=dt.UTC)
    assert working.outside(pd.Series([stamp]))[0] == outside
    assert working.working(stamp) is not outside


# --- over HTTP: the seeded sandbox, collected as in production ---------------------------------------------------


def test_the_seeded_fleet_collected_over_http_gets_the_advice_its_summary_calls_for(teams, prod, sandbox):
    """The sandbox's workloads, collected by the jobs, job_metrics and notebooks sources and estimated: advice for
    what its published summary says is there (every expectation is read from the summary, not from our rows)."""
    from collectors import runner
    from collectors.jobs import family
    from dashboard.notify import notebook_alerts

    for source in ("jobs", "job_metrics", "notebooks"):
        runner.run(prod, "us-east-1", source)
    estimate_pending()
    engine.recompute(teams[0])
    recs = {r.subject: r for r in Recommendation.objects.filter(team=teams[0], status=Status.OPEN)}
    seeded = sandbox["workloads"]
    here = [w for w in seeded["jobs"] if (w["account"], w["region"]) == (ACCOUNT, "us-east-1")]

    gpu_pytorch = {
        j["family"] for j in here
        if j["kind"] == "training" and j["instance_type"].startswith("ml.p4d") and "pytorch" in j["image"]
        and not j["spot"] and not j["tuning_job"]
    }  # fmt: skip
    assert gpu_pytorch and all(f"trainium:{ACCOUNT}/us-east-1/{name}" in recs for name in gpu_pytorch)

    for tuning in seeded["tuning_jobs"]:
        subject = f"tuning-strategy:{ACCOUNT}/us-east-1/{family(tuning['name'])}"
        if tuning["strategy"] in ("Random", "Grid") and len(tuning["children"]) >= 10:
            rec = recs[subject]
            kids = Workload.objects.filter(tuning_job__name=tuning["name"], account=prod)
            assert kids.count() == len(tuning["children"])
            window = timezone.now().replace(minute=0, second=0, microsecond=0) - dt.timedelta(days=14)
            expected = stored(kids, WorkloadHour.objects.filter(hour__gte=window).values("hour"))
            assert rec.monthly_co2e_kg_saved == pytest.approx(expected["co2e_kg"] * 0.9 * SCALE, rel=1e-6)

    notebooks = [n for n in seeded["notebooks"] if (n["account"], n["region"]) == (ACCOUNT, "us-east-1")]
    left_on = {n["name"] for n in notebooks if n["status"] == "InService" and not n["auto_stop"]}
    stopping = {n["name"] for n in notebooks if n["auto_stop"]}
    found = {s.rsplit("/", 1)[1] for s in recs if s.startswith("notebook-idle:")}
    assert left_on and found == left_on and not found & stopping
    apps = [a for a in seeded["studio_apps"] if (a["account"], a["region"]) == (ACCOUNT, "us-east-1")]
    open_apps = {(a["domain_id"], a["space"]) for a in apps if a["status"] == "InService" and not a["auto_stop"]}
    advised = {tuple(s.split("/")[2:4]) for s in recs if s.startswith("studio-app-idle:")}
    assert open_apps and advised == open_apps

    outcome, events = notebook_alerts.evaluate(teams[0])
    alerted = {a.workload.name for a in Alert.objects.filter(team=teams[0], kind="notebook-idle")}
    assert outcome.opened == len(events) and left_on <= alerted and not alerted & stopping
