"""Idle-endpoint alerts: an endpoint that served no inference for ``idle_hours`` while its instances ran, with its
CPU and GPU corroborating (a busy CPU without invocations is batch work or health checks, not idleness).

One incident, one alert: opening is guarded by a unique constraint (one open alert per endpoint), a reminder goes
out after ``reminder_hours``, and the alert resolves once — when traffic returns, the endpoint is deleted or
scaled to zero, or an exclusion tag is added.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.db import IntegrityError, transaction
from django.utils import timezone

from collectors.models import Endpoint, VariantHour
from dashboard.notify.channels import Message
from dashboard.notify.models import Alert, NotificationSettings
from dashboard.teams.models import Team

Resolution = Alert.Resolution
COVERAGE = 0.9  # share of the window's hours that must have been collected: missing data is not idleness


@dataclass
class Outcome:
    opened: int = 0
    reminded: int = 0
    resolved: int = 0


def settings_of(team: Team) -> NotificationSettings:
    return NotificationSettings.objects.get_or_create(team=team)[0]


def excluded(tags: dict, rules: list[str]) -> bool:
    """``"key=value"`` excludes endpoints with that tag; a bare ``"key"`` excludes any value of it."""
    for rule in rules or []:
        key, _, value = rule.partition("=")
        if key in (tags or {}) and (not value or tags[key] == value):
            return True
    return False


def _p95(values) -> float:
    values = [v for v in values if v is not None]
    return float(np.percentile(values, 95)) if values else 0.0


def idle_evidence(hours: list[dict], config: NotificationSettings) -> dict | None:
    """The evidence that these hours (one endpoint's window) were idle, or None."""
    if len({h["hour"] for h in hours}) < COVERAGE * config.idle_hours:
        return None
    instance_hours = sum(h["instance_hours"] for h in hours)
    invocations = sum(h["invocations"] or 0 for h in hours)
    cpu, gpu = _p95(h["cpu_util_pct"] for h in hours), _p95(h["gpu_util_pct"] for h in hours)
    if instance_hours <= 0 or invocations > 0 or cpu >= config.idle_max_cpu_pct or gpu >= config.idle_max_gpu_pct:
        return None
    types = sorted({h["instance_type"] for h in hours if h["instance_type"]})
    energy = sum(h["estimate__energy_kwh"] or 0 for h in hours)
    co2e = sum((h["estimate__co2e_kg"] or 0) + (h["estimate__embodied_co2e_kg"] or 0) for h in hours)
    return {
        "hours": len({h["hour"] for h in hours}),
        "instance_hours": round(instance_hours, 2),
        "instance_types": types,
        "cpu_util_pct_p95": round(cpu, 2),
        "gpu_util_pct_p95": round(gpu, 2),
        "energy_kwh": round(energy, 4),
        "co2e_kg": round(co2e, 4),
    }


def window(team: Team, config: NotificationSettings, now: dt.datetime) -> tuple[dict[int, list[dict]], dt.datetime]:
    """Each of the team's endpoints' complete hours within the last ``idle_hours`` (one query)."""
    end = now.replace(minute=0, second=0, microsecond=0)
    start = end - dt.timedelta(hours=config.idle_hours)
    rows = VariantHour.objects.filter(endpoint__account__team=team, hour__gte=start, hour__lt=end).values(
        "endpoint_id",
        "hour",
        "instance_type",
        "instance_hours",
        "invocations",
        "cpu_util_pct",
        "gpu_util_pct",
        "estimate__energy_kwh",
        "estimate__co2e_kg",
        "estimate__embodied_co2e_kg",
    )
    by_endpoint: dict[int, list[dict]] = {}
    for row in rows:
        by_endpoint.setdefault(row["endpoint_id"], []).append(row)
    return by_endpoint, start


def evaluate(team: Team, now: dt.datetime | None = None) -> tuple[Outcome, list[tuple[int, str]]]:
    """Open, remind and resolve the team's idle alerts; returns what changed and the (alert id, event) pairs to
    notify once the transaction has committed."""
    now = now or timezone.now()
    config = settings_of(team)
    hours, start = window(team, config, now)
    endpoints = {e.pk: e for e in Endpoint.objects.filter(account__team=team)}
    open_alerts = {a.endpoint_id: a for a in Alert.objects.filter(team=team, resolved_at__isnull=True)}
    outcome, events = Outcome(), []
    for endpoint in endpoints.values():
        evidence = (
            None
            if endpoint.deleted_at or excluded(endpoint.tags, config.exclude_tags)
            else idle_evidence(hours.get(endpoint.pk, []), config)
        )
        alert = open_alerts.get(endpoint.pk)
        if alert is None and evidence:
            if opened := _open(team, endpoint, evidence, start, now):
                outcome.opened += 1
                events.append((opened.pk, "opened"))
        elif alert is not None and evidence:
            if now - (alert.last_notified_at or alert.opened_at) >= dt.timedelta(hours=config.reminder_hours):
                _touch(alert, now, evidence)
                outcome.reminded += 1
                events.append((alert.pk, "reminder"))
        elif alert is not None and (why := _why(endpoint, hours.get(endpoint.pk, []), config)):
            _resolve(alert, why, now)
            outcome.resolved += 1
            events.append((alert.pk, "resolved"))
    return outcome, events


def _open(team, endpoint, evidence, start, now) -> Alert | None:
    try:
        with transaction.atomic():
            return Alert.objects.create(
                team=team, endpoint=endpoint, idle_since=start, opened_at=now, evidence=evidence, last_notified_at=now
            )
    except IntegrityError:  # another evaluation opened it first: one alert per incident
        return None


def _touch(alert: Alert, now, evidence) -> None:
    Alert.objects.filter(pk=alert.pk).update(last_notified_at=now, reminders=alert.reminders + 1, evidence=evidence)


def _why(endpoint: Endpoint, hours: list[dict], config) -> str | None:
    """Why an open alert no longer holds, or None when the data cannot tell (collection gaps keep it open)."""
    if endpoint.deleted_at:
        return Resolution.DELETED
    if excluded(endpoint.tags, config.exclude_tags):
        return Resolution.EXCLUDED
    if sum(h["invocations"] or 0 for h in hours) > 0:
        return Resolution.TRAFFIC
    if hours and sum(h["instance_hours"] for h in hours) <= 0:
        return Resolution.SCALED
    return None


def _resolve(alert: Alert, resolution: str, now) -> None:
    Alert.objects.filter(pk=alert.pk, resolved_at__isnull=True).update(resolved_at=now, resolution=resolution)


def message(alert: Alert, event: str, site_url: str) -> Message:
    """What the channels say about an alert event."""
    endpoint, evidence = alert.endpoint, alert.evidence
    link = f"{site_url.rstrip('/')}/endpoints/{endpoint.pk}/"
    what = f"{endpoint.name} ({endpoint.region})"
    if event == "resolved":
        subject = f"Resolved: {what} — {alert.get_resolution_display().lower()}"
        text = f"{subject}. It had been idle since {alert.idle_since:%Y-%m-%d %H:%M} UTC. {link}"
    else:
        hours = evidence.get("hours", 0)
        prefix = "Still idle" if event == "reminder" else "Idle"
        subject = (
            f"{prefix}: {what} served no inference in {hours} h on "
            f"{', '.join(evidence.get('instance_types', [])) or 'its instances'}"
        )
        text = (
            f"{subject}. Over those hours it used {evidence.get('energy_kwh', 0):.2f} kWh and "
            f"{evidence.get('co2e_kg', 0):.3f} kg CO2e (p95 CPU {evidence.get('cpu_util_pct_p95', 0):.1f} %, "
            f"GPU {evidence.get('gpu_util_pct_p95', 0):.1f} %). Delete it or scale it to zero: {link}"
        )
    payload = {
        "alert_id": alert.pk,
        "endpoint": endpoint.name,
        "endpoint_id": endpoint.pk,
        "account_id": endpoint.account.account_id,
        "region": endpoint.region,
        "event": event,
        "idle_since": alert.idle_since.isoformat(),
        "evidence": evidence,
        "url": link,
        "resolution": alert.resolution or None,
    }
    return Message(event=f"alert.{event}", subject=subject, text=text, payload=payload)
