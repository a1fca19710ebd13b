"""CSV exports at database speed: PostgreSQL writes the CSV itself (``COPY (SELECT ...) TO STDOUT WITH CSV``,
read through psycopg 3's copy API) and Python only passes bytes on, so a year of 1,000 endpoints' hours streams in
well under a minute with flat memory.

The SELECT is the list view's own queryset (the team scope, the filters and the order of the ORM path: the same
WHERE) with each serializer field's value formatted in SQL as the serializer writes it: datetimes as ISO 8601 UTC
(``2026-01-31T13:00:00Z``), dates as ``2026-01-31``, numbers as PostgreSQL prints them (the shortest text that
reads back as the same float, as Python's), null as an empty cell. Text a spreadsheet would run as a formula gets
a leading ``'`` in SQL, by the same rule and list of first characters as ``dashboard.csv_safety``. PostgreSQL ends
lines with LF and quotes any field holding a carriage return or a line feed, so no record breaks in two.

A long export runs as one COPY per window of its first ordering field (a week of hours for the usage CSV): each
statement is the queryset's WHERE and that window, so PostgreSQL sorts a week rather than the year before the
first row goes out. Leaving a COPY early (the client went away) makes psycopg cancel it in PostgreSQL.

Other databases (SQLite in development) keep the serializer path (``dashboard.api.csv.stream``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from django.db import connection
from django.db.models import F, Func, QuerySet, TextField
from django.http import StreamingHttpResponse
from rest_framework import serializers

from dashboard.csv_safety import FORMULA_STARTS

CHUNK_BYTES = 1 << 18  # what one write to the client carries


class SpreadsheetSafe(Func):
    """``csv_safety.spreadsheet_safe`` in SQL: text starting like a formula gets a leading ``'``."""

    output_field = TextField()

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        case = f"CASE WHEN left({sql}, 1) = ANY(%s) THEN '''' || {sql} ELSE {sql} END"
        return case, [*params, list(FORMULA_STARTS), *params, *params]


class IsoInstant(Func):
    """A timestamp as DRF writes it for UTC: ``YYYY-MM-DDTHH:MM:SSZ`` (whole seconds: hours and days only)."""

    template = "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
    output_field = TextField()


class IsoDay(Func):
    template = "to_char(%(expressions)s, 'YYYY-MM-DD')"
    output_field = TextField()


def column(field: serializers.Field):
    """The SQL expression of one serializer field's CSV cell."""
    value = F(field.source.replace(".", "__"))
    if isinstance(field, serializers.DateTimeField):
        return IsoInstant(value)
    if isinstance(field, serializers.DateField):
        return IsoDay(value)
    if isinstance(field, serializers.CharField):
        return SpreadsheetSafe(value)
    return value


def copy_statement(queryset: QuerySet, fields: dict[str, serializers.Field], ordering: tuple[str, ...]):
    """``COPY (SELECT <the fields' cells> FROM <the queryset, in order>) TO STDOUT WITH CSV`` and its parameters.
    The cells are aliased ``c0``, ``c1``, ... in the fields' order (an alias may not shadow a model field)."""
    cells = {f"c{index}": column(field) for index, field in enumerate(fields.values())}
    select = queryset.order_by(*ordering).values(**cells)
    sql, params = select.query.sql_with_params()
    return f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params


def header(names: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(names)
    return out.getvalue().encode()


def copy_rows(statement: str, params) -> Iterator[bytes]:
    """The CSV bytes PostgreSQL writes for ``statement``, gathered into chunks of about CHUNK_BYTES."""
    buffer = bytearray()
    with connection.cursor() as cursor, cursor.cursor.copy(statement, params) as copy:
        for row in copy:
            buffer += row
            if len(buffer) >= CHUNK_BYTES:
                yield bytes(buffer)
                buffer.clear()
    if buffer:
        yield bytes(buffer)


def supported() -> bool:
    return connection.vendor == "postgresql"


def spans(start, end, step) -> list[tuple]:
    """[start, end) in consecutive spans of ``step`` (dates or datetimes)."""
    bounds = []
    while start < end:
        bounds.append((start, min(start + step, end)))
        start += step
    return bounds


def windowed(queryset: QuerySet, field: str, span: tuple | None) -> QuerySet:
    """The queryset narrowed to ``field`` in [low, high): its WHERE and one more bound."""
    if span is None:
        return queryset
    return queryset.filter(**{f"{field}__gte": span[0], f"{field}__lt": span[1]})


def copy_csv(  # noqa: PLR0913 - the rows (queryset, order, windows), their columns and the file's name
    queryset: QuerySet,
    serializer: serializers.Serializer,
    ordering: tuple[str, ...],
    filename: str,
    windows: list[tuple] | None = None,
):
    """The queryset's rows as the serializer's CSV columns, written by PostgreSQL and streamed. ``windows``: spans
    of the ordering's first field, one COPY each in turn, so that PostgreSQL sorts a window, not the whole export,
    before the first row goes out."""
    statements = [
        copy_statement(windowed(queryset, ordering[0], span), serializer.fields, ordering)
        for span in (windows or [None])
    ]

    def body() -> Iterator[bytes]:
        yield header(list(serializer.fields))
        for statement, params in statements:
            yield from copy_rows(statement, params)

    response = StreamingHttpResponse(body(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response
