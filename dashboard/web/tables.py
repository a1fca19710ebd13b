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
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from dashboard.csv_safety import Rfc4180, spreadsheet_safe


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    decimals: int | None = None  # numbers: rounded to this many decimals in both the page and the CSV
    link: Callable[[dict], str] | None = None  # the cell's href, from the row
    css: str = ""
    help: str = ""  # what the column means, shown as its header's tooltip

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
    page_rows: int | None = None  # at most this many rows on the page (the first ones); the CSV has every row

    @property
    def rows_not_shown(self) -> int:
        return max(len(self.rows) - self.page_rows, 0) if self.page_rows is not None else 0

    def body_html(self) -> SafeString:
        """The ``<tr>`` rows of the table body, every text and link escaped. Built here rather than by a template
        loop, which costs about ten times as much per cell (a year by day is 365 rows x 11 cells)."""
        classes = [f"{'num' if column.numeric else ''} {_escaped(column.css)}" for column in self.columns]
        lines = []
        for row in self.rows[: self.page_rows]:
            cells = "".join(
                f'<td class="{css}">{self._cell_html(column, row)}</td>'
                for column, css in zip(self.columns, classes, strict=True)
            )
            lines.append(f'<tr class="{_escaped(self.highlight(row)) if self.highlight else ""}">{cells}</tr>')
        return mark_safe("\n".join(lines))  # noqa: S308 - every value above is escaped (as the template would)

    @staticmethod
    def _cell_html(column: Column, row: dict) -> str:
        text = column.text(row)
        if not column.numeric:  # a formatted number is digits, separators and a sign: nothing to escape
            text = _escaped(text)
        href = column.link(row) if column.link else ""
        return f'<a href="{_escaped(href)}">{text}</a>' if href else text

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


def _escaped(text: str) -> str:
    """As the template's autoescape: text already marked safe stays as it is."""
    return text.__html__() if hasattr(text, "__html__") else escape(text)


def csv_response(tables: list[Table], wanted: str, filename_stem: str) -> HttpResponse:
    """The table named ``wanted`` as a CSV attachment; 404 for a name the page does not have."""
    for table in tables:
        if table.id == wanted:
            response = HttpResponse(table.csv(), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{filename_stem}-{table.id}.csv"'
            return response
    raise Http404(f"This page has no table {wanted!r}")
