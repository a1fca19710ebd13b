"""Training, notebooks and the job page (issue 19): team-scoped, figures equal to workload_queries' (parsed from the
table cells), empty states, CSV, kind filter, and the overview's footprint by lifecycle stage."""

import csv
import datetime as dt
import io
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from collectors import runner
from collectors.models import JOB_KINDS, AwsAccount, WorkloadHour
from dashboard.footprint import filters, queries, workload_estimates
from dashboard.footprint import workload_queries as wq
from dashboard.notify.models import Alert
from dashboard.recommend.models import Recommendation
from tests.collectors.conftest import aws_env, prod  # noqa: F401 - fixtures
from tests.web import factories
from tests.web.html import number, table


@pytest.fixture
def jobs(teams):
    mine = factories.account(teams[0], "111122223333", "prod")
    theirs = factories.account(teams[1], "444455556666", "outsiders")
    hpo = factories.tuning_job(mine, "xgb-hpo", strategy="Random", max_parallel=10)
    rows = {
        "llama": factories.workload(
            mine, "llama-ft-1", instance_type="ml.p4d.24xlarge", count=2, hours=5, gpu_util_pct=35.0,
            tags={"team": "nlp", "project": "chat"},
        ),
        "spot": factories.workload(
            mine, "bert-spot-1", instance_type="ml.g5.2xlarge", hours=4, spot=True, tags={"project": "search"}
        ),
        "proc": factories.workload(
            mine, "prep-1", kind="processing", instance_type="ml.m5.4xlarge", count=2, hours=2, gpu_util_pct=None,
            tags={"team": "nlp", "project": "chat"},
        ),
        "running": factories.workload(mine, "pretrain-1", instance_type="ml.p5.48xlarge", hours=3,
                                      ended_hours_ago=None),
        "child1": factories.workload(mine, "xgb-hpo-001", instance_type="ml.m5.xlarge", hours=2, tuning=hpo,
                                     gpu_util_pct=None),
        "child2": factories.workload(mine, "xgb-hpo-002", instance_type="ml.m5.xlarge", hours=1, tuning=hpo,
                                     gpu_util_pct=None),
        "notebook": factories.workload(
            mine, "research-nb", kind="notebook", instance_type="ml.g5.xlarge", hours=30, ended_hours_ago=None,
            cpu_util_pct=None, gpu_util_pct=None, auto_stop=False,
        ),
        "app": factories.workload(
            mine, "d-1/alice/lab", kind="studio-app", instance_type="ml.t3.medium", hours=6, ended_hours_ago=None,
            cpu_util_pct=None, gpu_util_pct=None, auto_stop=True, app_type="JupyterLab", domain_id="d-1",
        ),
        "theirs": factories.workload(theirs, "secret-train", instance_type="ml.p4d.24xlarge", hours=2),
        "their_nb": factories.workload(
            theirs, "secret-nb", kind="notebook", instance_type="ml.t3.medium", hours=2, ended_hours_ago=None,
            cpu_util_pct=None, gpu_util_pct=None,
        ),
    }  # fmt: skip
    rows["hpo"] = hpo
    workload_estimates.estimate_pending()
    return rows


def expected(team, kinds, period_days=30):
    """workload_totals over the page's default period (the last 30 x 24 whole hours), by workload id."""
    now = timezone.now()
    start, end = filters.rolling_window(f"{period_days}d", now.date(), now)
    frame = wq.workload_totals(queries.team_accounts(team), start, end, kind=list(kinds))
    return {int(row["workload_id"]): row for row in frame.to_dict("records")}


def by_name(rows: list[list[str]]) -> dict[str, dict[str, str]]:
    head, *body = rows
    return {cells[0]: dict(zip(head, cells, strict=True)) for cells in body}


def close(cell: str, value, decimals: int) -> bool:
    return number(cell) == pytest.approx(round(float(value), decimals), abs=10 ** (-decimals))


def test_training_page_shows_workload_totals_figures(client, alice, teams, jobs):
    client.force_login(alice)
    response = client.get(reverse("training"))
    assert response.status_code == 200
    page = response.content.decode()
    cells = by_name(table(page, "jobs"))
    assert "secret-train" not in page
    assert "research-nb" not in cells  # notebooks have their own page
    totals = expected(teams[0], JOB_KINDS)
    assert totals, "the estimates exist (workload_estimates ran)"
    for key in ("llama", "spot", "proc", "running", "child1"):
        row, figures = cells[jobs[key].name], totals[jobs[key].pk]
        assert close(row["Energy (kWh)"], figures["energy_kwh"], 3)
        assert close(row["Operational CO2e (kg)"], figures["co2e_kg"], 3)
        assert close(row["Embodied CO2e (kg)"], figures["embodied_co2e_kg"], 3)
        assert close(row["Instance-hours"], figures["instance_hours"], 1)
        if figures["cost_usd"] == figures["cost_usd"]:  # not NaN
            assert close(row["Cost (USD)"], figures["cost_usd"], 2)
        else:
            assert row["Cost (USD)"] == "unpriced"
    # Independent of the query layer: a job's instance-hours are its hours x count (the factory's timeline).
    assert number(cells["llama-ft-1"]["Instance-hours"]) == pytest.approx(10.0)
    assert cells["llama-ft-1"]["Instances"] == "ml.p4d.24xlarge × 2"
    assert cells["bert-spot-1"]["Spot"] == "Spot"
    assert cells["llama-ft-1"]["Spot"] == ""
    assert cells["prep-1"]["Kind"] == "Processing job"
    assert cells["llama-ft-1"]["Team (tag)"] == "nlp" and cells["llama-ft-1"]["Project (tag)"] == "chat"
    assert float(cells["llama-ft-1"]["GPU (%)"]) == pytest.approx(35.0)
    assert number(cells["llama-ft-1"]["Duration (h)"]) == pytest.approx(5.0)


def test_training_totals_by_project_and_team_add_up(client, alice, teams, jobs):
    client.force_login(alice)
    page = client.get(reverse("training")).content.decode()
    totals = expected(teams[0], JOB_KINDS)
    chat = [totals[jobs[k].pk] for k in ("llama", "proc")]
    projects = by_name(table(page, "by-project"))
    assert number(projects["chat"]["Jobs"]) == 2
    assert close(projects["chat"]["Energy (kWh)"], sum(r["energy_kwh"] for r in chat), 3)
    teams_table = by_name(table(page, "by-team"))
    assert close(teams_table["nlp"]["Operational CO2e (kg)"], sum(r["co2e_kg"] for r in chat), 3)
    assert number(teams_table[filters.UNTAGGED]["Jobs"]) == 4  # spot, running, two tuning children


def test_tuning_jobs_with_their_children(client, alice, teams, jobs):
    client.force_login(alice)
    page = client.get(reverse("training")).content.decode()
    rows = by_name(table(page, "tuning"))
    now = timezone.now()
    start, end = filters.rolling_window("30d", now.date(), now)
    frame = wq.tuning_totals(queries.team_accounts(teams[0]), start, end)
    assert len(frame) == 1
    row = rows["xgb-hpo"]
    assert row["Strategy"] == "Random" and number(row["Max parallel"]) == 10
    assert number(row["Training jobs"]) == 2
    children = [jobs["child1"].pk, jobs["child2"].pk]
    kids = expected(teams[0], JOB_KINDS)
    assert close(row["Energy (kWh)"], sum(kids[pk]["energy_kwh"] for pk in children), 3)
    assert close(row["Energy (kWh)"], frame.iloc[0]["energy_kwh"], 3)
    # The expandable list names and links both children.
    for pk in children:
        assert reverse("training-job", args=[pk]) in page


def test_kind_filter_and_a_bad_kind(client, alice, jobs):
    client.force_login(alice)
    page = client.get(reverse("training"), {"kind": "processing"}).content.decode()
    assert set(by_name(table(page, "jobs"))) == {"prep-1"}
    # tuning jobs are training: their children's figures are not on a processing view
    assert "xgb-hpo" not in page
    assert "xgb-hpo" in client.get(reverse("training"), {"kind": "training"}).content.decode()
    response = client.get(reverse("training"), {"kind": "notebook"})
    assert response.status_code == 200
    assert "Kind must be one of" in response.content.decode()
    assert "llama-ft-1" in response.content.decode()  # the default: every job kind


def test_training_csv_is_the_table(client, alice, jobs):
    client.force_login(alice)
    page = client.get(reverse("training")).content.decode()
    response = client.get(reverse("training"), {"csv": "jobs"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    shown = table(page, "jobs")
    assert rows[0] == shown[0]
    assert {r[0] for r in rows[1:]} == {r[0] for r in shown[1:]}
    unpriced = [r for r in rows[1:] if r[rows[0].index("Cost (USD)")] == ""]
    assert len(unpriced) == sum(1 for r in shown[1:] if r[shown[0].index("Cost (USD)")] == "unpriced")


def test_formula_in_a_job_tag_is_neutralised_in_csv(client, alice, teams):
    mine = factories.account(teams[0], "111122223333")
    factories.workload(mine, "evil-1", tags={"project": '=HYPERLINK("http://x")'})
    workload_estimates.estimate_pending()
    client.force_login(alice)
    body = client.get(reverse("training"), {"csv": "jobs"}).content.decode()
    assert "'=HYPERLINK" in body


def test_job_page(client, alice, teams, jobs):
    job = jobs["llama"]
    Recommendation.objects.create(
        team=teams[0], account=job.account, region=job.region, kind="training-gpu-low", subject=f"x:{job.pk}",
        workload=job, title="Use a smaller GPU", proposal="p", monthly_kwh_saved=1, monthly_co2e_kg_saved=0.5,
        monthly_co2e_kg_saved_low=0.4, monthly_co2e_kg_saved_high=0.6, confidence="medium", cli_command="aws ...",
        first_seen=timezone.now(), computed_at=timezone.now(),
    )  # fmt: skip
    client.force_login(alice)
    response = client.get(reverse("training-job", args=[job.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Use a smaller GPU" in page
    assert "utilization-chart" in page and "footprint-chart" in page
    series = wq.workload_series(job.pk)
    hours = table(page, "hours")
    assert len(hours) - 1 == len(series) == 5
    assert sum(number(r[hours[0].index("Energy (kWh)")]) for r in hours[1:]) == pytest.approx(
        float(series["energy_kwh"].sum()), abs=1e-3
    )
    assert "Managed Spot" in page and "Warm pool" in page


def test_job_page_of_a_failed_tuning_child(client, alice, jobs):
    child = jobs["child1"]
    child.failure_reason = "AlgorithmError: <script>alert(1)</script>"
    child.save()
    client.force_login(alice)
    page = client.get(reverse("training-job", args=[child.pk])).content.decode()
    assert 'id="failure-reason"' in page and "&lt;script&gt;" in page and "<script>alert(1)" not in page
    assert "xgb-hpo" in page


def test_another_teams_job_is_404(client, charlie, alice, jobs):
    client.force_login(charlie)
    assert client.get(reverse("training-job", args=[jobs["llama"].pk])).status_code == 404
    page = client.get(reverse("training")).content.decode()
    assert "llama-ft-1" not in page and "secret-train" in page
    client.force_login(alice)
    assert client.get(reverse("training-job", args=[jobs["theirs"].pk])).status_code == 404


def test_empty_states(client, alice, teams):
    client.force_login(alice)
    page = client.get(reverse("training")).content.decode()
    assert "No training, processing or transform job collected yet." in page
    page = client.get(reverse("notebooks")).content.decode()
    assert "No notebook instance or Studio app collected yet." in page
    mine = factories.account(teams[0], "111122223333")
    factories.workload(mine, "old-1", hours=2, ended_hours_ago=24 * 40)
    page = client.get(reverse("training"), {"period": "7d"}).content.decode()
    assert "No job ran in this period." in page


def test_notebooks_page(client, alice, teams, jobs):
    alert = Alert.objects.create(
        team=teams[0], workload=jobs["notebook"], kind="notebook-idle",
        idle_since=timezone.now() - timedelta(hours=14), opened_at=timezone.now(),
    )  # fmt: skip
    client.force_login(alice)
    page = client.get(reverse("notebooks")).content.decode()
    cells = by_name(table(page, "notebooks"))
    assert set(cells) == {"research-nb", "d-1/alice/lab"}
    totals = expected(teams[0], ("notebook", "studio-app"))
    nb = cells["research-nb"]
    figures = totals[jobs["notebook"].pk]
    assert close(nb["Energy (kWh)"], figures["energy_kwh"], 3)
    assert close(nb["Operational CO2e (kg)"], figures["co2e_kg"], 3)
    assert number(nb["Hours running"]) == 30 == figures["hours"]
    assert nb["Auto-stop"] == "no"
    assert nb["Open alert"].startswith("idle since")
    assert cells["d-1/alice/lab"]["Auto-stop"].startswith("yes")
    assert cells["d-1/alice/lab"]["Open alert"] == ""
    assert "JupyterLab" in cells["d-1/alice/lab"]["Studio (app type, domain/space)"]
    assert alert.pk
    only_apps = by_name(table(client.get(reverse("notebooks"), {"kind": "studio-app"}).content.decode(), "notebooks"))
    assert set(only_apps) == {"d-1/alice/lab"}


def test_overview_footprint_by_lifecycle_stage(client, alice, teams, jobs):
    factories.endpoint(AwsAccount.objects.get(account_id="111122223333"), "ranker", hours=10)
    factories.estimate()
    client.force_login(alice)
    page = client.get(reverse("home")).content.decode()
    assert 'id="lifecycle-stages"' in page and "lifecycle-chart" in page
    now = timezone.now()
    start, end = filters.rolling_window("30d", now.date(), now)
    split = wq.lifecycle_split(queries.team_accounts(teams[0]), start, end).set_index("stage")
    rows = table(page, "lifecycle")
    head, body = rows[0], rows[1:]
    assert len(body) == len(wq.STAGES)
    stages = dict(zip(wq.STAGES, body, strict=True))
    for stage in ("inference", "training", "processing", "notebooks"):
        cell = stages[stage][head.index("Operational CO2e (kg)")]
        assert close(cell, split.loc[stage, "co2e_kg"], 3)
    assert split.loc["training", "co2e_kg"] > 0 and split.loc["inference", "co2e_kg"] > 0


def figure(page: str, chart_id: str) -> dict:
    marker = f'<script id="{chart_id}-figure" type="application/json">'
    start = page.index(marker) + len(marker)
    return json.loads(page[start : page.index("</script>", start)])


def bar_sums(chart: dict) -> dict[str, float]:
    """Each trace's total over its bars (complete and partial traces of one legend entry together)."""
    sums: dict[str, float] = {}
    for trace in chart["data"]:
        name = trace["name"].removesuffix(" (partial)")
        sums[name] = sums.get(name, 0.0) + sum(v for v in trace["y"] if v is not None)
    return sums


def test_trend_by_kind_adds_up_to_the_jobs(client, alice, teams, jobs):
    client.force_login(alice)
    page = client.get(reverse("training")).content.decode()
    sums = bar_sums(figure(page, "training-trend-chart"))
    now = timezone.now()
    # The trend covers whole UTC days: the jobs ran in the last few hours, inside the window's days either way.
    start, end = filters.rolling_window("30d", now.date(), now)
    frame = wq.workload_totals(queries.team_accounts(teams[0]), start, end, kind=list(JOB_KINDS))
    by_kind = frame.groupby("kind")["co2e_kg"].sum()
    assert set(sums) == {"Training job (kg CO2e)", "Processing job (kg CO2e)"}
    assert sums["Training job (kg CO2e)"] == pytest.approx(float(by_kind["training"]), abs=1e-5)
    assert sums["Processing job (kg CO2e)"] == pytest.approx(float(by_kind["processing"]), abs=1e-5)
    # A tag filter (which the day series does not take) sums workload_totals of the jobs in view.
    page = client.get(reverse("training"), {"tag": "project=chat"}).content.decode()
    assert set(by_name(table(page, "jobs"))) == {"llama-ft-1", "prep-1"}
    sums = bar_sums(figure(page, "training-trend-chart"))
    chat = frame.set_index("workload_id").loc[[jobs["llama"].pk, jobs["proc"].pk]]
    assert sum(sums.values()) == pytest.approx(float(chat["co2e_kg"].sum()), abs=1e-5)


def test_region_and_team_filters_narrow_the_jobs(client, alice, teams, jobs):
    mine = AwsAccount.objects.get(account_id="111122223333")
    factories.workload(mine, "eu-job-1", region="eu-west-1", instance_type="ml.g5.xlarge", hours=2)
    workload_estimates.estimate_pending()
    client.force_login(alice)
    page = client.get(reverse("training"), {"region": "eu-west-1"}).content.decode()
    assert set(by_name(table(page, "jobs"))) == {"eu-job-1"}
    page = client.get(reverse("training"), {"team": "nlp"}).content.decode()
    assert set(by_name(table(page, "jobs"))) == {"llama-ft-1", "prep-1"}
    response = client.get(reverse("training"), {"team": "nobody"})
    assert response.status_code == 200 and "eu-job-1" in response.content.decode()  # named and ignored


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries_run:
        assert client.get(url).status_code == 200
    return len(queries_run)


def test_queries_per_page_do_not_grow_with_the_jobs(client, alice, teams, jobs):
    client.force_login(alice)
    urls = {
        "training": reverse("training"),
        "training-365d": reverse("training") + "?period=365d",
        "notebooks": reverse("notebooks"),
        "job": reverse("training-job", args=[jobs["llama"].pk]),
    }
    before = {name: count_queries(client, url) for name, url in urls.items()}
    mine = AwsAccount.objects.get(account_id="111122223333")
    hpo = factories.tuning_job(mine, "more-hpo")
    for index in range(12):
        factories.workload(mine, f"more-{index}", hours=3, tuning=hpo if index % 2 else None,
                           tags={"project": f"p{index % 3}"})  # fmt: skip
        factories.workload(mine, f"nb-{index}", kind="notebook", hours=3, ended_hours_ago=None, cpu_util_pct=None,
                           gpu_util_pct=None)  # fmt: skip
    workload_estimates.estimate_pending()
    after = {name: count_queries(client, url) for name, url in urls.items()}
    assert after == before
    assert max(before.values()) <= 20, before  # the session, the team, the workloads, the query layer's few


@pytest.mark.browser
def test_the_training_pages_draw_their_charts_in_a_browser(page, live_server, alice, teams):
    """Plotly draws the trend and the job's charts from our static files, with no console error (CSP)."""
    from tests.web.test_dashboard_browser import log_in, shot, wait_for_charts

    mine = factories.account(teams[0], "111122223333", "prod")
    job = factories.workload(mine, "llama-ft-1", count=2, hours=5, gpu_util_pct=35.0)
    WorkloadHour.objects.filter(workload=job).update(gpu_util_by_host={"algo-1": 30.0, "algo-2": 40.0})
    workload_estimates.estimate_pending()
    factories.endpoint(mine, "ranker", hours=10)  # the overview draws its charts once it has an endpoint's hours
    factories.estimate()
    log_in(page, live_server)
    page.goto(f"{live_server.url}{reverse('training')}")
    wait_for_charts(page, "training-trend-chart")
    assert page.locator("#training-trend-chart .bars .point").count() > 0
    shot(page, "training")
    page.click("#jobs a:has-text('llama-ft-1')")
    page.wait_for_url(f"**{reverse('training-job', args=[job.pk])}")
    wait_for_charts(page, "utilization-chart", "host-gpu-chart", "footprint-chart")
    assert page.locator("#host-gpu-chart .scatterlayer .trace").count() == 2  # one line per host
    shot(page, "training-job")
    page.goto(f"{live_server.url}{reverse('home')}")
    wait_for_charts(page, "lifecycle-chart")
    assert page.console_errors == []


# --- the demo's jobs and notebooks, collected from the simulated AWS by the real collectors -----------------------


@pytest.fixture
def demo(prod):
    """The production account's us-east-1 jobs, host metrics and notebooks, collected and estimated."""
    for source in ("jobs", "job_metrics", "notebooks"):
        runner.run(prod, "us-east-1", source)
    workload_estimates.estimate_pending()
    return prod


def in_window(job: dict, start, end) -> bool:
    began = dt.datetime.fromisoformat(job["start"])
    return began < end and (job["end"] is None or dt.datetime.fromisoformat(job["end"]) > start)


def test_the_demo_jobs_on_the_page_and_in_the_api(client, alice, demo, sandbox):
    now = timezone.now()
    start, end = filters.rolling_window("30d", now.date(), now)
    seeded = [
        job
        for job in sandbox["workloads"]["jobs"]
        if job["account"] == demo.account_id and job["region"] == "us-east-1" and in_window(job, start, end)
    ]
    assert len(seeded) > 10
    client.force_login(alice)
    page = client.get(reverse("training")).content.decode()
    cells = by_name(table(page, "jobs"))
    assert set(cells) == {job["name"] for job in seeded}
    for job in seeded:
        row = cells[job["name"]]
        assert row["Status"] == job["status"]
        assert row["Spot"] == ("Spot" if job["spot"] else "")
        if dt.datetime.fromisoformat(job["start"]) >= start and job["end"]:  # wholly in the window
            # The seeding's own figure: its hosts' minutes (the timeline x the count), to the page's 0.1.
            assert number(row["Instance-hours"]) == pytest.approx(job["instance_hours"], abs=0.1), job["name"]
    failed = [job for job in seeded if job["failure_reason"]]
    assert failed and all(cells[job["name"]]["Status"] == "Failed" for job in failed)
    # Tuning jobs: their training jobs with hours in the window, as the seeding made them.
    tuning = by_name(table(page, "tuning"))
    for hpo in sandbox["workloads"]["tuning_jobs"]:
        if hpo["account"] == demo.account_id and hpo["region"] == "us-east-1":
            ran = [job for job in seeded if job["tuning_job"] == hpo["name"]]
            if ran:
                assert number(tuning[hpo["name"]]["Training jobs"]) == len(ran)
                assert tuning[hpo["name"]]["Strategy"] == hpo["strategy"]
    # The API over the window's days agrees with the page (same query layer; days vs hours: jobs in the window).
    api = {
        row["name"]: row
        for row in client.get(
            "/api/v1/training-jobs/", {"start": start.date().isoformat(), "end": now.date().isoformat(),
                                       "page_size": 1000, "region": "us-east-1"}
        ).json()["results"]
    }  # fmt: skip
    for job in seeded:  # jobs wholly in the window (the page's window leaves out the hour under way; the days not)
        if (
            dt.datetime.fromisoformat(job["start"]) >= start
            and job["end"]
            and dt.datetime.fromisoformat(job["end"]) < end
        ):
            assert number(cells[job["name"]]["Energy (kWh)"]) == pytest.approx(
                round(api[job["name"]]["energy_kwh"], 3), abs=2e-3
            ), job["name"]
    # A heterogeneous cluster's page names both groups and draws a GPU line per host.
    groups = next(job for job in seeded if len(job["instance_groups"]) > 1 and job["end"])
    pk = api[groups["name"]]["id"]
    detail = client.get(reverse("training-job", args=[pk])).content.decode()
    for group in groups["instance_groups"]:
        assert f"{group['instance_type']} × {group['instance_count']}" in detail


def test_the_demo_notebooks_on_the_page(client, alice, demo, sandbox):
    client.force_login(alice)
    cells = by_name(table(client.get(reverse("notebooks")).content.decode(), "notebooks"))
    notebooks = [n for n in sandbox["workloads"]["notebooks"] if n["account"] == demo.account_id]
    notebooks = [n for n in notebooks if n["region"] == "us-east-1"]
    assert notebooks
    for notebook in notebooks:
        row = cells[notebook["name"]]
        assert row["Auto-stop"].startswith("yes" if notebook["auto_stop"] else "no"), notebook["name"]
        assert row["Instance type"] == notebook["instance_type"]
    running = [n for n in notebooks if n["status"] == "InService"]
    assert running and all(number(cells[n["name"]]["Energy (kWh)"]) > 0 for n in running)


def test_a_team_with_jobs_but_no_endpoint_sees_its_lifecycle_stages(client, alice, teams):
    mine = factories.account(teams[0], "111122223333")
    client.force_login(alice)
    assert "Waiting for the first collection" in client.get(reverse("home")).content.decode()
    factories.workload(mine, "llama-ft-1", hours=3)
    workload_estimates.estimate_pending()
    page = client.get(reverse("home")).content.decode()
    assert "Waiting for the first collection" not in page and "No endpoint yet" in page
    rows = {cells[0]: cells for cells in table(page, "lifecycle")[1:]}
    assert number(rows["Training jobs"][2]) > 0 and number(rows["Inference (endpoints)"][2]) == 0


def test_a_jobs_window_is_the_hours_it_ran_in():
    from collectors.models import Workload
    from dashboard.web.views.workloads import job_window

    at = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
    now = at + timedelta(days=1, minutes=17)
    on_the_hour = Workload(start_time=at + timedelta(minutes=5), end_time=at + timedelta(hours=3))
    assert job_window(on_the_hour, now) == (at, at + timedelta(hours=3))
    mid_hour = Workload(start_time=at, end_time=at + timedelta(hours=3, minutes=1))
    assert job_window(mid_hour, now) == (at, at + timedelta(hours=4))
    running = Workload(start_time=at, end_time=None)
    assert job_window(running, now) == (at, at + timedelta(days=1, hours=1))
    instant = Workload(start_time=at, end_time=at)
    assert job_window(instant, now) == (at, at + timedelta(hours=1))


def test_the_job_pages_csv_and_a_notebooks_page(client, alice, jobs):
    client.force_login(alice)
    response = client.get(reverse("training-job", args=[jobs["llama"].pk]), {"csv": "hours"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:2] == ["Hour (UTC)", "Instance type"] and len(rows) == 1 + 5
    assert client.get(reverse("training-job", args=[jobs["llama"].pk]), {"csv": "nope"}).status_code == 404
    page = client.get(reverse("training-job", args=[jobs["notebook"].pk])).content.decode()
    assert f'<a href="{reverse("notebooks")}">Notebooks</a>' in page
    assert "<dt>Auto-stop</dt><dd>no</dd>" in page
    assert "No host metrics: utilization assumed at the default" in page
