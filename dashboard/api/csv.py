"""CSV for any list: ``?format=csv`` or ``Accept: text/csv``, streamed row by row so that a year of hourly rows
never sits in memory. The columns are the JSON fields, in the same order, with the same values, except that text
starting like a formula is prefixed with ``'`` (``dashboard.csv_safety``)."""

import csv
import io

from django.http import StreamingHttpResponse
from rest_framework.renderers import BaseRenderer

from dashboard.csv_safety import Rfc4180, spreadsheet_safe

CHUNK = 2000


class CsvRenderer(BaseRenderer):
    """Registered so that content negotiation accepts CSV; list views stream instead of rendering through it."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        rows = data.get("results", data) if isinstance(data, dict) else data
        if isinstance(rows, dict):  # an error or a single object
            rows = [rows]
        out = io.StringIO()
        if rows:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]), dialect=Rfc4180, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(_flat(row) for row in rows)
        return out.getvalue()


def _flat(row: dict) -> dict:
    """Empty for None; text that a spreadsheet would run as a formula neutralised (numbers stay numbers)."""
    return {key: ("" if value is None else spreadsheet_safe(value)) for key, value in row.items()}


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
