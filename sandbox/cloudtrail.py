"""CloudTrail management events for the sandbox: an event store per account and region, and ``LookupEvents``.

moto 5.2.5 keeps trails but records no events and has no ``LookupEvents``. Wattson reads CloudTrail to
rebuild endpoint configurations from before its first collection and to find endpoints deleted before it,
so the sandbox keeps what AWS's event history would hold:

- events recorded *live* for the mutating SageMaker calls made through the sandbox (``patches.py`` wraps
  those responses), so a test that changes AWS state sees CloudTrail follow;
- events *seeded*, backdated, for the fleet's history (``seed.py`` posts them to ``POST /_sandbox/cloudtrail``).

``LookupEvents`` follows the documented rules: only the last 90 days, newest first, ``MaxResults`` 1-50 with
``NextToken``, at most one ``LookupAttributes`` entry, ``StartTime``/``EndTime``. Each event's
``CloudTrailEvent`` is the JSON record with ``requestParameters`` in lowerCamelCase, as CloudTrail logs them.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from moto.cloudtrail import models as ct_models
from moto.cloudtrail.responses import CloudTrailResponse
from moto.core.exceptions import JsonRESTError

RETENTION_DAYS = 90
MAX_RESULTS = 50
EVENT_SOURCE = "sagemaker.amazonaws.com"
DEFAULT_USERNAME = "sandbox-admin"
LOOKUP_KEYS = {
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
}
# Which request member names a SageMaker resource: (member, CloudFormation resource type).
RESOURCE_MEMBERS = (
    ("EndpointName", "AWS::SageMaker::Endpoint"),
    ("EndpointConfigName", "AWS::SageMaker::EndpointConfig"),
    ("InferenceComponentName", "AWS::SageMaker::InferenceComponent"),
    ("ModelName", "AWS::SageMaker::Model"),
    ("NotebookInstanceName", "AWS::SageMaker::NotebookInstance"),
    ("AppName", "AWS::SageMaker::App"),
)


class CloudTrailError(JsonRESTError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


def lower_camel(value):
    """``{"ProductionVariants": [{"VariantName": ...}]}`` -> ``{"productionVariants": [{"variantName": ...}]}``."""
    if isinstance(value, dict):
        return {(k[:1].lower() + k[1:]): lower_camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lower_camel(v) for v in value]
    return value


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_datetime(value) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def resources_of(request_parameters: dict) -> list[dict]:
    """The resources a SageMaker request names (either case of member names is accepted)."""
    found = []
    for member, resource_type in RESOURCE_MEMBERS:
        name = request_parameters.get(member) or request_parameters.get(member[:1].lower() + member[1:])
        if isinstance(name, str) and name:
            found.append({"ResourceType": resource_type, "ResourceName": name})
    return found


@dataclass
class Event:
    event_id: str
    event_name: str
    event_time: datetime
    account: str
    region: str
    request_parameters: dict
    response_elements: dict | None = None
    username: str = DEFAULT_USERNAME
    event_source: str = EVENT_SOURCE
    resources: list[dict] = field(default_factory=list)
    access_key_id: str = "ASIASANDBOX000000000"
    sequence: int = 0  # insertion order: breaks ties between events of the same second

    def record(self) -> dict:
        """The ``CloudTrailEvent`` JSON record."""
        return {
            "eventVersion": "1.09",
            "userIdentity": {
                "type": "IAMUser",
                "accountId": self.account,
                "userName": self.username,
                "accessKeyId": self.access_key_id,
            },
            "eventTime": iso_z(self.event_time),
            "eventSource": self.event_source,
            "eventName": self.event_name,
            "awsRegion": self.region,
            "sourceIPAddress": "203.0.113.10",
            "userAgent": "aws-cli/2.15.0",
            "requestParameters": lower_camel(self.request_parameters),
            "responseElements": lower_camel(self.response_elements) if self.response_elements else None,
            "requestID": str(uuid.UUID(self.event_id).int % 10**12).zfill(12),
            "eventID": self.event_id,
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": self.account,
            "eventCategory": "Management",
        }

    def lookup_values(self, key: str) -> list[str]:
        return {
            "EventId": [self.event_id],
            "EventName": [self.event_name],
            "ReadOnly": ["false"],
            "Username": [self.username],
            "ResourceType": [r["ResourceType"] for r in self.resources],
            "ResourceName": [r["ResourceName"] for r in self.resources],
            "EventSource": [self.event_source],
            "AccessKeyId": [self.access_key_id],
        }[key]

    def summary(self) -> dict:
        return {
            "EventId": self.event_id,
            "EventName": self.event_name,
            "ReadOnly": "false",
            "AccessKeyId": self.access_key_id,
            "EventTime": self.event_time.timestamp(),
            "EventSource": self.event_source,
            "Username": self.username,
            "Resources": self.resources,
            "CloudTrailEvent": json.dumps(self.record()),
        }


class EventStore:
    """The event history of one account and region."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def add(self, spec: dict) -> Event:
        """Record one event: {account, region, event_name, request_parameters, event_time?, response_elements?,
        username?, resources?, event_source?} (no event_time: now)."""
        params = spec.get("request_parameters") or {}
        moment = to_datetime(spec["event_time"]) if spec.get("event_time") is not None else datetime.now(UTC)
        resources = spec.get("resources")
        event = Event(
            event_id=str(uuid.uuid4()),
            event_name=spec["event_name"],
            event_time=moment.replace(microsecond=0),
            account=spec["account"],
            region=spec["region"],
            request_parameters=params,
            response_elements=spec.get("response_elements"),
            username=spec.get("username") or DEFAULT_USERNAME,
            event_source=spec.get("event_source") or EVENT_SOURCE,
            resources=resources if resources is not None else resources_of(params),
        )
        with self._lock:
            event.sequence = len(self.events)
            self.events.append(event)
        return event

    def clear(self) -> None:
        with self._lock:
            self.events.clear()

    def lookup(self, params: dict, now: datetime | None = None) -> dict:
        now = now or datetime.now(UTC)
        attributes = params.get("LookupAttributes") or []
        if len(attributes) > 1:
            raise CloudTrailError(
                "InvalidLookupAttributesException", "You cannot specify more than one lookup attribute."
            )
        for attribute in attributes:
            if attribute.get("AttributeKey") not in LOOKUP_KEYS:
                raise CloudTrailError(
                    "InvalidLookupAttributesException", f"Invalid attribute key: {attribute.get('AttributeKey')}"
                )
        max_results = int(params.get("MaxResults") or MAX_RESULTS)
        if not 1 <= max_results <= MAX_RESULTS:
            raise CloudTrailError(
                "InvalidMaxResultsException", f"MaxResults must be between 1 and {MAX_RESULTS} (got {max_results})."
            )
        oldest = now - timedelta(days=RETENTION_DAYS)
        start = to_datetime(params["StartTime"]) if params.get("StartTime") else oldest
        end = to_datetime(params["EndTime"]) if params.get("EndTime") else now
        if start > end:
            raise CloudTrailError("InvalidTimeRangeException", "StartTime must be before EndTime.")
        start = max(start, oldest)  # older events are gone
        with self._lock:
            events = list(self.events)
        matched = [
            e
            for e in events
            if start <= e.event_time <= end
            and all(a.get("AttributeValue") in e.lookup_values(a["AttributeKey"]) for a in attributes)
        ]
        matched.sort(key=lambda e: (e.event_time, e.sequence), reverse=True)
        offset = _decode_token(params["NextToken"]) if params.get("NextToken") else 0
        page = matched[offset : offset + max_results]
        result: dict = {"Events": [e.summary() for e in page]}
        if offset + max_results < len(matched):
            result["NextToken"] = base64.urlsafe_b64encode(
                json.dumps({"offset": offset + max_results}).encode()
            ).decode()
        return result


def _decode_token(token: str) -> int:
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
    except (ValueError, KeyError, TypeError):
        raise CloudTrailError("InvalidNextTokenException", "Invalid NextToken.") from None


def event_store(account: str, region: str) -> EventStore:
    """The store lives on moto's CloudTrail backend of that account and region (so a moto reset clears it too)."""
    backend = ct_models.cloudtrail_backends[account][region]
    store = getattr(backend, "_sandbox_event_store", None)
    if store is None:
        store = backend._sandbox_event_store = EventStore()
    return store


def all_stores():
    for account, regions in list(ct_models.cloudtrail_backends.items()):
        for region, backend in list(regions.items()):
            store = getattr(backend, "_sandbox_event_store", None)
            if store is not None:
                yield account, region, store


def add_events(events: list[dict]) -> int:
    """Seed events: each {account, region, event_name, event_time, request_parameters, response_elements?,
    username?, resources?} (the control route ``POST /_sandbox/cloudtrail`` and in-process seeding use this)."""
    for spec in events:
        event_store(spec["account"], spec["region"]).add(spec)
    return len(events)


def clear_events(account: str | None = None, region: str | None = None) -> None:
    for a, r, store in list(all_stores()):
        if account in (None, a) and region in (None, r):
            store.clear()


def _lookup_events(self) -> str:
    params = json.loads(self.body or "{}")  # moto's _get_params flattens this old-style JSON service's lists
    return json.dumps(event_store(self.current_account, self.region).lookup(params))


def patch_cloudtrail() -> None:
    CloudTrailResponse.lookup_events = _lookup_events
