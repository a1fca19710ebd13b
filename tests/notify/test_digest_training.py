"""The weekly digest's "This week's top training jobs" (issue 19): the week's top five training jobs by CO2e with
their figures in the week, equal to the query layer's and to the sums of the hours' stored estimates."""

import datetime as dt

import pytest
from django.db.models import Sum

from collectors.models import WorkloadHour
from dashboard.footprint import workload_queries
from dashboard.footprint.models import WorkloadHourEstimate
from dashboard.footprint.queries import team_accounts
from dashboard.footprint.workload_estimates import estimate_pending
from dashboard.notify import digest
from dashboard.recommend import engine
from tests.web import factories

pytestmark = pytest.mark.urls("tests.notify.digest_urls")
SITE = "https://wattson.example.com"


@pytest.fixture(autouse=True)
def site(settings):
    settings.SITE_URL = SITE


def ended(at: dt.datetime) -> int:
    """``ended_hours_ago`` for a job that ended at ``at``."""
    return int((factories.this_hour() - at) / dt.timedelta(hours=1))


def week_sums(workload, start: dt.datetime, end: dt.datetime) -> dict:
    rows = WorkloadHourEstimate.objects.filter(
        workload_hour__workload=workload, workload_hour__hour__gte=start, workload_hour__hour__lt=end
    )
    sums = rows.aggregate(kwh=Sum("energy_kwh"), co2e=Sum("co2e_kg"), embodied=Sum("embodied_co2e_kg"))
    hours = WorkloadHour.objects.filter(workload=workload, hour__gte=start, hour__lt=end).count()
    return {"kwh": sums["kwh"], "co2e_kg": sums["co2e"] + sums["embodied"], "hours": hours}


def test_the_digest_lists_the_weeks_top_training_jobs_with_the_query_layers_figures(teams, alice):
    prod = factories.account(teams[0], "111122223333", "prod")
    other = factories.account(teams[1], "777788889999", "outsiders")
    week_start = digest.week_of(factories.this_hour(), "UTC")
    start = dt.datetime.combine(week_start, dt.time(), dt.UTC)
    end = start + dt.timedelta(days=7)
    mid = start + dt.timedelta(days=2, hours=12)
    types = ["ml.p4d.24xlarge", "ml.g5.12xlarge", "ml.g5.2xlarge", "ml.m5.xlarge", "ml.c5.2xlarge", "ml.m5.large"]
    jobs = {
        f"job-{n}": factories.workload(prod, f"job-{n}", instance_type=t, hours=2 + n, ended_hours_ago=ended(mid))
        for n, t in enumerate(types)
    }
    # four of its six hours before the week began: only two count
    jobs["straddle"] = factories.workload(
        prod,
        "straddle",
        instance_type="ml.p4d.24xlarge",
        count=2,
        hours=6,
        ended_hours_ago=ended(start + dt.timedelta(hours=2)),
    )
    factories.workload(prod, "last-week-only", instance_type="ml.p5.48xlarge", hours=5, ended_hours_ago=ended(start))
    factories.workload(prod, "etl", kind="processing", instance_type="ml.p4d.24xlarge", hours=20,
                       ended_hours_ago=ended(mid))  # fmt: skip
    factories.workload(other, "theirs", instance_type="ml.p5.48xlarge", hours=20, ended_hours_ago=ended(mid))
    estimate_pending()
    engine.recompute(teams[0])

    data = digest.content(teams[0], week_start)
    top = data["top_training_jobs"]
    totals = workload_queries.workload_totals(team_accounts(teams[0]), start, end, kind="training")
    totals = totals.assign(total=totals["co2e_kg"] + totals["embodied_co2e_kg"]).sort_values("total", ascending=False)
    assert [row["name"] for row in top] == list(totals["name"][:5]) and len(top) == 5
    assert "last-week-only" not in totals["name"].tolist() and "etl" not in [r["name"] for r in top]
    expected = {name: week_sums(job, start, end) for name, job in jobs.items()}
    ranked = sorted(expected, key=lambda name: expected[name]["co2e_kg"], reverse=True)[:5]
    assert [row["name"] for row in top] == ranked  # the same order from the stored estimates
    for row in top:
        mine = expected[row["name"]]
        assert row["energy_kwh"] == pytest.approx(mine["kwh"], rel=1e-6)
        assert row["total_co2e_kg"] == pytest.approx(mine["co2e_kg"], rel=1e-6)
        assert row["hours"] == mine["hours"]
        assert row["url"] == f"{SITE}/training/{jobs[row['name']].pk}/"
    [straddle] = [row for row in top if row["name"] == "straddle"]  # 2 x p4d for 2 hours: among the top
    assert straddle["hours"] == 2 and straddle["instance_count"] == 2

    bodies = digest.bodies(teams[0], alice, week_start)
    first = top[0]
    assert "TOP TRAINING JOBS" in bodies["text"]
    line = f"1. {first['name']} (us-east-1): {first['instance_type']} × {first['instance_count']}, {first['hours']} h"
    assert line in bodies["text"]
    assert "This week's top training jobs" in bodies["html"] and f'data-job-hours="{first["hours"]}"' in bodies["html"]
    assert "theirs" not in bodies["text"] and "theirs" not in bodies["html"]


def test_a_week_without_training_says_so(teams, alice):
    factories.account(teams[0], "111122223333", "prod")
    week_start = digest.week_of(factories.this_hour(), "UTC")
    data = digest.content(teams[0], week_start)
    assert data["top_training_jobs"] == []
    bodies = digest.bodies(teams[0], alice, week_start)
    assert "No training job ran this week." in bodies["text"] and "No training job ran this week." in bodies["html"]
