"""The ``notebooks`` collector (issue 19): notebook instances (with their lifecycle configurations) and Studio apps,
their running history and their hours.

- Notebook instances: ListNotebookInstances -> DescribeNotebookInstance -> ListTags; the lifecycle configuration a
  notebook runs (DescribeNotebookInstanceLifecycleConfig, once per configuration per run) gives ``auto_stop``: its
  base64 OnStart script stops the instance when idle (AWS's "auto-stop-idle" sample: ``autostop``, or ``idle``
  with ``stop-notebook-instance``). No configuration: ``auto_stop`` false.
- Studio: ListDomains -> DescribeDomain -> ListApps per domain -> DescribeApp (+ DescribeSpace for a space's app,
  once per space) -> ListTags. ``auto_stop``: idle shutdown of the app type (JupyterLab, Code Editor) is
  ENABLED at the domain (``AppLifecycleManagement.IdleSettings.LifecycleManagement`` in its default space or user
  settings) with a timeout in effect (the space's, else the domain's). An app is named
  ``<domain>/<space or user profile>/<app type>/<app name>`` (unique per domain).
- History: CloudTrail LookupEvents (one paginated lookup per event name) for Create/Start/Stop/
  DeleteNotebookInstance and CreateApp/DeleteApp since the last run (an hour earlier for late deliveries; the first
  run reads the last ``COLLECT_LOOKBACK_DAYS``) open and close ``WorkloadStatusSpan`` rows (origin "cloudtrail"),
  at most one open per workload. Without CloudTrail access (AccessDenied) the run goes on and says so
  (``cloudtrail_readable`` false): spans then only follow the status successive collections observe (origin
  "observed", dated at the notebook's LastModifiedTime or the app's CreationTime where plausible, else now).
  A notebook or app created and deleted between two collections is known from its CreateNotebookInstance/CreateApp
  event alone.
- Hours: one ``WorkloadHour`` per hour while in service (fractions at the edges), ``util_source`` "assumed" and no
  utilization (AWS publishes no host metric for them), rebuilt over the hours whose spans changed and the last few
  hours of those still running; none before ``COLLECT_LOOKBACK_DAYS`` ago.
- Notebooks and apps missing from the listings are marked ``deleted_at`` (the DeleteNotebookInstance/DeleteApp
  event's time where known, else when last seen) and their open span closed.

One resource's error is listed in ``errors`` and the run goes on; throttling fails the run.
"""

from __future__ import annotations

import base64
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from django.conf import settings
from django.db import transaction

from collectors import aws
from collectors.cloudtrail import DENIED_CODES, LATE_DELIVERY, PAGE_SIZE, pascal
from collectors.errors import describe_client_error, error_code, is_throttling
from collectors.models import Workload, WorkloadHour, WorkloadStatusSpan
from collectors.models.workloads import WorkloadKind
from collectors.utilization import floor_hour, known_hardware

EVENT_SOURCE = "sagemaker.amazonaws.com"
EVENT_STATUS = {
    "CreateNotebookInstance": "InService",
    "StartNotebookInstance": "InService",
    "StopNotebookInstance": "Stopped",
    "DeleteNotebookInstance": "Deleted",
    "CreateApp": "InService",
    "DeleteApp": "Deleted",
}
NOTEBOOK_EVENTS = ("CreateNotebookInstance", "StartNotebookInstance", "StopNotebookInstance", "DeleteNotebookInstance")
# AWS statuses -> the span's: billed while pending, in service, updating or stopping.
SPAN_STATUS = {
    "Pending": "InService",
    "InService": "InService",
    "Updating": "InService",
    "Stopping": "InService",
    "Stopped": "Stopped",
    "Failed": "Failed",
    "Deleting": "Deleted",
    "Deleted": "Deleted",
}
RUNNING = "InService"
AUTO_STOP = re.compile(r"auto-?stop|stop[-_]notebook[-_]instance", re.IGNORECASE)
IDLE = re.compile(r"idle", re.IGNORECASE)
STOP = re.compile(r"stop", re.IGNORECASE)
APP_SETTINGS = {"JupyterLab": "JupyterLabAppSettings", "CodeEditor": "CodeEditorAppSettings"}
HOUR = timedelta(hours=1)


@dataclass
class NotebooksResult:
    notebooks: int = 0
    apps: int = 0
    hours: int = 0  # WorkloadHour rows written (the estimation signal counts them)
    spans: int = 0
    errors: list[dict] = field(default_factory=list)
    deleted: int = 0
    discovered: int = 0  # created and deleted between collections: known from CloudTrail alone
    events: int = 0
    cloudtrail_readable: bool = True
    cloudtrail_denied: str = ""  # why the history only follows what collections observe
    history: str = "cloudtrail"  # "cloudtrail" or "observed"


def auto_stop_script(script: str) -> bool:
    """True when a lifecycle configuration's script stops the notebook instance when it is idle."""
    return bool(AUTO_STOP.search(script)) or bool(IDLE.search(script) and STOP.search(script))


def decoded(content: str) -> str:
    try:
        return base64.b64decode(content).decode("utf-8", "replace")
    except (ValueError, TypeError):
        return content or ""


def app_name(domain: str, owner: str, app_type: str, name: str) -> str:
    return f"{domain}/{owner}/{app_type}/{name}"


@dataclass
class Change:
    """A status change of one workload, from CloudTrail: ``status`` from ``time``."""

    time: datetime
    status: str
    event: str
    request: dict


@dataclass
class Run:
    account: Any
    region: str
    sm: Any
    now: datetime
    result: NotebooksResult
    changes: dict[tuple[str, str], list[Change]] = field(default_factory=dict)
    seen: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    complete: dict[str, bool] = field(
        default_factory=lambda: {WorkloadKind.NOTEBOOK: True, WorkloadKind.STUDIO_APP: True}
    )
    lifecycle: dict[str, bool | None] = field(default_factory=dict)
    spaces: dict[tuple[str, str], dict] = field(default_factory=dict)
    observed: dict[int, tuple[str, datetime]] = field(default_factory=dict)  # pk -> (span status, since)
    changed_from: dict[int, datetime] = field(default_factory=dict)  # pk -> earliest moment its spans changed
    since: datetime | None = None  # the start of the CloudTrail window read


def collect_notebooks(
    account, region: str, watermark: datetime | None, now: datetime, calls: aws.ApiCalls
) -> NotebooksResult:
    result = NotebooksResult()
    run = Run(account, region, aws.client(account, "sagemaker", region, calls), now, result)
    since = watermark - LATE_DELIVERY if watermark else floor_hour(now - timedelta(days=settings.COLLECT_LOOKBACK_DAYS))
    run.since = since
    run.changes = read_events(aws.client(account, "cloudtrail", region, calls), since, now, result)
    collect_instances(run)
    collect_apps(run)
    discover(run)
    for workload in Workload.objects.filter(account=account, region=region, kind__in=list(run.complete)):
        key = (workload.kind, workload.name)
        with transaction.atomic():
            apply_changes(run, workload, run.changes.get(key, []))
            if workload.pk in run.observed:
                apply_observed(run, workload, *run.observed[workload.pk])
            elif (
                workload.deleted_at is None
                and run.complete[workload.kind]
                and workload.name not in run.seen[workload.kind]  # listed but not described: an error, not gone
            ):
                mark_deleted(run, workload, run.changes.get(key, []))
    result.hours = write_hours(run, watermark)
    return result


# --- CloudTrail ------------------------------------------------------------------------------------


def read_events(trail, since: datetime, now: datetime, result: NotebooksResult) -> dict[tuple[str, str], list[Change]]:
    changes: dict[tuple[str, str], list[Change]] = defaultdict(list)
    seen_ids: set[str] = set()
    try:
        for event_name in EVENT_STATUS:
            pages = trail.get_paginator("lookup_events").paginate(
                LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": event_name}],
                StartTime=since,
                EndTime=now,
                PaginationConfig={"PageSize": PAGE_SIZE},
            )
            for page in pages:
                for raw in page.get("Events", []):
                    parsed = parse_event(raw)
                    if parsed is None or raw.get("EventId", "") in seen_ids:
                        continue
                    seen_ids.add(raw.get("EventId", ""))
                    key, change = parsed
                    changes[key].append(change)
                    result.events += 1
    except ClientError as exc:
        if error_code(exc) not in DENIED_CODES:
            raise
        result.cloudtrail_readable, result.cloudtrail_denied = False, describe_client_error(exc)
        result.history = "observed"
        return {}
    for found in changes.values():
        found.sort(key=lambda c: c.time)
    return dict(changes)


def parse_event(raw: dict) -> tuple[tuple[str, str], Change] | None:
    name = raw.get("EventName", "")
    if name not in EVENT_STATUS or raw.get("EventSource", EVENT_SOURCE) != EVENT_SOURCE:
        return None
    try:
        detail = json.loads(raw.get("CloudTrailEvent") or "{}")
    except ValueError:
        return None
    if detail.get("errorCode"):
        return None
    request = pascal(detail.get("requestParameters") or {})
    if name in NOTEBOOK_EVENTS:
        if not request.get("NotebookInstanceName"):
            return None
        key = (WorkloadKind.NOTEBOOK.value, request["NotebookInstanceName"])
    else:
        owner = request.get("SpaceName") or request.get("UserProfileName")
        if not (request.get("DomainId") and owner and request.get("AppType") and request.get("AppName")):
            return None
        key = (
            WorkloadKind.STUDIO_APP.value,
            app_name(request["DomainId"], owner, request["AppType"], request["AppName"]),
        )
    return key, Change(raw["EventTime"].astimezone(UTC), EVENT_STATUS[name], name, request)


# --- notebook instances ----------------------------------------------------------------------------


def collect_instances(run: Run) -> None:
    for page in run.sm.get_paginator("list_notebook_instances").paginate(PaginationConfig={"PageSize": 100}):
        for summary in page.get("NotebookInstances", []):
            name = summary["NotebookInstanceName"]
            run.seen[WorkloadKind.NOTEBOOK].add(name)
            try:
                described = run.sm.describe_notebook_instance(NotebookInstanceName=name)
            except ClientError as exc:
                if is_throttling(exc):
                    raise
                run.result.errors.append({"resource": f"notebook {name}", "error": describe_client_error(exc)})
                continue
            existing = Workload.objects.filter(
                account=run.account, region=run.region, kind=WorkloadKind.NOTEBOOK, name=name
            ).first()
            workload = existing or Workload(
                account=run.account, region=run.region, kind=WorkloadKind.NOTEBOOK, name=name, first_seen=run.now
            )
            workload.arn = described.get("NotebookInstanceArn", "")
            workload.status = described.get("NotebookInstanceStatus", "")
            workload.failure_reason = described.get("FailureReason", "")
            workload.instance_type = described.get("InstanceType", "")
            workload.instance_count = 1
            workload.volume_size_gb = described.get("VolumeSizeInGB")
            workload.family = name
            workload.created_time = described.get("CreationTime")
            workload.last_modified_time = described.get("LastModifiedTime")
            workload.lifecycle_config_name = described.get("NotebookInstanceLifecycleConfigName", "")
            workload.auto_stop = lifecycle_auto_stop(run, workload.lifecycle_config_name, name)
            workload.tags = tags_of(run, workload.arn, name, workload.tags if existing else {})
            workload.last_seen, workload.deleted_at = run.now, None
            workload.save()
            run.result.notebooks += 1
            span_status = SPAN_STATUS.get(workload.status, workload.status)
            since = workload.last_modified_time or workload.created_time or run.now
            run.observed[workload.pk] = (span_status, since)


def lifecycle_auto_stop(run: Run, config_name: str, notebook: str) -> bool | None:
    """Whether the lifecycle configuration stops the notebook when idle; None when it cannot be read."""
    if not config_name:
        return False
    if config_name not in run.lifecycle:
        try:
            config = run.sm.describe_notebook_instance_lifecycle_config(NotebookInstanceLifecycleConfigName=config_name)
            scripts = [decoded(part.get("Content", "")) for part in config.get("OnStart", [])]
            run.lifecycle[config_name] = any(auto_stop_script(script) for script in scripts)
        except ClientError as exc:
            if is_throttling(exc):
                raise
            run.result.errors.append(
                {
                    "resource": f"notebook {notebook} (lifecycle config {config_name})",
                    "error": describe_client_error(exc),
                }
            )
            run.lifecycle[config_name] = None
    return run.lifecycle[config_name]


def tags_of(run: Run, arn: str, resource: str, previous: dict) -> dict:
    try:
        tags: dict = {}
        for page in run.sm.get_paginator("list_tags").paginate(ResourceArn=arn):
            tags.update({t["Key"]: t["Value"] for t in page.get("Tags", [])})
        return tags
    except ClientError as exc:
        if is_throttling(exc):
            raise
        run.result.errors.append({"resource": f"{resource} (tags)", "error": describe_client_error(exc)})
        return previous


# --- Studio apps -----------------------------------------------------------------------------------


def collect_apps(run: Run) -> None:
    try:
        domains = [d for page in run.sm.get_paginator("list_domains").paginate() for d in page.get("Domains", [])]
    except ClientError as exc:
        if is_throttling(exc):
            raise
        run.result.errors.append({"resource": "Studio domains", "error": describe_client_error(exc)})
        run.complete[WorkloadKind.STUDIO_APP] = False
        return
    for domain in domains:
        domain_id = domain["DomainId"]
        try:
            described_domain = run.sm.describe_domain(DomainId=domain_id)
            apps = [
                a
                for page in run.sm.get_paginator("list_apps").paginate(DomainIdEquals=domain_id)
                for a in page.get("Apps", [])
            ]
        except ClientError as exc:
            if is_throttling(exc):
                raise
            run.result.errors.append({"resource": f"Studio domain {domain_id}", "error": describe_client_error(exc)})
            run.complete[WorkloadKind.STUDIO_APP] = False
            continue
        for app in apps:
            record_app(run, described_domain, app)


def record_app(run: Run, domain: dict, summary: dict) -> None:
    owner = summary.get("SpaceName") or summary.get("UserProfileName") or ""
    name = app_name(summary["DomainId"], owner, summary["AppType"], summary["AppName"])
    run.seen[WorkloadKind.STUDIO_APP].add(name)
    existing = Workload.objects.filter(
        account=run.account, region=run.region, kind=WorkloadKind.STUDIO_APP, name=name
    ).first()
    if summary.get("Status") == "Deleted" and existing is not None and existing.deleted_at is not None:
        return  # deleted and recorded so: nothing more to read
    params = {"DomainId": summary["DomainId"], "AppType": summary["AppType"], "AppName": summary["AppName"]}
    params["SpaceName" if summary.get("SpaceName") else "UserProfileName"] = owner
    try:
        described = run.sm.describe_app(**params)
    except ClientError as exc:
        if is_throttling(exc):
            raise
        run.result.errors.append({"resource": f"app {name}", "error": describe_client_error(exc)})
        return
    workload = existing or Workload(
        account=run.account, region=run.region, kind=WorkloadKind.STUDIO_APP, name=name, first_seen=run.now
    )
    workload.arn = described.get("AppArn", "")
    workload.status = described.get("Status", summary.get("Status", ""))
    workload.failure_reason = described.get("FailureReason", "")
    workload.instance_type = (described.get("ResourceSpec") or summary.get("ResourceSpec") or {}).get(
        "InstanceType", ""
    )
    workload.instance_count = 1
    workload.family = summary["AppName"]
    workload.domain_id = summary["DomainId"]
    workload.space_name = summary.get("SpaceName") or ""
    workload.user_profile_name = summary.get("UserProfileName") or ""
    workload.app_type = summary["AppType"]
    workload.created_time = described.get("CreationTime") or summary.get("CreationTime")
    workload.last_modified_time = described.get("LastUserActivityTimestamp") or workload.created_time
    workload.auto_stop = app_auto_stop(run, domain, summary, name)
    if workload.arn and workload.status != "Deleted":
        workload.tags = tags_of(run, workload.arn, f"app {name}", workload.tags if existing else {})
    workload.last_seen = run.now
    deleted = workload.status == "Deleted"
    if deleted and workload.deleted_at is None:
        deletes = [c.time for c in run.changes.get((WorkloadKind.STUDIO_APP.value, name), []) if c.status == "Deleted"]
        workload.deleted_at = deletes[-1] if deletes else run.now
    elif not deleted:
        workload.deleted_at = None
    workload.save()
    run.result.apps += 1
    span_status = SPAN_STATUS.get(workload.status, workload.status)
    since = workload.created_time if span_status == RUNNING else (workload.deleted_at or run.now)
    run.observed[workload.pk] = (span_status, since or run.now)


def app_auto_stop(run: Run, domain: dict, summary: dict, name: str) -> bool:
    """The app type's idle shutdown: enabled at the domain (``DefaultSpaceSettings`` for a space's app, then
    ``DefaultUserSettings``: ``IdleSettings.LifecycleManagement`` ENABLED) with a timeout in effect (the space's
    ``IdleTimeoutInMinutes``, else the domain's default). A space cannot enable it on its own: its IdleSettings
    only choose the timeout within the domain's bounds."""
    key = APP_SETTINGS.get(summary["AppType"])
    if key is None:
        return False
    defaults = [domain.get("DefaultSpaceSettings") or {}] if summary.get("SpaceName") else []
    defaults.append(domain.get("DefaultUserSettings") or {})
    domain_idle: dict = {}
    for settings_ in defaults:
        idle = idle_settings(settings_, key)
        if idle.get("LifecycleManagement"):
            domain_idle = idle
            break
    if domain_idle.get("LifecycleManagement") != "ENABLED":
        return False
    timeout = domain_idle.get("IdleTimeoutInMinutes")
    if summary.get("SpaceName"):
        space = space_settings(run, summary["DomainId"], summary["SpaceName"], name)
        timeout = idle_settings(space, key).get("IdleTimeoutInMinutes") or timeout
    return bool(timeout)


def idle_settings(settings_: dict, key: str) -> dict:
    return ((settings_.get(key) or {}).get("AppLifecycleManagement") or {}).get("IdleSettings") or {}


def space_settings(run: Run, domain_id: str, space: str, name: str) -> dict:
    if (domain_id, space) not in run.spaces:
        try:
            run.spaces[(domain_id, space)] = (
                run.sm.describe_space(DomainId=domain_id, SpaceName=space).get("SpaceSettings") or {}
            )
        except ClientError as exc:
            if is_throttling(exc):
                raise
            run.result.errors.append({"resource": f"app {name} (space {space})", "error": describe_client_error(exc)})
            run.spaces[(domain_id, space)] = {}
    return run.spaces[(domain_id, space)]


# --- found only in CloudTrail ----------------------------------------------------------------------


def discover(run: Run) -> None:
    """Notebooks and apps created and deleted since the last run: their Create event tells what ran."""
    for (kind, name), changes in run.changes.items():
        if name in run.seen[kind] or not any(c.status == "Deleted" for c in changes):
            continue
        created = next((c for c in changes if c.event in ("CreateNotebookInstance", "CreateApp")), None)
        if created is None:
            continue
        if Workload.objects.filter(account=run.account, region=run.region, kind=kind, name=name).exists():
            continue
        request = created.request
        deleted = [c.time for c in changes if c.status == "Deleted"][-1]
        workload = Workload(
            account=run.account,
            region=run.region,
            kind=kind,
            name=name,
            status="Deleted",
            family=request.get("NotebookInstanceName") or request.get("AppName", ""),
            created_time=created.time,
            tags={t["Key"]: t["Value"] for t in request.get("Tags") or [] if "Key" in t},
            first_seen=run.now,
            last_seen=deleted,
            deleted_at=deleted,
        )
        if kind == WorkloadKind.NOTEBOOK:
            workload.instance_type = request.get("InstanceType", "")
            workload.lifecycle_config_name = request.get("LifecycleConfigName", "")
        else:
            workload.instance_type = (request.get("ResourceSpec") or {}).get("InstanceType", "")
            workload.domain_id = request.get("DomainId", "")
            workload.space_name = request.get("SpaceName", "")
            workload.user_profile_name = request.get("UserProfileName", "")
            workload.app_type = request.get("AppType", "")
        workload.save()
        run.result.discovered += 1


# --- spans -----------------------------------------------------------------------------------------


def latest_span(workload: Workload) -> WorkloadStatusSpan | None:
    return workload.spans.order_by("-valid_from", "-pk").first()


def move_to(run: Run, workload: Workload, status: str, moment: datetime, origin: str) -> None:
    """Close the open span at ``moment`` and open one in ``status`` (nothing when the status is unchanged)."""
    latest = latest_span(workload)
    if latest is not None and latest.status == status and latest.valid_to is None:
        return
    if latest is not None:
        moment = max(moment, latest.valid_from)
        if latest.valid_to is None:
            latest.valid_to = moment
            latest.save(update_fields=["valid_to"])
    WorkloadStatusSpan.objects.create(workload=workload, status=status, valid_from=moment, origin=origin)
    run.result.spans += 1
    previous = run.changed_from.get(workload.pk)
    run.changed_from[workload.pk] = moment if previous is None else min(previous, moment)


def apply_changes(run: Run, workload: Workload, changes: list[Change]) -> None:
    """CloudTrail's status changes, oldest first; those not after the latest recorded span are known already. A
    workload seen for the first time whose first change in the window stops or deletes it ran before: in service
    from the window's start (or its creation, if later)."""
    first = changes[0] if changes else None
    if first is not None and first.status != RUNNING and run.since is not None and latest_span(workload) is None:
        created = workload.created_time or run.since
        if created < first.time:
            move_to(run, workload, RUNNING, max(created, run.since), WorkloadStatusSpan.Origin.CLOUDTRAIL)
    for change in changes:
        latest = latest_span(workload)
        # Known already: older than the latest span, or the span it opened exists (events of the same second,
        # e.g. a stop and a delete, are kept in CloudTrail's order).
        if latest is not None and change.time < latest.valid_from:
            continue
        if workload.spans.filter(valid_from=change.time, status=change.status).exists():
            continue
        move_to(run, workload, change.status, change.time, WorkloadStatusSpan.Origin.CLOUDTRAIL)


def apply_observed(run: Run, workload: Workload, status: str, since: datetime) -> None:
    """The status the listing shows now, where the spans disagree: from ``since`` when plausible, else now."""
    latest = latest_span(workload)
    if latest is not None and latest.status == status and latest.valid_to is None:
        return
    moment = since if since <= run.now and (latest is None or since > latest.valid_from) else run.now
    move_to(run, workload, status, moment, WorkloadStatusSpan.Origin.OBSERVED)


def mark_deleted(run: Run, workload: Workload, changes: list[Change]) -> None:
    deletes = [c.time for c in changes if c.status == "Deleted"]
    moment = deletes[-1] if deletes else workload.last_seen
    workload.deleted_at, workload.status = moment, "Deleted"
    workload.save(update_fields=["deleted_at", "status"])
    latest = latest_span(workload)
    if latest is None or latest.status != "Deleted":
        move_to(run, workload, "Deleted", moment, WorkloadStatusSpan.Origin.OBSERVED)
    run.result.deleted += 1


# --- hours -----------------------------------------------------------------------------------------


def write_hours(run: Run, watermark: datetime | None) -> int:
    """Rebuild the hours of every workload whose spans changed (from the change) or that is still running (the
    last few hours), never before the lookback."""
    earliest = floor_hour(run.now - timedelta(days=settings.COLLECT_LOOKBACK_DAYS))
    recent = floor_hour(watermark - timedelta(hours=settings.COLLECT_REREAD_HOURS)) if watermark else earliest
    running = set(
        WorkloadStatusSpan.objects.filter(
            workload__account=run.account, workload__region=run.region, valid_to__isnull=True, status=RUNNING
        ).values_list("workload_id", flat=True)
    )
    starts = {pk: recent for pk in running}
    for pk, moment in run.changed_from.items():
        starts[pk] = min(starts.get(pk, recent), floor_hour(moment))
    written = 0
    for workload in Workload.objects.filter(pk__in=list(starts)).prefetch_related("spans"):
        written += rebuild_hours(run, workload, max(starts[workload.pk], earliest))
    return written


def rebuild_hours(run: Run, workload: Workload, start: datetime) -> int:
    hw = known_hardware(workload.instance_type)
    if hw is None:
        return 0  # no billable instance (a Studio "system" app) or one the catalog does not know
    shares: dict[datetime, float] = defaultdict(float)
    for span in workload.spans.all():
        if span.status != RUNNING:
            continue
        begin, end = max(span.valid_from, start), span.valid_to or run.now
        hour = floor_hour(begin)
        while hour < end:
            shares[hour] += (min(end, hour + HOUR) - max(begin, hour)).total_seconds() / 3600
            hour += HOUR
    rows = [
        WorkloadHour(
            workload=workload,
            kind=workload.kind,
            hour=hour,
            instance_type=workload.instance_type,
            vcpus=int(hw["vcpus"]),
            gpus=int(hw["gpu_count"]),
            accelerators=int(hw["accelerator_count"]),
            instance_hours=min(share, 1.0),
            spot_instance_hours=0.0,
            hosts=0,
            util_source=WorkloadHour.UtilSource.ASSUMED,
            collected_at=run.now,
        )
        for hour, share in sorted(shares.items())
        if share > 0
    ]
    with transaction.atomic():
        WorkloadHour.objects.filter(workload=workload, hour__gte=start).exclude(
            instance_type=workload.instance_type, hour__in=[row.hour for row in rows]
        ).delete()
        if rows:
            WorkloadHour.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["workload", "instance_type", "hour"],
                update_fields=["kind", "vcpus", "gpus", "accelerators", "instance_hours", "collected_at"],
            )
    return len(rows)
