"""Storage: the team's CloudWatch log groups and S3 (data-capture) prefixes — size, retention, growth over the
period, and what keeping them costs each month in energy, CO2e and list price.

The page runs a fixed number of queries whatever the number of log groups or buckets: latest days per
account/region, the rows on those days, the first rows inside the period, the Storage Lens rows and the team's
endpoints are each fetched once (by ``dashboard.footprint.storage``, which the storage recommendations read too)
and folded in Python. Prices come from the price book (one query): the GB-month price collected from the AWS Price
List in effect on each row's snapshot day, the shipped table as the offline fallback (``price_book.storage_usd``,
as the storage recommendations' savings), and the page says which priced its figures. The monthly energy, CO2e and
cost are ``dashboard.footprint.storage``'s (``monthly_footprint``, ``monthly_totals``): the overview's lifecycle
split counts the same estimate over its period (``storage.period_footprint``).
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from collectors.models import AwsAccount, Endpoint, LogGroupSnapshot, StorageLensDay
from dashboard.footprint import filters, price_book
from dashboard.footprint import storage as stored
from dashboard.teams.scoping import current_team
from dashboard.web.tables import Column, Table, csv_response, page_query, sort_params, sort_tables

HOURS_PER_MONTH = stored.HOURS_PER_MONTH
BYTES_PER_GIB = stored.GIB
DEFAULT_LOG_CLASS = stored.DEFAULT_LOG_CLASS
NEVER_EXPIRE = "never-expire"
ENDPOINT_FIELDS = stored.ENDPOINT_FIELDS


def _endpoint_link(row: dict) -> str:
    return reverse("endpoint", args=[int(row["endpoint_id"])]) if row.get("endpoint_id") else ""


def _gib(value) -> float | None:
    return None if value is None else value / BYTES_PER_GIB


# --- log groups ---------------------------------------------------------------------------------------------------


def _in_view(view: filters.Filters, accounts: dict[int, dict], account_pk: int, region: str | None = None) -> bool:
    return (not view.account or accounts[account_pk]["account_id"] == view.account) and (
        region is None or not view.region or region == view.region
    )


def log_group_rows(  # noqa: PLR0913 - the scope (team, view, accounts, endpoints, places), then the prices
    team,
    view: filters.Filters,
    accounts: dict[int, dict],
    endpoints: list[Endpoint],
    places: dict[tuple, dt.date | None],
    book: price_book.PriceBook | None = None,
) -> list[dict]:
    """The latest snapshot (up to the period's end) of every log group present on its account/region's latest
    snapshot day — the others were deleted —, with its growth over the period."""
    last_days = {
        (account_pk, region): day
        for (account_pk, region), day in places.items()
        if day is not None and _in_view(view, accounts, account_pk, region)
    }
    if not last_days:
        return []
    current = [snapshots[-1] for snapshots in stored.log_group_histories(team, last_days, region=view.region)]
    firsts = stored.first_snapshots(team, last_days, view.start, view.end, view.region)
    endpoint_ids = {(e.account_id, e.region, e.name): e.pk for e in endpoints}
    rows = []
    for snapshot in current:
        key = (snapshot["account_id"], snapshot["region"], snapshot["name"])
        first = firsts.get(key)
        span = (snapshot["day"] - first["day"]).days if first else 0
        growth = snapshot["stored_bytes"] - first["stored_bytes"] if span > 0 else None
        endpoint_name = stored.log_group_endpoint(snapshot["name"])
        endpoint_id = endpoint_ids.get((snapshot["account_id"], snapshot["region"], endpoint_name))
        account = accounts[snapshot["account_id"]]
        rows.append(
            {
                **snapshot,
                "account": account["name"],
                "account_number": account["account_id"],
                "stored_gib": _gib(snapshot["stored_bytes"]),
                "retention": "Never expire"
                if snapshot["retention_days"] is None
                else f"{snapshot['retention_days']} days",
                "growth_gib": _gib(growth),
                "growth_gib_per_day": _gib(growth / span) if growth is not None else None,
                "growth_since": first["day"].isoformat() if growth is not None else None,
                "as_of": snapshot["day"].isoformat(),
                "endpoint": endpoint_name if endpoint_id else None,
                "endpoint_id": endpoint_id,
            }
        )
    rows.sort(key=lambda row: (-row["stored_bytes"], row["name"], row["account"], row["region"]))
    stored.monthly_footprint(rows, lambda row: "logs", stored.log_group_class, book)
    return rows


def log_group_table(rows: list[dict]) -> Table:
    columns = [
        Column("name", "Log group"),
        Column("account", "Account"),
        Column("account_number", "Account id"),
        Column("region", "Region"),
        Column("stored_gib", "Stored (GiB)", 2),
        Column("retention", "Retention"),
        Column("log_group_class", "Class"),
        Column("growth_gib", "Growth (GiB)", 2),
        Column("growth_gib_per_day", "Growth (GiB / day)", 3),
        Column("growth_since", "Growth since"),
        Column("co2e_kg_month", "CO2e / month (kg)", 5),
        Column("energy_kwh_month", "Energy / month (kWh)", 5),
        Column("cost_usd_month", "Cost / month (USD)", 2),
        Column("endpoint", "Endpoint", link=_endpoint_link),
        Column("as_of", "As of"),
    ]
    return Table(
        "log-groups",
        "Log groups",
        columns,
        rows,
        empty="No log group matches these filters.",
        highlight=lambda row: NEVER_EXPIRE if row["retention_days"] is None else "",
    )


# --- data capture (S3 Storage Lens) -------------------------------------------------------------------------------


def capture_rows(  # noqa: PLR0913 - the scope (team, view, accounts, endpoints, places), then the prices
    team,
    view: filters.Filters,
    accounts: dict[int, dict],
    endpoints: list[Endpoint],
    places: dict[tuple, dt.date | None],
    book: price_book.PriceBook | None = None,
) -> list[dict]:
    """Storage Lens rows of each account's latest day (up to the period's end), linked to capturing endpoints."""
    last_days = {
        account_pk: day
        for (account_pk,), day in places.items()
        if day is not None and _in_view(view, accounts, account_pk)
    }
    if not last_days:
        return []
    targets = stored.capture_targets(endpoints)
    rows = []
    fields = (*stored.LENS_FIELDS, "object_count")
    for lens_row in stored.lens_rows(team, {(pk,): day for pk, day in last_days.items()}, fields, view.region):
        account = accounts[lens_row["account_id"]]
        match = stored.capture_endpoint(lens_row, targets)
        endpoint = match[1] if match else None
        rows.append(
            {
                **lens_row,
                "account": account["name"],
                "account_number": account["account_id"],
                "prefix_shown": lens_row["prefix"] or None,
                "stored_gib": _gib(lens_row["stored_bytes"]),
                "as_of": lens_row["day"].isoformat(),
                "capture_prefix": match[0] if match else None,
                "endpoint": endpoint.name if endpoint else None,
                "endpoint_id": endpoint.pk if endpoint else None,
                "capture_pct": endpoint.capture_pct if endpoint else None,
                "capture_state": None
                if endpoint is None
                else ("endpoint deleted" if endpoint.deleted_at else "on" if endpoint.capture_enabled else "off"),
            }
        )
    rows.sort(key=lambda row: (row["bucket"], row["prefix"], row["storage_class"], row["account"]))
    stored.monthly_footprint(rows, lambda row: "s3", lambda row: row["storage_class"], book)
    return rows


def capture_totals(rows: list[dict]) -> list[dict]:
    """The rows that hold endpoints' captures, without counting a prefix inside another counted one twice (the
    rows the storage footprint counts: ``storage.counted_capture``)."""
    return stored.counted_capture(rows)


def capture_table(rows: list[dict]) -> Table:
    columns = [
        Column("bucket", "Bucket"),
        Column("prefix_shown", "Prefix"),
        Column("storage_class", "Storage class"),
        Column("account", "Account"),
        Column("account_number", "Account id"),
        Column("region", "Region"),
        Column("stored_gib", "Stored (GiB)", 2),
        Column("object_count", "Objects", 0),
        Column("co2e_kg_month", "CO2e / month (kg)", 5),
        Column("energy_kwh_month", "Energy / month (kWh)", 5),
        Column("cost_usd_month", "Cost / month (USD)", 2),
        Column("endpoint", "Endpoint", link=_endpoint_link),
        Column("capture_state", "Capture"),
        Column("capture_pct", "Capture sampling (%)", 0),
        Column("as_of", "As of"),
    ]
    return Table(
        "capture", "Data capture (S3 Storage Lens)", columns, rows, empty="No S3 Storage Lens rows match these filters."
    )


# --- the page -----------------------------------------------------------------------------------------------------


def _sum(rows: list[dict], key: str) -> float:
    return float(sum(row[key] or 0 for row in rows))


def summary(logs: list[dict], capture: list[dict], book: price_book.PriceBook | None = None) -> dict:
    """The page's figures: sizes, and the footprint per month as ``storage.monthly_totals`` defines it (the
    lifecycle split's storage stage is the same estimate over a period); ``price_label`` says what priced the
    monthly cost (as the overview's)."""
    log_bytes = _sum(logs, "stored_bytes")
    never = sum(row["stored_bytes"] for row in logs if row["retention_days"] is None)
    counted = capture_totals(capture)
    totals = stored.monthly_totals(logs, counted)
    collected_at = book.collected_at if book is not None else None
    return {
        "log_groups": len(logs),
        "log_gib": log_bytes / BYTES_PER_GIB,
        "never_expire_pct": 100 * never / log_bytes if log_bytes else None,
        "never_expire_groups": sum(row["retention_days"] is None for row in logs),
        "capture_gib": _sum(counted, "stored_bytes") / BYTES_PER_GIB,
        "capture_endpoints": len({row["endpoint_id"] for row in counted}),
        "bucket_gib": sum(row["stored_bytes"] for row in capture if not row["prefix"]) / BYTES_PER_GIB,
        "log_co2e_kg_month": totals["log_co2e_kg_month"],
        "capture_co2e_kg_month": totals["capture_co2e_kg_month"],
        "co2e_kg_month": totals["co2e_kg_month"],
        "energy_kwh_month": totals["energy_kwh_month"],
        "cost_usd_month": totals["cost_usd_month"],
        "price_label": price_book.label(totals["price_sources"], collected_at) if totals["priced_rows"] else "",
    }


def _state(accounts: dict, has_logs: bool, has_lens: bool) -> str:
    if not accounts:
        return "no-accounts"
    if not has_logs and not has_lens:
        return "waiting"
    return "data"


@require_GET
def storage(request: HttpRequest) -> HttpResponse:
    team = current_team(request)
    if team is None:
        return render(request, "dashboard/storage.html", {"state": "no-team"})
    view = filters.parse(request.GET, timezone.now().date())
    errors = dict(view.errors)
    for name in ("tag", "team"):
        if request.GET.get(name):
            errors[name] = "Log groups and buckets carry no endpoint tags: this filter does not apply here."
    accounts = {
        row["id"]: row
        for row in AwsAccount.objects.filter(team=team)
        .values("id", "account_id", "name", "regions")
        .order_by("name", "account_id")
    }
    log_places = stored.latest_days(LogGroupSnapshot, team, view.end, stored.LOG_PLACE) if accounts else {}
    lens_places = stored.latest_days(StorageLensDay, team, view.end, stored.LENS_PLACE) if accounts else {}
    endpoints = (
        list(Endpoint.objects.filter(account__team=team).only(*ENDPOINT_FIELDS).order_by("pk"))
        if log_places or lens_places
        else []
    )
    book = price_book.PriceBook.load() if log_places or lens_places else None  # one query, only with rows to price
    logs = log_group_rows(team, view, accounts, endpoints, log_places, book)
    capture = capture_rows(team, view, accounts, endpoints, lens_places, book)
    tables = [log_group_table(logs), capture_table(capture)]
    errors.update(sort_tables(tables, request.GET, view.params()))
    if wanted := request.GET.get("csv"):
        return csv_response(tables, wanted, f"wattson-storage-{view.start}-{view.end}")
    regions = {region for account in accounts.values() for region in account["regions"] or []}
    regions |= {region for _, region in log_places} | ({view.region} if view.region else set())
    return render(
        request,
        "dashboard/storage.html",
        {
            "state": _state(accounts, bool(log_places), bool(lens_places)),
            "view": view,
            "errors": errors,
            "periods": filters.PERIODS,
            "grains": None,
            "teams": None,
            "group_choices": None,
            "query": page_query(view.params(), tables),
            "sort_fields": sort_params(tables),
            "accounts": [{"account_id": a["account_id"], "name": a["name"]} for a in accounts.values()],
            "regions": sorted(regions),
            "tables": tables,
            "summary": summary(logs, capture, book),
            "hours_per_month": HOURS_PER_MONTH,
            "as_of": _as_of(logs, capture),
        },
    )


def _as_of(logs: list[dict], capture: list[dict]) -> dt.date | None:
    days = [row["day"] for row in [*logs, *capture]]
    return max(days) if days else None
