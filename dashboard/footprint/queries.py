"""The numbers behind the pages: a team's endpoints, their totals and trends, from the rollups.

Every function issues a fixed number of queries whatever the fleet's size (one per function), and folds the
rows in pandas: breakdowns by account, region, family, team or tag are re-groupings of one per-endpoint frame.
A period is read from the monthly rollups for its whole UTC months and from the daily ones for its partial edge
days (``rollup_rows``, one ``UNION ALL`` query), so a year costs about what a month does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import reduce
from operator import or_

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import (
    Case,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    Max,
    Min,
    Q,
    QuerySet,
    Subquery,
    Sum,
    When,
)
from django.db.models.functions import Cast, Coalesce, TruncDate, TruncMonth
from django.db.models.lookups import Exact

from collectors.models import AwsAccount, CollectionState, Endpoint, VariantHour
from collectors.models.health import Source
from dashboard.footprint import price_book
from dashboard.footprint.filters import TEAM_TAG, UNTAGGED, Filters, rolling_window
from dashboard.footprint.measures import (
    ESTIMATED,
    PARTIAL,
    SUMMED,
    UTILIZATION,
    complete_sum,
    complete_total,
    finish_unknowns,
    finish_weighted,
    stored_weighted_aggregates,
    total,
    unknown_columns,
    weight_columns,
    weighted_aggregates,
    weighted_means,
    with_unknowns,
    with_weights,
)
from dashboard.footprint.models import EstimateSourceDay, VariantDay, VariantMonth
from dashboard.footprint.price_book import PriceBook, last_loaded
from dashboard.footprint.rollups import footprint_sums, month_of, next_month

ENDPOINT_FIELDS = (
    "id",
    "name",
    "arn",
    "region",
    "mode",
    "status",
    "tags",
    "deleted_at",
    "account_id",
    "account__account_id",
    "account__name",
)
GROUPS = {
    "team": "Team (tag)",
    "account": "Account",
    "region": "Region",
    "family": "Instance family",
    "instance_type": "Instance type",
    "endpoint": "Endpoint",
    "mode": "Mode",
}


def team_accounts(team) -> list[dict]:
    """The team's AWS accounts (``pk``, ``account_id``, ``name``): the scope of every query below."""
    return list(AwsAccount.objects.filter(team=team).values("pk", "account_id", "name").order_by("name"))


def team_endpoints(team) -> list[dict]:
    """Every endpoint the team has ever had, as plain rows: the pages' labels and the filters' choices."""
    return list(Endpoint.objects.filter(account__team=team).values(*ENDPOINT_FIELDS).order_by("name", "region"))


def in_view(endpoints: list[dict], filters: Filters) -> list[dict]:
    return [endpoint for endpoint in endpoints if filters.matches(endpoint)]


@dataclass(frozen=True)
class Span:
    """A period split for the rollups: whole months ``first_month`` up to (excluding) ``stop_month`` come from
    ``VariantMonth``, the whole days ``start``..``end`` before and after them from ``VariantDay``, and the ``hours``
    ranges (a rolling window's partial first and last days: ``[from, to)`` in UTC) from the hours themselves."""

    start: dt.date
    end: dt.date
    first_month: dt.date
    stop_month: dt.date
    hours: tuple[tuple[dt.datetime, dt.datetime], ...] = ()

    @classmethod
    def of(cls, start: dt.date, end: dt.date, window: Window | None = None) -> Span:
        start, end, hours = whole_days(start, end, window)
        first = start if start.day == 1 else next_month(month_of(start))
        stop = (end + dt.timedelta(days=1)).replace(day=1)
        return cls(start, end, first, max(first, stop), hours)

    @classmethod
    def days_only(cls, start: dt.date, end: dt.date, window: Window | None = None) -> Span:
        """For series by day or week (a week straddles months): every whole day from the daily rollups."""
        start, end, hours = whole_days(start, end, window)
        return cls(start, end, start, start, hours)

    @property
    def has_months(self) -> bool:
        return self.first_month < self.stop_month

    @property
    def start_time(self) -> dt.datetime:
        return min([midnight(self.start), *(begin for begin, _ in self.hours)])

    @property
    def end_time(self) -> dt.datetime:
        return max([midnight(self.end + dt.timedelta(days=1)), *(stop for _, stop in self.hours)])

    def edge_days(self) -> Q:
        if not self.has_months:
            return Q(day__gte=self.start, day__lte=self.end)
        return Q(day__gte=self.start, day__lt=self.first_month) | Q(day__gte=self.stop_month, day__lte=self.end)


Window = tuple[dt.datetime, dt.datetime]


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC)


def whole_days(start: dt.date, end: dt.date, window: Window | None) -> tuple[dt.date, dt.date, tuple[Window, ...]]:
    """The whole UTC days of a period and the hour ranges around them: the days ``start``..``end`` as they are
    without a ``window``; with one (a rolling period), the days it holds whole (none, ``start`` after ``end``,
    when it is shorter) and its partial first and last days as hour ranges."""
    if window is None:
        return start, end, ()
    begin, stop = window
    first = begin.date() if begin == midnight(begin.date()) else begin.date() + dt.timedelta(days=1)
    last = stop.date() - dt.timedelta(days=1)
    if midnight(first) >= stop:  # within one day
        return first, last, ((begin, stop),)
    hours = []
    if begin < midnight(first):
        hours.append((begin, midnight(first)))
    if stop > midnight(stop.date()):
        hours.append((midnight(stop.date()), stop))
    return first, last, tuple(hours)


def _scoped(model, accounts: list[dict] | None, endpoint_ids: list[int] | None) -> QuerySet:
    # The accounts' keys, not a join on the team: PostgreSQL then estimates the rows right and aggregates in
    # parallel (a join made it expect 1 % of a year's rows).
    # ``accounts`` None: the endpoints alone scope the rows (``endpoint_ids`` is then a list).
    rows = model.objects.all() if accounts is None else model.objects.filter(account_id__in=[a["pk"] for a in accounts])
    return rows if endpoint_ids is None else rows.filter(endpoint_id__in=endpoint_ids)


def rollup_rows(  # noqa: PLR0913 - the scope (accounts, ids, period), then what to group by and what to add up
    accounts: list[dict] | None,
    span: Span,
    endpoint_ids: list[int] | None,
    keys: list[str],
    buckets: tuple[dict, dict] = ({}, {}),
    utilization: bool = False,
    summed: tuple[str, ...] = SUMMED,
) -> pd.DataFrame:
    """A frame grouped by ``keys`` over the span, with the sums ``t_<summed>`` (and ``t_<UTILIZATION>_x`` / ``_w``
    when ``utilization``): one query, whole months from ``VariantMonth`` and edge days from ``VariantDay``, each
    key once (a key found in both is added up in SQL).

    ``buckets`` are annotations among the keys, for days and for months (e.g. ``{"bucket": TruncMonth("day")}``
    and ``{"bucket": F("month")}``)."""
    day_sums, month_sums = _sums(summed), _sums(summed)
    if utilization:
        day_sums |= {f"t_{name}": value for name, value in weighted_aggregates().items()}
        month_sums |= {f"t_{name}": value for name, value in stored_weighted_aggregates().items()}
    days = _scoped(VariantDay, accounts, endpoint_ids).filter(span.edge_days())
    days = days.annotate(**buckets[0]).values(*keys).annotate(**day_sums).order_by()
    if accounts == [] or endpoint_ids == []:  # no SQL for an empty IN (); the same columns, no rows
        return pd.DataFrame(columns=[*keys, *day_sums])
    parts = [days]
    if span.has_months:
        months = _scoped(VariantMonth, accounts, endpoint_ids).filter(
            month__gte=span.first_month, month__lt=span.stop_month
        )
        parts.append(months.annotate(**buckets[1]).values(*keys).annotate(**month_sums).order_by())
    if span.hours:
        parts.append(_hour_part(accounts, span, endpoint_ids, keys, buckets[0], list(day_sums), utilization))
    if len(parts) == 1:
        return _fetch(*days.query.sql_with_params())
    sql, params = _union_all(parts, [*keys, *day_sums])
    return _fetch(_added_up(sql, keys, list(day_sums)), params)


def _hour_part(  # noqa: PLR0913 - rollup_rows' scope, keys and sums, for the span's hour ranges
    accounts: list[dict] | None,
    span: Span,
    endpoint_ids: list[int] | None,
    keys: list[str],
    day_buckets: dict,
    sums: list[str],
    utilization: bool,
) -> QuerySet:
    """The rows of ``rollup_rows`` for the span's hour ranges, summed from the estimated hours as the daily
    rollups sum them (``footprint_sums``), keyed as the days are (a day key is the hour's UTC day)."""
    hours = VariantHour.objects.filter(estimate__isnull=False)
    if accounts is not None:
        hours = hours.filter(endpoint__account_id__in=[a["pk"] for a in accounts])
    hours = hours.filter(reduce(or_, (Q(hour__gte=begin, hour__lt=stop) for begin, stop in span.hours)))
    if endpoint_ids is not None:
        hours = hours.filter(endpoint_id__in=endpoint_ids)
    day = TruncDate("hour", tzinfo=dt.UTC)
    keyed = {"region": F("endpoint__region"), "account_id": F("endpoint__account_id"), "day": day}
    for name, expression in day_buckets.items():  # F("day") or TruncMonth("day"), for an hour
        keyed[name] = TruncMonth(day) if isinstance(expression, TruncMonth) else day
    aggregates = {**footprint_sums(), "t_hours": Cast(Count("pk"), FloatField())}
    if utilization:
        aggregates |= {f"t_{name}": value for name, value in weighted_aggregates().items()}
    annotated = {f"h_{key}": keyed[key] if key in keyed else F(key) for key in keys}
    rows = hours.annotate(**annotated).values(*annotated).annotate(**{name: aggregates[name] for name in sums})
    return rows.order_by()


def _union_all(parts: list[QuerySet], columns: list[str]) -> tuple[str, tuple]:
    """``UNION ALL`` of querysets whose columns are named alike (an hour part's keys prefixed ``h_``), each
    selected in the order of ``columns``: the ORM orders a SELECT's fields and annotations its own way."""
    quote = connection.ops.quote_name
    selects, params = [], []
    for number, part in enumerate(parts):
        sql, part_params = part.query.sql_with_params()
        names = [column[0] if isinstance(column, tuple) else column for column in _selected(part)]
        picked = [f"{quote(f'h_{name}' if f'h_{name}' in names else name)} AS {quote(name)}" for name in columns]
        selects.append(f"SELECT {', '.join(picked)} FROM ({sql}) AS part{number}")  # noqa: S608 - our names
        params.extend(part_params)
    return " UNION ALL ".join(selects), tuple(params)


def _selected(part: QuerySet) -> list[str]:
    query = part.query
    return [*query.values_select, *query.annotation_select]


def _added_up(union_sql: str, keys: list[str], sums: list[str]) -> str:
    """The rows of a ``UNION ALL`` with each key once, its sums added up (NULL where no part has a value, and for
    a ``measures.PARTIAL`` column where any part lacks it)."""
    quote = connection.ops.quote_name

    def added(name: str) -> str:
        column = quote(name)
        if name.removeprefix("t_") in PARTIAL:
            return f"CASE WHEN COUNT(*) = COUNT({column}) THEN SUM({column}) END AS {column}"
        return f"SUM({column}) AS {column}"

    columns = [*(quote(key) for key in keys), *(added(name) for name in sums)]
    grouped = ", ".join(quote(key) for key in keys)
    return f"SELECT {', '.join(columns)} FROM ({union_sql}) AS parts GROUP BY {grouped}"  # noqa: S608 - our names


def _fetch(sql: str, params) -> pd.DataFrame:
    """Rows straight into a frame: no model converters per value (thousands of rows per page), so every number
    must come back from SQL as a float or an integer already."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return pd.DataFrame.from_records(cursor.fetchall(), columns=names)


def _sums(names: tuple[str, ...] = SUMMED) -> dict:
    # Cast: an integer column (``hours``) would otherwise sum to a NUMERIC, fetched as Decimal (see ``_fetch``).
    # A ``measures.PARTIAL`` column (a float) is NULL where any row summed lacks it.
    return {
        f"t_{name}": complete_total(name)
        if name in PARTIAL
        else Coalesce(Sum(Cast(name, FloatField())), 0.0, output_field=FloatField())
        for name in names
    }


def _frame(rows: pd.DataFrame, book: PriceBook | None = None) -> pd.DataFrame:
    """A frame whose sums are named ``t_<name>`` (an annotation may not shadow a field it sums), with its cost.
    A ``measures.PARTIAL`` column is a float column, NaN where unknown."""
    rows = rows.rename(columns={f"t_{name}": name for name in (*SUMMED, SERVERLESS_GB_SECONDS)})
    rows[list(PARTIAL)] = rows[list(PARTIAL)].astype(float)
    if SERVERLESS_GB_SECONDS in rows.columns:
        rows[SERVERLESS_GB_SECONDS] = rows[SERVERLESS_GB_SECONDS].astype(float)
    return with_cost(rows, book)


# SageMaker Serverless Inference bills compute per millisecond of inference duration x configured memory (and
# per request where the Price List lists a request price). What is collected per serverless variant-hour is the
# invocations, their mean ModelLatency (microseconds) and the configured memory, so GB-seconds are
# invocations x mean ModelLatency (s) x memory (GB, MB / 1024). ModelLatency is the model's own time: it leaves out
# SageMaker's overhead (and cold starts), which AWS also bills, so this is a lower bound of the billed GB-seconds.
SERVERLESS_GB_SECONDS = "serverless_gb_seconds"
_BUSY_SERVERLESS = Q(invocations__gt=0, serverless_memory_mb__isnull=False)
_GB_SECONDS = ExpressionWrapper(
    F("invocations") * F("model_latency_us") / 1e6 * F("serverless_memory_mb") / 1024.0, output_field=FloatField()
)


def serverless_sums() -> dict:
    """``t_serverless_gb_seconds`` over ``VariantHour`` rows: 0.0 where no serverless variant ran, NULL where an
    hour with invocations lacks its ModelLatency (unknown, never a low figure)."""
    unknown = Count("pk", filter=_BUSY_SERVERLESS & Q(model_latency_us__isnull=True))
    gb_seconds = Coalesce(Sum(_GB_SECONDS, filter=_BUSY_SERVERLESS), 0.0, output_field=FloatField())
    return {
        f"t_{SERVERLESS_GB_SECONDS}": Case(
            When(Exact(unknown, 0), then=gb_seconds), default=None, output_field=FloatField()
        )
    }


def priced_rollup_rows(  # noqa: PLR0913 - the arguments of rollup_rows
    accounts: list[dict],
    span: Span,
    endpoint_ids: list[int] | None,
    keys: list[str],
    buckets: tuple[dict, dict] = ({}, {}),
    bucket_of=None,
    **options,
) -> pd.DataFrame:
    """``rollup_rows`` with what ``with_cost`` needs to price serverless rows (``instance_type`` empty): their
    ``t_serverless_gb_seconds``. The rollups keep neither memory nor latency, so these are summed from the serverless
    hours of the span (one more query, only when the frame has a serverless row) per UTC day, then per the frame's
    period (``bucket_of`` a day, by default: its month where the span reads whole months, else the day) and keys.
    ``options`` go to ``rollup_rows`` (``utilization``, ``summed``)."""
    rows = rollup_rows(accounts, span, endpoint_ids, keys, buckets, **options)
    serverless = rows["instance_type"].fillna("").astype(str).str.strip() == "" if "instance_type" in rows else []
    if not len(rows) or not np.any(serverless):
        return rows
    hours = VariantHour.objects.filter(
        endpoint__account_id__in=[a["pk"] for a in accounts],
        serverless_memory_mb__isnull=False,
        estimate__isnull=False,
        hour__gte=span.start_time,
        hour__lt=span.end_time,
    )
    if endpoint_ids is not None:
        hours = hours.filter(endpoint_id__in=endpoint_ids)
    fields = ["endpoint_id", "variant_name", "instance_type", "s_region", "s_account_id", "s_day"]
    grouped = (
        hours.annotate(
            s_day=TruncDate("hour", tzinfo=dt.UTC),
            s_region=F("endpoint__region"),
            s_account_id=F("endpoint__account_id"),
        )
        .values(*fields)
        .annotate(**serverless_sums())
        .order_by()
    )
    usage = _fetch(*grouped.query.sql_with_params()).rename(columns=lambda name: name.removeprefix("s_"))
    usage["day"] = pd.to_datetime(usage["day"]).dt.date  # SQLite's raw SQL gives text
    period = bucket_of or (lambda day: month_of(day) if span.first_month <= day < span.stop_month else day)
    usage["bucket"] = usage["time"] = [period(day) for day in usage["day"]]
    column = f"t_{SERVERLESS_GB_SECONDS}"
    usage[column] = usage[column].astype(float)
    on = [key for key in keys if key in usage.columns]
    usage = usage.assign(unknown=usage[column].isna().astype(float)).groupby(on, dropna=False)[[column, "unknown"]]
    usage = usage.sum().reset_index()
    usage.loc[usage["unknown"] > 0, column] = np.nan
    # Dates as dates on both sides (SQLite returns them as text), matched, then the frame's own values kept.
    dated = [key for key in on if key in DATE_KEYS]
    left = rows.assign(**{f"_{key}": _as_date(rows[key]) for key in dated})
    right = usage.drop(columns="unknown").rename(columns={key: f"_{key}" for key in dated})
    right = right.assign(**{f"_{key}": _as_date(right[f"_{key}"]) for key in dated})
    merged = left.merge(right, on=[f"_{key}" if key in dated else key for key in on], how="left")
    return merged.drop(columns=[f"_{key}" for key in dated])


DATE_KEYS = ("bucket", "day", "time")


def _as_date(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.date


def with_cost(frame: pd.DataFrame, book: PriceBook | None = None) -> pd.DataFrame:
    """Adds ``cost_usd`` (on-demand list price x instance-hours; NaN where no price is known),
    ``priced_instance_hours`` and ``price_source`` (``price_book.COLLECTED`` or ``SHIPPED``; None if unpriced).

    A serverless row (``instance_type`` empty) costs its ``serverless_gb_seconds`` x USD per GB-second + its
    ``invocations`` x USD per request (the request part where a request price is known: the shipped table has
    none); it has no instance-hours, so ``priced_instance_hours`` stays 0. Without a ``serverless_gb_seconds``
    column, or where it is unknown (NaN), a serverless row is unpriced (NaN). GB-seconds are a lower bound
    (``SERVERLESS_GB_SECONDS``).

    Each row is priced at its own time (its ``hour``, ``time``, ``day``, ``bucket`` or ``month`` column; now without
    one) by the price in effect then (``price_book``). ``book`` is loaded (one query) when not given."""
    if not len(frame):
        frame["cost_usd"] = []
        frame["priced_instance_hours"] = []
        frame["price_source"] = []
        return frame
    book = book or PriceBook.load()
    at = price_book.times(frame, dt.datetime.now(dt.UTC))
    hourly, source = book.hourly_usd(frame["instance_type"], frame["region"], at)
    cost = frame["instance_hours"].to_numpy(dtype=float) * hourly
    serverless = (frame["instance_type"].fillna("").astype(str).str.strip() == "").to_numpy()
    if serverless.any() and SERVERLESS_GB_SECONDS in frame.columns:
        per_gb_second, per_request, serverless_source = book.serverless_usd(frame["region"], at)
        gb_seconds = frame[SERVERLESS_GB_SECONDS].to_numpy(dtype=float)
        requests = frame["invocations"].fillna(0.0).to_numpy(dtype=float)
        serverless_cost = gb_seconds * per_gb_second + requests * np.nan_to_num(per_request)
        cost = np.where(serverless, serverless_cost, cost)
        source = np.where(serverless, np.where(np.isnan(serverless_cost), None, serverless_source), source)
    frame["cost_usd"] = cost
    frame["priced_instance_hours"] = frame["instance_hours"].where(frame["cost_usd"].notna() & ~serverless, 0.0)
    frame["price_source"] = source
    return frame


def price_label(frame: pd.DataFrame) -> str:
    """What priced the frame's cost, for the pages: "AWS Price List, collected <date>" and/or "shipped table
    (offline fallback)"; empty when nothing is priced. The collection date is the book ``with_cost`` loaded."""
    if "price_source" not in frame.columns or not frame["price_source"].notna().any():
        return ""
    return price_book.label(frame["price_source"], last_loaded().collected_at)


def priced_span(start: dt.date, end: dt.date, book: PriceBook, window: Window | None = None) -> Span:
    """The span of ``Span.of``, unless a collected price changed inside one of its whole months at another moment
    than the month's start: then every day comes from the daily rollups, so each day gets its own price."""
    span = Span.of(start, end, window)
    for moment in book.change_times():
        inside = span.first_month <= moment.date() < span.stop_month
        if inside and (moment.day != 1 or moment.time() != dt.time()):
            return Span.days_only(start, end, window)
    return span


def _fold_buckets(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per-bucket rows (each priced at its own date) added up per ``keys``: a cost is the sum of its priced parts
    (NaN when none is), a ``measures.PARTIAL`` sum NaN where any part lacks it."""
    grouped = with_unknowns(frame).groupby(keys, dropna=False, sort=False)
    totals = finish_unknowns(grouped[[*SUMMED, "priced_instance_hours", *unknown_columns()]].sum())
    totals["cost_usd"] = grouped["cost_usd"].sum(min_count=1)
    totals["price_source"] = grouped["price_source"].agg(_one_source)
    return totals.reset_index()


def _one_source(sources: pd.Series):
    found = sources.dropna().unique()
    return price_book.COLLECTED if price_book.COLLECTED in found else (found[0] if len(found) else None)


ENDPOINT_KEYS = ["endpoint_id", "instance_type", "region"]


def endpoint_totals(accounts: list[dict], filters: Filters, endpoint_ids: list[int] | None) -> pd.DataFrame:
    """One row per (endpoint, instance type) over the period; ``endpoint_ids`` None means all the accounts'. Read
    per day and month, so each is priced by the price in effect then, and added up."""
    book = PriceBook.load()
    span = priced_span(filters.start, filters.end, book, filters.window)
    buckets = ({"bucket": F("day")}, {"bucket": F("month")})
    rows = _frame(priced_rollup_rows(accounts, span, endpoint_ids, [*ENDPOINT_KEYS, "bucket"], buckets), book)
    return _fold_buckets(rows, ENDPOINT_KEYS)


def utilization_totals(accounts: list[dict], filters: Filters, endpoint_ids: list[int] | None) -> dict[int, dict]:
    """Instance-hour-weighted mean utilization per endpoint over the period (None where no hour reported it)."""
    span = Span.of(filters.start, filters.end, filters.window)
    frame = rollup_rows(accounts, span, endpoint_ids, ["endpoint_id"], utilization=True)
    frame = finish_weighted(frame.rename(columns=lambda name: name.removeprefix("t_")).set_index("endpoint_id"))
    return {
        endpoint_id: {name: None if pd.isna(value) else float(value) for name, value in means.items()}
        for endpoint_id, means in frame[list(UTILIZATION)].to_dict("index").items()
    }


def daily_series(accounts: list[dict], filters: Filters, endpoint_ids: list[int] | None) -> pd.DataFrame:
    """Sums per day, or per week or month when that is the grain (grouped in SQL: fewer rows to fold). Months
    come from the monthly rollups where the period holds them whole."""
    keys = ["bucket", "instance_type", "region"]
    frame = _bucketed(accounts, filters.start, filters.end, filters.grain, endpoint_ids, keys, filters.window)
    frame["time"] = pd.to_datetime(frame["bucket"])
    return frame


def _bucketed(  # noqa: PLR0913 - the scope (accounts, period, ids), the grain and the keys
    accounts: list[dict],
    start: dt.date,
    end: dt.date,
    grain: str,
    endpoint_ids: list[int] | None,
    keys: list[str],
    window: Window | None = None,
) -> pd.DataFrame:
    """Sums per ``keys`` (``bucket`` among them: the period of the grain's first day), with their cost: read and
    priced per day (and per whole month from the monthly rollups where ``priced_span`` allows), then added up per
    week or month."""
    book = PriceBook.load()
    span = priced_span(start, end, book, window) if grain == "month" else Span.days_only(start, end, window)
    buckets = ({"bucket": F("day")}, {"bucket": F("month")})
    days = _frame(priced_rollup_rows(accounts, span, endpoint_ids, keys, buckets), book)
    if grain == "day" or days.empty:
        return days
    stamps = pd.to_datetime(days["bucket"])
    periods = stamps.dt.to_period("M" if grain == "month" else "W-SUN").dt.start_time.dt.date
    return _fold_buckets(days.assign(bucket=periods), keys)


def hourly_series(accounts: list[dict], filters: Filters, endpoint_ids: list[int] | None) -> pd.DataFrame:
    hours = VariantHour.objects.filter(
        endpoint__account_id__in=[a["pk"] for a in accounts],
        hour__gte=filters.start_time,
        hour__lt=filters.end_time,
        estimate__isnull=False,
    )
    if endpoint_ids is not None:
        hours = hours.filter(endpoint_id__in=endpoint_ids)
    rows = (
        hours.annotate(time=F("hour"), region=F("endpoint__region"))
        .values("time", "instance_type", "region")
        .annotate(**footprint_sums(), **serverless_sums())
        .order_by()
    )
    if not accounts or endpoint_ids == []:
        frame = _frame(pd.DataFrame(columns=["time", "instance_type", "region", *footprint_sums()]))
    else:
        frame = _frame(_fetch(*rows.query.sql_with_params()))
    frame["time"] = pd.to_datetime(frame["time"], utc=True).dt.tz_localize(None)
    return frame


def variant_series(endpoint, filters: Filters) -> pd.DataFrame:
    """One endpoint per variant, instance type and period of the grain (hours, days, or months; a week grain gets
    days, which a caller resamples): ``hours``, the sums, and utilization as ``<name>_x`` / ``<name>_w``
    (``measures.with_weights``), so that any regrouping ends with ``measures.finish_weighted``. Empty (no columns)
    when nothing was estimated in the period."""
    frame = _variant_hours(endpoint, filters) if filters.grain == "hour" else _variant_rollups(endpoint, filters)
    if frame.empty:
        return frame
    frame["time"] = pd.to_datetime(frame["time"], utc=True).dt.tz_localize(None)
    # Weights of values no row reported come back as NULL (None in an object column): zero, as floats.
    weights = weight_columns()
    frame[weights] = frame[weights].astype(float).fillna(0.0)
    frame[list(PARTIAL)] = frame[list(PARTIAL)].astype(float)  # NaN where unknown, as in every other frame
    return frame


def _variant_hours(endpoint, filters: Filters) -> pd.DataFrame:
    estimated = {name: F(f"estimate__{name}") for name in ESTIMATED}
    rows = VariantHour.objects.filter(
        endpoint=endpoint, hour__gte=filters.start_time, hour__lt=filters.end_time, estimate__isnull=False
    ).values(
        "variant_name",
        "instance_type",
        "instance_hours",
        "invocations",
        "serverless_memory_mb",
        "model_latency_us",
        *UTILIZATION,
        time=F("hour"),
        **estimated,
    )
    frame = pd.DataFrame.from_records(list(rows.order_by()))
    if frame.empty:
        return frame
    idle = frame["invocations"].fillna(0) == 0
    frame = frame.assign(
        hours=1,
        invocations=frame["invocations"].fillna(0.0),
        idle_instance_hours=frame["instance_hours"].where(idle, 0.0),
        idle_energy_kwh=frame["energy_kwh"].where(idle, 0.0),
    )
    # As ``serverless_sums`` per hour: invocations x mean ModelLatency (s) x memory (GB); NaN where latency is missing.
    memory_gb = frame["serverless_memory_mb"].astype(float) / 1024
    gb_seconds = frame["invocations"] * frame["model_latency_us"].astype(float) / 1e6 * memory_gb
    busy = (frame["invocations"] > 0) & memory_gb.notna()
    frame[SERVERLESS_GB_SECONDS] = gb_seconds.where(busy, 0.0)
    frame = frame.drop(columns=["serverless_memory_mb", "model_latency_us"])
    return with_weights(frame).drop(columns=list(UTILIZATION))


def _variant_rollups(endpoint, filters: Filters) -> pd.DataFrame:
    keys = ["variant_name", "instance_type", "time"]
    if filters.grain == "month":
        span = Span.of(filters.start, filters.end, filters.window)
        buckets = ({"time": TruncMonth("day")}, {"time": F("month")})
    else:
        span, buckets = Span.days_only(filters.start, filters.end, filters.window), ({"time": F("day")}, {})
    scope = ([{"pk": endpoint.account_id}], span, [endpoint.pk])
    bucket_of = month_of if filters.grain == "month" else None
    frame = priced_rollup_rows(*scope, keys, buckets, bucket_of, utilization=True, summed=("hours", *SUMMED))
    return frame.rename(columns=lambda name: name.removeprefix("t_"))


def provenance(endpoint, filters: Filters) -> list[dict]:
    """Where the endpoint's estimates over the period come from: methodology, version, factors and fallbacks,
    with the hours estimated so and when last computed, most hours first (from the per-day rollup of sources)."""
    sources = EstimateSourceDay.objects.filter(endpoint=endpoint, day__gte=filters.start, day__lte=filters.end)
    return list(
        sources.values("methodology", "methodology_version", "factors", "fallbacks")
        .annotate(hours=Sum("hours"), last=Max("last_computed_at"))
        .order_by("-hours", "methodology_version")
    )


RESAMPLE = {"hour": "h", "day": "D", "week": "W-MON", "month": "MS"}


def collected_span(accounts: list[dict], endpoint_ids: list[int] | None = None) -> Window | None:
    """What was collected of the endpoints in view (``endpoint_ids`` None: all the accounts'), as one span: from
    their first collected hour up to the utilization collectors' watermark ("data before this instant is
    complete"), the earliest over the accounts and regions those endpoints are in; a collector that never
    completed (no watermark) is complete nowhere, so the span ends where it begins. Where no collector has run
    (data loaded another way), the span ends after the last hour with data. Quiet hours (no row: nothing served,
    scaled to zero) inside the span count as collected, and hours after it as not yet collected. None without
    data. One query, whatever the fleet's size: the definition charts (``coverage``) and digests
    (``collected_hours``) share."""
    if not accounts or endpoint_ids == []:
        return None
    endpoints = Endpoint.objects.filter(account_id__in=[a["pk"] for a in accounts])
    if endpoint_ids is not None:
        endpoints = endpoints.filter(pk__in=endpoint_ids)
    hours = VariantHour.objects.filter(endpoint__in=endpoints.values("pk"))
    states = CollectionState.objects.filter(
        source=Source.UTILIZATION,
        account_id__in=endpoints.values("account_id"),
        region__in=endpoints.values("region"),
    )
    earliest = states.order_by(F("watermark").asc(nulls_first=True)).values("watermark")[:1]
    found = endpoints.aggregate(
        first=Min(Subquery(hours.order_by("hour").values("hour")[:1])),
        last=Max(Subquery(hours.order_by("-hour").values("hour")[:1])),
        until=Min(Subquery(earliest)),
        tracked=Max(Subquery(states.values("pk")[:1])),
    )
    if found["first"] is None:
        return None
    first, last = _instant(found["first"]), _instant(found["last"])
    if found["tracked"] is None:
        return first, last + HOUR
    return first, max(first, _instant(found["until"])) if found["until"] is not None else first


def _instant(value) -> dt.datetime:
    """An aggregate's datetime (SQLite's raw aggregate may give text) as an aware UTC datetime."""
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize(dt.UTC) if stamp.tzinfo is None else stamp.tz_convert(dt.UTC)).to_pydatetime()


def collected_hours(collected: Window | None, start: dt.datetime, end: dt.datetime) -> int:
    """How many whole hours of ``[start, end)`` lie inside ``collected`` (``collected_span``)."""
    if collected is None:
        return 0
    inside = min(end, collected[1]) - max(start, collected[0])
    return max(0, int(inside / HOUR))


HOUR = dt.timedelta(hours=1)


BUCKET_LENGTH = {"hour": pd.DateOffset(hours=1), "day": pd.DateOffset(days=1), "week": pd.DateOffset(weeks=1)}


def coverage(times: pd.Series, filters: Filters, collected: Window | None = None) -> pd.Series:
    """The share (0-1) of each bucket of the grain (starting at ``times``, naive UTC) that lies inside the view
    and, given ``collected`` (``collected_span``), inside the data collected: 1 for a whole bucket, less for the
    partial first or last one (a rolling window's edges, a week or month cut by the period, hours not collected
    yet). Charts mark a bucket under 1 as partial instead of drawing it as a drop."""
    starts = pd.to_datetime(times)
    if not len(starts):
        return pd.Series(dtype=float)
    ends = starts + BUCKET_LENGTH.get(filters.grain, pd.DateOffset(months=1))
    begin, stop = filters.start_time, filters.end_time
    if collected is not None:
        begin, stop = max(begin, collected[0]), min(stop, collected[1])
    begin_naive, stop_naive = pd.Timestamp(begin).tz_convert(None), pd.Timestamp(stop).tz_convert(None)
    inside = (np.minimum(ends, stop_naive) - np.maximum(starts, begin_naive)).clip(lower=pd.Timedelta(0))
    return pd.Series(inside / (ends - starts), index=times.index).astype(float).clip(0.0, 1.0)


def trend(frame: pd.DataFrame, filters: Filters, collected: Window | None = None) -> pd.DataFrame:
    """Totals per period of the grain, from the first period with data to the last (zeros in between where
    nothing ran), each with its ``coverage`` (the share of the period in view and collected)."""
    series = _trend(frame, filters)
    series["coverage"] = coverage(series["time"], filters, collected)
    return series


def _trend(frame: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    numbers = [*SUMMED, "cost_usd", "priced_instance_hours"]
    if frame.empty:
        columns = {"time": pd.Series(dtype="datetime64[ns]"), **{n: pd.Series(dtype=float) for n in numbers}}
        return add_ratios(pd.DataFrame(columns))
    # A period where nothing ran is zero; one where any row lacks a PARTIAL value is unknown (NaN), never zero.
    numbers += unknown_columns()
    series = with_unknowns(frame).groupby("time")[numbers].sum(min_count=1)
    if filters.grain == "week":  # weeks start on Monday and are labelled by it
        series = series.resample("W-MON", label="left", closed="left").sum(min_count=1)
    elif filters.grain != "hour" or len(series) > 1:
        series = series.resample(RESAMPLE[filters.grain]).sum(min_count=1)
    series[list(SUMMED)] = series[list(SUMMED)].fillna(0.0)
    return add_ratios(finish_unknowns(series).reset_index())


def add_ratios(frame: pd.DataFrame) -> pd.DataFrame:
    """Idle share of energy (%), grams of CO2e (operational + embodied) per 1,000 inferences, and the share of
    instance-hours priced (%) where the frame carries ``priced_instance_hours``."""
    energy = frame["energy_kwh"].where(frame["energy_kwh"] > 0)
    frame["idle_energy_pct"] = 100 * frame["idle_energy_kwh"] / energy
    invocations = frame["invocations"].where(frame["invocations"] > 0)
    frame["gco2e_per_1k_invocations"] = (frame["co2e_kg"] + frame["embodied_co2e_kg"]) * 1e6 / invocations
    frame["total_co2e_kg"] = frame["co2e_kg"] + frame["embodied_co2e_kg"]
    if "priced_instance_hours" in frame.columns:  # the share of instance-hours the cost covers, beside every cost
        frame["priced_pct"] = (
            100 * frame["priced_instance_hours"] / frame["instance_hours"].where(frame["instance_hours"] > 0)
        )
    return frame


def summary(frame: pd.DataFrame) -> dict:
    """Fleet totals of a per-endpoint frame; cost is the priced part, with the share of instance-hours priced."""
    totals: dict[str, float | None] = {
        name: complete_sum(frame[name]) if name in PARTIAL else float(frame[name].sum()) for name in SUMMED
    }
    totals["cost_usd"] = float(frame["cost_usd"].sum()) if frame["cost_usd"].notna().any() else None
    priced = float(frame["priced_instance_hours"].sum())
    totals["priced_pct"] = 100 * priced / totals["instance_hours"] if totals["instance_hours"] else None
    one = add_ratios(pd.DataFrame([totals]))
    return {
        **totals,
        "price_label": price_label(frame),
        **{
            name: _number(one[name].iloc[0])
            for name in ("idle_energy_pct", "gco2e_per_1k_invocations", "total_co2e_kg")
        },
    }


def _number(value):
    return None if pd.isna(value) else float(value)


def family(instance_type: str) -> str:
    """ml.g5.2xlarge -> g5; serverless variants have no type."""
    parts = instance_type.split(".")
    return parts[1] if len(parts) == 3 else (instance_type or "serverless")


def label_columns(frame: pd.DataFrame, endpoints: list[dict], tag_key: str = "") -> pd.DataFrame:
    """Adds the columns a breakdown groups by, from the endpoints' rows."""
    meta = pd.DataFrame.from_records(endpoints, columns=ENDPOINT_FIELDS).set_index("id")
    rows = meta.reindex(frame["endpoint_id"])
    frame = frame.assign(
        endpoint=rows["name"].to_numpy(),
        account=rows["account__name"].to_numpy(),
        account_id=rows["account__account_id"].to_numpy(),
        mode=rows["mode"].to_numpy(),
        family=frame["instance_type"].map(family),
        team=[(tags or {}).get(TEAM_TAG, UNTAGGED) for tags in rows["tags"]],
    )
    if tag_key:
        frame[f"tag:{tag_key}"] = [(tags or {}).get(tag_key, UNTAGGED) for tags in rows["tags"]]
    return frame


def breakdown(frame: pd.DataFrame, group: str) -> pd.DataFrame:
    """Totals per value of ``group`` (a column added by ``label_columns``), largest CO2e first."""
    numbers = [*SUMMED, "cost_usd", "priced_instance_hours"]
    keys = [group, "endpoint_id", "region"] if group == "endpoint" else [group]
    if frame.empty:
        return pd.DataFrame(columns=[*keys, *numbers])
    grouped = with_unknowns(frame).groupby(keys, dropna=False)[[*numbers, *unknown_columns()]].sum(min_count=1)
    grouped = grouped.reset_index()
    grouped[list(SUMMED)] = grouped[list(SUMMED)].fillna(0.0)
    grouped = add_ratios(finish_unknowns(grouped))
    return grouped.sort_values(["total_co2e_kg", group], ascending=[False, True]).reset_index(drop=True)


# --- What the API, FOCUS and Prometheus ask -------------------------------------------------------------------

GROUP_KEYS = {"account": "account_id", "region": "region", "instance_type": "instance_type"}  # else per endpoint


def scope(team, account_id: str = "", region: str = "", endpoint: int | None = None):
    """The API's narrowing (an AWS account id, a region, an endpoint id) as this layer's scope: the team's accounts
    in view and, when endpoints are narrowed, their ids (``None``: all of the accounts' endpoints)."""
    accounts = [a for a in team_accounts(team) if not account_id or a["account_id"] == account_id]
    if not region and endpoint is None:
        return accounts, None
    keys = {a["pk"] for a in accounts}
    ids = [
        e["id"]
        for e in team_endpoints(team)
        if e["account_id"] in keys
        and (not region or e["region"] == region)
        and (endpoint is None or e["id"] == endpoint)
    ]
    return accounts, ids


def grouped_series(  # noqa: PLR0913 - the scope (accounts, ids, period), then the grain and the group key
    accounts: list[dict], start: dt.date, end: dt.date, grain: str, endpoint_ids: list[int] | None, key: str
) -> pd.DataFrame:
    """Sums per period of the grain and per ``key`` (``endpoint_id``, ``account_id``, ``region`` or
    ``instance_type``), with their cost (``with_cost``). ``bucket`` is the period's first UTC day (a date), or its
    hour (an aware timestamp) at hour grain. Months come from the monthly rollups where the period holds them
    whole, as for the pages."""
    keys = list(dict.fromkeys(["bucket", key, "instance_type", "region"]))
    if grain == "hour":
        frame = _hour_groups(accounts, start, end, endpoint_ids, keys)
        frame["bucket"] = pd.to_datetime(frame["bucket"], utc=True)
        return frame
    frame = _bucketed(accounts, start, end, grain, endpoint_ids, keys)
    frame["bucket"] = pd.to_datetime(frame["bucket"]).dt.date
    return frame


def _hour_groups(accounts, start: dt.date, end: dt.date, endpoint_ids, keys: list[str]) -> pd.DataFrame:
    hours = VariantHour.objects.filter(
        endpoint__account_id__in=[a["pk"] for a in accounts],
        hour__gte=dt.datetime.combine(start, dt.time(), dt.UTC),
        hour__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC),
        estimate__isnull=False,
    )
    if endpoint_ids is not None:
        hours = hours.filter(endpoint_id__in=endpoint_ids)
    if not accounts or endpoint_ids == []:
        return _frame(pd.DataFrame(columns=[*keys, *footprint_sums()]))
    rows = (
        hours.annotate(bucket=F("hour"), region=F("endpoint__region"), account_id=F("endpoint__account_id"))
        .values(*keys)
        .annotate(**footprint_sums(), **serverless_sums())
        .order_by()
    )
    return _frame(_fetch(*rows.query.sql_with_params()))


def endpoint_days(accounts: list[dict], start: dt.date, end: dt.date, endpoint_ids: list[int] | None) -> pd.DataFrame:
    """Sums per endpoint, UTC day (a date), instance type and region: the FOCUS export's rows before folding."""
    keys = ["day", "endpoint_id", "instance_type", "region"]
    frame = _frame(priced_rollup_rows(accounts, Span.days_only(start, end), endpoint_ids, keys))
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return frame


def latest_estimated_hour(team, before: dt.datetime) -> dt.datetime | None:
    """The last hour before ``before`` with an estimate, among the team's live endpoints."""
    return (
        VariantHour.objects.filter(
            endpoint__account__team=team, estimate__isnull=False, endpoint__deleted_at__isnull=True, hour__lt=before
        )
        .order_by("-hour")
        .values_list("hour", flat=True)
        .first()
    )


def endpoint_hour(team, hour: dt.datetime) -> list[dict]:
    """Per endpoint, one hour: its variants' energy, CO2e (location- and market-based; the latter None when a
    variant lacks it), embodied CO2e and instance-hours summed, and its
    instance-hour-weighted utilization (``measures``; None where no variant reported it), ordered by name."""
    rows = (
        VariantHour.objects.filter(endpoint__account__team=team, hour=hour)
        .values("endpoint_id", "endpoint__name", "endpoint__region", "endpoint__account__account_id")
        .annotate(
            **{f"t_{name}": total(f"estimate__{name}") for name in ("energy_kwh", "co2e_kg", "embodied_co2e_kg")},
            t_co2e_market_kg=complete_total("estimate__co2e_market_kg", "estimate__pk"),
            t_instance_hours=total("instance_hours"),
            **weighted_aggregates(UTILIZATION),
        )
        .order_by("endpoint__name", "endpoint_id")
    )
    return [
        {
            "endpoint_id": row["endpoint_id"],
            "name": row["endpoint__name"],
            "region": row["endpoint__region"],
            "account_id": row["endpoint__account__account_id"],
            **{name.removeprefix("t_"): value for name, value in row.items() if name.startswith("t_")},
            **weighted_means(row, UTILIZATION),
        }
        for row in rows
    ]


SUMMARY_DAYS = 30  # an endpoint's summary: the last 30 x 24 whole hours, as the pages' 30d


def recent_totals(endpoint_ids: list[int], now: dt.datetime, names: tuple[str, ...]) -> dict[int, dict]:
    """Per endpoint, the sums of ``names`` (None for a ``measures.PARTIAL`` one any hour lacks) over the pages'
    "30d" at ``now``: the last ``SUMMARY_DAYS`` x 24 whole hours (the API's ``summary_30d``). One query."""
    if not endpoint_ids:
        return {}
    window = rolling_window(f"{SUMMARY_DAYS}d", now.date(), now)
    span = Span.of(window[0].date(), (window[1] - HOUR).date(), window)
    frame = rollup_rows(None, span, endpoint_ids, ["endpoint_id"], summed=tuple(names))
    frame = frame.rename(columns=lambda name: name.removeprefix("t_"))
    totals = {}
    for row in frame.to_dict("records"):
        endpoint_id = int(row.pop("endpoint_id"))
        totals[endpoint_id] = {name: None if pd.isna(row[name]) else float(row[name]) for name in names}
    return totals


def data_version() -> tuple:
    """Changes whenever hours are rolled up (a refresh replaces rollup rows, so their highest key moves) or
    collected: a cached answer is never served after its data changed."""
    return (VariantDay.objects.aggregate(v=Max("id"))["v"], VariantHour.objects.aggregate(v=Max("id"))["v"])
