"""Billed cost beside list cost: what the customer's cost export (CUR 2.0 or FOCUS 1.x) says SageMaker hosting cost.

List cost (``queries.with_cost``) is the on-demand list price of the instance-hours we measure. Billed cost is
``BilledCostDay.billed_cost_usd``: the export's net amortized cost (discounts, Savings Plans and reservations
applied), attributed to endpoints by ARN, per UTC day, usage type and instance type. Only accounts with an export
configured have it; elsewhere billed cost is unknown (None), never the list cost relabelled.

A billed total is compared with our list cost of exactly the same endpoint-days (those with a billed line inside
the period: exports lag a day or so), so the two always describe the same usage. Billed cost counts only the usage
we measure (instance-hours, serverless inference); an endpoint's other hosting charges (ML storage volumes, data
processed) are stored under their own reason and reported with the SageMaker cost no endpoint's usage carries.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import pandas as pd
from django.db.models import Q, Sum

from collectors.models import AwsAccount, BilledCostDay
from dashboard.footprint.filters import Filters

KEYS = ["day", "account_pk", "endpoint_id", "region", "instance_type"]
SUMS = ["billed_cost_usd", "export_list_cost_usd", "billed_instance_hours"]


def export_accounts(accounts: list[dict]) -> set[int]:
    """The pks of the accounts (of ``accounts``) that have a cost export configured."""
    pks = [a["pk"] for a in accounts]
    return set(
        AwsAccount.objects.filter(pk__in=pks)
        .exclude(cost_export_bucket="")
        .exclude(cost_export_name="")
        .values_list("pk", flat=True)
    )


def configured(rows):
    """Only lines of accounts whose export is configured now (in the same query): an export an owner cleared stops
    counting at once on every surface, before its rows are deleted."""
    return rows.exclude(account__cost_export_bucket="").exclude(account__cost_export_name="")


def billed_days(
    accounts: list[dict], start: dt.date, end: dt.date, endpoint_ids: list[int] | None = None
) -> pd.DataFrame:
    """Endpoint rows of the export per ``KEYS`` (one query): billed and the export's own list cost, instance-hours.
    Rows for an endpoint not inventoried (yet) have a null ``endpoint_id``; ``endpoint_ids`` leaves them out."""
    pks = [a["pk"] for a in accounts]
    rows = configured(BilledCostDay.objects.filter(account_id__in=pks, day__gte=start, day__lte=end, reason=""))
    if endpoint_ids is not None:
        rows = rows.filter(endpoint_id__in=endpoint_ids)
    values = (
        rows.values("day", "account_id", "endpoint_id", "region", "instance_type")
        .annotate(
            billed_cost_usd=Sum("billed_cost_usd"),
            export_list_cost_usd=Sum("list_cost_usd"),
            billed_instance_hours=Sum("instance_hours"),
        )
        .order_by()
    )
    frame = pd.DataFrame.from_records(
        list(values), columns=["day", "account_id", "endpoint_id", "region", "instance_type", *SUMS]
    )
    return frame.rename(columns={"account_id": "account_pk"}).astype({name: float for name in SUMS})


@dataclass(frozen=True)
class BilledView:
    """Billed vs list for a scope and period; ``None`` where no account in scope has an export."""

    accounts_billed: list[str]  # names of the accounts in scope whose billed cost is known
    accounts_list_only: list[str]  # names of the accounts in scope without a cost export
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    billed_cost_usd: float | None = None
    list_cost_usd: float | None = None  # our list cost of the same endpoint-days (those with a billed line)
    export_list_cost_usd: float | None = None  # the export's own public on-demand cost of those lines
    unattributed_usd: float | None = None  # SageMaker cost in the export no endpoint in scope carries

    @property
    def below_list_pct(self) -> float | None:
        """How far billed is below the export's own on-demand cost of the same lines (the discount, in %)."""
        if self.billed_cost_usd is None or not self.export_list_cost_usd:
            return None
        return 100 * (1 - self.billed_cost_usd / self.export_list_cost_usd)


def billed_view(accounts: list[dict], filters: Filters, endpoint_ids: list[int] | None) -> BilledView:
    """Billed cost of the endpoints in scope over the period's days the export covers, and our list cost of the
    same endpoint-days (the one list-cost definition, ``with_cost``, through ``queries.endpoint_days``)."""
    from dashboard.footprint import queries  # noqa: PLC0415 - queries imports nothing of this module; avoid a cycle

    with_export = export_accounts(accounts)
    billed_accounts = [a for a in accounts if a["pk"] in with_export]
    names = BilledView(
        accounts_billed=[a["name"] for a in billed_accounts],
        accounts_list_only=[a["name"] for a in accounts if a["pk"] not in with_export],
    )
    if not billed_accounts:
        return names
    days = billed_days(billed_accounts, filters.start, filters.end, endpoint_ids)
    unattributed = None
    if endpoint_ids is None:
        unattributed = float(
            BilledCostDay.objects.filter(
                Q(account_id__in=with_export)
                & Q(day__gte=filters.start)
                & Q(day__lte=filters.end)
                & (~Q(reason="") | Q(endpoint__isnull=True))
            ).aggregate(usd=Sum("billed_cost_usd"))["usd"]
            or 0.0
        )
    days = days[days["endpoint_id"].notna()].astype({"endpoint_id": int})
    if days.empty:
        return dataclasses.replace(names, unattributed_usd=unattributed)
    first, last = min(days["day"]), max(days["day"])
    ids = sorted(days["endpoint_id"].unique().tolist())
    # Our list cost of exactly the billed endpoint-days (``queries.endpoint_days``: each day at its own price): an
    # export that ends earlier for one account, or an endpoint with no billed line, adds nothing to either side.
    listed = queries.endpoint_days(billed_accounts, first, last, ids)
    billed_pairs = set(zip(days["day"], days["endpoint_id"], strict=True))
    same = [pair in billed_pairs for pair in zip(listed["day"], listed["endpoint_id"].astype(int), strict=True)]
    same_cost = listed.loc[same, "cost_usd"] if len(listed) else pd.Series(dtype=float)
    return dataclasses.replace(
        names,
        first_day=first,
        last_day=last,
        billed_cost_usd=float(days["billed_cost_usd"].sum()),
        list_cost_usd=float(same_cost.sum()) if same_cost.notna().any() else None,
        export_list_cost_usd=float(days["export_list_cost_usd"].sum()),
        unattributed_usd=unattributed,
    )


def discount_ratios(endpoint_ids: list[int], since: dt.date) -> dict[int, float]:
    """Billed ÷ the export's own on-demand cost per endpoint over the days since ``since``: the rate at which a
    saving at list price is a saving on the bill. Endpoints without billed lines are left out (list rate)."""
    rows = (
        configured(BilledCostDay.objects.filter(endpoint_id__in=endpoint_ids, day__gte=since, reason=""))
        .values("endpoint_id")
        .annotate(billed=Sum("billed_cost_usd"), listed=Sum("list_cost_usd"))
        .order_by()
    )
    return {row["endpoint_id"]: row["billed"] / row["listed"] for row in rows if row["listed"]}


def grouped_billed(  # noqa: PLR0913 - the scope (accounts, ids, period), then the grain and the group key
    accounts: list[dict], start: dt.date, end: dt.date, grain: str, endpoint_ids: list[int] | None, key: str
) -> pd.DataFrame:
    """Billed cost per period of the grain (its first day, as ``queries.grouped_series``) and per ``key``
    (``endpoint_id``, ``account_id`` (the account pk), ``region`` or ``instance_type``): the API's column. Daily data:
    empty at hour grain."""
    if grain == "hour":
        return pd.DataFrame(columns=["bucket", key, "billed_cost_usd"])
    days = billed_days(list(accounts), start, end, endpoint_ids)
    days = days[days["endpoint_id"].notna()].rename(columns={"account_pk": "account_id"})
    stamps = pd.to_datetime(days["day"])
    if grain == "day":
        days["bucket"] = stamps.dt.date
    else:
        days["bucket"] = stamps.dt.to_period("M" if grain == "month" else "W-SUN").dt.start_time.dt.date
    return days.groupby(["bucket", key], as_index=False)["billed_cost_usd"].sum()
