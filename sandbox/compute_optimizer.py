"""AWS Compute Optimizer's ``GetIdleRecommendations`` for the demo fleet, which moto lacks (issue 18).

SIMULATED FINDINGS, not AWS output. Compute Optimizer's model offers two protocols, ``smithy-rpc-v2-cbor`` and
``json``; botocore 1.44 picks ``json`` (``X-Amz-Target``) by default, a client preferring CBOR posts to
``/service/ComputeOptimizerService/operation/...``. Both are answered: CBOR requests are decoded with botocore's
own CBOR parser and answered in CBOR written by botocore's own serializer against the operation's output shape,
so unmodified boto3 parses either exactly as it would AWS's.

What AWS flags, decided from the fleet's definitions alone (deterministic, whatever the clock):

- every endpoint whose traffic stopped at least ``LOOKBACK_DAYS`` (14, AWS's default look-back) ago: behaviour
  ``idle`` with ``idle_days >= 14``, still existing, running instances (not serverless, not ``Failed``: a failed
  endpoint runs and bills nothing). In the demo fleet that is ``bert-experiment-3``. ``legacy-churn-model`` (idle
  9 days) and the generated idle endpoints (idle 3-8 days) still served traffic inside AWS's 14-day window, so
  AWS does not flag them although Wattson does (its team policy calls 7 days without invocations idle): the
  look-back window explains the disagreement;
- one finding only AWS makes (``AWS_ONLY``): ``image-tagger`` (ml-prod, us-east-1), two ml.g4dn.12xlarge whose
  CPU never tops ``AWS_ONLY_CPU_MAX_PCT`` while it serves a trickle (a few requests a second). AWS's simulated
  threshold is on utilization, so it calls the endpoint idle; Wattson sees invocations every hour and calls it
  over-provisioned (right-size), not idle.

Each finding's ``estimatedMonthlySavings`` is the endpoint's on-demand hosting cost (``sandbox.pricing``'s price
of its instance type in its region, times its instance count, times ``HOURS_PER_MONTH``), in USD, 100 % of it;
after discounts ``DISCOUNT_FACTOR`` of that (a simulated Savings Plan). ``utilizationMetrics`` are the maxima
over the look-back window: ``Invocations`` (per minute) and ``CPU`` (percent of the instance, normalised over its
vCPUs). ``lastRefreshTimestamp`` is the start of the current UTC day (AWS refreshes idle findings daily).

Decoys in every account and region of the fleet: an idle ``EC2Instance`` and an ``Unattached`` ``EBSVolume``,
returned when the caller does not filter on ``ResourceType`` (a collector that ignores the filter must ignore
them itself).

The request's ``filters`` (``ResourceType``, ``Finding``), ``resourceArns``, ``accountIds`` (findings are the
caller's account's only), ``orderBy`` (``SavingsValue`` / ``SavingsValueAfterDiscount``, ``Asc`` / ``Desc``;
by resource ARN otherwise) and ``maxResults`` (0-100, default 100) with ``nextToken`` are honoured. Faults
(``AccessDeniedException``, ``OptInRequiredException``) come from the server's ``/_sandbox/faults``.

Control (``/_sandbox/idle_findings``): ``POST {"add": {"account", "region", "endpoint", "instance_type",
"instance_count"?}}`` adds an idle finding for that endpoint, ``POST {"remove": "<resource ARN>"}`` withdraws a
finding (as AWS does once a resource is used again or deleted), ``POST {"ignore_filters": true}`` makes it
answer with every resource type whatever the request's filters (for collectors' defences), ``DELETE`` restores
the fleet's findings, ``GET`` lists every finding per account and region.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
from datetime import UTC, datetime

import botocore.session
import numpy as np
from botocore.parsers import RpcV2CBORParser
from botocore.serialize import RpcV2CBORSerializer

from sandbox import fleet as fl
from sandbox import pricing

LOOKBACK_DAYS = 14
HOURS_PER_MONTH = 730  # AWS's monthly estimates: 730 hours
DISCOUNT_FACTOR = 0.72  # savings after discounts: a simulated Savings Plan covering the hosting at 28 % off
AWS_ONLY = (fl.PROD, "us-east-1", "image-tagger")
AWS_ONLY_CPU_MAX_PCT = 10.0  # the simulated AWS threshold: peak CPU under this over the look-back is idle
PAGE_DEFAULT, PAGE_MAX = 100, 100
SAGEMAKER = "SageMakerEndpoint"
ORDER_KEYS = {"SavingsValue": "savingsOpportunity", "SavingsValueAfterDiscount": "savingsOpportunityAfterDiscounts"}

_lock = threading.Lock()
_added: dict[str, dict] = {}  # resource ARN -> finding added by a test
_removed: set[str] = set()  # resource ARNs withdrawn by a test
_options = {"ignore_filters": False}  # a test makes the sandbox answer with every type, whatever the filter


class RequestError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def endpoint_arn(account: str, region: str, name: str) -> str:
    """As AWS writes it: the endpoint's name in lower case."""
    return f"arn:aws:sagemaker:{region}:{account}:endpoint/{name.lower()}"


def refreshed_at(moment: datetime | None = None) -> datetime:
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def monthly_hosting_usd(instance_type: str, region: str, instance_count: int) -> float:
    return round(pricing.hosting_usd(instance_type, region) * instance_count * HOURS_PER_MONTH, 2)


def aws_flags_idle(endpoint: fl.Endpoint) -> bool:
    """No invocation over AWS's whole look-back, on an endpoint that exists and runs (bills) instances."""
    runs = not endpoint.deleted and endpoint.status != "Failed" and all(not v.serverless for v in endpoint.variants)
    return runs and endpoint.behaviour == fl.IDLE and endpoint.idle_days >= LOOKBACK_DAYS


def _window_maxima(endpoint: fl.Endpoint, refreshed: datetime) -> tuple[float, float]:
    """(max invocations per minute, max CPU %) of the endpoint over the look-back ending at ``refreshed``."""
    end = refreshed.timestamp()
    minutes = np.arange(end - LOOKBACK_DAYS * 86400, end, 60.0)
    invocations, cpu = 0.0, 0.0
    for variant in endpoint.variants:
        s = fl.series(endpoint, variant, minutes, end)
        invocations = max(invocations, float(s["invocations_per_minute"].max()))
        cpu = max(cpu, float(s["cpu_pct"][s["instances"] > 0].max(initial=0.0)))
    return invocations, cpu


def _finding(place: tuple[str, str, str], hosting: tuple[str, int], metrics, refreshed: datetime) -> dict:
    """``place``: (account, region, endpoint name); ``hosting``: (instance type, count); ``metrics``: maxima."""
    account, region, name = place
    instance_type, count = hosting
    arn = endpoint_arn(account, region, name)
    savings = monthly_hosting_usd(instance_type, region, count)
    invocations, cpu = metrics
    traffic = "no invocations" if invocations == 0 else f"at most {invocations:.0f} invocations a minute"
    return {
        "resourceArn": arn,
        "resourceId": name.lower(),
        "resourceType": SAGEMAKER,
        "accountId": account,
        "finding": "Idle",
        "findingDescription": (
            f"Endpoint {name} had {traffic} and a peak CPU utilization of {cpu:.1f}% over the past "
            f"{LOOKBACK_DAYS} days. Delete it to stop paying for "
            f"{count} {instance_type} instance{'s' if count > 1 else ''}."
        ),
        "savingsOpportunity": {
            "savingsOpportunityPercentage": 100.0,
            "estimatedMonthlySavings": {"currency": "USD", "value": savings},
        },
        "savingsOpportunityAfterDiscounts": {
            "savingsOpportunityPercentage": 100.0,
            "estimatedMonthlySavings": {"currency": "USD", "value": round(savings * DISCOUNT_FACTOR, 2)},
        },
        "utilizationMetrics": [
            {"name": "Invocations", "statistic": "Maximum", "value": invocations},
            {"name": "CPU", "statistic": "Maximum", "value": round(cpu, 2)},
        ],
        "lookBackPeriodInDays": float(LOOKBACK_DAYS),
        "lastRefreshTimestamp": refreshed,
        "tags": [],
    }


def _decoys(account: str, region: str, refreshed: datetime) -> list[dict]:
    digest = hashlib.sha256(f"{account}/{region}".encode()).hexdigest()
    instance, volume = f"i-{digest[:17]}", f"vol-{digest[17:34]}"
    common = {"accountId": account, "lookBackPeriodInDays": float(LOOKBACK_DAYS), "lastRefreshTimestamp": refreshed}

    def savings(usd: float) -> dict:
        return {"savingsOpportunityPercentage": 100.0, "estimatedMonthlySavings": {"currency": "USD", "value": usd}}

    return [
        {
            **common,
            "resourceArn": f"arn:aws:ec2:{region}:{account}:instance/{instance}",
            "resourceId": instance,
            "resourceType": "EC2Instance",
            "finding": "Idle",
            "findingDescription": "Peak CPU utilization under 5% and network under 5 MB a day over 14 days.",
            "savingsOpportunity": savings(70.08),
            "savingsOpportunityAfterDiscounts": savings(70.08),
            "utilizationMetrics": [{"name": "CPU", "statistic": "Maximum", "value": 1.2}],
        },
        {
            **common,
            "resourceArn": f"arn:aws:ec2:{region}:{account}:volume/{volume}",
            "resourceId": volume,
            "resourceType": "EBSVolume",
            "finding": "Unattached",
            "findingDescription": "The volume has been unattached for 32 days.",
            "lookBackPeriodInDays": 32.0,
            "savingsOpportunity": savings(8.0),
            "savingsOpportunityAfterDiscounts": savings(8.0),
            "utilizationMetrics": [],
        },
    ]


def fleet_findings(refreshed: datetime) -> dict[tuple[str, str], list[dict]]:
    """Every finding the simulated AWS makes for the demo fleet, per (account, region), before test changes."""
    out: dict[tuple[str, str], list[dict]] = {(a, r): _decoys(a, r, refreshed) for a in fl.ACCOUNTS for r in fl.REGIONS}
    for endpoint in fl.build_fleet():
        place = (endpoint.account, endpoint.region, endpoint.name)
        if not aws_flags_idle(endpoint) and place != AWS_ONLY:
            continue
        variant = endpoint.variants[0]
        count = sum(v.instance_count for v in endpoint.variants)
        metrics = _window_maxima(endpoint, refreshed)
        if place == AWS_ONLY and metrics[1] >= AWS_ONLY_CPU_MAX_PCT:
            continue  # the fleet changed: AWS's threshold no longer holds
        out[(endpoint.account, endpoint.region)].append(
            _finding(place, (str(variant.instance_type), count), metrics, refreshed)
        )
    return out


def findings(account: str, region: str, refreshed: datetime | None = None) -> list[dict]:
    """What ``GetIdleRecommendations`` knows in one account and region now (test changes applied)."""
    refreshed = refreshed or refreshed_at()
    with _lock:
        added = [f for f in _added.values() if f["accountId"] == account and f["resourceArn"].split(":")[3] == region]
        removed = set(_removed)
    known = fleet_findings(refreshed).get((account, region), []) + added
    return [{**f, "lastRefreshTimestamp": refreshed} for f in known if f["resourceArn"] not in removed]


def _matches(finding: dict, request: dict) -> bool:
    for rule in [] if _options["ignore_filters"] else request.get("filters") or []:
        field = {"ResourceType": "resourceType", "Finding": "finding"}.get(rule.get("name"))
        if field is None:
            raise RequestError("InvalidParameterValueException", f"invalid filter name {rule.get('name')!r}")
        if finding[field] not in (rule.get("values") or []):
            return False
    arns = request.get("resourceArns")
    return not arns or finding["resourceArn"] in arns


def answer(account: str, region: str, request: dict) -> dict:
    """The ``GetIdleRecommendations`` response (a dict in the output shape) to a decoded request."""
    ids = request.get("accountIds")
    if ids and any(not (isinstance(i, str) and i.isdigit() and len(i) == 12) for i in ids):
        raise RequestError("InvalidParameterValueException", "accountIds must be 12-digit account ids")
    size = request.get("maxResults", PAGE_DEFAULT)
    if not isinstance(size, int) or not 0 <= size <= PAGE_MAX:
        raise RequestError("InvalidParameterValueException", f"maxResults must be between 0 and {PAGE_MAX}")
    rows = [f for f in findings(account, region) if (not ids or account in ids) and _matches(f, request)]
    rows.sort(key=lambda f: f["resourceArn"])
    order = request.get("orderBy") or {}
    if order.get("dimension"):
        key = ORDER_KEYS.get(order["dimension"])
        if key is None:
            raise RequestError("InvalidParameterValueException", f"invalid orderBy dimension {order['dimension']!r}")
        rows.sort(key=lambda f: f[key]["estimatedMonthlySavings"]["value"], reverse=order.get("order") == "Desc")
    start = _offset(request.get("nextToken"))
    page = rows[start : start + (size or PAGE_DEFAULT)]
    response: dict = {"idleRecommendations": page, "errors": []}
    if start + len(page) < len(rows):
        response["nextToken"] = base64.urlsafe_b64encode(json.dumps({"offset": start + len(page)}).encode()).decode()
    return response


def _offset(token) -> int:
    if not token:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
    except (ValueError, KeyError, TypeError) as exc:
        raise RequestError("InvalidParameterValueException", "invalid nextToken") from exc


# --- the wire: smithy-rpc-v2-cbor ---------------------------------------------------------------------------------

_MODEL = botocore.session.get_session().get_service_model("compute-optimizer")
_OPERATIONS = {"GetIdleRecommendations": answer}


def decode(body: bytes) -> dict:
    """A CBOR request body as a dict (botocore's own CBOR reader)."""
    if not body:
        return {}
    parser = RpcV2CBORParser()
    return parser.parse_data_item(parser.get_peekable_stream_from_bytes(body))


def encode(operation: str, payload: dict) -> bytes:
    """A response dict as CBOR against the operation's output shape (botocore's own CBOR writer)."""
    serialized = bytearray()
    RpcV2CBORSerializer()._serialize_data_item(serialized, payload, _MODEL.operation_model(operation).output_shape)
    return bytes(serialized)


def _json_default(value):
    if isinstance(value, datetime):
        return value.timestamp()  # awsJson: timestamps as epoch seconds
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def respond(environ, start_response, call, body: bytes):
    """Answer in the protocol the client spoke: rpc-v2-cbor (``/service/.../operation/...``) or awsJson1_0
    (``X-Amz-Target``), which botocore 1.44 still picks by default for this service."""
    cbor = call.protocol == "cbor"
    if cbor:
        headers = [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")]
    else:
        headers = [("Content-Type", "application/x-amz-json-1.0")]
    handler = _OPERATIONS.get(call.operation)
    try:
        if handler is None:
            raise RequestError("UnknownOperationException", f"{call.operation} is not simulated by the sandbox")
        request = decode(body) if cbor else json.loads(body or b"{}")
        if not isinstance(request, dict):
            raise RequestError("SerializationException", "the request body is not a map")
        answered = handler(call.account, call.region, request)
        payload = encode(call.operation, answered) if cbor else json.dumps(answered, default=_json_default).encode()
        status = "200 OK"
    except (RequestError, ValueError, TypeError, io.UnsupportedOperation) as exc:
        code = exc.code if isinstance(exc, RequestError) else "SerializationException"
        payload, status = _error_body(code, str(exc), cbor), "400 Bad Request"
    start_response(status, headers + [("Content-Length", str(len(payload)))])
    return [payload]


def _error_body(code: str, message: str, cbor: bool) -> bytes:
    if not cbor:
        return json.dumps({"__type": code, "message": message}).encode()
    from sandbox.server import cbor_error_body  # the server imports this module

    return cbor_error_body(code, message)


def control(method: str, payload: dict | None) -> dict:
    with _lock:
        if method == "DELETE":
            _added.clear()
            _removed.clear()
            _options["ignore_filters"] = False
        elif method == "POST" and payload:
            if "ignore_filters" in payload:
                _options["ignore_filters"] = bool(payload["ignore_filters"])
            if "remove" in payload:
                _removed.add(payload["remove"])
            if "add" in payload:
                spec = payload["add"]
                account, region, name = spec["account"], spec["region"], spec["endpoint"]
                count = int(spec.get("instance_count", 1))
                finding = _finding((account, region, name), (spec["instance_type"], count), (0.0, 0.5), refreshed_at())
                _added[finding["resourceArn"]] = finding
                _removed.discard(finding["resourceArn"])
        added, removed = sorted(_added), sorted(_removed)
    listing = {
        f"{account} {region}": [f["resourceArn"] for f in findings(account, region)]
        for account in sorted({*fl.ACCOUNTS, *(a.split(":")[4] for a in added)})
        for region in fl.REGIONS
    }
    return {"added": added, "removed": removed, "ignore_filters": _options["ignore_filters"], "findings": listing}
