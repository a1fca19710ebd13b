"""A ``CARBON_EMISSIONS`` Data Export of AWS's (simulated) carbon estimates, delivered beside the cost export.

For every account of ``cost_export.EXPORTS`` (the prod account), into the cost export's bucket and prefix under
its own name (``EXPORT_NAME``): one row per usage account, region, service and month with the columns of AWS's
published query for the table (``usage_account_id``, ``region_code``, ``product_code``, ``usage_period_start``,
``model_version``, the seven ``total_…_emissions_value``/``_unit`` pairs in MTCO2e, …). The figures are
``sustainability.figures``, the same rows the simulated Sustainability API answers with, rounded the same way.

SIMULATED HISTORY, not AWS data: the ``EARLY_MONTHS`` oldest published months were first delivered under
``EARLY_VERSION`` (an older methodology: ``EARLY_FACTORS``) and restated under ``sustainability.BASE_MODEL_VERSION``
in a later delivery: the export holds both, the API only the newest. ``deliver_revision`` writes a further
delivery of one month when the demo publishes a revision through the API, so the two sources stay in step.

Each delivery is one Parquet file and its manifest, under a per-delivery folder:
``<prefix>/<name>/{data,metadata}/BILLING_PERIOD=YYYY-MM/<delivery>/``; a reader takes every manifest.
"""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sandbox import sustainability as sus
from sandbox.clients import client
from sandbox.cost_export import EXPORTS, HOME_REGION, PREFIX, bucket_of

EXPORT_NAME = "wattson-carbon"
EARLY_VERSION = "v2.0.0"
EARLY_MONTHS = 4
EARLY_FACTORS = {"scope2_factor": 1.06, "scope3_factor": 0.78}  # SIMULATED: the older model's scope 2 and 3
LOCATIONS = {"us-east-1": "US East (N. Virginia)", "eu-west-1": "Europe (Ireland)", "eu-north-1": "Europe (Stockholm)"}
COLUMNS = {  # emissions column prefix -> the API's emissions type
    "total_lbm_emissions": "TOTAL_LBM_CARBON_EMISSIONS",
    "total_mbm_emissions": "TOTAL_MBM_CARBON_EMISSIONS",
    "total_scope_1_emissions": "TOTAL_SCOPE_1_CARBON_EMISSIONS",
    "total_scope_2_lbm_emissions": "TOTAL_SCOPE_2_LBM_CARBON_EMISSIONS",
    "total_scope_2_mbm_emissions": "TOTAL_SCOPE_2_MBM_CARBON_EMISSIONS",
    "total_scope_3_lbm_emissions": "TOTAL_SCOPE_3_LBM_CARBON_EMISSIONS",
    "total_scope_3_mbm_emissions": "TOTAL_SCOPE_3_MBM_CARBON_EMISSIONS",
}
SCHEMA = pa.schema(
    [
        ("last_refresh_timestamp", pa.timestamp("ms", tz="UTC")),
        ("location", pa.string()),
        ("model_version", pa.string()),
        ("payer_account_id", pa.string()),
        ("product_code", pa.string()),
        ("region_code", pa.string()),
        *[
            (f"{prefix}_{part}", pa.string() if part == "unit" else pa.float64())
            for prefix in COLUMNS
            for part in ("unit", "value")
        ],
        ("usage_account_id", pa.string()),
        ("usage_period_end", pa.timestamp("ms", tz="UTC")),
        ("usage_period_start", pa.timestamp("ms", tz="UTC")),
    ]
)


@dataclass
class CarbonDelivery:
    account: str
    bucket: str
    prefix: str
    name: str
    rows: int = 0
    manifests: list[str] = field(default_factory=list)
    versions: dict[str, list[str]] = field(default_factory=dict)  # month -> model versions delivered, in order


def early_revisions(now: datetime) -> list[dict]:
    """The older methodology's figures of the ``EARLY_MONTHS`` oldest months, as ``sustainability`` revisions."""
    months = sus.published_months(now)[:EARLY_MONTHS]
    return [{"month": f"{m:%Y-%m}", "model_version": EARLY_VERSION, **EARLY_FACTORS} for m in months]


def rows(account: str, now: datetime, months: list[date], revisions: list[dict]) -> pd.DataFrame:
    """The export's rows of ``account`` for ``months`` under ``revisions`` (``sustainability.figures``)."""
    refreshed = pd.Timestamp(now).tz_convert(UTC).floor("s")
    records = []
    for row in sus.figures(now, revisions=revisions):
        if row["USAGE_ACCOUNT_ID"] != account or row["month"] not in months:
            continue
        record = {
            "last_refresh_timestamp": refreshed,
            "location": LOCATIONS.get(row["REGION"], row["REGION"]),
            "model_version": row["model_version"],
            "payer_account_id": account,
            "product_code": row["SERVICE"],
            "region_code": row["REGION"],
            "usage_account_id": account,
            "usage_period_start": pd.Timestamp(row["month"], tz=UTC),
            "usage_period_end": pd.Timestamp(sus.next_month(row["month"]), tz=UTC),
        }
        for prefix, emissions_type in COLUMNS.items():
            record[f"{prefix}_unit"] = sus.UNIT
            record[f"{prefix}_value"] = sus.mtco2e(row["kg"][emissions_type])
        records.append(record)
    return pd.DataFrame.from_records(records, columns=SCHEMA.names)


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, schema=SCHEMA, preserve_index=False), buffer, compression="snappy")
    return buffer.getvalue()


def _deliver(s3, delivery: CarbonDelivery, frame: pd.DataFrame, label: str, now: datetime) -> None:
    """One delivery per billing period of ``frame``, in folders named ``label`` (ordered: keys sort by it)."""
    for month, group in frame.groupby(frame["usage_period_start"].dt.strftime("%Y-%m"), sort=True):
        partition = f"BILLING_PERIOD={month}/{label}"
        key = f"{delivery.prefix}/{delivery.name}/data/{partition}/{delivery.name}-00001.snappy.parquet"
        s3.put_object(Bucket=delivery.bucket, Key=key, Body=_parquet(group.reset_index(drop=True)))
        manifest_key = f"{delivery.prefix}/{delivery.name}/metadata/{partition}/{delivery.name}-Manifest.json"
        manifest = {
            "exportName": delivery.name,
            "executionId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{delivery.account}/{delivery.name}/{month}/{label}")),
            "billingPeriod": month,
            "exportedAt": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "format": "PARQUET",
            "dataFiles": [f"s3://{delivery.bucket}/{key}"],
        }
        s3.put_object(Bucket=delivery.bucket, Key=manifest_key, Body=json.dumps(manifest, indent=1).encode())
        delivery.rows += len(group)
        delivery.manifests.append(manifest_key)
        delivery.versions.setdefault(str(month), []).extend(sorted(set(group["model_version"])))


def seed_carbon_exports(endpoint_url: str, now: datetime) -> list[CarbonDelivery]:
    """Deliver the CARBON_EMISSIONS export of every account in ``EXPORTS``: the early months under the older
    model first, then every published month under the current one."""
    deliveries = []
    months = sus.published_months(now)
    for account in EXPORTS:
        s3 = client("s3", endpoint_url, HOME_REGION, account)
        s3.create_bucket(Bucket=bucket_of(account))
        delivery = CarbonDelivery(account, bucket_of(account), PREFIX, EXPORT_NAME)
        _deliver(s3, delivery, rows(account, now, months[:EARLY_MONTHS], early_revisions(now)), "delivery-1", now)
        _deliver(s3, delivery, rows(account, now, months, []), "delivery-2", now)
        deliveries.append(delivery)
    return deliveries


def deliver_revision(endpoint_url: str, revision: dict, now: datetime) -> list[CarbonDelivery]:
    """A further delivery of ``revision``'s month under its model version (what AWS's export does when it restates
    a month), for the accounts of ``EXPORTS`` the revision concerns."""
    month = datetime.strptime(revision["month"], "%Y-%m").replace(tzinfo=UTC).date()  # noqa: DTZ007 - a label
    deliveries = []
    for account in EXPORTS:
        if revision.get("account") not in (None, account):
            continue
        s3 = client("s3", endpoint_url, HOME_REGION, account)
        delivery = CarbonDelivery(account, bucket_of(account), PREFIX, EXPORT_NAME)
        label = f"delivery-3-{revision['model_version']}"
        _deliver(s3, delivery, rows(account, now, [month], [revision]), label, now)
        deliveries.append(delivery)
    return deliveries
