"""A CUR 2.0 Data Export of the demo fleet's SageMaker bill, delivered to a moto S3 bucket of one account.

Only ``fleet.PROD`` has an export (``EXPORTS``): the research account shows list cost only, as an account without
a Data Export does. The lines follow the CUR 2.0 table (column names, line item types, Parquet with snappy, one
``BILLING_PERIOD=YYYY-MM`` partition per calendar month) and are derived from the same per-minute instance counts
the simulated CloudWatch carries (``fleet.series``), so billed instance-hours equal what the product measures:

- per endpoint, UTC hour of the seeded history (up to the last complete hour) and instance type, one hosting
  line of ``line_item_usage_amount`` = instance-hours (instances per minute summed / 60), priced at the sandbox
  Price List's hosting price of that type and region (``pricing.hosting_usd``, what the ``prices`` collector
  collects), ``line_item_usage_type`` ``<USE1|EU|EUN1…>-Host:<type>``, ``line_item_resource_id`` the endpoint's
  ARN (name in lower case). Serverless and failed endpoints run no instances, deleted ones none after their
  deletion: they get no hosting line;
- a SageMaker Savings Plan (SIMULATED: ``SAVINGS_PLAN_DISCOUNT`` off on-demand, a fixed hourly commitment of
  ``SAVINGS_PLAN_COMMITMENT_USD`` at Savings Plan rates) covers hosting usage hour by hour, in a fixed order,
  until the commitment is used up: covered usage is a ``SavingsPlanCoveredUsage`` line (a line only partly
  covered is split, the rest stays ``Usage`` at on-demand) with its ``SavingsPlanNegation``; each hour has one
  ``SavingsPlanRecurringFee`` line with ``savings_plan_total_commitment_to_date`` and
  ``savings_plan_used_commitment`` (quiet hours leave part of the commitment unused);
- lines no endpoint carries: a daily training job (``Train:ml.p3.2xlarge``, training-job ARN), a notebook
  instance on weekday working hours (``Notebk:ml.m5.xlarge``), both at the Price List's prices of those
  components, and a daily S3 storage line (another service).

SIMULATED BILL, not AWS data; no EDP or other negotiated discount, so every ``net_`` column equals its gross twin.
"""

from __future__ import annotations

import functools
import io
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sandbox import fleet as fl
from sandbox import pricing
from sandbox.clients import client

HOME_REGION = "us-east-1"
PREFIX = "cur"
EXPORT_NAME = "wattson-cur2"
EXPORTS = (fl.PROD,)  # accounts that have a CUR 2.0 export; the others show list cost only
SAVINGS_PLAN_DISCOUNT = 0.36  # SIMULATED: a 1-year No Upfront SageMaker Savings Plan's rate, 36 % off on-demand
SAVINGS_PLAN_COMMITMENT_USD = 36.85  # SIMULATED: USD per hour at Savings Plan rates (the fleet's baseline;
# 27.25 before issue 17 added llm-assistant, vision-batch-gpu and ctr-realtime-10s to the prod account)
SAVINGS_PLAN_ID = "5a9c3e1f-7d2b-4c8a-9e0f-1b2c3d4e5f60"
TRAINING_TYPE, NOTEBOOK_TYPE = "ml.p3.2xlarge", "ml.m5.xlarge"
TRAINING_HOURS = (2, 5)  # a nightly retraining job from 02:00 to 04:30 UTC
TRAINING_LAST_HOUR_SHARE = 0.5
NOTEBOOK_HOURS = (9, 18)  # weekdays, UTC
S3_STORED_GB = 850.0  # the account's model and training-data bucket, STANDARD

TIMESTAMP_COLUMNS = (
    "bill_billing_period_start_date",
    "bill_billing_period_end_date",
    "line_item_usage_start_date",
    "line_item_usage_end_date",
    "savings_plan_start_time",
    "savings_plan_end_time",
)
NUMBER_COLUMNS = (
    "line_item_usage_amount",
    "line_item_normalization_factor",
    "line_item_normalized_usage_amount",
    "line_item_unblended_rate",
    "line_item_unblended_cost",
    "line_item_blended_rate",
    "line_item_blended_cost",
    "line_item_net_unblended_rate",
    "line_item_net_unblended_cost",
    "pricing_public_on_demand_rate",
    "pricing_public_on_demand_cost",
    "savings_plan_savings_plan_rate",
    "savings_plan_savings_plan_effective_cost",
    "savings_plan_net_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment",
    "savings_plan_recurring_commitment_for_billing_period",
    "savings_plan_amortized_upfront_commitment_for_billing_period",
    "savings_plan_net_amortized_upfront_commitment_for_billing_period",
    "reservation_effective_cost",
    "reservation_net_effective_cost",
    "reservation_unused_amortized_upfront_fee_for_billing_period",
    "reservation_net_unused_amortized_upfront_fee_for_billing_period",
    "reservation_unused_recurring_fee",
    "reservation_net_unused_recurring_fee",
)
TEXT_COLUMNS = (
    "identity_line_item_id",
    "identity_time_interval",
    "bill_invoice_id",
    "bill_invoicing_entity",
    "bill_billing_entity",
    "bill_bill_type",
    "bill_payer_account_id",
    "bill_payer_account_name",
    "line_item_usage_account_id",
    "line_item_usage_account_name",
    "line_item_line_item_type",
    "line_item_product_code",
    "line_item_usage_type",
    "line_item_operation",
    "line_item_availability_zone",
    "line_item_resource_id",
    "line_item_currency_code",
    "line_item_line_item_description",
    "line_item_legal_entity",
    "product_servicecode",
    "product_product_family",
    "product_instance_type",
    "product_location",
    "product_region_code",
    "product_usagetype",
    "product_operation",
    "pricing_term",
    "pricing_unit",
    "pricing_currency",
    "savings_plan_savings_plan_a_r_n",
    "savings_plan_offering_type",
    "savings_plan_payment_option",
    "savings_plan_purchase_term",
    "savings_plan_region",
    "reservation_reservation_a_r_n",
)
SCHEMA = pa.schema(
    [(name, pa.string()) for name in TEXT_COLUMNS[:10]]
    + [(name, pa.timestamp("ms")) for name in TIMESTAMP_COLUMNS[:4]]
    + [(name, pa.string()) for name in TEXT_COLUMNS[10:]]
    + [(name, pa.float64()) for name in NUMBER_COLUMNS]
    + [(name, pa.timestamp("ms")) for name in TIMESTAMP_COLUMNS[4:]]
    + [("resource_tags", pa.map_(pa.string(), pa.string()))]
)


@dataclass(frozen=True)
class Delivery:
    """What was written for one account: where, and how many lines per billing period."""

    account: str
    bucket: str
    prefix: str
    name: str
    lines: dict[str, int]
    manifests: dict[str, str]

    def entry(self) -> dict[str, str]:
        """The ready file's ``cost_exports`` entry of this account."""
        return {"bucket": self.bucket, "prefix": self.prefix, "name": self.name}


def bucket_of(account: str) -> str:
    return f"{fl.ACCOUNTS[account]}-cost-exports"


def endpoint_arn(endpoint: fl.Endpoint) -> str:
    return f"arn:aws:sagemaker:{endpoint.region}:{endpoint.account}:endpoint/{endpoint.name.lower()}"


def savings_plan_arn(account: str) -> str:
    return f"arn:aws:savingsplans::{account}:savingsplan/{SAVINGS_PLAN_ID}"


def hour_grid(now: datetime) -> np.ndarray:
    """Start (epoch s) of every complete hour of the seeded history, oldest first."""
    minutes, _ = fl.minute_grid(now)
    return minutes[: len(minutes) // 60 * 60 : 60]


def instance_hours(endpoint: fl.Endpoint, now: datetime) -> pd.DataFrame:
    """Hosting instance-hours per complete hour and instance type: hour (epoch s), instance_type, hours (> 0)."""
    minutes, _ = fl.minute_grid(now)
    minutes = minutes[: len(minutes) // 60 * 60]
    stamp, by_type = now.timestamp(), {}
    for variant in endpoint.variants:
        instances = fl.series(endpoint, variant, minutes, stamp)["instances"]
        for seg in fl.segments(endpoint, variant, stamp):
            if seg.instance_type:
                inside = (minutes >= seg.start) & (minutes < seg.end)
                hours = np.where(inside, instances, 0.0).reshape(-1, 60).sum(axis=1) / 60.0
                by_type[seg.instance_type] = by_type.get(seg.instance_type, 0.0) + hours  # variants of one type
    frames = [
        pd.DataFrame({"hour": minutes[::60][hours > 0], "instance_type": instance_type, "hours": hours[hours > 0]})
        for instance_type, hours in sorted(by_type.items())
    ]
    if not frames:
        return pd.DataFrame({"hour": [], "instance_type": [], "hours": []})
    return pd.concat(frames, ignore_index=True)


def _usage_type(region: str, infix: str, instance_type: str) -> str:
    return f"{pricing.LOCATIONS[region][1]}-{infix}:{instance_type}"


@functools.cache
def component_usd(instance_type: str, region: str, component: str) -> float:
    """The sandbox Price List's hourly price of a SageMaker component, as ``pricing.ml_instances`` lists it."""
    hosting = pricing.hosting_usd(instance_type, region)
    factor = pricing.COMPONENTS[component][2]
    return hosting if factor == 1.0 else round(hosting * factor, 4)


def hosting_usage(endpoints, account: str, now: datetime) -> pd.DataFrame:
    """One on-demand line per (hour, endpoint, instance type) with instance-hours, before the Savings Plan."""
    frames = []
    for order, endpoint in enumerate(e for e in endpoints if e.account == account):
        usage = instance_hours(endpoint, now)
        if usage.empty:
            continue
        usage["order"] = order
        usage["region"] = endpoint.region
        usage["resource_id"] = endpoint_arn(endpoint)
        usage["team"] = endpoint.team
        frames.append(usage)
    if not frames:
        return pd.DataFrame(columns=["hour", "instance_type", "hours", "order", "region", "resource_id", "team"])
    lines = pd.concat(frames, ignore_index=True)
    lines["rate"] = [
        component_usd(t, r, "Hosting") for t, r in zip(lines["instance_type"], lines["region"], strict=True)
    ]
    lines["usage_type"] = [
        _usage_type(r, "Host", t) for t, r in zip(lines["instance_type"], lines["region"], strict=True)
    ]
    return lines


def apply_savings_plan(usage: pd.DataFrame, commitment: float, discount: float) -> tuple[pd.DataFrame, pd.Series]:
    """Split hosting usage into covered and on-demand parts, hour by hour, until the commitment is used up.

    Returns the usage lines (column ``covered``: True for ``SavingsPlanCoveredUsage``) and, per hour, the
    commitment used. Lines are covered in a fixed order (fleet order, then instance type): every line has the same
    savings percentage, so AWS's rule of covering the largest savings first leaves the order open.
    """
    usage = usage.sort_values(["hour", "order", "instance_type"], kind="stable").reset_index(drop=True)
    sp_cost = usage["hours"] * usage["rate"] * (1 - discount)
    before = sp_cost.groupby(usage["hour"]).cumsum() - sp_cost
    share = ((commitment - before) / sp_cost).clip(0.0, 1.0).fillna(0.0)
    covered = usage.assign(hours=usage["hours"] * share, covered=True)[share > 0]
    on_demand = usage.assign(hours=usage["hours"] * (1 - share), covered=False)[share < 1]
    lines = pd.concat([covered, on_demand], ignore_index=True)
    lines = lines[lines["hours"] > 1e-12].sort_values(["hour", "order", "instance_type", "covered"], kind="stable")
    used = (covered["hours"] * covered["rate"] * (1 - discount)).groupby(covered["hour"]).sum()
    used = used.reindex(pd.Index(np.unique(usage["hour"]), name="hour"), fill_value=0.0)
    used[(commitment - used).abs() < 1e-9] = commitment  # a fully used hour, without rounding noise
    return lines.reset_index(drop=True), used


def _other_lines(account: str, hours: np.ndarray) -> pd.DataFrame:
    """A nightly training job, a weekday notebook and an S3 storage line a day: cost no endpoint carries."""
    region = HOME_REGION
    rows = []
    days = sorted({int(h // 86400) for h in hours})
    first, last = hours[0], hours[-1]
    for day in days:
        start = day * 86400
        label = datetime.fromtimestamp(start, UTC).strftime("%Y%m%d")
        for hour in range(*TRAINING_HOURS):
            ts = start + hour * 3600
            amount = TRAINING_LAST_HOUR_SHARE if hour == TRAINING_HOURS[1] - 1 else 1.0
            if first <= ts <= last:
                rows.append(
                    ("sagemaker", ts, TRAINING_TYPE, "Training", "Train", amount, "Hrs", "ML Instance",
                     f"arn:aws:sagemaker:{region}:{account}:training-job/churn-retrain-{label}")
                )  # fmt: skip
        if (day + 3) % 7 < 5:  # weekdays (1970-01-01 was a Thursday)
            for hour in range(*NOTEBOOK_HOURS):
                ts = start + hour * 3600
                if first <= ts <= last:
                    rows.append(
                        ("sagemaker", ts, NOTEBOOK_TYPE, "Notebook", "Notebk", 1.0, "Hrs", "ML Instance",
                         f"arn:aws:sagemaker:{region}:{account}:notebook-instance/ds-lab")
                    )  # fmt: skip
        if first <= start <= last:
            rows.append(
                ("s3", start, "", "", "", S3_STORED_GB / 30.0, "GB-Mo", "Storage", f"{fl.ACCOUNTS[account]}-models")
            )
    frame = pd.DataFrame(
        rows,
        columns=["kind", "hour", "instance_type", "component", "infix", "hours", "unit", "family", "resource_id"],
    )
    s3_usd = next(p.usd for p in pricing.s3_storage(region) if p.attributes["storageClass"] == "STANDARD")
    frame["region"] = region
    is_sm = frame["kind"] == "sagemaker"
    frame["rate"] = [
        component_usd(t, region, c) if sm else s3_usd
        for t, c, sm in zip(frame["instance_type"], frame["component"], is_sm, strict=True)
    ]
    frame["usage_type"] = [
        _usage_type(region, i, t) if sm else f"{pricing.LOCATIONS[region][1]}-TimedStorage-ByteHrs"
        for t, i, sm in zip(frame["instance_type"], frame["infix"], is_sm, strict=True)
    ]
    return frame


def _month_start(ts: pd.Series) -> pd.Series:
    return ts.dt.to_period("M").dt.start_time


def cur_lines(endpoints, account: str, now: datetime) -> pd.DataFrame:
    """Every CUR 2.0 line of ``account`` over the seeded history (columns of ``SCHEMA``), deterministic in ``now``."""
    hours = hour_grid(now)
    usage = hosting_usage(endpoints, account, now)
    hosting, used = apply_savings_plan(usage, SAVINGS_PLAN_COMMITMENT_USD, SAVINGS_PLAN_DISCOUNT)
    location = {r: pricing.LOCATIONS[r][0] for r in pricing.LOCATIONS}
    sp_arn = savings_plan_arn(account)

    # hosting: covered usage, its negation, and on-demand usage
    on_demand = hosting["hours"] * hosting["rate"]
    sp_rate = hosting["rate"] * (1 - SAVINGS_PLAN_DISCOUNT)
    covered = hosting["covered"].to_numpy()
    base = pd.DataFrame(
        {
            "hour": hosting["hour"],
            "line_item_line_item_type": np.where(covered, "SavingsPlanCoveredUsage", "Usage"),
            "line_item_product_code": pricing.SAGEMAKER,
            "line_item_usage_type": hosting["usage_type"],
            "line_item_operation": "RunInstance:Hosting",
            "line_item_resource_id": hosting["resource_id"],
            "line_item_usage_amount": hosting["hours"],
            "line_item_unblended_rate": hosting["rate"],
            "line_item_unblended_cost": on_demand,
            "pricing_public_on_demand_rate": hosting["rate"],
            "pricing_public_on_demand_cost": on_demand,
            "pricing_term": "OnDemand",
            "pricing_unit": "Hrs",
            "product_servicecode": pricing.SAGEMAKER,
            "product_product_family": "ML Instance",
            "product_instance_type": hosting["instance_type"] + "-Hosting",
            "product_region_code": hosting["region"],
            "product_location": hosting["region"].map(location),
            "product_operation": "RunInstance:Hosting",
            "line_item_line_item_description": (
                "$"
                + hosting["rate"].map("{:.4f}".format)
                + " per Hosting "
                + hosting["instance_type"]
                + " hour in "
                + hosting["region"].map(location)
            ),
            "team": hosting["team"],
        }
    )
    base.loc[covered, "savings_plan_savings_plan_a_r_n"] = sp_arn
    base.loc[covered, "savings_plan_savings_plan_rate"] = sp_rate[covered]
    effective = (hosting["hours"] * sp_rate)[covered]
    base.loc[covered, "savings_plan_savings_plan_effective_cost"] = effective
    base.loc[covered, "savings_plan_net_savings_plan_effective_cost"] = effective
    base.loc[covered, "line_item_line_item_description"] = (
        "SageMaker Savings Plans rate $"
        + sp_rate[covered].map("{:.4f}".format)
        + " per hour for "
        + hosting["instance_type"][covered]
        + "-Hosting"
    )
    negation = base[covered].copy()
    negation["line_item_line_item_type"] = "SavingsPlanNegation"
    negation["line_item_unblended_cost"] = -negation["line_item_unblended_cost"]
    negation["line_item_unblended_rate"] = -negation["line_item_unblended_rate"]
    negation["pricing_public_on_demand_cost"] = np.nan
    negation["pricing_public_on_demand_rate"] = np.nan
    negation["savings_plan_savings_plan_effective_cost"] = np.nan
    negation["savings_plan_net_savings_plan_effective_cost"] = np.nan
    negation["line_item_line_item_description"] = (
        f"SavingsPlanNegation used by AccountId : {account} and UsageSku : " + negation["line_item_usage_type"]
    )

    # the Savings Plan's hourly fee: the commitment, and how much of it the covered usage used
    fee_hours = used.index.to_numpy()
    fee = pd.DataFrame(
        {
            "hour": fee_hours,
            "line_item_line_item_type": "SavingsPlanRecurringFee",
            "line_item_product_code": "MachineLearningSavingsPlans",
            "line_item_usage_type": "SageMakerSP:1yrNoUpfront",
            "line_item_operation": "",
            "line_item_resource_id": sp_arn,
            "line_item_usage_amount": 1.0,
            "line_item_unblended_rate": SAVINGS_PLAN_COMMITMENT_USD,
            "line_item_unblended_cost": SAVINGS_PLAN_COMMITMENT_USD,
            "line_item_line_item_description": (
                f"1 year No Upfront SageMaker Savings Plan with ${SAVINGS_PLAN_COMMITMENT_USD:.2f} hourly commitment"
            ),
            "product_servicecode": "MachineLearningSavingsPlans",
            "product_region_code": "",
            "savings_plan_savings_plan_a_r_n": sp_arn,
            "savings_plan_total_commitment_to_date": SAVINGS_PLAN_COMMITMENT_USD,
            "savings_plan_used_commitment": used.to_numpy(),
            "savings_plan_recurring_commitment_for_billing_period": SAVINGS_PLAN_COMMITMENT_USD,
            "savings_plan_amortized_upfront_commitment_for_billing_period": 0.0,
            "savings_plan_net_amortized_upfront_commitment_for_billing_period": 0.0,
        }
    )

    # training, notebook and S3: on-demand usage no endpoint carries
    extra = _other_lines(account, hours)
    is_sm = (extra["kind"] == "sagemaker").to_numpy()
    cost = extra["hours"] * extra["rate"]
    suffix = extra["component"].map(lambda c: pricing.COMPONENTS.get(c, ("",))[0])
    other = pd.DataFrame(
        {
            "hour": extra["hour"],
            "line_item_line_item_type": "Usage",
            "line_item_product_code": np.where(is_sm, pricing.SAGEMAKER, pricing.S3),
            "line_item_usage_type": extra["usage_type"],
            "line_item_operation": np.where(is_sm, "RunInstance:" + suffix, "StandardStorage"),
            "line_item_resource_id": extra["resource_id"],
            "line_item_usage_amount": extra["hours"],
            "line_item_unblended_rate": extra["rate"],
            "line_item_unblended_cost": cost,
            "pricing_public_on_demand_rate": extra["rate"],
            "pricing_public_on_demand_cost": cost,
            "pricing_term": "OnDemand",
            "pricing_unit": extra["unit"],
            "product_servicecode": np.where(is_sm, pricing.SAGEMAKER, pricing.S3),
            "product_product_family": extra["family"],
            "product_instance_type": np.where(
                is_sm, extra["instance_type"] + "-" + suffix, ""
            ),
            "product_region_code": extra["region"],
            "product_location": extra["region"].map(location),
            "line_item_line_item_description": np.where(
                is_sm,
                "$" + extra["rate"].map("{:.4f}".format) + " per " + extra["component"] + " "
                + extra["instance_type"] + " hour in " + extra["region"].map(location),
                "$" + extra["rate"].map("{:.3f}".format) + " per GB-Mo for Standard storage",
            ),
            "team": np.where(is_sm, "data-science", ""),
        }
    )  # fmt: skip

    lines = pd.concat([base, negation, fee, other], ignore_index=True)
    return _finish(lines, account)


def _finish(lines: pd.DataFrame, account: str) -> pd.DataFrame:
    """The columns every line shares, derived ones, and ``SCHEMA``'s column order and types."""
    start = pd.to_datetime(lines["hour"], unit="s")
    lines["line_item_usage_start_date"] = start
    lines["line_item_usage_end_date"] = start + pd.Timedelta(hours=1)
    period = _month_start(start)
    lines["bill_billing_period_start_date"] = period
    lines["bill_billing_period_end_date"] = period + pd.DateOffset(months=1)
    iso = "%Y-%m-%dT%H:%M:%SZ"
    intervals = {
        h: f"{datetime.fromtimestamp(h, UTC):{iso}}/{datetime.fromtimestamp(h + 3600, UTC):{iso}}"
        for h in lines["hour"].unique()
    }
    lines["identity_time_interval"] = lines["hour"].map(intervals)
    lines["bill_invoice_id"] = ""  # not invoiced yet: the current and previous month are estimates until closed
    lines["bill_invoicing_entity"] = "Amazon Web Services, Inc."
    lines["bill_billing_entity"] = "AWS"
    lines["bill_bill_type"] = "Anniversary"
    lines["bill_payer_account_id"] = account
    lines["bill_payer_account_name"] = fl.ACCOUNTS[account]
    lines["line_item_usage_account_id"] = account
    lines["line_item_usage_account_name"] = fl.ACCOUNTS[account]
    lines["line_item_currency_code"] = "USD"
    lines["line_item_legal_entity"] = "Amazon Web Services, Inc."
    lines["line_item_availability_zone"] = ""
    lines["line_item_blended_rate"] = lines["line_item_unblended_rate"]
    lines["line_item_blended_cost"] = lines["line_item_unblended_cost"]
    lines["line_item_net_unblended_rate"] = lines["line_item_unblended_rate"]
    lines["line_item_net_unblended_cost"] = lines["line_item_unblended_cost"]
    lines["pricing_currency"] = "USD"
    lines["product_usagetype"] = lines["line_item_usage_type"]
    has_sp = lines["line_item_line_item_type"] == "SavingsPlanRecurringFee"
    lines.loc[has_sp, "savings_plan_offering_type"] = "SageMakerSavingsPlans"
    lines.loc[has_sp, "savings_plan_payment_option"] = "No Upfront"
    lines.loc[has_sp, "savings_plan_purchase_term"] = "1yr"
    plan_start = pd.Timestamp(period.min()) - pd.DateOffset(months=4)
    lines.loc[has_sp, "savings_plan_start_time"] = plan_start
    lines.loc[has_sp, "savings_plan_end_time"] = plan_start + pd.DateOffset(years=1)
    identity = ["hour", "line_item_line_item_type", "line_item_resource_id", "line_item_usage_type"]
    lines["identity_line_item_id"] = pd.util.hash_pandas_object(lines[identity], index=False).map("{:016x}".format)
    team = lines.pop("team").fillna("")
    tags = {t: [("user_team", t)] if t else [] for t in team.unique()}
    lines["resource_tags"] = team.map(tags)
    lines = lines.sort_values(["hour", "line_item_resource_id", "line_item_line_item_type"], kind="stable")
    for name in SCHEMA.names:
        if name not in lines.columns:
            lines[name] = None
    for name in NUMBER_COLUMNS:
        lines[name] = pd.to_numeric(lines[name], errors="coerce").astype("float64")
    return lines[SCHEMA.names].reset_index(drop=True)


def billing_periods(lines: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The lines of each calendar month (``YYYY-MM``), oldest first."""
    period = lines["bill_billing_period_start_date"].dt.strftime("%Y-%m")
    return {str(p): group.reset_index(drop=True) for p, group in lines.groupby(period, sort=True)}


def parquet_bytes(lines: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(lines, schema=SCHEMA, preserve_index=False), buffer, compression="snappy")
    return buffer.getvalue()


def export_arn(account: str) -> str:
    export_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{account}/{EXPORT_NAME}")
    return f"arn:aws:bcm-data-exports:{HOME_REGION}:{account}:export/{EXPORT_NAME}-{export_id}"


def manifest(account: str, bucket: str, period: str, data_keys: list[str], now: datetime) -> dict:
    """The delivery's ``<export-name>-Manifest.json``.

    Paths as AWS documents them (docs.aws.amazon.com/cur/latest/userguide/dataexports-export-delivery.html):
    data in ``<prefix>/<export-name>/data/BILLING_PERIOD=YYYY-MM/``, the manifest in
    ``<prefix>/<export-name>/metadata/BILLING_PERIOD=YYYY-MM/<export-name>-Manifest.json``. The keys besides
    ``dataFiles`` (``s3://`` URIs) are modelled on the export's API fields (ExportArn, Name, S3OutputConfigurations'
    Format and Compression) and not copied from a delivered manifest: readers should rely on ``dataFiles`` only.
    """
    return {
        "exportArn": export_arn(account),
        "exportName": EXPORT_NAME,
        "executionId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{account}/{EXPORT_NAME}/{period}/{now.isoformat()}")),
        "billingPeriod": period,
        "bucket": bucket,
        "prefix": PREFIX,
        "exportedAt": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "format": "PARQUET",
        "compression": "PARQUET",
        "dataFiles": [f"s3://{bucket}/{key}" for key in data_keys],
        "schema": [{"name": field.name, "type": str(field.type)} for field in SCHEMA],
    }


def deliver(s3, account: str, lines: pd.DataFrame, now: datetime) -> Delivery:
    """Write each billing period's Parquet file and manifest to ``s3`` (a client of ``account``)."""
    bucket = bucket_of(account)
    s3.create_bucket(Bucket=bucket)
    counts, manifests = {}, {}
    for period, group in billing_periods(lines).items():
        partition = f"BILLING_PERIOD={period}"
        key = f"{PREFIX}/{EXPORT_NAME}/data/{partition}/{EXPORT_NAME}-00001.snappy.parquet"
        s3.put_object(Bucket=bucket, Key=key, Body=parquet_bytes(group))
        manifest_key = f"{PREFIX}/{EXPORT_NAME}/metadata/{partition}/{EXPORT_NAME}-Manifest.json"
        body = json.dumps(manifest(account, bucket, period, [key], now), indent=1).encode()
        s3.put_object(Bucket=bucket, Key=manifest_key, Body=body)
        counts[period], manifests[period] = len(group), manifest_key
    return Delivery(account, bucket, PREFIX, EXPORT_NAME, counts, manifests)


def seed_cost_exports(endpoint_url: str, endpoints, now: datetime) -> list[Delivery]:
    """Deliver the CUR 2.0 export of every account in ``EXPORTS``."""
    deliveries = []
    for account in EXPORTS:
        lines = cur_lines(endpoints, account, now)
        deliveries.append(deliver(client("s3", endpoint_url, HOME_REGION, account), account, lines, now))
    return deliveries
