"""The AWS Sustainability API (``sustainability:GetEstimatedCarbonEmissions``, rest-json), which moto lacks.

SIMULATED FIGURES, not AWS data. For every demo account (``fleet.ACCOUNTS``), region (``fleet.REGIONS``) and
month before the current one (``HISTORY_MONTHS`` back), per service:

- ``AmazonSageMaker``: the demo fleet's hosting in that account and region. Instance-hours of each variant in
  the month (nominal instance count over the part of the month the endpoint existed, relative to ``ANCHOR``,
  the hour this server started: the fleet's own "now"; serverless and failed endpoints run none), times a
  typical power (``KW_PER_VCPU`` per vCPU, ``KW_PER_GPU`` per GPU or accelerator), plus the prod account's
  nightly training job and weekday notebook in us-east-1 (as the cost export bills them), plus a small
  ``SAGEMAKER_BASELINE_KWH`` (Studio, model registry). Facility energy is IT energy × ``PUE``; scope 2 is that
  times a location (``GRID_LBM``) or market (``GRID_MBM``) factor; scope 1 ``SCOPE1_KG_PER_KWH`` per kWh;
  scope 3 adds upstream energy (``UPSTREAM_SHARE`` of scope 2), hardware (``HARDWARE_KG_PER_INSTANCE_HOUR``
  plus ``HARDWARE_KG_PER_GPU_HOUR``) and buildings (``BUILDINGS_KG_PER_KWH``). So AWS's location-based total
  lands above a resource-level estimate, as on AWS: for the prod fleet in us-east-1 roughly 1.8 times Wattson's
  operational plus embodied CO2e of the same hours at half load (wider scope 3, nominal rather than measured power, a
  different grid factor, and the training job and notebook, which are SageMaker but no endpoint).
- Decoy services a collector must not count as SageMaker (``DECOY_KWH``): ``AmazonEC2``, ``AmazonS3`` and
  ``AWSCloudTrail``, which is so small it rounds to 0.0 MTCO2e.

Values are in metric tons CO2e rounded to ``PRECISION_DECIMALS`` (1 kg), as AWS rounds: a month before any
endpoint existed in a place shows SageMaker at 0.0 (below the reporting precision). Every month carries
``BASE_MODEL_VERSION``. Everything is deterministic for a given ``ANCHOR`` (``figures``; tests recompute it).

Revisions: ``POST /_sandbox/aws_carbon`` ``{"revise": {"month": "YYYY-MM", "model_version": "v3.1.0",
"scope2_factor": 0.97, "scope3_factor": 1.12, "account": "111122223333" (optional: every account if absent)}}``
publishes a new model version of that month (scope 2 and 3 scaled, totals recomputed); the API then returns only
the newest version of each month, as AWS does. ``DELETE`` forgets every revision; ``GET`` returns the anchor and
the revisions. ``demo_revision(now)`` is a revision for the demo to publish between two collections (the third
complete month back; not wired into the demo yet).
"""

from __future__ import annotations

import base64
import calendar
import functools
import json
import threading
from datetime import UTC, date, datetime, timedelta

from estimator.catalog import hardware
from sandbox import fleet as fl
from sandbox.cost_export import EXPORTS, HOME_REGION, NOTEBOOK_HOURS, NOTEBOOK_TYPE, TRAINING_TYPE

ANCHOR = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)  # the fleet's "now", to the hour
HISTORY_MONTHS = 15
BASE_MODEL_VERSION = "v3.0.0"
UNIT = "MTCO2e"
PRECISION_DECIMALS = 3  # MTCO2e to 0.001 (1 kg): smaller footprints come back as 0.0
SAGEMAKER = "AmazonSageMaker"
EMISSIONS_TYPES = (
    "TOTAL_LBM_CARBON_EMISSIONS",
    "TOTAL_MBM_CARBON_EMISSIONS",
    "TOTAL_SCOPE_1_CARBON_EMISSIONS",
    "TOTAL_SCOPE_2_LBM_CARBON_EMISSIONS",
    "TOTAL_SCOPE_2_MBM_CARBON_EMISSIONS",
    "TOTAL_SCOPE_3_LBM_CARBON_EMISSIONS",
    "TOTAL_SCOPE_3_MBM_CARBON_EMISSIONS",
)
DEFAULT_TYPES = ("TOTAL_LBM_CARBON_EMISSIONS", "TOTAL_MBM_CARBON_EMISSIONS")
DIMENSIONS = ("USAGE_ACCOUNT_ID", "REGION", "SERVICE")
DEFAULT_MAX_RESULTS, MAX_RESULTS = 1000, 5000

# SIMULATED coefficients (see the module docstring).
KW_PER_VCPU = 0.006
KW_PER_GPU = 0.11
PUE = 1.15
GRID_LBM = {"us-east-1": 0.35, "eu-west-1": 0.296, "eu-north-1": 0.009}  # kg CO2e per kWh, location-based
GRID_MBM = {"us-east-1": 0.021, "eu-west-1": 0.0, "eu-north-1": 0.0}  # after AWS's renewable energy matching
SCOPE1_KG_PER_KWH = 0.003  # backup generators' fuel, refrigerants
UPSTREAM_SHARE = 0.12  # well-to-tank and grid losses, as a share of scope 2
HARDWARE_KG_PER_INSTANCE_HOUR = 0.006
HARDWARE_KG_PER_GPU_HOUR = 0.012
BUILDINGS_KG_PER_KWH = 0.011
SAGEMAKER_BASELINE_KWH = 0.2  # Studio domain, model registry: below the reporting precision on its own
TRAINING_HOURS_PER_DAY = 2.5  # cost_export's nightly job (02:00-04:30 UTC)
DECOY_KWH = {  # per account and region, IT kWh a month
    "AmazonEC2": {fl.PROD: 5200.0, fl.RESEARCH: 1400.0},
    "AmazonS3": {fl.PROD: 95.0, fl.RESEARCH: 30.0},
    "AWSCloudTrail": {fl.PROD: 0.3, fl.RESEARCH: 0.1},
}

_revisions: list[dict] = []
_lock = threading.Lock()


def month_start(day: date | datetime) -> date:
    return date(day.year, day.month, 1)


def next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def published_months(now: datetime) -> list[date]:
    """The months the API has figures for: the ``HISTORY_MONTHS`` before the current one, oldest first."""
    months = [month_start(now)]
    for _ in range(HISTORY_MONTHS):
        months.insert(0, month_start(months[0] - timedelta(days=1)))
    return months[:-1]


def _overlap_hours(start: float, end: float, month: date) -> float:
    first = datetime(month.year, month.month, 1, tzinfo=UTC).timestamp()
    last = datetime.combine(next_month(month), datetime.min.time(), UTC).timestamp()
    return max(0.0, min(end, last) - max(start, first)) / 3600.0


def _devices(instance_type: str) -> tuple[int, int]:
    hw = hardware(instance_type)
    return int(hw["vcpus"]), int(hw["gpu_count"]) + int(hw["accelerator_count"])


@functools.cache
def sagemaker_usage(account: str, region: str, month: date, anchor: datetime = ANCHOR) -> tuple[float, float, float]:
    """(IT kWh, instance-hours, GPU-hours) of SageMaker in one account, region and month."""
    now = anchor.timestamp()
    kwh, instance_hours, gpu_hours = SAGEMAKER_BASELINE_KWH, 0.0, 0.0
    for endpoint in fl.build_fleet():
        if endpoint.account != account or endpoint.region != region or endpoint.status == "Failed":
            continue
        for variant in endpoint.variants:
            if variant.serverless:
                continue
            for segment in fl.segments(endpoint, variant, now):
                hours = _overlap_hours(segment.start, min(segment.end, now), month) * segment.instance_count
                vcpus, gpus = _devices(segment.instance_type)
                kwh += hours * (vcpus * KW_PER_VCPU + gpus * KW_PER_GPU)
                instance_hours += hours
                gpu_hours += hours * gpus
    if account in EXPORTS and region == HOME_REGION:
        days = calendar.monthrange(month.year, month.month)[1]
        weekdays = sum(date(month.year, month.month, d).weekday() < 5 for d in range(1, days + 1))
        for instance_type, hours in (
            (TRAINING_TYPE, TRAINING_HOURS_PER_DAY * days),
            (NOTEBOOK_TYPE, (NOTEBOOK_HOURS[1] - NOTEBOOK_HOURS[0]) * weekdays),
        ):
            vcpus, gpus = _devices(instance_type)
            kwh += hours * (vcpus * KW_PER_VCPU + gpus * KW_PER_GPU)
            instance_hours += hours
            gpu_hours += hours * gpus
    return kwh, instance_hours, gpu_hours


def _emissions_kg(region: str, it_kwh: float, instance_hours: float, gpu_hours: float, revision: dict | None) -> dict:
    facility_kwh = it_kwh * PUE
    scope2_lbm = facility_kwh * GRID_LBM[region]
    scope2_mbm = facility_kwh * GRID_MBM[region]
    scope1 = facility_kwh * SCOPE1_KG_PER_KWH
    fixed = instance_hours * HARDWARE_KG_PER_INSTANCE_HOUR + gpu_hours * HARDWARE_KG_PER_GPU_HOUR
    fixed += facility_kwh * BUILDINGS_KG_PER_KWH
    scope3_lbm = fixed + UPSTREAM_SHARE * scope2_lbm
    scope3_mbm = fixed + UPSTREAM_SHARE * scope2_mbm
    if revision:
        scope2_lbm *= revision["scope2_factor"]
        scope2_mbm *= revision["scope2_factor"]
        scope3_lbm *= revision["scope3_factor"]
        scope3_mbm *= revision["scope3_factor"]
    return {
        "TOTAL_LBM_CARBON_EMISSIONS": scope1 + scope2_lbm + scope3_lbm,
        "TOTAL_MBM_CARBON_EMISSIONS": scope1 + scope2_mbm + scope3_mbm,
        "TOTAL_SCOPE_1_CARBON_EMISSIONS": scope1,
        "TOTAL_SCOPE_2_LBM_CARBON_EMISSIONS": scope2_lbm,
        "TOTAL_SCOPE_2_MBM_CARBON_EMISSIONS": scope2_mbm,
        "TOTAL_SCOPE_3_LBM_CARBON_EMISSIONS": scope3_lbm,
        "TOTAL_SCOPE_3_MBM_CARBON_EMISSIONS": scope3_mbm,
    }


def latest_revision(account: str, month: date, revisions: list[dict] | None = None) -> dict | None:
    """The newest revision published for this account and month (None: ``BASE_MODEL_VERSION``)."""
    found = None
    for revision in _revisions if revisions is None else revisions:
        if revision["month"] == f"{month:%Y-%m}" and revision.get("account") in (None, account):
            found = revision
    return found


def figures(now: datetime, anchor: datetime = ANCHOR, revisions: list[dict] | None = None) -> list[dict]:
    """Every row the API knows at ``now``, unrounded, in kg: ``{"USAGE_ACCOUNT_ID", "REGION", "SERVICE", "month",
    "model_version", "kg": {emissions type: kg}}``, ordered by month, account, region and service."""
    rows = []
    for month in published_months(now):
        for account in sorted(fl.ACCOUNTS):
            revision = latest_revision(account, month, revisions)
            version = revision["model_version"] if revision else BASE_MODEL_VERSION
            for region in fl.REGIONS:
                usage = {SAGEMAKER: sagemaker_usage(account, region, month, anchor)}
                usage |= {service: (kwh[account], 0.0, 0.0) for service, kwh in DECOY_KWH.items()}
                for service in sorted(usage):
                    kg = _emissions_kg(region, *usage[service], revision)
                    rows.append(
                        {
                            "USAGE_ACCOUNT_ID": account,
                            "REGION": region,
                            "SERVICE": service,
                            "month": month,
                            "model_version": version,
                            "kg": kg,
                        }
                    )
    return rows


def mtco2e(kg: float) -> float:
    """AWS's reported value: metric tons, rounded to the reporting precision."""
    return round(kg / 1000.0, PRECISION_DECIMALS)


def demo_revision(now: datetime) -> dict:
    """The revision the demo publishes: the third complete month back, with updated grid and hardware factors."""
    month = published_months(now)[-3]
    return {"month": f"{month:%Y-%m}", "model_version": "v3.1.0", "scope2_factor": 0.97, "scope3_factor": 1.12}


# --- the API -----------------------------------------------------------------------------------------------


class ValidationError(Exception):
    pass


def _timestamp(value) -> datetime:
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso(day: date) -> str:
    return f"{day:%Y-%m-%d}T00:00:00Z"


def parse_request(request: dict) -> dict:
    """The request's parameters, checked as AWS checks them (ValidationError otherwise)."""
    try:
        start, end = _timestamp(request["TimePeriod"]["Start"]), _timestamp(request["TimePeriod"]["End"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationError(f"TimePeriod with Start and End (ISO-8601) is required ({exc})") from exc
    if start >= end:
        raise ValidationError("TimePeriod.Start must be before TimePeriod.End")
    granularity = request.get("Granularity") or "MONTHLY"
    if granularity != "MONTHLY":
        raise ValidationError(f"Granularity {granularity} is not supported by this sandbox; use MONTHLY")
    group_by = list(request.get("GroupBy") or [])
    filters = (request.get("FilterBy") or {}).get("Dimensions") or {}
    for dimension in [*group_by, *filters]:
        if dimension not in DIMENSIONS:
            raise ValidationError(f"unknown dimension {dimension!r}; expected one of {', '.join(DIMENSIONS)}")
    types = list(request.get("EmissionsTypes") or DEFAULT_TYPES)
    if unknown := [t for t in types if t not in EMISSIONS_TYPES]:
        raise ValidationError(f"unknown EmissionsTypes {unknown}")
    max_results = int(request.get("MaxResults") or DEFAULT_MAX_RESULTS)
    if not 1 <= max_results <= MAX_RESULTS:
        raise ValidationError(f"MaxResults must be between 1 and {MAX_RESULTS}")
    return {
        "start": start,
        "end": end,
        "group_by": group_by,
        "filters": filters,
        "types": types,
        "max_results": max_results,
        "offset": _offset(request.get("NextToken")),
    }


def estimated_carbon_emissions(account: str, request: dict, now: datetime) -> dict:
    """The response to one GetEstimatedCarbonEmissions call from ``account`` (its own usage only)."""
    query = parse_request(request)
    start, end, group_by, filters = query["start"], query["end"], query["group_by"], query["filters"]
    types, max_results, offset = query["types"], query["max_results"], query["offset"]
    with _lock:
        revisions = list(_revisions)
    grouped: dict[tuple, dict] = {}
    for row in figures(now, revisions=revisions):
        month_first = datetime.combine(row["month"], datetime.min.time(), UTC)
        if row["USAGE_ACCOUNT_ID"] != account or not start <= month_first < end:
            continue  # a month counts only when the range holds its first day
        if any(row[dim] not in values for dim, values in filters.items()):
            continue
        key = (row["month"], row["model_version"], *(row[dim] for dim in group_by))
        totals = grouped.setdefault(key, dict.fromkeys(EMISSIONS_TYPES, 0.0))
        for emissions_type, kg in row["kg"].items():
            totals[emissions_type] += kg
    results = [
        {
            "TimePeriod": {"Start": _iso(month), "End": _iso(next_month(month))},
            "DimensionsValues": dict(zip(group_by, values, strict=True)),
            "ModelVersion": version,
            "EmissionsValues": {t: {"Value": mtco2e(totals[t]), "Unit": UNIT} for t in types},
        }
        for (month, version, *values), totals in grouped.items()
    ]
    page = results[offset : offset + max_results]
    response: dict = {"Results": page}
    if offset + max_results < len(results):
        response["NextToken"] = base64.urlsafe_b64encode(json.dumps({"offset": offset + max_results}).encode()).decode()
    return response


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValidationError("invalid NextToken") from exc


def _answer(start_response, status: str, payload: dict, error_type: str | None = None):
    body = json.dumps(payload).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    start_response(status, headers)
    return [body]


def respond(environ, start_response, call, body: bytes):
    path = environ.get("PATH_INFO", "").rstrip("/")
    if environ.get("REQUEST_METHOD") != "POST" or path != "/v1/estimated-carbon-emissions":
        message = f"the sandbox answers only GetEstimatedCarbonEmissions, not {environ.get('REQUEST_METHOD')} {path}"
        return _answer(start_response, "404 Not Found", {"message": message}, "ResourceNotFoundException")
    try:
        request = json.loads(body or b"{}")
        payload = estimated_carbon_emissions(call.account, request, datetime.now(UTC))
    except (ValidationError, ValueError) as exc:
        return _answer(start_response, "400 Bad Request", {"message": str(exc)}, "ValidationException")
    return _answer(start_response, "200 OK", payload)


def control(method: str, payload: dict | None) -> dict:
    """``POST {"revise": {...}}`` publishes a revision, ``DELETE`` forgets them all, ``GET`` shows them."""
    with _lock:
        if method == "POST" and payload and "revise" in payload:
            revision = {"model_version": "v3.1.0", "scope2_factor": 1.0, "scope3_factor": 1.0, **payload["revise"]}
            datetime.strptime(revision["month"], "%Y-%m")  # noqa: DTZ007 - a month label, validated only
            _revisions.append(revision)
        elif method == "DELETE":
            _revisions.clear()
        return {"anchor": ANCHOR.isoformat(), "revisions": list(_revisions)}
