"""Tables that render as HTML and download as CSV with the same rows, columns and rounding.

A page builds its tables, then either renders them or, when the URL asks ``?csv=<table id>``, answers that
table as CSV: the download is the table the user sees, under the same filters and in the same order.

Sorting is server-side and lives in the URL like the filters: ``sort=<column>`` (ascending) or ``sort=-<column>``
(descending) for a page's first table, ``<table id>-sort=`` for the others. It reorders the rows the page already
holds (no query), numbers as numbers, unknowns (None, NaN) last in either direction.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

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
    sortable: bool = True

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

    def sort_key(self, row: dict):
        """What the rows are ordered by: the unrounded number, or the text ignoring case. Unknowns have none."""
        value = self.value(row)
        if value is None or not self.numeric:
            return None if value is None else str(value).casefold()
        return float(row[self.key])


def sorted_rows(rows: list[dict], column: Column, descending: bool) -> list[dict]:
    """``rows`` by ``column`` (stable: ties keep their order), the rows without a value last either way."""
    known = [row for row in rows if column.sort_key(row) is not None]
    unknown = [row for row in rows if column.sort_key(row) is None]
    return [*sorted(known, key=column.sort_key, reverse=descending), *unknown]


def sort_error(value: str) -> str:
    return f"Cannot sort by {value!r}; choose one of the table's column headers."


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
    sort_param: str = "sort"  # the URL parameter that orders this table (one per table of a page)
    sorted_by: str = ""  # the column key the rows are ordered by ("" = the page's default order)
    descending: bool = False
    link_params: dict[str, str] = field(default_factory=dict)  # the page's query, which header links keep

    def sort(self, value: str) -> str | None:
        """Orders the rows as ``value`` asks (``key`` or ``-key``); an error naming it when no sortable column has
        that key (the rows then keep their default order)."""
        key = value.removeprefix("-")
        column = next((c for c in self.columns if c.key == key and c.sortable), None)
        if column is None:
            return sort_error(value)
        self.rows = sorted_rows(self.rows, column, descending=value.startswith("-"))
        self.sorted_by, self.descending = key, value.startswith("-")
        return None

    @property
    def sort_value(self) -> str:
        """The URL value of the current order ("" for the default)."""
        return f"{'-' if self.descending else ''}{self.sorted_by}" if self.sorted_by else ""

    def next_sort(self, column: Column) -> str:
        """What a click on ``column``'s header asks: the other direction when it is the order already, else
        numbers largest first and text A to Z."""
        if column.key == self.sorted_by:
            return column.key if self.descending else f"-{column.key}"
        return f"-{column.key}" if column.numeric else column.key

    def head_html(self) -> SafeString:
        """The header cells: a link that sorts by the column (keeping the page's filters), an arrow and
        ``aria-sort`` on the column the rows are ordered by."""
        return mark_safe("".join(self._header_html(column) for column in self.columns))  # noqa: S308 - escaped

    def _header_html(self, column: Column) -> str:
        attributes = ' class="num"' if column.numeric else ""
        if column.help:
            attributes += f' title="{_escaped(column.help)}"'
        label = _escaped(column.label)
        if not column.sortable:
            return f"<th{attributes}>{label}</th>"
        arrow = ""
        if column.key == self.sorted_by:
            direction = "descending" if self.descending else "ascending"
            attributes += f' aria-sort="{direction}"'
            arrow = f' <span class="sort-arrow" aria-hidden="true">{"▼" if self.descending else "▲"}</span>'
        query = urlencode({**self.link_params, self.sort_param: self.next_sort(column)})
        return f'<th{attributes}><a class="sort" href="?{_escaped(query)}">{label}</a>{arrow}</th>'

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


def sort_tables(tables: list[Table], query: Mapping[str, str], page_params: Mapping[str, str]) -> dict[str, str]:
    """Orders each table as the URL asks and gives each the page's query for its header links: the filters
    (``page_params``) and every table's order. The first table answers ``sort``, the others ``<id>-sort``.
    Returns the errors, named by parameter."""
    errors = {}
    for index, table in enumerate(tables):
        table.sort_param = "sort" if index == 0 else f"{table.id}-sort"
        if (value := query.get(table.sort_param, "")) and (error := table.sort(value)):
            errors[table.sort_param] = error
    params = {name: value for name, value in {**page_params, **sort_params(tables)}.items() if value}
    for table in tables:
        table.link_params = {name: value for name, value in params.items() if name != table.sort_param}
    return errors


def sort_params(tables: list[Table]) -> dict[str, str]:
    """The URL parameters of the tables' current orders (defaults left out)."""
    return {table.sort_param: table.sort_value for table in tables if table.sort_value}


def page_query(page_params: Mapping[str, str], tables: list[Table]) -> str:
    """The query string that reproduces the page: its filters and its tables' orders (for CSV links)."""
    params = {**page_params, **sort_params(tables)}
    return urlencode({name: value for name, value in params.items() if value})


def csv_response(tables: list[Table], wanted: str, filename_stem: str) -> HttpResponse:
    """The table named ``wanted`` as a CSV attachment; 404 for a name the page does not have."""
    for table in tables:
        if table.id == wanted:
            response = HttpResponse(table.csv(), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{filename_stem}-{table.id}.csv"'
            return response
    raise Http404(f"This page has no table {wanted!r}")
