"""The usage CSV written by PostgreSQL (COPY, dashboard.api.export) is the ORM path's CSV: the same rows in the
same order with the same values, for the same team, filters and period, built on the same WHERE; and text a
spreadsheet would run as a formula is neutralised there too. Both paths run on PostgreSQL, on the same data."""

import csv
import io
import math

import pytest
from django.db import connection
from django.http import HttpResponse

from dashboard.api import export, views
from tests.api.conftest import bearer
from tests.web import factories

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")

HOSTILE_VARIANTS = ("=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\uff1dFULLWIDTH")


@pytest.fixture
def hostile(teams, fleet):
    prod = fleet["ranker"].account
    rows = [
        factories.endpoint(prod, f"hostile-{index}", variant=variant, hours=6)
        for index, variant in enumerate(HOSTILE_VARIANTS)
    ]
    factories.estimate()
    return rows


def usage_csv(client, token: str, **params) -> tuple[list[str], list[list[str]]]:
    response = client.get("/api/v1/usage/", {"format": "csv", **params}, **bearer(token))
    assert response.status_code == 200, response.content
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode(), newline="")))
    return lines[0], lines[1:]


def orm_csv(client, token: str, monkeypatch, **params):
    with monkeypatch.context() as patch:
        patch.setattr(views.UsageViewSet, "copy_csv", False)
        return usage_csv(client, token, **params)


def same_cell(copied: str, serialized: str) -> bool:
    """Equal text, or the same number (PostgreSQL prints 2.0 as 2, Python as 2.0)."""
    if copied == serialized:
        return True
    try:
        return math.isclose(float(copied), float(serialized), rel_tol=0, abs_tol=0)
    except ValueError:
        return False


SCOPES = [
    {},
    {"grain": "day"},
    {"account_id": "111122223333"},
    {"region": "eu-west-1"},
    {"grain": "day", "region": "us-east-1"},
    {"start": "2020-01-01T00:00:00Z", "end": "2020-01-02T00:00:00Z"},
]


@pytest.mark.parametrize("params", SCOPES)
def test_the_copy_path_writes_the_orm_paths_rows(client, fleet, hostile, tokens, monkeypatch, params):
    copied_header, copied = usage_csv(client, tokens["read"], **params)
    header, serialized = orm_csv(client, tokens["read"], monkeypatch, **params)
    assert copied_header == header
    assert len(copied) == len(serialized)
    assert params.get("start") == "2020-01-01T00:00:00Z" or copied
    for mine, theirs in zip(copied, serialized, strict=True):
        assert all(same_cell(a, b) for a, b in zip(mine, theirs, strict=True)), (mine, theirs)


def test_the_copy_path_follows_one_endpoint_and_the_team_scope(client, fleet, hostile, tokens, monkeypatch):
    endpoint = fleet["idle"].pk
    header, copied = usage_csv(client, tokens["read"], endpoint=endpoint)
    assert copied and {row[header.index("endpoint_id")] for row in copied} == {str(endpoint)}
    _, serialized = orm_csv(client, tokens["read"], monkeypatch, endpoint=endpoint)
    assert len(copied) == len(serialized)
    for mine, theirs in zip(copied, serialized, strict=True):
        assert all(same_cell(a, b) for a, b in zip(mine, theirs, strict=True)), (mine, theirs)
    header, everything = usage_csv(client, tokens["read"])
    assert str(fleet["theirs"].pk) not in {row[header.index("endpoint_id")] for row in everything}
    _, theirs = usage_csv(client, tokens["read"], endpoint=fleet["theirs"].pk)
    assert theirs == []


def contains(sequence: tuple, part: tuple) -> bool:
    return any(sequence[index : index + len(part)] == part for index in range(len(sequence) - len(part) + 1))


def test_every_copy_statement_has_the_orm_querysets_where_and_a_window_of_hours(client, fleet, tokens, monkeypatch):
    seen = []
    original = export.copy_statement

    def spy(queryset, fields, ordering):
        statement = original(queryset, fields, ordering)
        seen.append(statement)
        return statement

    monkeypatch.setattr(export, "copy_statement", spy)
    start, end = "2026-01-01T00:00:00Z", "2026-01-20T00:00:00Z"
    params = {"region": "us-east-1", "account_id": "111122223333", "start": start, "end": end}
    response = client.get("/api/v1/usage/", {"format": "csv", **params}, **bearer(tokens["read"]))
    b"".join(response.streaming_content)
    with monkeypatch.context() as patch:  # the ORM path's queryset, from the same view and request
        patch.setattr(views.UsageViewSet, "copy_csv", False)
        querysets = []
        patch.setattr(views.UsageViewSet, "csv", lambda self, queryset: querysets.append(queryset) or HttpResponse())
        client.get("/api/v1/usage/", {"format": "csv", **params}, **bearer(tokens["read"]))
    orm_sql, orm_params = querysets[0].order_by("hour", "id").query.sql_with_params()
    where = orm_sql.split(" WHERE (", 1)[1].rsplit(") ORDER BY ", 1)[0]
    assert len(seen) == 3  # 19 days: three weeks of hours, one COPY each
    for statement, statement_params in seen:
        assert statement.startswith("COPY (SELECT ") and statement.endswith(") TO STDOUT WITH (FORMAT csv)")
        assert f" WHERE ({where} AND " in statement
        extra = statement.split(f" WHERE ({where} AND ", 1)[1].split(") ORDER BY ", 1)[0]
        assert extra == '"collectors_varianthour"."hour" >= %s AND "collectors_varianthour"."hour" < %s'
        assert contains(tuple(statement_params), tuple(orm_params))


def test_formula_text_is_neutralised_on_the_copy_path(client, fleet, hostile, tokens):
    header, rows = usage_csv(client, tokens["read"])
    variants = {row[header.index("variant_name")] for row in rows}
    assert {"'" + variant for variant in HOSTILE_VARIANTS} <= variants
    for name in ("variant_name", "instance_type"):
        assert not [row for row in rows if row[header.index(name)].startswith(("=", "+", "-", "@", "\uff1d"))]


def test_the_copy_path_writes_iso_utc_hours_and_empty_nulls(client, fleet, tokens):
    header, rows = usage_csv(client, tokens["read"], endpoint=fleet["eu"].pk)
    hour = rows[0][header.index("hour")]
    assert len(hour) == 20 and hour.endswith(":00:00Z") and hour[10] == "T"
    assert rows[0][header.index("gpu_util_pct")] == ""  # a CPU instance: null
