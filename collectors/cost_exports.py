"""Billed cost of SageMaker endpoints from the customer's own cost export (CUR 2.0 or FOCUS 1.x Data Exports).

Pure: pandas, pyarrow and a boto3 S3 client passed in; no Django. Two steps:

- ``manifest_files`` + ``read_export``: find the newest delivery of each billing period and read its data files
  (gzipped CSV or Parquet) into one normalised frame, whatever the export's table (detected by its columns);
- ``sagemaker_hosting_costs``: attribute SageMaker hosting line items to endpoints by their ARN, per UTC day.

Every line carries ``net_amortized_cost_usd``, the cost after discounts with commitments amortized, by the usual
CASE over ``line_item_line_item_type`` (awslabs/aws-well-architected-labs ``amortized_cost_by_charge_type.sql``;
its net form as in FinOps-Data-CrowdSourcing/Cloud_Savings_Percentage ``CSP.sql``):

==========================  ===========================================================================
Usage, Credit, Refund, Tax,  ``line_item_net_unblended_cost``
Discount, … (the rest)
SavingsPlanCoveredUsage      ``savings_plan_net_savings_plan_effective_cost``
DiscountedUsage              ``reservation_net_effective_cost``
SavingsPlanNegation          0 (it cancels the covered usage's on-demand cost: counting it would count twice)
SavingsPlanUpfrontFee        0 (amortized into the covered usage's effective cost)
SavingsPlanRecurringFee      the unused commitment: ``total_commitment_to_date - used_commitment``, scaled by
                             the line's net/gross ratio
RIFee                        the unused reservation: ``reservation_net_unused_amortized_upfront_fee_for_billing
                             _period + reservation_net_unused_recurring_fee``
Fee with a reservation ARN   0 (the RI's upfront fee, amortized into its discounted usage)
==========================  ===========================================================================

A ``net_`` column that is absent or empty falls back to its gross twin (no discount applies to that line).
FOCUS rows need no CASE: ``EffectiveCost`` is defined as that amortized, discounted cost.
"""

from __future__ import annotations

import gzip
import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

CUR = "CUR 2.0"
FOCUS = "FOCUS 1.x"
CUR_REQUIRED = (
    "line_item_line_item_type",
    "line_item_usage_start_date",
    "line_item_usage_account_id",
    "line_item_product_code",
    "line_item_usage_type",
    "line_item_resource_id",
    "line_item_usage_amount",
    "line_item_unblended_cost",
    "pricing_public_on_demand_cost",
    "product_region_code",
    "savings_plan_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment",
    "reservation_effective_cost",
    "reservation_reservation_a_r_n",
    "reservation_unused_amortized_upfront_fee_for_billing_period",
    "reservation_unused_recurring_fee",
)
NET_TWINS = {
    "line_item_net_unblended_cost": "line_item_unblended_cost",
    "savings_plan_net_savings_plan_effective_cost": "savings_plan_savings_plan_effective_cost",
    "reservation_net_effective_cost": "reservation_effective_cost",
    "reservation_net_unused_amortized_upfront_fee_for_billing_period": (
        "reservation_unused_amortized_upfront_fee_for_billing_period"
    ),
    "reservation_net_unused_recurring_fee": "reservation_unused_recurring_fee",
}
FOCUS_REQUIRED = (
    "ChargeCategory",
    "ChargePeriodStart",
    "SubAccountId",
    "ServiceName",
    "ResourceId",
    "RegionId",
    "ConsumedQuantity",
    "EffectiveCost",
    "ListCost",
    "x_UsageType",
)
CUR_NUMBERS = [
    "line_item_usage_amount",
    "line_item_unblended_cost",
    "pricing_public_on_demand_cost",
    "savings_plan_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment",
    "reservation_effective_cost",
    "reservation_unused_amortized_upfront_fee_for_billing_period",
    "reservation_unused_recurring_fee",
    *NET_TWINS,
]
FOCUS_NUMBERS = ["ConsumedQuantity", "EffectiveCost", "ListCost"]

# Normalised charge kinds: what a line is, whatever the export's vocabulary.
USAGE, NEGATION, COMMITMENT, ADJUSTMENT = "usage", "negation", "commitment", "adjustment"
CUR_KINDS = {
    "Usage": USAGE,
    "SavingsPlanCoveredUsage": USAGE,
    "DiscountedUsage": USAGE,
    "SavingsPlanNegation": NEGATION,
    "SavingsPlanRecurringFee": COMMITMENT,
    "SavingsPlanUpfrontFee": COMMITMENT,
    "RIFee": COMMITMENT,
}
# Service codes and FOCUS ServiceNames counted as SageMaker (lower case), with the SageMaker Savings Plans' own.
SAGEMAKER_SERVICES = frozenset(
    {"amazonsagemaker", "sagemaker", "amazon sagemaker", "machinelearningsavingsplans", "sagemakersavingsplans"}
)
HOSTING_USAGE = re.compile(r"^(?:[A-Z]{2,5}\d?-)?(?:Host|AsyncInf|ServerlessInf)[:-]")
INSTANCE_USAGE = re.compile(r"^(?:[A-Z]{2,5}\d?-)?(?:Host|AsyncInf):ml\.")
ENDPOINT_ARN = re.compile(r"^arn:(aws[a-z-]*):sagemaker:([a-z0-9-]+):(\d{12}):endpoint/([^/\s]+)$", re.IGNORECASE)

# Why a SageMaker line is not attributed to an endpoint.
UNUSED_COMMITMENT = "unused commitment"
NO_RESOURCE = "no resource id"
NOT_HOSTING = "not hosting"
UNPARSEABLE_RESOURCE = "unparseable resource id"

NORMALISED = [
    "day",
    "account_id",
    "region",
    "service",
    "line_type",
    "charge_kind",
    "usage_type",
    "resource_id",
    "usage_amount",
    "list_cost_usd",
    "net_amortized_cost_usd",
]


class ExportFormatError(ValueError):
    """The file is not a CUR 2.0 or FOCUS 1.x export this module can read: the message names what is missing."""


@dataclass(frozen=True)
class ExportFile:
    """One data file of an export in S3."""

    bucket: str
    key: str


@dataclass(frozen=True)
class HostingCosts:
    """Per (day, endpoint, usage type, region) costs, and every other SageMaker line's cost with its reason."""

    endpoints: pd.DataFrame
    unattributed: pd.DataFrame


# --- finding the files -----------------------------------------------------------------------------------------


def manifest_files(s3, bucket: str, prefix: str, export_name: str) -> dict[str, list[ExportFile]]:
    """Data files of the newest delivery of each billing period, by period (``YYYY-MM``).

    Data Exports write ``<prefix>/<export-name>/metadata/BILLING_PERIOD=YYYY-MM/…/<export-name>-Manifest.json``
    after every refresh. The newest manifest of a period (by S3 LastModified, then key) wins, so a re-delivered
    period replaces the previous delivery instead of adding to it: never read files a manifest does not list.
    """
    return {
        period: manifest_data_files(s3, bucket, item["Key"])
        for period, item in newest_manifests(s3, bucket, prefix, export_name).items()
    }


def newest_manifests(s3, bucket: str, prefix: str, export_name: str) -> dict[str, dict]:
    """The newest manifest's S3 listing entry (``Key``, ``LastModified``…) of each billing period, by period."""
    root = "/".join(part.strip("/") for part in (prefix, export_name, "metadata") if part.strip("/")) + "/"
    newest: dict[str, dict] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=root):
        for item in page.get("Contents", []):
            period = billing_period(item["Key"])
            if period and item["Key"].endswith("-Manifest.json") and _newer(item, newest.get(period)):
                newest[period] = item
    return dict(sorted(newest.items()))


def billing_period(key: str) -> str | None:
    match = re.search(r"BILLING_PERIOD=(\d{4}-\d{2})", key)
    return match.group(1) if match else None


def _newer(item: dict, current: dict | None) -> bool:
    return current is None or (item["LastModified"], item["Key"]) > (current["LastModified"], current["Key"])


def manifest_data_files(s3, bucket: str, key: str) -> list[ExportFile]:
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    if "dataFiles" not in manifest:
        raise ExportFormatError(f"manifest s3://{bucket}/{key} has no dataFiles list")
    return [_export_file(bucket, uri) for uri in manifest["dataFiles"]]


def _export_file(bucket: str, uri: str) -> ExportFile:
    if uri.startswith("s3://"):
        other_bucket, _, key = uri.removeprefix("s3://").partition("/")
        return ExportFile(other_bucket, key)
    return ExportFile(bucket, uri.lstrip("/"))


# --- reading -----------------------------------------------------------------------------------------------------


def read_export(files: Iterable[str | Path | ExportFile], s3=None) -> pd.DataFrame:
    """One normalised frame (columns ``NORMALISED``) from the data files of one billing period.

    Files are local paths or ``ExportFile`` objects fetched with ``s3``; each is gzipped CSV or Parquet, CUR 2.0
    or FOCUS 1.x (told apart by its columns). ``day`` is the UTC date of the line's usage start; costs in USD.
    ``frame.attrs["format"]`` names the table the files were.
    """
    frames, formats = [], set()
    for file in files:
        raw = _load(file, s3)
        formats.add(detect_format(raw, str(file)))
        frames.append(normalise(raw, name=str(file)))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=NORMALISED)
    frame.attrs["format"] = " + ".join(sorted(formats))  # which table(s) the files were: CUR 2.0, FOCUS 1.x
    return frame


def read_files(files: Iterable[str | Path | ExportFile], s3=None) -> Iterator[tuple[str, pd.DataFrame]]:
    """Each data file's name (``s3://bucket/key`` or its path) and raw table, as delivered: for readers of other
    Data Export tables (``collectors.carbon_export``)."""
    for file in files:
        name = f"s3://{file.bucket}/{file.key}" if isinstance(file, ExportFile) else str(file)
        yield name, _load(file, s3)


def _load(file: str | Path | ExportFile, s3) -> pd.DataFrame:
    if isinstance(file, ExportFile):
        if s3 is None:
            raise ValueError(f"an S3 client is needed to read s3://{file.bucket}/{file.key}")
        body = s3.get_object(Bucket=file.bucket, Key=file.key)["Body"].read()
        return _parse(io.BytesIO(body), file.key)
    with open(file, "rb") as handle:
        return _parse(io.BytesIO(handle.read()), str(file))


def _parse(content: io.BytesIO, name: str) -> pd.DataFrame:
    if name.endswith(".parquet"):
        return pd.read_parquet(content)
    if name.endswith(".gz"):
        content = io.BytesIO(gzip.decompress(content.getvalue()))
    # Text, so account ids keep their leading zeros; empty cells are nulls.
    return pd.read_csv(content, dtype=str, keep_default_na=False, na_values=[""])


def normalise(raw: pd.DataFrame, name: str = "export") -> pd.DataFrame:
    """The normalised frame of one file, after checking it is a CUR 2.0 or FOCUS 1.x table."""
    kind = detect_format(raw, name)
    return _normalise_cur(raw, name) if kind == CUR else _normalise_focus(raw, name)


def detect_format(raw: pd.DataFrame, name: str = "export") -> str:
    columns = set(raw.columns)
    missing_cur = [c for c in CUR_REQUIRED if c not in columns]
    missing_focus = [c for c in FOCUS_REQUIRED if c not in columns]
    if not missing_cur:
        return CUR
    if not missing_focus:
        return FOCUS
    if "line_item_line_item_type" in columns:
        raise ExportFormatError(f"{name}: a {CUR} export lacks the columns {', '.join(missing_cur)}")
    if "ChargeCategory" in columns:
        raise ExportFormatError(f"{name}: a {FOCUS} export lacks the columns {', '.join(missing_focus)}")
    raise ExportFormatError(
        f"{name}: neither a {CUR} export (it lacks the columns {', '.join(missing_cur)}) "
        f"nor a {FOCUS} export (it lacks the columns {', '.join(missing_focus)})"
    )


def _numbers(raw: pd.DataFrame, columns: Sequence[str], name: str) -> pd.DataFrame:
    out = pd.DataFrame(index=raw.index)
    for column in columns:
        if column not in raw.columns:
            continue
        values = pd.to_numeric(raw[column], errors="coerce")
        bad = values.isna() & raw[column].notna()
        if bad.any():
            raise ExportFormatError(f"{name}: column {column} holds non-numbers, e.g. {raw[column][bad].iloc[0]!r}")
        out[column] = values.astype("float64")
    return out


def _days(values: pd.Series, column: str, name: str) -> pd.Series:
    try:
        stamps = pd.to_datetime(values, utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise ExportFormatError(f"{name}: column {column} holds a non-timestamp: {exc}") from exc
    if stamps.isna().any():
        raise ExportFormatError(f"{name}: column {column} is empty on {int(stamps.isna().sum())} lines")
    return stamps.dt.date


def _text(values: pd.Series) -> pd.Series:
    return values.astype("string").fillna("").str.strip().astype(object)


def _account(values: pd.Series) -> pd.Series:
    text = _text(values)
    return text.where(~text.str.fullmatch(r"\d{1,12}"), text.str.zfill(12))


def _normalise_cur(raw: pd.DataFrame, name: str) -> pd.DataFrame:
    num = _numbers(raw, CUR_NUMBERS, name)
    line_type = _text(raw["line_item_line_item_type"])
    kind = line_type.map(CUR_KINDS).fillna(ADJUSTMENT)
    service = _text(raw["line_item_product_code"])
    if "savings_plan_offering_type" in raw.columns:
        offering = _text(raw["savings_plan_offering_type"])
        service = service.where(offering != "SageMakerSavingsPlans", "SageMakerSavingsPlans")
    return pd.DataFrame(
        {
            "day": _days(raw["line_item_usage_start_date"], "line_item_usage_start_date", name),
            "account_id": _account(raw["line_item_usage_account_id"]),
            "region": _text(raw["product_region_code"]),
            "service": service,
            "line_type": line_type,
            "charge_kind": kind,
            "usage_type": _text(raw["line_item_usage_type"]),
            "resource_id": _text(raw["line_item_resource_id"]),
            "usage_amount": num["line_item_usage_amount"].fillna(0.0).where(kind == USAGE, 0.0),
            "list_cost_usd": num["pricing_public_on_demand_cost"].fillna(0.0).where(kind == USAGE, 0.0),
            "net_amortized_cost_usd": cur_net_amortized(line_type, num, _text(raw["reservation_reservation_a_r_n"])),
        }
    )


def _net(num: pd.DataFrame, net: str) -> pd.Series:
    gross = num[NET_TWINS[net]]
    return (num[net].fillna(gross) if net in num.columns else gross).fillna(0.0)


def cur_net_amortized(line_type: pd.Series, num: pd.DataFrame, reservation_arn: pd.Series) -> pd.Series:
    """Net amortized cost per CUR 2.0 line: the CASE in the module docstring."""
    unblended = _net(num, "line_item_net_unblended_cost")
    gross_unblended = num["line_item_unblended_cost"].fillna(0.0)
    ratio = (unblended / gross_unblended.where(gross_unblended != 0)).fillna(1.0)
    unused_sp = num["savings_plan_total_commitment_to_date"].fillna(0.0) - num["savings_plan_used_commitment"].fillna(
        0.0
    )
    unused_ri = _net(num, "reservation_net_unused_amortized_upfront_fee_for_billing_period") + _net(
        num, "reservation_net_unused_recurring_fee"
    )
    cost = unblended.copy()
    cost[line_type == "SavingsPlanCoveredUsage"] = _net(num, "savings_plan_net_savings_plan_effective_cost")
    cost[line_type == "DiscountedUsage"] = _net(num, "reservation_net_effective_cost")
    cost[line_type.isin(["SavingsPlanNegation", "SavingsPlanUpfrontFee"])] = 0.0
    cost[line_type == "SavingsPlanRecurringFee"] = unused_sp * ratio
    cost[line_type == "RIFee"] = unused_ri
    cost[(line_type == "Fee") & (reservation_arn != "")] = 0.0
    return cost


def _focus_kind(raw: pd.DataFrame) -> pd.Series:
    category = _text(raw["ChargeCategory"])
    status = _text(raw.get("CommitmentDiscountStatus", pd.Series("", index=raw.index)))
    kind = category.map({"Usage": USAGE, "Purchase": COMMITMENT}).fillna(ADJUSTMENT)
    return kind.where(~((category == "Usage") & (status == "Unused")), COMMITMENT)


def _normalise_focus(raw: pd.DataFrame, name: str) -> pd.DataFrame:
    num = _numbers(raw, FOCUS_NUMBERS, name)
    kind = _focus_kind(raw)
    service = _text(raw["x_ServiceCode"]) if "x_ServiceCode" in raw.columns else _text(raw["ServiceName"])
    return pd.DataFrame(
        {
            "day": _days(raw["ChargePeriodStart"], "ChargePeriodStart", name),
            "account_id": _account(raw["SubAccountId"]),
            "region": _text(raw["RegionId"]),
            "service": service.where(service != "", _text(raw["ServiceName"])),
            "line_type": _text(raw["ChargeCategory"]),
            "charge_kind": kind,
            "usage_type": _text(raw["x_UsageType"]),
            "resource_id": _text(raw["ResourceId"]),
            "usage_amount": num["ConsumedQuantity"].fillna(0.0).where(kind == USAGE, 0.0),
            "list_cost_usd": num["ListCost"].fillna(0.0).where(kind == USAGE, 0.0),
            "net_amortized_cost_usd": num["EffectiveCost"].fillna(0.0),
        }
    )


# --- attributing -------------------------------------------------------------------------------------------------


def sagemaker_lines(frame: pd.DataFrame) -> pd.DataFrame:
    """The SageMaker lines of a normalised frame (its Savings Plans' fees included), negations left out."""
    is_sagemaker = frame["service"].str.lower().isin(SAGEMAKER_SERVICES)
    return frame[is_sagemaker & (frame["charge_kind"] != NEGATION)]


def sagemaker_hosting_costs(frame: pd.DataFrame) -> HostingCosts:
    """Billed (net amortized) and list cost of SageMaker hosting per UTC day, endpoint, usage type and region.

    ``endpoints``: day, account_id, region, endpoint_arn, endpoint_name (lower case: names are case-insensitive),
    usage_type, list_cost_usd (public on-demand), billed_cost_usd (net amortized), instance_hours (usage of
    ``Host:ml.*``/``AsyncInf:ml.*`` lines). ``unattributed``: day, account_id, region, reason, usage_type,
    resource_id, billed_cost_usd for every other SageMaker line, so that the two sum to the export's SageMaker
    total. Reasons: unused commitment (Savings Plan / RI fees), no resource id (e.g. untagged credits), not
    hosting (training, notebook, processing, transform…), unparseable resource id.
    """
    lines = sagemaker_lines(frame).copy()
    lines["reason"] = _reasons(lines)
    attributed = lines[lines["reason"] == ""]
    return HostingCosts(_by_endpoint(attributed), _unattributed(lines[lines["reason"] != ""]))


def _reasons(lines: pd.DataFrame) -> pd.Series:
    reason = pd.Series("", index=lines.index, dtype=object)
    parses = lines["resource_id"].str.match(ENDPOINT_ARN)
    reason[~parses] = UNPARSEABLE_RESOURCE
    reason[~lines["usage_type"].str.match(HOSTING_USAGE)] = NOT_HOSTING
    reason[lines["resource_id"] == ""] = NO_RESOURCE
    reason[lines["charge_kind"] == COMMITMENT] = UNUSED_COMMITMENT
    return reason


def _by_endpoint(lines: pd.DataFrame) -> pd.DataFrame:
    parts = lines["resource_id"].str.extract(ENDPOINT_ARN)
    lines = lines.assign(
        region=parts[1].str.lower(),
        account_id=parts[2],
        endpoint_name=parts[3].str.lower(),
        instance_hours=lines["usage_amount"].where(lines["usage_type"].str.match(INSTANCE_USAGE), 0.0),
        billed_cost_usd=lines["net_amortized_cost_usd"],
    )
    lines["endpoint_arn"] = (
        "arn:" + parts[0].str.lower() + ":sagemaker:" + lines["region"] + ":" + lines["account_id"] + ":endpoint/"
    ) + lines["endpoint_name"]
    keys = ["day", "account_id", "region", "endpoint_arn", "endpoint_name", "usage_type"]
    sums = ["list_cost_usd", "billed_cost_usd", "instance_hours"]
    return lines.groupby(keys, as_index=False)[sums].sum()


def _unattributed(lines: pd.DataFrame) -> pd.DataFrame:
    keys = ["day", "account_id", "region", "reason", "usage_type", "resource_id"]
    lines = lines.assign(billed_cost_usd=lines["net_amortized_cost_usd"])
    return lines.groupby(keys, as_index=False)[["billed_cost_usd"]].sum()
