"""Configuration history from CloudTrail: what endpoints ran before our first collection, and endpoints deleted
before it.

The inventory only knows what DescribeEndpoint says from the first time it looks; hours before that are costed as
the first configuration seen (``config_assumed``). CloudTrail's ``LookupEvents`` keeps 90 days of management
events per account and region, with each call's request parameters: enough to rebuild which endpoint config each
endpoint ran and when, and to find endpoints that were created and deleted before we looked (their metrics stay in
CloudWatch for 15 months).

Calls: LookupEvents takes one lookup attribute per call, so the events are read with ``EventSource =
sagemaker.amazonaws.com`` and the endpoint and inference-component events picked out here (one paginated lookup
instead of one per event name); 50 events a page, at CloudTrail's 2 requests/s per account and region - botocore's
adaptive retry mode slows the client down when it is throttled. The first run reads the 90 days CloudTrail keeps;
later runs read from the last event seen (the state's watermark), an hour earlier for events CloudTrail delivers
late, and further back for endpoints the inventory first saw since the last run, to their creation. Endpoint
configs are immutable per name and stay after use, so their contents come from DescribeEndpointConfig, or from
the CreateEndpointConfig event's request when the config is gone.

Rows: configurations rebuilt from events are inserted only before the variant's earliest recorded row
(``history_source="cloudtrail"``); an observed row is never overwritten, only dated back when CloudTrail shows
the same endpoint config was in effect earlier. A second run over the same events changes nothing. The hours
collected before the history was known (``config_assumed``) are collected again, so they are costed as the
hardware that ran then and re-estimated (their ``collected_at`` is new).

Without permission to read CloudTrail (AccessDenied) the run succeeds with nothing rebuilt, and says so: the
collection of everything else goes on as before.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Min, OuterRef

from collectors import aws, inference_components
from collectors.errors import describe_client_error, error_code, is_throttling
from collectors.inventory import config_fields, endpoint_mode
from collectors.models import (
    CollectionState,
    ComponentConfig,
    Endpoint,
    InferenceComponent,
    VariantConfig,
    VariantHour,
)
from collectors.models.health import Source
from collectors.utilization import UtilizationResult, attach_gpu_devices, collect_group, floor_hour, targets

EVENT_SOURCE = "sagemaker.amazonaws.com"
RETENTION_DAYS = 90  # LookupEvents returns the last 90 days of management events
LATE_DELIVERY = timedelta(hours=1)  # CloudTrail delivers events within ~15 min; re-read an hour for safety
PAGE_SIZE = 50  # LookupEvents' maximum
DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnrecognizedClientException"}

ENDPOINT_EVENTS = {"CreateEndpoint", "UpdateEndpoint", "DeleteEndpoint", "UpdateEndpointWeightsAndCapacities"}
CONFIG_EVENTS = {"CreateEndpointConfig"}
COMPONENT_EVENTS = {
    "CreateInferenceComponent",
    "UpdateInferenceComponent",
    "UpdateInferenceComponentRuntimeConfig",
    "DeleteInferenceComponent",
}
EVENT_NAMES = ENDPOINT_EVENTS | CONFIG_EVENTS | COMPONENT_EVENTS


@dataclass
class CloudTrailResult:
    readable: bool = True
    denied: str = ""  # the error that kept CloudTrail from being read
    first_collection: str | None = None  # ISO time the region's endpoints were first seen by the inventory
    window_start: str | None = None
    events: int = 0  # SageMaker events of the kinds we use, in the window
    calls: int = 0  # LookupEvents pages
    endpoints_rebuilt: list[str] = field(default_factory=list)  # names whose history changed this run
    config_rows: int = 0  # configuration rows inserted from events
    rows_dated_back: int = 0  # observed rows whose valid_from moved back
    component_rows: int = 0  # inference-component specification rows inserted from events (or dated back)
    discovered: list[str] = field(default_factory=list)  # endpoints deleted before we saw them, created now
    components_discovered: list[str] = field(default_factory=list)  # inference components likewise
    hours: int = 0  # variant-hours collected again with the rebuilt configuration
    earlier_hours: int = 0  # variant-hours of endpoints deleted before the utilization backfill starts
    latest_event: str | None = None
    started_at: str | None = None
    errors: list[dict] = field(default_factory=list)  # {resource, error}: configs that could not be read


@dataclass
class Event:
    name: str
    time: datetime
    event_id: str
    request: dict  # requestParameters, keys in the API's PascalCase
    response: dict


@dataclass
class Span:
    """An endpoint running one endpoint config from ``start`` to ``end`` (None: still running at the last event);
    ``overrides`` are per-variant count and weight changes (UpdateEndpointWeightsAndCapacities)."""

    start: datetime
    end: datetime | None
    config_name: str
    overrides: dict[str, dict] = field(default_factory=dict)


@dataclass
class History:
    """One endpoint's configuration timeline from its events, oldest first."""

    name: str
    spans: list[Span] = field(default_factory=list)
    created: datetime | None = None
    deleted: datetime | None = None  # set when the last endpoint event is DeleteEndpoint
    tags: dict = field(default_factory=dict)
    arn: str = ""

    @property
    def open_span(self) -> Span | None:
        return self.spans[-1] if self.spans and self.spans[-1].end is None else None


def pascal(value):
    """CloudTrail logs request members in lowerCamelCase; the API (and our parsing of it) uses PascalCase."""
    if isinstance(value, dict):
        return {(k[:1].upper() + k[1:]): pascal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [pascal(v) for v in value]
    return value


# --- reading the events -------------------------------------------------------------------------


def lookup(trail, start: datetime, end: datetime, result: CloudTrailResult, resource: str | None = None) -> list[Event]:
    """The successful SageMaker events of the kinds we use between ``start`` and ``end``, oldest first.

    One paginated lookup per event name (a lookup takes one attribute): filtering by the event source instead
    would also page through every read-only Describe/List call made on SageMaker - Wattson's own inventory makes
    a couple per endpoint every hour - which at 2 requests/s could take hours for a large fleet. Names shared with
    other services (e.g. DMS's CreateEndpoint) are dropped by their event source."""
    attributes = (
        [{"AttributeKey": "ResourceName", "AttributeValue": resource}]
        if resource
        else [{"AttributeKey": "EventName", "AttributeValue": name} for name in sorted(EVENT_NAMES)]
    )
    newest_first = []
    for attribute in attributes:
        pages = trail.get_paginator("lookup_events").paginate(
            LookupAttributes=[attribute], StartTime=start, EndTime=end, PaginationConfig={"PageSize": PAGE_SIZE}
        )
        for page in pages:
            result.calls += 1
            newest_first += [e for e in map(parse_event, page.get("Events", [])) if e is not None]
    unique = {e.event_id: e for e in reversed(newest_first)}.values()
    return sorted(unique, key=lambda e: e.time)  # stable: events of the same second keep CloudTrail's order


def parse_event(raw: dict) -> Event | None:
    if raw.get("EventName") not in EVENT_NAMES or raw.get("EventSource", EVENT_SOURCE) != EVENT_SOURCE:
        return None
    try:
        detail = json.loads(raw.get("CloudTrailEvent") or "{}")
    except ValueError:
        return None
    if detail.get("errorCode"):  # a call that failed changed nothing
        return None
    return Event(
        name=raw["EventName"],
        time=raw["EventTime"].astimezone(UTC),
        event_id=raw.get("EventId", ""),
        request=pascal(detail.get("requestParameters") or {}),
        response=pascal(detail.get("responseElements") or {}),
    )


# --- endpoint configs -----------------------------------------------------------------------------


class Configs:
    """Endpoint configs and models by name, each described once per run; a config that cannot be described any
    more is taken from its CreateEndpointConfig event (in the window read, else looked up by name when the window
    did not cover CloudTrail's 90 days: ``find_created``)."""

    def __init__(self, sm, events: list[Event], result: CloudTrailResult, find_created=None):
        self.sm, self.result, self.find_created = sm, result, find_created
        self.created = {
            e.request["EndpointConfigName"]: e.request
            for e in events
            if e.name == "CreateEndpointConfig" and e.request.get("EndpointConfigName")
        }
        self.configs: dict[str, dict | None] = {}
        self.models: dict[str, dict] = {}

    def config(self, name: str) -> dict | None:
        if name not in self.configs:
            self.configs[name] = self.describe(name)
        return self.configs[name]

    def describe(self, name: str) -> dict | None:
        try:
            config = self.sm.describe_endpoint_config(EndpointConfigName=name)
        except ClientError as exc:
            if is_throttling(exc):
                raise
            config = self.created.get(name) or (self.find_created(name) if self.find_created else None)
            if config is None:
                self.result.errors.append({"resource": f"endpoint config {name}", "error": describe_client_error(exc)})
                return None
        for model_name in {v.get("ModelName") for v in config.get("ProductionVariants", []) if v.get("ModelName")}:
            self.model(model_name)
        return config

    def model(self, name: str) -> dict:
        if name not in self.models:
            try:
                self.models[name] = self.sm.describe_model(ModelName=name)
            except ClientError as exc:
                if is_throttling(exc):
                    raise
                self.models[name] = {}  # deleted models leave the mode unknown, as the inventory does
        return self.models[name]

    def variants(self, name: str) -> dict[str, dict]:
        """{variant name: VariantConfig fields} of config ``name`` ({} when it cannot be read)."""
        config = self.config(name)
        if config is None:
            return {}
        metrics = config.get("MetricsConfig")
        return {
            v["VariantName"]: {**config_fields(v, self.models, metrics), "endpoint_config_name": name}
            for v in config.get("ProductionVariants", [])
            if v.get("VariantName")
        }


# --- timelines --------------------------------------------------------------------------------------


def histories(events: list[Event]) -> dict[str, History]:
    """Each endpoint's timeline from its events (oldest first)."""
    found: dict[str, History] = {}
    for event in events:
        name = event.request.get("EndpointName")
        if event.name in ENDPOINT_EVENTS and name:
            apply_event(found.setdefault(name, History(name)), event)
    return found


def apply_event(history: History, event: Event) -> None:
    current = history.open_span
    if current is not None:
        current.end = event.time  # every endpoint event ends the span it interrupts
    if event.name == "DeleteEndpoint":
        history.deleted = event.time
        return
    history.deleted = None  # a name created again after a deletion runs again
    if event.name == "UpdateEndpointWeightsAndCapacities":
        if current is not None:
            history.spans.append(Span(event.time, None, current.config_name, weights(current, event.request)))
        return
    config_name = event.request.get("EndpointConfigName", "")
    if config_name:
        history.spans.append(Span(event.time, None, config_name))
    if event.name == "CreateEndpoint":
        history.created = history.created or event.time
        history.tags = {t.get("Key"): t.get("Value", "") for t in event.request.get("Tags", []) if t.get("Key")}
        history.arn = event.response.get("EndpointArn", history.arn)


def weights(current: Span, request: dict) -> dict[str, dict]:
    overrides = {variant: dict(values) for variant, values in current.overrides.items()}
    for change in request.get("DesiredWeightsAndCapacities", []):
        values = overrides.setdefault(change.get("VariantName", ""), {})
        if change.get("DesiredInstanceCount") is not None:
            values["desired_instance_count"] = change["DesiredInstanceCount"]
        if change.get("DesiredWeight") is not None:
            values["weight"] = change["DesiredWeight"]
    return overrides


# --- writing the history ----------------------------------------------------------------------------


def span_fields(configs: Configs, span: Span, variant: str) -> dict | None:
    fields = configs.variants(span.config_name).get(variant)
    if fields is None:
        return None
    fields = {**fields, "desired_instance_count": fields.get("initial_instance_count")}
    return {**fields, **span.overrides.get(variant, {})}


def span_variants(configs: Configs, span: Span, first_rows: dict[str, VariantConfig]) -> list[str]:
    """The variants of the span's config: the recorded ones when it is a config we recorded (no call), else the
    config's own."""
    recorded = [name for name, row in first_rows.items() if row.endpoint_config_name == span.config_name]
    return recorded or list(configs.variants(span.config_name))


def rebuild(endpoint: Endpoint, history: History, configs: Configs, result: CloudTrailResult) -> bool:
    """Insert the spans that precede each variant's earliest row, latest first; an earliest row running the
    same endpoint config as the span that covers its start is dated back instead. Returns whether anything
    changed."""
    first_rows: dict[str, VariantConfig] = {}
    for row in endpoint.variant_configs.order_by("-valid_from"):
        first_rows[row.variant_name] = row  # the last assignment is the earliest
    # A variant with no row (removed before we looked) ran until the endpoint was first recorded at the latest.
    endpoint_cutoff = min((row.valid_from for row in first_rows.values()), default=None)
    changed = False
    for span in reversed([s for s in history.spans if s.end is None or s.end > s.start]):
        if first_rows and span.start >= max(row.valid_from for row in first_rows.values()):
            continue  # at or after every variant's earliest row: what was observed is what ran
        for variant in span_variants(configs, span, first_rows):
            cutoff = first_rows[variant].valid_from if variant in first_rows else endpoint_cutoff
            if cutoff is None or span.start < cutoff:
                changed |= rebuild_variant(endpoint, span, variant, first_rows, cutoff, configs, result)
    return changed


def rebuild_variant(  # noqa: PLR0913 - one span of one variant, with the run's context
    endpoint: Endpoint,
    span: Span,
    variant: str,
    first_rows: dict[str, VariantConfig],
    cutoff: datetime | None,
    configs: Configs,
    result: CloudTrailResult,
) -> bool:
    """Date the variant's earliest row back to ``span``'s start, or insert the span before ``cutoff``."""
    earliest = first_rows.get(variant)
    if earliest is not None and covers(span, earliest.valid_from) and same_config(span, variant, earliest):
        VariantConfig.objects.filter(pk=earliest.pk).update(valid_from=span.start)
        earliest.valid_from = span.start
        result.rows_dated_back += 1
        return True
    fields = span_fields(configs, span, variant)
    if fields is None:
        return False
    end = span.end if cutoff is None or (span.end is not None and span.end < cutoff) else cutoff
    first_rows[variant] = VariantConfig.objects.create(
        endpoint=endpoint,
        variant_name=variant,
        valid_from=span.start,
        valid_to=end,
        history_source="cloudtrail",
        **{k: v for k, v in fields.items() if v is not None},
    )
    result.config_rows += 1
    return True


def covers(span: Span, moment: datetime) -> bool:
    return span.start < moment and (span.end is None or span.end > moment)


def same_config(span: Span, variant: str, row: VariantConfig) -> bool:
    """Endpoint configs are immutable per name: the same name is the same configuration, unless the span's
    count or weight were changed on their own."""
    return span.config_name == row.endpoint_config_name and variant not in span.overrides


def discover(account, region: str, history: History, configs: Configs, now: datetime) -> Endpoint | None:
    """An endpoint deleted before the inventory saw it, recorded from its events (None when its configuration
    cannot be read)."""
    if history.deleted is None:  # a live endpoint the inventory has not recorded yet: it will
        return None
    spans = [s for s in history.spans if s.end is None or s.end > s.start]
    last = next((s for s in reversed(spans) if configs.config(s.config_name) is not None), None)
    if last is None:
        return None
    config = configs.config(last.config_name) or {}
    capture = config.get("DataCaptureConfig") or {}
    arn = history.arn or f"arn:aws:sagemaker:{region}:{account.account_id}:endpoint/{history.name.lower()}"
    return Endpoint.objects.create(
        account=account,
        region=region,
        name=history.name,
        arn=arn,
        status="Deleted",
        mode=endpoint_mode(config, configs.models),
        config_name=last.config_name,
        tags=history.tags,
        capture_enabled=bool(capture.get("EnableCapture")),
        capture_pct=capture.get("InitialSamplingPercentage"),
        capture_destination=capture.get("DestinationS3Uri", ""),
        created_time=history.created or history.spans[0].start,
        last_modified_time=last.start,
        first_seen=now,
        last_seen=history.deleted,
        deleted_at=history.deleted,
        discovered_from="cloudtrail",
    )


def record(  # noqa: PLR0913 - one run's context travels as arguments
    account, region: str, found: dict[str, History], configs: Configs, now: datetime, result: CloudTrailResult
) -> list[int]:
    """Write every endpoint's rebuilt history; returns the ids of the endpoints whose history changed."""
    known = {e.name: e for e in Endpoint.objects.filter(account=account, region=region, name__in=list(found))}
    changed = []
    for name, history in sorted(found.items()):
        if not history.spans:
            continue
        with transaction.atomic():
            endpoint = known.get(name)
            if endpoint is None:
                endpoint = discover(account, region, history, configs, now)
                if endpoint is None:
                    continue
                result.discovered.append(name)
            if rebuild(endpoint, history, configs, result):
                changed.append(endpoint.pk)
                result.endpoints_rebuilt.append(name)
    return changed


# --- inference components ----------------------------------------------------------------------------


@dataclass
class ComponentSpan:
    start: datetime
    end: datetime | None
    fields: dict  # ComponentConfig fields
    placement: tuple[str, str] = ("", "")  # (EndpointName, VariantName) of its CreateInferenceComponent


def component_histories(events: list[Event]) -> dict[str, list[ComponentSpan]]:
    """Each inference component's specification and copy count over time, from its events (oldest first)."""
    found: dict[str, list[ComponentSpan]] = {}
    for event in events:
        name = event.request.get("InferenceComponentName")
        if event.name in COMPONENT_EVENTS and name:
            apply_component_event(found.setdefault(name, []), event)
    return found


def apply_component_event(spans: list[ComponentSpan], event: Event) -> None:
    current = spans[-1] if spans and spans[-1].end is None else None
    if current is not None:
        current.end = event.time
    request = event.request
    if event.name == "CreateInferenceComponent":
        placement = (request.get("EndpointName") or "", request.get("VariantName") or "")
        spans.append(
            ComponentSpan(event.time, None, component_fields(request, request.get("RuntimeConfig")), placement)
        )
    elif current is not None and event.name == "UpdateInferenceComponent":
        changed = component_fields(request, request.get("RuntimeConfig"))
        fields = {**current.fields, **{k: v for k, v in changed.items() if v not in (None, "")}}
        spans.append(ComponentSpan(event.time, None, fields, current.placement))
    elif current is not None and event.name == "UpdateInferenceComponentRuntimeConfig":
        copies = (request.get("DesiredRuntimeConfig") or {}).get("CopyCount")
        spans.append(
            ComponentSpan(event.time, None, {**current.fields, "desired_copy_count": copies}, current.placement)
        )


def component_fields(request: dict, runtime: dict | None) -> dict:
    """ComponentConfig fields of a Create/UpdateInferenceComponent request (as DescribeInferenceComponent would
    report them)."""
    described = {
        "Specification": request.get("Specification") or {},
        "RuntimeConfig": {"DesiredCopyCount": (runtime or {}).get("CopyCount")},
    }
    fields = inference_components.config_fields(described)
    fields.pop("last_modified_time", None)
    fields.pop("current_copy_count", None)
    return fields


def rebuild_components(
    account, region: str, found: dict[str, list[ComponentSpan]], result: CloudTrailResult
) -> dict[int, datetime]:
    """Specification rows before each recorded component's earliest one, as ``rebuild`` does for variants. Returns,
    per endpoint whose components' history changed, the earliest instant a changed row covers: its component hours
    from then on were costed on the specification assumed before (``recollect_assumed`` collects them again)."""
    components = list(
        InferenceComponent.objects.filter(endpoint__account=account, endpoint__region=region, name__in=found)
    )
    changed: dict[int, datetime] = {}
    known = {component.name for component in components}
    for name, spans in sorted(found.items()):
        if name not in known:
            component = discover_component(account, region, name, spans, result)
            if component is not None:  # its hours: the utilization run's, or collected again from then
                changed[component.endpoint_id] = min(spans[0].start, changed.get(component.endpoint_id, spans[0].start))
    for component in components:
        with transaction.atomic():
            start = rebuild_component(component, found[component.name], result)
        if start is not None:
            changed[component.endpoint_id] = min(start, changed.get(component.endpoint_id, start))
    return changed


def discover_component(
    account, region: str, name: str, spans: list[ComponentSpan], result: CloudTrailResult
) -> InferenceComponent | None:
    """A component deleted before the inventory saw it, on an endpoint we know: recorded as deleted, with its
    specification history from its events (so its hours are collected and it gets its share of its variant's
    energy). One still running that the inventory has not listed is left to the inventory."""
    spans = [span for span in spans if span.end is None or span.end > span.start]
    if not spans or spans[-1].end is None or not spans[0].placement[0]:
        return None
    endpoint_name, variant_name = spans[0].placement
    endpoint = Endpoint.objects.filter(account=account, region=region, name=endpoint_name).first()
    if endpoint is None:
        return None
    deleted = spans[-1].end
    with transaction.atomic():
        component = InferenceComponent.objects.create(
            endpoint=endpoint,
            variant_name=variant_name,
            name=name,
            status="Deleted",
            created_time=spans[0].start,
            last_modified_time=spans[-1].start,
            first_seen=datetime.now(UTC),
            last_seen=deleted,
            deleted_at=deleted,
        )
        for span in spans:
            ComponentConfig.objects.create(
                component=component,
                valid_from=span.start,
                valid_to=span.end,
                history_source="cloudtrail",
                **{k: v for k, v in span.fields.items() if v is not None},
            )
            result.component_rows += 1
    result.components_discovered.append(name)
    return component


def rebuild_component(
    component: InferenceComponent, spans: list[ComponentSpan], result: CloudTrailResult
) -> datetime | None:
    """The component's rebuilt rows; returns the earliest instant from which its per-copy requirements changed
    (None: none did - a copy count alone does not change what the collected hours reserve)."""
    changed_from = None
    earliest = component.configs.order_by("valid_from").first()
    costed_on = earliest  # the row the hours before it were collected with (the first known one stands in)
    for span in reversed([s for s in spans if s.end is None or s.end > s.start]):
        cutoff = earliest.valid_from if earliest is not None else None
        if cutoff is not None and span.start >= cutoff:
            continue
        same = earliest is not None and all(
            getattr(earliest, f) == span.fields.get(f) for f in inference_components.SIGNATURE
        )
        if earliest is not None and cutoff is not None and same and (span.end is None or span.end > cutoff):
            ComponentConfig.objects.filter(pk=earliest.pk).update(valid_from=span.start)
            earliest.valid_from = span.start
        else:
            end = span.end if cutoff is None or (span.end is not None and span.end < cutoff) else cutoff
            if costed_on is not None and any(getattr(costed_on, f) != span.fields.get(f) for f in REQUIREMENTS):
                changed_from = span.start  # its hours were reserved at the first known row's requirements
            earliest = ComponentConfig.objects.create(
                component=component,
                valid_from=span.start,
                valid_to=end,
                history_source="cloudtrail",
                **{k: v for k, v in span.fields.items() if v is not None},
            )
        result.component_rows += 1
    return changed_from


# What a component's hours are reserved by (x copies): a rebuilt row differing in these changes its hours.
REQUIREMENTS = ("cpu_cores_required", "accelerators_required", "min_memory_mb")


# --- hours collected before the history was known ---------------------------------------------------


def recollect_assumed(
    account, region: str, endpoint_ids: list[int], calls: aws.ApiCalls, components: dict[int, datetime] | None = None
) -> int:
    """Collect again, from each endpoint's first hour that was costed on an assumed configuration, the hours of
    the endpoints whose history changed: each hour then carries the hardware that ran in it, and a new
    ``collected_at`` has the estimator estimate it again. ``components``: endpoints whose inference components'
    history changed, from when (their component hours collected since then are collected again, and only those:
    a first run has none). Returns the rows written."""
    firsts = (
        VariantHour.objects.filter(endpoint_id__in=endpoint_ids, config_assumed=True)
        .values("endpoint_id")
        .annotate(first=Min("hour"))
    )
    starts = {row["endpoint_id"]: row["first"] for row in firsts}
    for endpoint_id, changed in (components or {}).items():
        # The endpoint's hours from then on (a component found only now has none of its own yet)
        held = VariantHour.objects.filter(endpoint_id=endpoint_id, hour__gte=floor_hour(changed))
        first = held.aggregate(first=Min("hour"))["first"]
        if first is not None:
            starts[endpoint_id] = min(first, starts.get(endpoint_id, first))
    if not starts:
        return 0
    groups = defaultdict(list)
    for variant in targets(account, region, min(starts.values())):
        if variant.endpoint.pk in starts:
            groups[starts[variant.endpoint.pk]].append(variant)
    cloudwatch = aws.client(account, "cloudwatch", region, calls)
    collected = UtilizationResult(variants=sum(len(g) for g in groups.values()))
    attach_gpu_devices(cloudwatch, [v for group in groups.values() for v in group], collected)
    now = datetime.now(UTC)  # after the history was written: newer than any estimate of the old rows
    for start, group in sorted(groups.items()):
        collect_group(cloudwatch, group, floor_hour(start), now, collected)
    return collected.hours


# --- the run ------------------------------------------------------------------------------------------


def window_start(account, region: str, watermark: datetime | None, previous_run: datetime | None, now: datetime):
    """Where this run reads from: 90 days back the first time; later from the last event seen (less the late
    delivery margin), and back to the creation of endpoints the inventory first saw since the last run."""
    oldest = now - timedelta(days=RETENTION_DAYS)
    if watermark is None:
        return oldest
    start = watermark - LATE_DELIVERY
    if previous_run is not None:
        new = Endpoint.objects.filter(
            account=account, region=region, discovered_from="inventory", first_seen__gte=previous_run
        ).aggregate(created=Min("created_time"))["created"]
        if new is not None:
            start = min(start, new - LATE_DELIVERY)
    return max(start, oldest)


def first_collection(account, region: str) -> datetime | None:
    return Endpoint.objects.filter(account=account, region=region, discovered_from="inventory").aggregate(
        first=Min("first_seen")
    )["first"]


def config_created_by_name(trail, now: datetime, result: CloudTrailResult):
    """A lookup of one endpoint config's CreateEndpointConfig request by its name, over CloudTrail's 90 days."""

    def find(name: str) -> dict | None:
        events = lookup(trail, now - timedelta(days=RETENTION_DAYS), now, result, resource=name)
        created = [
            e for e in events if e.name == "CreateEndpointConfig" and e.request.get("EndpointConfigName") == name
        ]
        return created[-1].request if created else None

    return find


def complete_deleted(trail, found: dict[str, History], known: set[str], start: datetime, now, result) -> None:  # noqa: PLR0913 - one run's context travels as arguments
    """An endpoint deleted in the window but created before it (and never seen by the inventory) has its whole
    history looked up by name: a few calls, for a rare case."""
    oldest = now - timedelta(days=RETENTION_DAYS)
    for name, history in found.items():
        if history.deleted is None or name in known or history.created is not None or start <= oldest:
            continue
        events = lookup(trail, oldest, now, result, resource=name)
        found[name] = histories(events).get(name, history)


def collect_cloudtrail(  # noqa: PLR0913 - one run's context plus the runner's watermark
    account,
    region: str,
    watermark: datetime | None,
    now: datetime,
    calls: aws.ApiCalls,
    previous_run: datetime | None = None,
) -> CloudTrailResult:
    first = first_collection(account, region)
    start = window_start(account, region, watermark, previous_run, now)
    result = CloudTrailResult(
        first_collection=first.isoformat() if first else None,
        window_start=start.isoformat(),
        started_at=now.isoformat(),
    )
    trail = aws.client(account, "cloudtrail", region, calls)
    try:
        events = lookup(trail, start, now, result)
    except ClientError as exc:
        if error_code(exc) not in DENIED_CODES:
            raise
        result.readable, result.denied = False, describe_client_error(exc)
        return result
    result.events = len(events)
    result.latest_event = events[-1].time.isoformat() if events else None
    found = histories(events)
    known = set(Endpoint.objects.filter(account=account, region=region).values_list("name", flat=True))
    complete_deleted(trail, found, known, start, now, result)
    partial = start > now - timedelta(days=RETENTION_DAYS)
    find_created = config_created_by_name(trail, now, result) if partial else None
    configs = Configs(aws.client(account, "sagemaker", region, calls), events, result, find_created)
    changed = record(account, region, found, configs, now, result)
    components = rebuild_components(account, region, component_histories(events), result)
    pending = sorted(set(changed) | set(assumed_with_history(account, region)))
    result.hours = recollect_assumed(account, region, pending, calls, components) if pending or components else 0
    result.earlier_hours = collect_deleted_earlier(account, region, previous_run, calls)
    return result


def collect_deleted_earlier(account, region: str, previous_run: datetime | None, calls: aws.ApiCalls) -> int:
    """Endpoints found through CloudTrail that were deleted before the region's utilization backfill starts: no
    utilization run reads them, yet CloudWatch keeps their hourly data for 15 months. Their hours are collected
    here, over the life their events show (CloudTrail keeps 90 days), once: those found since the last successful
    run (so a run cut short is taken up by the next) that have no hour yet. Returns the rows written."""
    state = CollectionState.objects.filter(account=account, region=region, source=Source.UTILIZATION).first()
    now = datetime.now(UTC)
    lookback = floor_hour(now - timedelta(days=settings.COLLECT_LOOKBACK_DAYS))
    # Before the first utilization success its backfill reads from backfill_from; after it, an endpoint seen for the
    # first time is read back COLLECT_LOOKBACK_DAYS only (runner: ``earliest``).
    backfill = lookback if state is None or state.watermark is not None else (state.backfill_from or lookback)
    lost = Endpoint.objects.filter(
        account=account, region=region, discovered_from="cloudtrail", deleted_at__lt=backfill
    ).exclude(Exists(VariantHour.objects.filter(endpoint_id=OuterRef("pk"))))
    if previous_run is not None:
        lost = lost.filter(first_seen__gte=previous_run)
    ids = set(lost.values_list("pk", flat=True))
    if not ids:
        return 0
    first = VariantConfig.objects.filter(endpoint_id__in=ids).aggregate(first=Min("valid_from"))["first"]
    if first is None:
        return 0
    start = floor_hour(first)
    group = [variant for variant in targets(account, region, start) if variant.endpoint.pk in ids]
    cloudwatch = aws.client(account, "cloudwatch", region, calls)
    collected = UtilizationResult(variants=len(group))
    attach_gpu_devices(cloudwatch, group, collected)
    collect_group(cloudwatch, group, start, now, collected)
    return collected.hours


def assumed_with_history(account, region: str) -> list[int]:
    """Endpoints with hours still costed on an assumed configuration although a configuration rebuilt from
    CloudTrail now covers them: a re-collection that failed in an earlier run (throttled, a worker killed) is
    taken up again from the database, not only from what this run changed."""
    covered = VariantConfig.objects.filter(
        endpoint_id=OuterRef("endpoint_id"),
        variant_name=OuterRef("variant_name"),
        history_source="cloudtrail",
        valid_from__lte=OuterRef("hour"),
    )
    hours = VariantHour.objects.filter(endpoint__account=account, endpoint__region=region, config_assumed=True)
    return sorted(set(hours.filter(Exists(covered)).values_list("endpoint_id", flat=True)))


def new_watermark(result: CloudTrailResult, watermark: datetime | None) -> datetime | None:
    """The end of the window read (never moving back), so a quiet spell is not read again and again; unchanged
    when CloudTrail could not be read. The next run starts an hour before it, for events delivered late."""
    if not result.readable or not result.started_at:
        return watermark
    read_to = datetime.fromisoformat(result.started_at)
    return max(read_to, watermark) if watermark else read_to
