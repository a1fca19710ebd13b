"""AWS's carbon estimates from the customer's ``CARBON_EMISSIONS`` Data Export (issue 18): the model-version
history the Sustainability API does not give.

The export is delivered like a cost export (``<prefix>/<export-name>/metadata/…/<export-name>-Manifest.json``
listing its data files, gzipped CSV or Parquet), to the bucket and prefix of the account's cost export settings,
under its own name (``AwsAccount.carbon_export_name``). One row per usage account, region, service and month:

=================================  =============================================================================
``usage_account_id``               the account whose usage it is (a management account's export holds its
                                   members': every row is kept, as the API's rows are; the reconciliation reads
                                   the registered account's own)
``region_code``, ``product_code``  region (``''`` for global services) and service (``AmazonSageMaker``)
``usage_period_start``             the month (its first day, UTC)
``model_version``                  AWS's methodology version of the row's figures
``total_lbm_emissions_value`` …    the seven emissions types' values, with ``…_unit`` (``MTCO2e``)
=================================  =============================================================================

Column names as in AWS's published query for the table (``SELECT last_refresh_timestamp, location,
model_version, payer_account_id, product_code, region_code, total_lbm_emissions_unit, total_lbm_emissions_value,
…, usage_account_id, usage_period_end, usage_period_start FROM CARBON_EMISSIONS``). Only the ``total_lbm`` and
``total_mbm`` values are required: an export whose query left out the scope columns still reconciles totals.

Every manifest is read once (again only when it changes): each delivery's rows are added as
``AwsCarbonEstimate`` rows of origin ``export``; a version already held has its ``last_seen`` moved on, a month
restated under a new model version gets a new row beside the old. Nothing is deleted, so a bucket that keeps its
deliveries gives the whole history of every month, back to January 2022.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
from django.db import transaction

from collectors import aws
from collectors.cost_exports import ExportFile, ExportFormatError, billing_period, manifest_data_files, read_files
from collectors.errors import CollectionFailed
from collectors.models import AwsCarbonEstimate, CarbonExportManifest

EXPORT_REGION = "us-east-1"  # where the run's health is filed (S3 redirects a bucket of another region)
KG_PER = {"mtco2e": 1000.0, "tco2e": 1000.0, "kgco2e": 1.0}  # unit (lower case) -> kg
REQUIRED = (
    "usage_account_id",
    "region_code",
    "product_code",
    "usage_period_start",
    "model_version",
    "total_lbm_emissions_value",
    "total_mbm_emissions_value",
)
# Emissions column prefix -> AwsCarbonEstimate field (kg); each has ``<prefix>_value`` and ``<prefix>_unit``.
COLUMNS = {
    "total_lbm_emissions": "location_co2e_kg",
    "total_mbm_emissions": "market_co2e_kg",
    "total_scope_1_emissions": "scope1_co2e_kg",
    "total_scope_2_lbm_emissions": "scope2_location_co2e_kg",
    "total_scope_2_mbm_emissions": "scope2_market_co2e_kg",
    "total_scope_3_lbm_emissions": "scope3_location_co2e_kg",
    "total_scope_3_mbm_emissions": "scope3_market_co2e_kg",
}
KEY = ["usage_account_id", "region", "service", "month", "model_version"]


@dataclass
class CarbonExportResult:
    manifests_found: int = 0
    manifests_read: int = 0
    data_files: int = 0
    rows: int = 0  # rows read (every service)
    rows_new: int = 0  # rows not held before: a new month, or a new model version of one
    revisions: int = 0  # months held before that a delivery restated under a new model version
    sagemaker_rows: int = 0
    versions: list[str] | None = None  # model versions seen in the deliveries read


def normalise(raw: pd.DataFrame, name: str = "export") -> pd.DataFrame:
    """One frame with ``KEY`` and the ``COLUMNS`` fields in kg from one file of the export (ExportFormatError when
    it is not a CARBON_EMISSIONS table: the message names the missing columns or the unknown unit)."""
    missing = [column for column in REQUIRED if column not in raw.columns]
    if missing:
        raise ExportFormatError(f"{name}: not a CARBON_EMISSIONS export, it lacks the columns {', '.join(missing)}")
    out = pd.DataFrame(
        {
            "usage_account_id": _text(raw["usage_account_id"]).str.zfill(12),
            "region": _text(raw["region_code"]),
            "service": _text(raw["product_code"]),
            "month": _months(raw["usage_period_start"], name),
            "model_version": _text(raw["model_version"]),
        }
    )
    if (out["model_version"] == "").any():
        raise ExportFormatError(f"{name}: model_version is empty on {int((out['model_version'] == '').sum())} rows")
    for prefix, field in COLUMNS.items():
        if f"{prefix}_value" not in raw.columns:
            out[field] = None
            continue
        values = pd.to_numeric(raw[f"{prefix}_value"], errors="coerce")
        bad = values.isna() & raw[f"{prefix}_value"].notna()
        if bad.any():
            raise ExportFormatError(
                f"{name}: {prefix}_value holds non-numbers, e.g. {raw[f'{prefix}_value'][bad].iloc[0]!r}"
            )
        out[field] = values * _kg_per(raw, prefix, name)
        out[field] = out[field].astype(object).where(out[field].notna(), None)
    return out


def _text(values: pd.Series) -> pd.Series:
    return values.astype("string").fillna("").str.strip().astype(object)


def _months(values: pd.Series, name: str) -> pd.Series:
    try:
        stamps = pd.to_datetime(values, utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise ExportFormatError(f"{name}: usage_period_start holds a non-timestamp: {exc}") from exc
    if stamps.isna().any():
        raise ExportFormatError(f"{name}: usage_period_start is empty on {int(stamps.isna().sum())} rows")
    return stamps.dt.date.map(lambda day: day.replace(day=1))


def _kg_per(raw: pd.DataFrame, prefix: str, name: str) -> pd.Series:
    units = (
        _text(raw[f"{prefix}_unit"]).str.lower()
        if f"{prefix}_unit" in raw.columns
        else pd.Series("mtco2e", index=raw.index)
    )
    units = units.where(units != "", "mtco2e")
    unknown = sorted(set(units) - set(KG_PER))
    if unknown:
        raise ExportFormatError(f"{name}: {prefix}_unit {unknown[0]!r} is not a unit this reader knows (MTCO2e)")
    return units.map(KG_PER).astype("float64")


def read_delivery(files: list[ExportFile], s3) -> pd.DataFrame:
    """The rows of one delivery (its data files), normalised; a row repeated across files counts once."""
    frames = [normalise(raw, name) for name, raw in read_files(files, s3)]
    if not frames:
        return pd.DataFrame(columns=[*KEY, *COLUMNS.values()])
    return pd.concat(frames, ignore_index=True).drop_duplicates(subset=KEY, keep="last")


def manifests(s3, bucket: str, prefix: str, export_name: str) -> list[dict]:
    """Every manifest of the export (S3 listing entries), oldest delivery first."""
    root = "/".join(part.strip("/") for part in (prefix, export_name, "metadata") if part.strip("/")) + "/"
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=root):
        found += [item for item in page.get("Contents", []) if item["Key"].endswith("-Manifest.json")]
    return sorted(found, key=lambda item: (item["LastModified"], item["Key"]))


def collect_carbon_export(account, now: datetime, calls: aws.ApiCalls) -> CarbonExportResult:
    if not account.has_carbon_export:
        raise CollectionFailed(f"{account} has no CARBON_EMISSIONS export configured (bucket and export name)")
    s3 = aws.client(account, "s3", EXPORT_REGION, calls)
    bucket, prefix, name = account.cost_export_bucket, account.cost_export_prefix, account.carbon_export_name
    found = manifests(s3, bucket, prefix, name)
    result = CarbonExportResult(manifests_found=len(found))
    if not found:
        raise CollectionFailed(
            f"no manifest under s3://{bucket}/{'/'.join(p for p in (prefix.strip('/'), name, 'metadata') if p)}/ "
            "- is the CARBON_EMISSIONS export's name and prefix right, and has AWS delivered it yet (up to 24 "
            "hours after creation)?"
        )
    read = {m.manifest_key: m.manifest_modified for m in CarbonExportManifest.objects.filter(account=account)}
    versions: set[str] = set()
    for item in found:
        if read.get(item["Key"]) == item["LastModified"]:
            continue
        files = manifest_data_files(s3, bucket, item["Key"])
        try:
            frame = read_delivery(files, s3)
        except ExportFormatError as exc:
            raise CollectionFailed(f"carbon export delivery {item['Key']}: {exc}") from exc
        save_delivery(account, item, frame, len(files), now, result)
        versions |= set(frame["model_version"])
    result.versions = sorted(versions)
    return result


def save_delivery(account, item: dict, frame: pd.DataFrame, files: int, now: datetime, result) -> None:  # noqa: PLR0913 - one delivery's context
    """Add one delivery's rows (new versions as new rows, known ones touched) and record the manifest, in one
    transaction: a run cut short re-reads the delivery, and adds nothing twice."""
    delivered = item["LastModified"].astimezone(UTC)
    months = set(frame["month"])
    held = {
        tuple(values[:5]): values[5]
        for values in AwsCarbonEstimate.objects.filter(
            account=account, origin=AwsCarbonEstimate.Origin.EXPORT, month__in=months
        ).values_list("usage_account_id", "region", "service", "month", "model_version", "pk")
    }
    held_places = {key[:4] for key in held}
    touched, new_rows, revised = [], [], set()
    for row in frame.to_dict("records"):
        key = tuple(row[column] for column in KEY)
        result.sagemaker_rows += row["service"] == "AmazonSageMaker"
        if key in held:
            touched.append(held[key])
            continue
        if key[:4] in held_places:
            revised.add(key[:4])
        new_rows.append(
            AwsCarbonEstimate(
                account=account,
                origin=AwsCarbonEstimate.Origin.EXPORT,
                first_seen=delivered,
                last_seen=delivered,
                **{column: row[column] for column in KEY},
                **{field: row[field] for field in COLUMNS.values()},
            )
        )
    with transaction.atomic():
        AwsCarbonEstimate.objects.filter(pk__in=touched, last_seen__lt=delivered).update(last_seen=delivered)
        AwsCarbonEstimate.objects.bulk_create(new_rows, ignore_conflicts=True, batch_size=2000)
        CarbonExportManifest.objects.update_or_create(
            account=account,
            manifest_key=item["Key"],
            defaults={
                "manifest_modified": item["LastModified"],
                "billing_period": billing_period(item["Key"]) or "",
                "data_files": files,
                "rows": len(frame),
                "rows_new": len(new_rows),
                "read_at": now,
            },
        )
    result.manifests_read += 1
    result.data_files += files
    result.rows += len(frame)
    result.rows_new += len(new_rows)
    result.revisions += len(revised)
