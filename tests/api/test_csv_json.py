"""Every API CSV equals its JSON value for value, read back as a CSV consumer would: Python's ``csv`` module for
the cells, ``json.loads`` for nested ones (tags, variants, ``summary_30d``, evidence) and booleans, an empty cell
for null, ``float``/``int`` for numbers. Every writer (Python's csv module, pandas, PostgreSQL's COPY) writes a
float as the shortest text that reads back as the same float, as JSON does; floats are compared to 12 significant
digits only because the CSV and the JSON are two requests, whose sums the database may add in another order."""

import csv
import io
import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from collectors.models import VariantConfig, VariantHour
from dashboard.csv_safety import spreadsheet_safe
from dashboard.recommend.models import Recommendation
from tests.api.conftest import bearer
from tests.web import factories
from tests.web.test_query_counts import log_days

TAGS = {"team": "recsys", "env": "prod", "note": 'say "hi", it\'s =1+1', "ünïcode": "café ☕", "empty": ""}
EVIDENCE = {
    "gpu_util_pct": {"p50": 0.5, "p95": 12.25, "max": None},
    "hours": [1, 2, 3],
    "scaled": False,
    "reason": "=not a formula inside JSON",
    "nested": {"deeper": [{"a": None, "b": True}]},
}


def add_variant(endpoint, name: str, instance_type: str, hours: int = 48) -> None:
    """A second production variant on ``endpoint``: its configuration and hours (estimated by the caller)."""
    start = factories.this_hour() - timedelta(hours=hours)
    VariantConfig.objects.create(
        endpoint=endpoint,
        variant_name=name,
        valid_from=start,
        instance_type=instance_type,
        initial_instance_count=1,
        current_instance_count=1,
    )
    VariantHour.objects.bulk_create(
        VariantHour(
            endpoint=endpoint,
            variant_name=name,
            hour=start + timedelta(hours=h),
            instance_type=instance_type,
            instance_hours=1,
            cpu_util_pct=55.5,
            memory_util_pct=12.0,
            invocations=7,
            collected_at=timezone.now(),
        )
        for h in range(hours)
    )


@pytest.fixture
def rich_fleet(fleet):
    """The API fleet with what CSV writers get wrong: tags with quotes, commas, unicode and formula-like text, an
    endpoint with two variants, a recommendation whose evidence nests nulls, booleans and lists, 30-day summaries
    from real rollups, and log groups and Storage Lens days."""
    ranker = fleet["ranker"]
    ranker.tags = TAGS
    ranker.save(update_fields=["tags"])
    add_variant(ranker, "Shadow", "ml.m5.large")
    factories.estimate()  # the new hours, and the daily rollups the summaries read
    rec = Recommendation.objects.filter(team__name="ML Platform").first()
    Recommendation.objects.filter(pk=rec.pk).update(evidence=EVIDENCE, proposed={"instance_count": 1, "to": None})
    log_days(ranker.account, "/aws/sagemaker/Endpoints/ranker", "us-east-1")
    return fleet


def json_rows(client, token: str, url: str, params: dict) -> list[dict]:
    """Every row of the JSON answer: each page's results, following the cursor, or the one object of a detail."""
    rows, cursor = [], None
    while True:
        body = client.get(url, {**params, **({"cursor": cursor} if cursor else {})}, **bearer(token)).json()
        if "results" not in body:
            return [body]
        rows += body["results"]
        if not body.get("next"):
            return rows
        cursor = parse_qs(urlsplit(body["next"]).query)["cursor"][0]


def csv_table(response) -> list[list[str]]:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(content.decode(), newline="")))


def read_back(text: str, value):
    """The value a CSV cell stands for, read as a consumer who knows the column's type (the schema's) would."""
    if value is None or isinstance(value, str):
        return None if value is None and text == "" else text
    if isinstance(value, bool | dict | list):
        return json.loads(text)
    return type(value)(text)


def expected(value):
    """What the CSV carries for a JSON value: the same, but text neutralised against spreadsheet formulas."""
    return spreadsheet_safe(value)


def assert_csv_equals_json(csv_table_rows: list[list[str]], rows: list[dict]) -> None:
    header, *cells = csv_table_rows
    assert header == list(rows[0]), "the CSV's columns are the JSON fields, in order"
    assert len(cells) == len(rows) > 0
    for line, row in zip(cells, rows, strict=True):
        assert len(line) == len(header)
        for name, text, value in zip(header, line, row.values(), strict=True):
            assert read_back(text, value) == approximately(expected(value)), (name, text, value)


def approximately(value):
    """The value to compare with, floats to 12 significant digits: the CSV and the JSON are two requests, and the
    database may add the same floats in another order (the last bit then differs); everything else exactly."""
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-12)
    if isinstance(value, dict):
        return {key: approximately(item) for key, item in value.items()}
    if isinstance(value, list):
        return [approximately(item) for item in value]
    return value


RESOURCES = [
    ("/api/v1/accounts/", {}),
    ("/api/v1/endpoints/", {}),
    ("/api/v1/endpoints/", {"team": "recsys"}),
    ("/api/v1/variants/", {}),
    ("/api/v1/usage/", {"grain": "hour"}),  # PostgreSQL's COPY writes this one
    ("/api/v1/usage/", {"grain": "day"}),
    ("/api/v1/log-groups/", {}),
    ("/api/v1/storage/", {}),
    ("/api/v1/recommendations/", {}),
    ("/api/v1/emissions/", {"group_by": "region"}),
    ("/api/v1/emissions/", {"group_by": "endpoint", "grain": "week"}),
    ("/api/v1/focus/", {}),
]


@pytest.mark.parametrize(("url", "params"), RESOURCES)
def test_every_csv_equals_its_json_value_for_value(client, rich_fleet, tokens, url, params):
    rows = json_rows(client, tokens["read"], url, params)
    for how, headers in (({"format": "csv"}, {}), ({}, {"HTTP_ACCEPT": "text/csv"})):
        response = client.get(url, {**params, **how}, **bearer(tokens["read"]), **headers)
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        assert_csv_equals_json(csv_table(response), rows)


def csv_dicts(client, auth: dict, url: str) -> list[dict]:
    response = client.get(url, {"format": "csv"}, **auth)
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_an_endpoints_csv_carries_its_real_variants_tags_and_30_day_summary(client, rich_fleet, tokens):
    ranker = rich_fleet["ranker"]
    read = bearer(tokens["read"])
    mine = {row["id"]: row for row in csv_dicts(client, read, "/api/v1/endpoints/")}[str(ranker.pk)]
    assert json.loads(mine["tags"]) == TAGS
    assert sorted(v["variant_name"] for v in json.loads(mine["variants"])) == ["AllTraffic", "Shadow"]
    summary = json.loads(mine["summary_30d"])
    assert summary["energy_kwh"] > 0 and summary["instance_hours"] == 2 * 48 + 48  # two instances, one shadow
    detail = client.get(f"/api/v1/endpoints/{ranker.pk}/", **read).json()
    # The list's chunk and the detail are two queries: the database may add the same floats in another order.
    assert summary.keys() == detail["summary_30d"].keys()
    assert summary == approximately(detail["summary_30d"])
    one = client.get(f"/api/v1/endpoints/{ranker.pk}/", {"format": "csv"}, **read)
    assert_csv_equals_json(csv_table(one), [detail])


def test_nested_cells_are_json_and_no_cell_is_a_python_repr(client, rich_fleet, tokens):
    read = bearer(tokens["read"])
    assert EVIDENCE in [json.loads(row["evidence"]) for row in csv_dicts(client, read, "/api/v1/recommendations/")]
    text = b"".join(client.get("/api/v1/endpoints/", {"format": "csv"}, **read).streaming_content).decode()
    assert "None" not in text and "False" not in text and "{'" not in text
    account = csv_dicts(client, read, "/api/v1/accounts/")[0]
    assert account["enabled"] == "true" and json.loads(account["regions"]) == ["us-east-1", "eu-west-1"]
