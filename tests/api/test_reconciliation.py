"""/api/v1/reconciliation/ and its idle comparison: the footprint's rows (one definition), the filters, 400s
naming the parameter, CSV equal to JSON with formulas neutralised, and the team's scope."""

import csv
import io

import pytest
from django.utils import timezone

from collectors.models import AwsAccount
from dashboard.footprint import reconciliation
from dashboard.footprint.idle import IdlePolicy
from tests.api.conftest import bearer
from tests.web.factories import aws_carbon, idle_finding, month_start

URL, IDLE_URL = "/api/v1/reconciliation/", "/api/v1/reconciliation/idle/"


@pytest.fixture
def figures(fleet, teams):
    prod = AwsAccount.objects.get(account_id="111122223333")
    other = AwsAccount.objects.get(account_id="777788889999")
    aws_carbon(prod, month_start(1), 12.0)
    aws_carbon(prod, month_start(1), 3.0, region="eu-west-1")
    aws_carbon(prod, month_start(3), 0.0)
    aws_carbon(other, month_start(1), 99.0)
    return prod


def rows_of(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_api_answers_the_footprint_rows_for_the_last_12_complete_months(client, figures, teams, tokens):
    response = client.get(URL, **bearer(tokens["read"]))
    assert response.status_code == 200
    body = response.json()
    first, stop = reconciliation.last_complete_months(timezone.now().date())
    assert body["results"] == reconciliation.rows(teams[0], first, stop)
    assert body["start"] == f"{month_start(12):%Y-%m}" and body["end"] == f"{month_start(1):%Y-%m}"
    assert {row["account_id"] for row in body["results"]} == {"111122223333"}  # never another team's
    months = {(row["region"], row["month"]) for row in body["results"]}
    assert ("us-east-1", f"{month_start(1):%Y-%m}") in months and ("us-east-1", f"{month_start(3):%Y-%m}") in months
    below = next(row for row in body["results"] if row["month"] == f"{month_start(3):%Y-%m}")
    assert below["aws_below_precision"] is True and below["ratio"] is None


def test_filters(client, figures, tokens):
    month = f"{month_start(1):%Y-%m}"
    body = client.get(URL, {"month": month, "region": "eu-west-1"}, **bearer(tokens["read"])).json()
    assert [(row["region"], row["month"], row["aws_location_based_co2e_kg"]) for row in body["results"]] == [
        ("eu-west-1", month, 3.0)
    ]
    assert body["start"] == body["end"] == month
    assert client.get(URL, {"account_id": "777788889999"}, **bearer(tokens["read"])).json()["results"] == []
    assert client.get(URL, {"account_id": "111122223333"}, **bearer(tokens["read"])).json()["results"]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"month": "2026-13"}, "month"),
        ({"month": "2026-1"}, "month"),
        ({"month": "October"}, "month"),
        ({"month": "0000-01"}, "month"),
        ({"month": "9999-12"}, "month"),
        ({"month": ""}, "month"),
        ({"account_id": "12345"}, "account_id"),
        ({"region": "mars-north-1"}, "region"),
    ],
)
def test_malformed_parameters_are_400s_naming_them(client, figures, tokens, params, named):
    response = client.get(URL, params, **bearer(tokens["read"]))
    assert response.status_code == 400
    assert named in response.json()


def test_csv_equals_json_and_neutralises_formulas(client, figures, tokens):
    AwsAccount.objects.filter(account_id="111122223333").update(name="=HYPERLINK(1)")
    body = client.get(URL, **bearer(tokens["read"])).json()["results"]
    rows = rows_of(client.get(URL, {"format": "csv"}, **bearer(tokens["read"])))
    assert len(rows) == len(body) and list(rows[0]) == list(reconciliation.FIELDS)
    assert rows[0]["account_name"] == "'=HYPERLINK(1)"
    for got, want in zip(rows, body, strict=True):
        assert got["month"] == want["month"]
        assert got["aws_location_based_co2e_kg"] == (
            "" if want["aws_location_based_co2e_kg"] is None else str(want["aws_location_based_co2e_kg"])
        )
        assert float(got["co2e_kg"]) == pytest.approx(want["co2e_kg"])


def test_needs_a_token_and_is_listed_at_the_root(client, figures, tokens):
    assert client.get(URL).status_code == 401
    assert client.get(IDLE_URL).status_code == 401
    root = client.get("/api/v1/", **bearer(tokens["read"])).json()
    assert root["reconciliation"].endswith(URL) and root["reconciliation-idle"].endswith(IDLE_URL)


def test_idle_comparison_is_the_footprint_comparison_with_the_team_policy(client, fleet, teams, tokens):
    prod = AwsAccount.objects.get(account_id="111122223333")
    now = timezone.now()
    idle_finding(prod, fleet["ranker"].name, 200.0, fleet["ranker"])
    body = client.get(IDLE_URL, **bearer(tokens["read"])).json()
    assert body["idle_after_hours"] == 7 * 24  # TeamPolicy's default idle_days
    by_name = {row["endpoint"]: row for row in body["results"]}
    assert by_name["ranker"]["flagged_by"] == "aws" and by_name["ranker"]["aws_monthly_savings"] == 200.0
    assert by_name["idle-gpu"]["flagged_by"] == "ours"  # 8 days without an inference
    expected = reconciliation.idle(teams[0], IdlePolicy(7 * 24), now)
    assert [(r["endpoint"], r["flagged_by"]) for r in expected] == [
        (r["endpoint"], r["flagged_by"]) for r in body["results"]
    ]
    assert by_name["idle-gpu"]["waste_kwh"] == pytest.approx(
        next(r["waste_kwh"] for r in expected if r["endpoint"] == "idle-gpu")
    )
    csv_rows = rows_of(client.get(IDLE_URL, {"format": "csv"}, **bearer(tokens["read"])))
    assert [row["endpoint"] for row in csv_rows] == [row["endpoint"] for row in body["results"]]
    outsider = client.get(IDLE_URL, **bearer(tokens["outsider"])).json()["results"]
    assert all(row["endpoint"] not in ("ranker", "idle-gpu") for row in outsider)
