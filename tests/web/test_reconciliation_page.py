"""The "AWS vs ours" page: a member sees each account's months with AWS's figures and ours, the revision and
below-precision marks, a chart per account, the gap and the idle comparison; an outsider sees none of it."""

import datetime as dt
import json
import re

import pytest
from django.utils import timezone

from dashboard.footprint import reconciliation
from tests.web.factories import account, aws_carbon, endpoint, estimate, idle_finding, month_start

URL = "/reconciliation/"


@pytest.fixture
def figures(teams):
    mine = account(teams[0], "111122223333", "prod")
    endpoint(mine, "ranker", hours=24 * 70)
    quiet = endpoint(mine, "quiet", hours=24 * 9, invocations=0.0, cpu_util_pct=1.0)
    theirs = account(teams[1], "444455556666", "secret-account")
    estimate()
    now = timezone.now()
    aws_carbon(mine, month_start(1), 400.0, version="v1", seen=now - dt.timedelta(days=10))
    aws_carbon(mine, month_start(1), 432.5, version="v2", seen=now - dt.timedelta(days=1))
    aws_carbon(mine, month_start(2), 0.0)
    aws_carbon(theirs, month_start(1), 9876.0)
    idle_finding(mine, "ghost", 321.0)
    return mine, quiet


def test_a_member_sees_the_figures_chart_gap_and_idle_comparison(client, alice, teams, figures):
    client.force_login(alice)
    response = client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    last = f"{month_start(1):%Y-%m}"
    row = next(r for r in reconciliation.rows(teams[0], month_start(1), month_start(0)) if r["month"] == last)
    assert '<td class="num" data-figure="aws_location">432.500 kg</td>' in page  # the latest version, not v1's 400
    assert '<td class="num" data-figure="aws_location">400.000 kg</td>' not in page
    assert "revised" in page
    # what AWS revised it from, listed under the month
    assert '<li data-version="v1">v1: 400.000 kg <span class="origin">(Sustainability API)</span></li>' in page
    assert "below AWS&#x27;s reporting precision" in page or "below AWS's reporting precision" in page
    assert f"{row['co2e_kg']:,.3f} kg" in page
    assert f"{row['ratio']:.2f}×" in page
    assert f"{row['coverage_pct']:.1f} %" in page
    # a month AWS has and we never collected: not collected, rather than 0 kg of ours
    aws_carbon(figures[0], month_start(6), 12.0)
    lone = client.get(URL).content.decode()
    cell = lone.split(f'data-month="{month_start(6):%Y-%m}"')[1].split("</tr>")[0]
    assert "not collected (before our first hour here)" in cell and "0.000 kg" not in cell
    assert "The gap, item by item" in page and "hardware only" in page
    figure = json.loads(re.search(r'id="reconciliation-0-figure"[^>]*>(.*?)</script>', page, re.S).group(1))
    aws_trace = figure["data"][0]
    assert aws_trace["y"][aws_trace["x"].index(f"{last}-01")] == 432.5
    # Idle: our quiet endpoint (9 days without an inference) and AWS's finding matching none of ours.
    assert 'data-flagged-by="ours"' in page and "quiet" in page
    assert "ghost" in page and "321.00 USD" in page and "Not one of the endpoints we collect" in page
    # Never another team's.
    assert "9,876" not in page and "secret-account" not in page


def test_the_empty_state_says_what_to_grant(client, charlie, teams):
    account(teams[1], "555566667777")
    client.force_login(charlie)
    page = client.get(URL).content.decode()
    assert "Grant <code>sustainability:GetEstimatedCarbonEmissions</code>" in page


def test_outsiders_see_nothing_of_the_team_and_visitors_are_sent_to_login(client, charlie, figures):
    assert client.get(URL).status_code == 302 and "/login/" in client.get(URL)["Location"]
    client.force_login(charlie)
    page = client.get(URL).content.decode()
    assert "432.500" not in page and "ghost" not in page and "quiet" not in page
    assert "9.876 t" in page and "secret-account" in page  # their own account's figures only


def test_no_inline_script(client, alice, figures):
    client.force_login(alice)
    page = client.get(URL).content.decode()
    for script in page.split("<script")[1:]:
        opening = script.split(">", 1)[0]
        assert "src=" in opening or 'type="application/json"' in opening, opening
