"""CSV for any list: ``?format=csv`` or ``Accept: text/csv``, streamed row by row so that a year of hourly rows
never sits in memory. The columns are the JSON fields, in the same order, with the same values, written so that
any CSV reader gets them back (``cell``): text as itself (text starting like a formula prefixed with ``'``,
``dashboard.csv_safety``), numbers as JSON writes them, ``true``/``false``, null as an empty cell, and a nested
value (tags, variants, ``summary_30d``, evidence) as its JSON text."""

import csv
import io
import json

from django.http import StreamingHttpResponse
from rest_framework.renderers import BaseRenderer
from rest_framework.utils.encoders import JSONEncoder

from dashboard.csv_safety import Rfc4180, spreadsheet_safe

CHUNK = 2000


def json_text(value) -> str:
    """``value`` as the JSON body writes it (DRF's JSONRenderer: its encoder, UTF-8 text, compact separators), so
    a nested cell read with ``json.loads`` equals the JSON response's value."""
    return json.dumps(value, cls=JSONEncoder, ensure_ascii=False, separators=(",", ":"))


def cell(value):
    """One CSV cell of a JSON value. Text is left bare (a JSON string's quotes would be noise in a spreadsheet)
    but neutralised if it starts like a formula; a nested value's JSON text starts with ``{`` or ``[``, never a
    formula. Python's ``str`` would write ``True``, ``None`` and single-quoted dicts, which no CSV consumer reads."""
    if value is None:
        return ""
    if isinstance(value, str):
        return spreadsheet_safe(value)
    if isinstance(value, bool | dict | list):
        return json_text(value)
    return value


def _flat(row: dict) -> dict:
    return {key: cell(value) for key, value in row.items()}


class CsvRenderer(BaseRenderer):
    """Registered so that content negotiation accepts CSV; list views stream instead of rendering through it."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        rows = data.get("results", data) if isinstance(data, dict) else data
        if isinstance(rows, dict):  # a single object
            rows = [rows]
        out = io.StringIO()
        if rows:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]), dialect=Rfc4180, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(_flat(row) for row in rows)
        return out.getvalue()


def wants_csv(request) -> bool:
    renderer = getattr(request, "accepted_renderer", None)
    return renderer is not None and renderer.format == "csv"


def stream(rows, fields: list[str], filename: str) -> StreamingHttpResponse:
    """``rows``: an iterable of dicts (serialized a chunk at a time by the caller)."""

    def lines():
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=fields, dialect=Rfc4180, extrasaction="ignore")
        writer.writeheader()
        for count, row in enumerate(rows, start=1):
            writer.writerow(_flat(row))
            if count % CHUNK == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response
