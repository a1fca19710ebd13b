"""What a collection stored, reduced to a row count and a checksum, so a run under faults can be compared with a
clean run of the same AWS account (registered a second time, under another team).

Run inside a test (the ORM) or in a subprocess against another database:
``python manage.py shell -c "from tests.services.fingerprint import main; main(<account pk>)"``.
"""

import hashlib
import json

HOUR_FIELDS = (
    "endpoint__name",
    "variant_name",
    "hour",
    "instance_type",
    "instance_hours",
    "cpu_util_pct",
    "cpu_util_max_pct",
    "gpu_util_pct",
    "gpu_util_max_pct",
    "memory_util_pct",
    "disk_util_pct",
    "invocations",
    "model_latency_us",
    "config_assumed",
    "vcpus",
    "gpus",
)
ENDPOINT_FIELDS = ("name", "region", "status", "mode", "config_name", "deleted_at")
VARIANT_FIELDS = (
    "endpoint__name",
    "variant_name",
    "instance_type",
    "desired_instance_count",
    "weight",
    "model_name",
    "valid_to",
)


def _digest(rows) -> dict:
    digest, count = hashlib.sha256(), 0
    for row in rows:
        digest.update(repr(tuple(v.isoformat() if hasattr(v, "isoformat") else v for v in row)).encode())
        count += 1
    return {"rows": count, "sha256": digest.hexdigest()}


def fingerprint(account) -> dict:
    """Row counts and checksums of the account's variant-hours, endpoints and open variant configurations."""
    from collectors.models import Endpoint, VariantConfig, VariantHour

    hours = VariantHour.objects.filter(endpoint__account=account).order_by("endpoint__name", "variant_name", "hour")
    endpoints = Endpoint.objects.filter(account=account).order_by("region", "name")
    variants = VariantConfig.objects.filter(endpoint__account=account).order_by(
        "endpoint__name", "variant_name", "valid_from"
    )
    return {
        "hours": _digest(hours.values_list(*HOUR_FIELDS)),
        "endpoints": _digest(endpoints.values_list(*ENDPOINT_FIELDS)),
        "variants": _digest(variants.values_list(*VARIANT_FIELDS)),
    }


def main(account_pk: int) -> None:
    from collectors.models import AwsAccount

    print(json.dumps(fingerprint(AwsAccount.objects.get(pk=account_pk))))
