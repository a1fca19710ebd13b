"""Alerts on notebook instances and Studio apps left running (issue 19), with the open / remind / resolve lifecycle
of ``alerts.evaluate``.

A notebook instance or Studio app in service without auto-stop (``Workload.auto_stop`` not True) whose current run
has lasted ``NotificationSettings.notebook_idle_hours`` hours *outside working time* opens one alert (kind
``notebook-idle``, on the workload): nobody works in a notebook at night or at the weekend, so it runs for nothing.
Working time is the team's policy (``TeamPolicy.working_hours`` / ``working_days``), read through
``recommend.working_hours.WorkingTime``: the one definition the notebook recommendations use too.

The current run starts at the open in-service status span (CloudTrail's Start/Create events or what the collector
observed), else at the first of the unbroken collected hours up to the latest. Its hours so far, kWh, kg CO2e and
list cost are the query layer's (``footprint.workload_queries.workload_totals``). An open alert is restated at every
evaluation, reminded after ``reminder_hours``, and resolved once: stopped (or restarted: a new run), deleted,
auto-stop configured, or excluded by tag.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from django.db import IntegrityError, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from collectors.models import Workload, WorkloadHour, WorkloadStatusSpan
from collectors.models.workloads import INTERACTIVE_KINDS, WorkloadKind
from dashboard.footprint import workload_queries
from dashboard.footprint.queries import team_accounts
from dashboard.notify.alerts import duration_text, excluded
from dashboard.notify.channels import Message
from dashboard.notify.models import Alert, NotificationSettings
from dashboard.recommend.policy import policy_of
from dashboard.recommend.working_hours import WorkingTime

KIND = "notebook-idle"
IN_SERVICE = "InService"
LOOKBACK_DAYS = 31  # a run is followed back at most this far through the collected hours
Resolution = Alert.Resolution


@dataclass
class NotebookOutcome:
    opened: int = 0
    reminded: int = 0
    resolved: int = 0


@dataclass
class Run:
    """A notebook's or app's current run: since when, its hours so far, and how many of them were out of hours."""

    since: dt.datetime
    hours: int
    out_of_hours: int


def _floor(at: dt.datetime) -> dt.datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def current_runs(workloads: list[Workload], working: WorkingTime, now: dt.datetime) -> dict[int, Run]:
    """Each running workload's current run (two queries: the open spans, then the collected hours)."""
    end = _floor(now) + dt.timedelta(hours=1)  # the hour under way counts as running
    spans = {
        span.workload_id: span.valid_from
        for span in WorkloadStatusSpan.objects.filter(
            workload__in=workloads, valid_to__isnull=True, status=IN_SERVICE
        ).only("workload_id", "valid_from")
    }
    collected: dict[int, list[dt.datetime]] = {}
    for workload_id, hour in (
        WorkloadHour.objects.filter(
            workload__in=workloads, instance_hours__gt=0, hour__gte=now - dt.timedelta(days=LOOKBACK_DAYS)
        )
        .order_by("workload_id", "hour")
        .values_list("workload_id", "hour")
    ):
        collected.setdefault(workload_id, []).append(hour)
    runs = {}
    for workload in workloads:
        if workload.pk in spans:
            start = _floor(spans[workload.pk])
            hours = list(pd.date_range(start, end, freq="h", inclusive="left"))
        else:
            hours = _unbroken_tail(collected.get(workload.pk, []))
        if not hours:
            continue
        outside = int(working.outside(pd.Series(hours)).sum())
        runs[workload.pk] = Run(pd.Timestamp(hours[0]).to_pydatetime(), len(hours), outside)
    return runs


def _unbroken_tail(hours: list[dt.datetime]) -> list[dt.datetime]:
    """The last run of consecutive hours (a gap of more than one hour means it was stopped in between)."""
    if not hours:
        return []
    first = len(hours) - 1
    while first > 0 and hours[first] - hours[first - 1] <= dt.timedelta(hours=1):
        first -= 1
    return hours[first:]


def evaluate(team, now: dt.datetime | None = None) -> tuple[NotebookOutcome, list[tuple[int, str]]]:
    """Open, remind and resolve the team's notebook alerts; (outcome, [(alert id, event)]) as ``alerts.evaluate``
    returns them, to notify once the transaction has committed."""
    now = now or timezone.now()
    config = NotificationSettings.objects.get_or_create(team=team)[0]
    working = WorkingTime.of(policy_of(team))
    workloads = list(Workload.objects.filter(account__team=team, kind__in=INTERACTIVE_KINDS))
    open_alerts = {
        a.workload_id: a
        for a in Alert.objects.filter(team=team, kind=KIND, resolved_at__isnull=True, workload__isnull=False)
    }
    if not workloads and not open_alerts:
        return NotebookOutcome(), []
    watched = [w for w in workloads if _watched(w, config)]
    runs = current_runs(watched, working, now)
    alerting = {pk: run for pk, run in runs.items() if run.out_of_hours >= config.notebook_idle_hours}
    figures = _figures(team, alerting, now)
    outcome, events = NotebookOutcome(), []
    for workload in workloads:
        alert, run = open_alerts.get(workload.pk), alerting.get(workload.pk)
        evidence = _evidence(workload, run, figures.get(workload.pk, {}), working) if run else None
        if alert is None and evidence:
            if opened := _open(team, workload, run, evidence, now):
                outcome.opened += 1
                events.append((opened.pk, "opened"))
        elif alert is not None and evidence and run.since <= alert.idle_since:
            _restate(alert, run.since, evidence)
            if now - (alert.last_notified_at or alert.opened_at) >= dt.timedelta(hours=config.reminder_hours):
                Alert.objects.filter(pk=alert.pk).update(last_notified_at=now, reminders=alert.reminders + 1)
                outcome.reminded += 1
                events.append((alert.pk, "reminder"))
        elif alert is not None and (why := _why(workload, runs.get(workload.pk), alert, config)):
            Alert.objects.filter(pk=alert.pk, resolved_at__isnull=True).update(resolved_at=now, resolution=why)
            outcome.resolved += 1
            events.append((alert.pk, "resolved"))
    return outcome, events


def _watched(workload: Workload, config: NotificationSettings) -> bool:
    return (
        workload.deleted_at is None
        and workload.status == IN_SERVICE
        and workload.auto_stop is not True
        and not excluded(workload.tags, config.exclude_tags)
    )


def _why(workload: Workload, run: Run | None, alert: Alert, config: NotificationSettings) -> str | None:
    """Why an open alert no longer holds; None keeps it open (the run goes on, under the threshold for now)."""
    if workload.deleted_at is not None:
        return Resolution.DELETED
    if excluded(workload.tags, config.exclude_tags):
        return Resolution.EXCLUDED
    if workload.auto_stop is True:
        return Resolution.AUTO_STOP
    if workload.status != IN_SERVICE or (run is not None and run.since > alert.idle_since):
        return Resolution.STOPPED  # stopped, or stopped and started again since (a new run)
    return None


def _figures(team, runs: dict[int, Run], now: dt.datetime) -> dict[int, dict]:
    """The query layer's totals of each run so far (one query per distinct start)."""
    found: dict[int, dict] = {}
    if not runs:
        return found
    accounts, end = team_accounts(team), _floor(now) + dt.timedelta(hours=1)
    by_start: dict[dt.datetime, list[int]] = {}
    for pk, run in runs.items():
        by_start.setdefault(run.since, []).append(pk)
    for start, ids in by_start.items():
        totals = workload_queries.workload_totals(accounts, start, end, ids=ids)
        for row in totals.to_dict("records"):
            cost = row["cost_usd"]
            found[int(row["workload_id"])] = {
                "energy_kwh": float(row["energy_kwh"]),
                "co2e_kg": float(row["co2e_kg"]) + float(row["embodied_co2e_kg"]),
                "instance_hours": float(row["instance_hours"]),
                "cost_usd": None if cost is None or pd.isna(cost) else float(cost),
            }
    return found


def _evidence(workload: Workload, run: Run, figures: dict, working: WorkingTime) -> dict:
    return {
        "hours": run.hours,
        "out_of_hours": run.out_of_hours,
        "instance_type": workload.instance_type,
        "instance_types": [workload.instance_type] if workload.instance_type else [],
        "workload_kind": workload.kind,
        "working_time": working.text(),
        "energy_kwh": round(figures.get("energy_kwh", 0.0), 6),
        "co2e_kg": round(figures.get("co2e_kg", 0.0), 6),
        "cost_usd": None if figures.get("cost_usd") is None else round(figures["cost_usd"], 4),
    }


def _open(team, workload: Workload, run: Run, evidence: dict, now: dt.datetime) -> Alert | None:
    try:
        with transaction.atomic():
            return Alert.objects.create(
                team=team,
                workload=workload,
                kind=KIND,
                idle_since=run.since,
                opened_at=now,
                evidence=evidence,
                last_notified_at=now,
            )
    except IntegrityError:  # another evaluation opened it first: one alert per incident
        return None


def _restate(alert: Alert, since: dt.datetime, evidence: dict) -> None:
    if alert.idle_since == since and alert.evidence == evidence:
        return
    Alert.objects.filter(pk=alert.pk).update(idle_since=since, evidence=evidence)
    alert.idle_since, alert.evidence = since, evidence


def page_path() -> str:
    """The Notebooks page when it is wired, else the alerts page."""
    try:
        return reverse("notebooks")
    except NoReverseMatch:
        return reverse("notifications")


def _cost(value) -> str:
    return "(no list price known for its type)" if value is None else f"and cost ${value:,.2f} at list price"


def message(alert: Alert, event: str, site_url: str) -> Message:
    """What the channels say about a notebook alert event: the notebook or app, its instance type, how long it has
    run, and its kg CO2e and list cost so far."""
    workload, evidence = alert.workload, alert.evidence or {}
    what_kind = "Notebook instance" if workload.kind == WorkloadKind.NOTEBOOK else "Studio app"
    link = f"{site_url.rstrip('/')}{page_path()}"
    what = f"{what_kind} {workload.name} ({workload.instance_type or 'unknown type'}, {workload.region})"
    lasted = duration_text(int(evidence.get("hours", 0)))
    if event == "resolved":
        subject = f"Resolved: {what} — {alert.get_resolution_display().lower()}"
        text = f"{subject}. It had been running since {alert.idle_since:%Y-%m-%d %H:%M} UTC ({lasted}). {link}"
    else:
        prefix = "Still running" if event == "reminder" else "Running out of hours"
        subject = (
            f"{prefix}: {what} has run {lasted}, {evidence.get('out_of_hours', 0)} h of it outside working time, "
            "without auto-stop"
        )
        text = (
            f"{subject}. Since {alert.idle_since:%Y-%m-%d %H:%M} UTC it used {evidence.get('energy_kwh', 0):.2f} kWh "
            f"and {evidence.get('co2e_kg', 0):.3f} kg CO2e {_cost(evidence.get('cost_usd'))}. Working time is "
            f"{evidence.get('working_time', '')}. Stop it, or add an auto-stop lifecycle configuration (notebooks) "
            f"or idle shutdown (Studio): {link}"
        )
    payload = {
        "alert_id": alert.pk,
        "kind": alert.kind,
        "workload": workload.name,
        "workload_id": workload.pk,
        "workload_kind": workload.kind,
        "instance_type": workload.instance_type,
        "account_id": workload.account.account_id,
        "region": workload.region,
        "event": event,
        "idle_since": alert.idle_since.isoformat(),
        "evidence": evidence,
        "url": link,
        "resolution": alert.resolution or None,
    }
    return Message(event=f"alert.{event}", subject=subject, text=text, payload=payload)
