"""/api/v1/training-jobs/, /api/v1/tuning-jobs/ and /api/v1/notebooks/ (issue 19): team-scoped, period figures
equal to workload_totals / tuning_totals over the same days, strict filters and 400s, pagination, CSV equal to
the JSON, and the page, the API and the query layer agreeing."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.footprint import queries, workload_estimates
from dashboard.footprint import workload_queries as wq
from dashboard.notify.models import Alert
from tests.api.conftest import bearer
from tests.api.test_csv_json import assert_csv_equals_json, csv_table, json_rows
from tests.web import factories
from tests.web.html import number, table

FIGURES = ("instance_hours", "spot_instance_hours", "energy_kwh", "co2e_kg", "embodied_co2e_kg")


@pytest.fixture
def work(teams):
    mine = factories.account(teams[0], "111122223333", "prod")
    theirs = factories.account(teams[1], "777788889999", "outsiders")
    hpo = factories.tuning_job(mine, "xgb-hpo", strategy="Random", max_parallel=10)
    rows = {
        "llama": factories.workload(mine, "llama-ft-1", count=2, hours=5, tags={"team": "nlp", "project": "chat"}),
        "spot": factories.workload(mine, "bert-spot-1", instance_type="ml.g5.2xlarge", hours=4, spot=True),
        "eu": factories.workload(mine, "eu-train-1", region="eu-west-1", instance_type="ml.g5.xlarge", hours=2),
        "proc": factories.workload(
            mine, "prep-1", kind="processing", instance_type="ml.m5.4xlarge", count=2, hours=2, gpu_util_pct=None
        ),
        "old": factories.workload(mine, "old-1", hours=2, ended_hours_ago=24 * 60),
        "child1": factories.workload(
            mine, "xgb-hpo-001", instance_type="ml.m5.xlarge", hours=2, tuning=hpo, gpu_util_pct=None
        ),
        "child2": factories.workload(
            mine, "xgb-hpo-002", instance_type="ml.m5.xlarge", hours=3, tuning=hpo, gpu_util_pct=None
        ),
        "notebook": factories.workload(
            mine, "research-nb", kind="notebook", instance_type="ml.g5.xlarge", hours=20, ended_hours_ago=None,
            cpu_util_pct=None, gpu_util_pct=None, auto_stop=False,
        ),
        "app": factories.workload(
            mine, "d-1/alice/lab", kind="studio-app", instance_type="ml.t3.medium", hours=6, ended_hours_ago=None,
            cpu_util_pct=None, gpu_util_pct=None, auto_stop=True, app_type="JupyterLab",
        ),
        "theirs": factories.workload(theirs, "secret-train", hours=2),
        "their_nb": factories.workload(
            theirs, "secret-nb", kind="notebook", hours=2, ended_hours_ago=None, cpu_util_pct=None,
            gpu_util_pct=None,
        ),
    }  # fmt: skip
    rows["hpo"] = hpo
    rows["their_hpo"] = factories.tuning_job(theirs, "their-hpo")
    workload_estimates.estimate_pending()
    return rows


def days(n: int = 30) -> tuple[dt.date, dt.date, dt.datetime, dt.datetime]:
    end = timezone.now().date()
    start = end - dt.timedelta(days=n - 1)
    return (
        start,
        end,
        dt.datetime.combine(start, dt.time(), dt.UTC),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC),
    )


def totals(team, start, end, **kw) -> dict[int, dict]:
    frame = wq.workload_totals(queries.team_accounts(team), start, end, **kw)
    return {int(r["workload_id"]): r for r in frame.to_dict("records")}


def get(client, token, url, params=None):
    return client.get(url, params or {}, **bearer(token))


def test_training_jobs_rows_equal_workload_totals(client, teams, tokens, work):
    body = get(client, tokens["read"], "/api/v1/training-jobs/").json()
    rows = {row["name"]: row for row in body["results"]}
    # What ran in the default period (the last 30 days); the 60-day-old job and the other team's are not listed.
    assert set(rows) == {"llama-ft-1", "bert-spot-1", "eu-train-1", "prep-1", "xgb-hpo-001", "xgb-hpo-002"}
    first, last, start, end = days()
    expected = totals(teams[0], start, end)
    for name, row in rows.items():
        figures = expected[row["id"]]
        assert row["period_start"] == first.isoformat() and row["period_end"] == last.isoformat()
        for field in FIGURES:
            assert row[field] == pytest.approx(float(figures[field]), rel=1e-9), (name, field)
        assert row["hours"] == int(figures["hours"])
        cost = figures["cost_usd"]
        assert row["cost_usd"] is None if cost != cost else row["cost_usd"] == pytest.approx(float(cost))
    llama = rows["llama-ft-1"]
    # Independently of the query layer: 5 hours of 2 instances, no Spot; the factory's 40 % GPU.
    assert llama["instance_hours"] == pytest.approx(10.0) and llama["spot_instance_hours"] == 0
    assert llama["gpu_util_pct"] == pytest.approx(40.0) and llama["energy_kwh"] > 0
    assert llama["team"] == "nlp" and llama["project"] == "chat" and llama["aws_account_id"] == "111122223333"
    assert rows["bert-spot-1"]["spot"] is True
    assert rows["bert-spot-1"]["spot_instance_hours"] == pytest.approx(4.0)
    assert rows["bert-spot-1"]["billable_seconds"] == pytest.approx(0.3 * 4 * 3600)
    assert rows["prep-1"]["kind"] == "processing" and rows["prep-1"]["gpu_util_pct"] is None


def test_a_period_of_days_and_the_detail(client, teams, tokens, work):
    old = work["old"]
    ended = old.end_time.date()
    params = {"start": (ended - dt.timedelta(days=2)).isoformat(), "end": ended.isoformat()}
    body = get(client, tokens["read"], "/api/v1/training-jobs/", params).json()
    assert [row["name"] for row in body["results"]] == ["old-1"]
    row = body["results"][0]
    start = dt.datetime.combine(ended - dt.timedelta(days=2), dt.time(), dt.UTC)
    end = dt.datetime.combine(ended + dt.timedelta(days=1), dt.time(), dt.UTC)
    assert row["energy_kwh"] == pytest.approx(float(totals(teams[0], start, end)[old.pk]["energy_kwh"]))
    assert row["instance_hours"] == pytest.approx(2.0)
    # {id}/ answers any of the team's jobs, with its figures over the period asked (none in the default one).
    detail = get(client, tokens["read"], f"/api/v1/training-jobs/{old.pk}/").json()
    assert detail["name"] == "old-1" and detail["energy_kwh"] == 0 and detail["hours"] == 0
    assert detail["cost_usd"] is None
    detail = get(client, tokens["read"], f"/api/v1/training-jobs/{old.pk}/", params).json()
    assert detail["energy_kwh"] == pytest.approx(row["energy_kwh"])


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"kind": "processing"}, {"prep-1"}),
        ({"region": "eu-west-1"}, {"eu-train-1"}),
        ({"account_id": "111122223333", "spot": "true"}, {"bert-spot-1"}),
        ({"name": "llama"}, {"llama-ft-1"}),
        ({"status": "Completed", "kind": "training", "region": "eu-west-1"}, {"eu-train-1"}),
    ],
)
def test_training_job_filters(client, tokens, work, params, names):
    body = get(client, tokens["read"], "/api/v1/training-jobs/", params).json()
    assert {row["name"] for row in body["results"]} == names


def test_tuning_job_filter(client, tokens, work):
    params = {"tuning_job": work["hpo"].pk}
    body = get(client, tokens["read"], "/api/v1/training-jobs/", params).json()
    assert {row["name"] for row in body["results"]} == {"xgb-hpo-001", "xgb-hpo-002"}


@pytest.mark.parametrize(
    ("url", "params", "name"),
    [
        ("/api/v1/training-jobs/", {"kind": "notebook"}, "kind"),
        ("/api/v1/training-jobs/", {"kind": ""}, "kind"),
        ("/api/v1/training-jobs/", {"region": "mars-1"}, "region"),
        ("/api/v1/training-jobs/", {"account_id": "1234"}, "account_id"),
        ("/api/v1/training-jobs/", {"tuning_job": "x"}, "tuning_job"),
        ("/api/v1/training-jobs/", {"tuning_job": "-3"}, "tuning_job"),
        ("/api/v1/training-jobs/", {"spot": "maybe"}, "spot"),
        ("/api/v1/training-jobs/", {"start": "2026-13-01"}, "start"),
        ("/api/v1/training-jobs/", {"start": "2026-11-20", "end": "2026-11-01"}, "start"),
        ("/api/v1/training-jobs/", {"end": ""}, "end"),
        ("/api/v1/training-jobs/", {"page_size": "0"}, "page_size"),
        ("/api/v1/training-jobs/", {"cursor": "garbage!"}, "cursor"),
        ("/api/v1/notebooks/", {"kind": "training"}, "kind"),
        ("/api/v1/notebooks/", {"auto_stop": "yes"}, "auto_stop"),
        ("/api/v1/notebooks/", {"start": "11/20/2026"}, "start"),
        ("/api/v1/tuning-jobs/", {"account_id": "abc"}, "account_id"),
        ("/api/v1/tuning-jobs/", {"end": "tomorrow"}, "end"),
    ],
)
def test_malformed_parameters_are_400s_naming_them(client, tokens, work, url, params, name):
    response = get(client, tokens["read"], url, params)
    assert response.status_code == 400, response.content
    assert name in response.json()
    response = get(client, tokens["read"], url, {**params, "format": "csv"})
    assert response.status_code == 400


def test_a_detail_checks_its_period_too(client, tokens, work):
    response = get(client, tokens["read"], f"/api/v1/training-jobs/{work['llama'].pk}/", {"start": "nope"})
    assert response.status_code == 400 and "start" in response.json()


def test_team_scoping(client, tokens, work):
    for url in ("/api/v1/training-jobs/", "/api/v1/notebooks/", "/api/v1/tuning-jobs/"):
        names = {row["name"] for row in get(client, tokens["outsider"], url).json()["results"]}
        assert names and not names & {"llama-ft-1", "research-nb", "xgb-hpo"}, url
        mine = {row["name"] for row in get(client, tokens["read"], url).json()["results"]}
        assert not mine & {"secret-train", "secret-nb", "their-hpo"}, url
    for key, url in (("llama", "training-jobs"), ("notebook", "notebooks"), ("hpo", "tuning-jobs")):
        assert get(client, tokens["outsider"], f"/api/v1/{url}/{work[key].pk}/").status_code == 404
        assert get(client, tokens["read"], f"/api/v1/{url}/{work[key].pk}/").status_code == 200
    # A job is not a notebook: each resource has its own kinds.
    assert get(client, tokens["read"], f"/api/v1/notebooks/{work['llama'].pk}/").status_code == 404
    assert get(client, tokens["read"], f"/api/v1/training-jobs/{work['notebook'].pk}/").status_code == 404
    assert client.get("/api/v1/training-jobs/").status_code == 401
    assert get(client, tokens["revoked"], "/api/v1/notebooks/").status_code == 401


def test_tuning_jobs_equal_tuning_totals(client, teams, tokens, work):
    body = get(client, tokens["read"], "/api/v1/tuning-jobs/").json()
    assert [row["name"] for row in body["results"]] == ["xgb-hpo"]
    row = body["results"][0]
    _, _, start, end = days()
    frame = wq.tuning_totals(queries.team_accounts(teams[0]), start, end).set_index("tuning_job_id")
    expected = frame.loc[work["hpo"].pk]
    assert row["children"] == int(expected["children"]) == 2
    for field in ("instance_hours", "energy_kwh", "co2e_kg", "embodied_co2e_kg"):
        assert row[field] == pytest.approx(float(expected[field]), rel=1e-9)
    # The children's own rows add up to the tuning job's (the one definition, two ways).
    children = totals(teams[0], start, end, ids=[work["child1"].pk, work["child2"].pk])
    assert row["energy_kwh"] == pytest.approx(sum(float(c["energy_kwh"]) for c in children.values()), rel=1e-9)
    assert row["instance_hours"] == pytest.approx(5.0)
    assert row["strategy"] == "Random" and row["max_parallel_jobs"] == 10
    assert get(client, tokens["read"], "/api/v1/tuning-jobs/", {"strategy": "Bayesian"}).json()["results"] == []


def test_notebooks(client, teams, tokens, work):
    alert = Alert.objects.create(
        team=teams[0], workload=work["notebook"], kind="notebook-idle",
        idle_since=timezone.now() - dt.timedelta(hours=14), opened_at=timezone.now(),
    )  # fmt: skip
    body = get(client, tokens["read"], "/api/v1/notebooks/").json()
    rows = {row["name"]: row for row in body["results"]}
    assert set(rows) == {"research-nb", "d-1/alice/lab"}
    _, _, start, end = days()
    expected = totals(teams[0], start, end, kind=["notebook", "studio-app"])
    nb = rows["research-nb"]
    assert nb["energy_kwh"] == pytest.approx(float(expected[work["notebook"].pk]["energy_kwh"]), rel=1e-9)
    assert nb["hours"] == 20 and nb["instance_hours"] == pytest.approx(20.0)
    assert nb["auto_stop"] is False and nb["open_alert_id"] == alert.pk and nb["idle_since"]
    assert rows["d-1/alice/lab"]["open_alert_id"] is None and rows["d-1/alice/lab"]["app_type"] == "JupyterLab"
    only = get(client, tokens["read"], "/api/v1/notebooks/", {"kind": "studio-app"}).json()["results"]
    assert [row["name"] for row in only] == ["d-1/alice/lab"]
    stopped = get(client, tokens["read"], "/api/v1/notebooks/", {"auto_stop": "false"}).json()["results"]
    assert [row["name"] for row in stopped] == ["research-nb"]


def test_pagination_follows_the_cursor(client, tokens, work):
    first = get(client, tokens["read"], "/api/v1/training-jobs/", {"page_size": 4}).json()
    assert len(first["results"]) == 4 and first["next"]
    everything = json_rows(client, tokens["read"], "/api/v1/training-jobs/", {"page_size": 4})
    assert len(everything) == 6 == len({row["id"] for row in everything})
    assert all(row["energy_kwh"] > 0 for row in everything)  # each page got its figures


@pytest.mark.parametrize("url", ["/api/v1/training-jobs/", "/api/v1/tuning-jobs/", "/api/v1/notebooks/"])
def test_csv_equals_json(client, tokens, work, url):
    rows = json_rows(client, tokens["read"], url, {})
    response = get(client, tokens["read"], url, {"format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert_csv_equals_json(csv_table(response), rows)


def test_csv_neutralises_formulas(client, teams, tokens):
    mine = factories.account(teams[0], "111122223333")
    factories.workload(mine, "=cmd-1", tags={"project": "+SUM(A1)"})
    workload_estimates.estimate_pending()
    response = get(client, tokens["read"], "/api/v1/training-jobs/", {"format": "csv"})
    text = b"".join(response.streaming_content).decode()
    assert "'=cmd-1" in text and ",'+SUM(A1)," in text  # the project column; in the tags' JSON cell it starts with {


def test_page_api_and_query_layer_agree(client, alice, teams, tokens, work):
    """The /training/ page over a custom range, the API over the same days and workload_totals: one figure."""
    first, last, start, end = days(14)
    client.force_login(alice)
    page = client.get(
        reverse("training"), {"period": "custom", "from": first.isoformat(), "to": last.isoformat()}
    ).content.decode()
    head, *body = table(page, "jobs")
    shown = {cells[0]: dict(zip(head, cells, strict=True)) for cells in body}
    api = {
        row["name"]: row
        for row in get(
            client, tokens["read"], "/api/v1/training-jobs/", {"start": first.isoformat(), "end": last.isoformat()}
        ).json()["results"]
    }
    expected = totals(teams[0], start, end, kind=["training", "processing", "transform"])
    assert set(shown) == set(api)
    for name, row in api.items():
        figures = expected[row["id"]]
        assert row["co2e_kg"] == pytest.approx(float(figures["co2e_kg"]), rel=1e-9)
        assert number(shown[name]["Operational CO2e (kg)"]) == pytest.approx(round(row["co2e_kg"], 3), abs=1e-3)
        assert number(shown[name]["Energy (kWh)"]) == pytest.approx(round(row["energy_kwh"], 3), abs=1e-3)


def test_queries_per_page_and_csv_do_not_grow_with_the_rows(client, teams, tokens, work):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    urls = [
        ("/api/v1/training-jobs/", {}),
        ("/api/v1/training-jobs/", {"format": "csv"}),
        ("/api/v1/notebooks/", {}),
        ("/api/v1/tuning-jobs/", {}),
        (f"/api/v1/training-jobs/{work['llama'].pk}/", {}),
    ]

    def counts():
        out = []
        for url, params in urls:
            with CaptureQueriesContext(connection) as run:
                response = get(client, tokens["read"], url, params)
                if params.get("format") == "csv":
                    b"".join(response.streaming_content)
            assert response.status_code == 200, url
            out.append(len(run))
        return out

    before = counts()
    mine = work["llama"].account
    hpo = factories.tuning_job(mine, "more-hpo")
    for index in range(10):
        factories.workload(mine, f"more-{index}", hours=2, tuning=hpo if index % 2 else None)
        factories.workload(mine, f"nb-{index}", kind="notebook", hours=2, ended_hours_ago=None, cpu_util_pct=None,
                           gpu_util_pct=None)  # fmt: skip
    workload_estimates.estimate_pending()
    assert counts() == before


def test_a_priced_spot_job_costs_its_billable_share_on_the_page_and_in_the_api(client, alice, teams, tokens):
    from collectors.models import Price

    mine = factories.account(teams[0], "111122223333")
    for sku in ("ml.g5.2xlarge", "ml.m5.xlarge"):
        Price.objects.create(
            service="sagemaker-training", sku=sku, region="us-east-1", unit="hour", usd="1.50",
            effective_date=timezone.now() - dt.timedelta(days=400), source_sku=f"T-{sku}",
            collected_at=timezone.now(),
        )  # fmt: skip
    spot = factories.workload(mine, "spot-1", instance_type="ml.g5.2xlarge", hours=4, spot=True)
    full = factories.workload(mine, "full-1", instance_type="ml.m5.xlarge", count=2, hours=3, gpu_util_pct=None)
    unpriced = factories.workload(mine, "p4-1", hours=1)
    workload_estimates.estimate_pending()
    rows = {row["name"]: row for row in get(client, tokens["read"], "/api/v1/training-jobs/").json()["results"]}
    # Independently: list price x instance-hours, a managed-Spot job scaled by billable / training seconds (0.3).
    assert rows["full-1"]["cost_usd"] == pytest.approx(1.50 * 2 * 3)
    assert rows["spot-1"]["cost_usd"] == pytest.approx(1.50 * 4 * 0.3)
    assert rows["p4-1"]["cost_usd"] is None
    _, _, start, end = days()
    expected = totals(teams[0], start, end)
    for job in (spot, full):
        assert rows[job.name]["cost_usd"] == pytest.approx(float(expected[job.pk]["cost_usd"]))
    client.force_login(alice)
    head, *body = table(client.get(reverse("training")).content.decode(), "jobs")
    shown = {cells[0]: dict(zip(head, cells, strict=True)) for cells in body}
    assert number(shown["spot-1"]["Cost (USD)"]) == pytest.approx(1.80)
    assert number(shown["full-1"]["Cost (USD)"]) == pytest.approx(9.00)
    assert shown[unpriced.name]["Cost (USD)"] == "unpriced"
