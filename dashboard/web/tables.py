"""Tables that render as HTML and download as CSV with the same rows, columns and rounding.

A page builds its tables, then either renders them or, when the URL asks ``?csv=<table id>``, answers that
table as CSV: the download is the table the user sees, under the same filters.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from django.http import Http404, HttpResponse

from dashboard.csv_safety import Rfc4180, spreadsheet_safe


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    decimals: int | None = None  # numbers: rounded to this many decimals in both the page and the CSV
    link: Callable[[dict], str] | None = None  # the cell's href, from the row
    css: str = ""

    @property
    def numeric(self) -> bool:
        return self.decimals is not None

    def value(self, row: dict):
        """The cell's value as both the page and the CSV show it; None when unknown."""
        value = row.get(self.key)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if self.numeric:
            return round(float(value), self.decimals) if self.decimals else int(round(float(value)))
        return value

    def text(self, row: dict) -> str:
        value = self.value(row)
        if value is None:
            return "—"
        if self.numeric:
            return f"{value:,.{self.decimals}f}"
        return str(value)


@dataclass
class Table:
    id: str
    title: str
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)
    empty: str = "Nothing to show for these filters."
    highlight: Callable[[dict], str] | None = None  # a CSS class for a row
    long: bool = False  # a time series: scrolls inside its card instead of stretching the page

    def cells(self):
        """Rows of (column, text, href) for the template."""
        for row in self.rows:
            cells = [(column, column.text(row), column.link(row) if column.link else "") for column in self.columns]
            yield (self.highlight(row) if self.highlight else ""), cells

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, dialect=Rfc4180)
        writer.writerow([column.label for column in self.columns])
        for row in self.rows:
            writer.writerow([self._csv_cell(column, row) for column in self.columns])
        return out.getvalue()

    @staticmethod
    def _csv_cell(column: Column, row: dict):
        """Numbers in plain decimal notation at the column's precision (never 4e-05), unknowns empty, text that a
        spreadsheet would run as a formula neutralised (a number column's "-3.5" is a number and stays as it is)."""
        value = column.value(row)
        if value is None:
            return ""
        return f"{value:.{column.decimals}f}" if column.numeric else spreadsheet_safe(value)


def csv_response(tables: list[Table], wanted: str, filename_stem: str) -> HttpResponse:
    """The table named ``wanted`` as a CSV attachment; 404 for a name the page does not have."""
    for table in tables:
        if table.id == wanted:
            response = HttpResponse(table.csv(), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{filename_stem}-{table.id}.csv"'
            return response
    raise Http404(f"This page has no table {wanted!r}")
