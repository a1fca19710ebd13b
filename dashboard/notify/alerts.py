"""Idle-endpoint alerts: an endpoint that served no inference for ``idle_hours`` while its instances ran, with its
CPU and GPU corroborating (a busy CPU without invocations is batch work or health checks, not idleness). What idle
means, since when and what it cost is ``dashboard.footprint.idle``, built with the team's CPU and GPU limits by
``dashboard.recommend.policy.idle_policy`` (the one definition the digest and the recommendations read too); an
alert states the idle period from the hourly history, not the detection window, and an open alert is restated at
every evaluation (hours collected late can move its start earlier; its length and cost grow).

One incident, one alert: opening is guarded by a unique constraint (one open alert per endpoint), a reminder goes
out after ``reminder_hours``, and the alert resolves once — when traffic returns, the endpoint is deleted or
scaled to zero, or an exclusion tag is added.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from collectors.models import Endpoint
from dashboard.footprint.idle import Idleness, IdlePolicy
from dashboard.notify.channels import Message
from dashboard.notify.models import Alert, NotificationSettings
from dashboard.recommend.policy import idle_policy, policy_of
from dashboard.teams.models import Team

Resolution = Alert.Resolution


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


def alerting_policy(team: Team, config: NotificationSettings) -> IdlePolicy:
    """The team's definition of idle for alerts and digests: ``recommend.policy.idle_policy``, the one the
    recommendations read (with the team's CPU and GPU limits), after ``idle_hours`` without inference."""
    return idle_policy(policy_of(team), config.idle_hours)


def alerting(facts: Idleness) -> bool:
    """An alert goes out only for corroborated idleness (a busy CPU without invocations is not paged about)."""
    return facts.idle and facts.corroborated


def evaluate(team: Team, now: dt.datetime | None = None) -> tuple[Outcome, list[tuple[int, str]]]:
    """Open, remind and resolve the team's idle alerts; returns what changed and the (alert id, event) pairs to
    notify once the transaction has committed."""
    now = now or timezone.now()
    config = settings_of(team)
    endpoints = {e.pk: e for e in Endpoint.objects.filter(account__team=team)}
    assessed = alerting_policy(team, config).assess(endpoints, now)
    open_alerts = {
        a.endpoint_id: a for a in Alert.objects.filter(team=team, resolved_at__isnull=True, endpoint__isnull=False)
    }
    outcome, events = Outcome(), []
    for endpoint in endpoints.values():
        facts = assessed[endpoint.pk]
        watched = not endpoint.deleted_at and not excluded(endpoint.tags, config.exclude_tags)
        evidence = facts.evidence() if watched and alerting(facts) else None
        alert = open_alerts.get(endpoint.pk)
        if alert is None and evidence:
            if opened := _open(team, endpoint, evidence, facts.since, now):
                outcome.opened += 1
                events.append((opened.pk, "opened"))
        elif alert is not None and evidence:
            _restate(alert, facts.since, evidence)
            if now - (alert.last_notified_at or alert.opened_at) >= dt.timedelta(hours=config.reminder_hours):
                _touch(alert, now, evidence)
                outcome.reminded += 1
                events.append((alert.pk, "reminder"))
        elif alert is not None and (why := _why(endpoint, facts, config)):
            _resolve(alert, why, now)
            outcome.resolved += 1
            events.append((alert.pk, "resolved"))
    return outcome, events


def _open(team, endpoint, evidence, since, now) -> Alert | None:
    try:
        with transaction.atomic():
            return Alert.objects.create(
                team=team, endpoint=endpoint, idle_since=since, opened_at=now, evidence=evidence, last_notified_at=now
            )
    except IntegrityError:  # another evaluation opened it first: one alert per incident
        return None


def _restate(alert: Alert, since: dt.datetime, evidence: dict) -> None:
    """An open alert states the idle period as the hourly history shows it now: its start moves earlier when hours
    collected late show the endpoint was quiet before it, and its length and cost grow with every hour."""
    if alert.idle_since == since and alert.evidence == evidence:
        return
    Alert.objects.filter(pk=alert.pk).update(idle_since=since, evidence=evidence)
    alert.idle_since, alert.evidence = since, evidence


def _since(alert: Alert) -> str:
    """When the idle period began; "at least since" when no inference was ever collected (it began before)."""
    since = f"{alert.idle_since:%Y-%m-%d %H:%M} UTC"
    if alert.evidence.get("since_collection_began"):
        return f"at least {since}, when collection began (no inference collected at all)"
    return since


def duration_text(hours: int) -> str:
    """How long an idle period lasted, for people: "23 h", "7 days (168 h)", "7 days 23 h (191 h)"."""
    if hours < 48:
        return f"{hours} h"
    days, rest = divmod(hours, 24)
    return f"{days} days{f' {rest} h' if rest else ''} ({hours} h)"


def _touch(alert: Alert, now, evidence) -> None:
    Alert.objects.filter(pk=alert.pk).update(last_notified_at=now, reminders=alert.reminders + 1, evidence=evidence)


def _why(endpoint: Endpoint, facts: Idleness, config) -> str | None:
    """Why an open alert no longer holds, or None when the data cannot tell (collection gaps keep it open)."""
    if endpoint.deleted_at:
        return Resolution.DELETED
    if excluded(endpoint.tags, config.exclude_tags):
        return Resolution.EXCLUDED
    if facts.window_invocations > 0:
        return Resolution.TRAFFIC
    if facts.collected_hours and facts.window_instance_hours <= 0:
        return Resolution.SCALED
    return None


def _resolve(alert: Alert, resolution: str, now) -> None:
    Alert.objects.filter(pk=alert.pk, resolved_at__isnull=True).update(resolved_at=now, resolution=resolution)


def message(alert: Alert, event: str, site_url: str) -> Message:
    """What the channels say about an alert event (a notebook instance's or Studio app's: ``notebook_alerts``)."""
    if alert.endpoint_id is None:
        from dashboard.notify import notebook_alerts  # noqa: PLC0415 - it imports this module's helpers

        return notebook_alerts.message(alert, event, site_url)
    endpoint, evidence = alert.endpoint, alert.evidence
    link = f"{site_url.rstrip('/')}/endpoints/{endpoint.pk}/"
    what = f"{endpoint.name} ({endpoint.region})"
    if event == "resolved":
        ended = alert.resolved_at or timezone.now()  # found at the evaluation after the change: within the hour
        lasted = duration_text(int((ended - alert.idle_since).total_seconds() // 3600))
        subject = f"Resolved: {what} — {alert.get_resolution_display().lower()}"
        text = (
            f"{subject}. It had been idle from {alert.idle_since:%Y-%m-%d %H:%M} UTC until about "
            f"{ended:%Y-%m-%d %H:%M} UTC ({lasted}). {link}"
        )
    else:
        lasted = duration_text(evidence.get("hours", 0))
        prefix = "Still idle" if event == "reminder" else "Idle"
        at_least = "at least " if evidence.get("since_collection_began") else ""
        subject = (
            f"{prefix}: {what} has served no inference for {at_least}{lasted} on "
            f"{', '.join(evidence.get('instance_types', [])) or 'its instances'}"
        )
        text = (
            f"{subject}. It has been idle since {_since(alert)}; over those {lasted} it used "
            f"{evidence.get('energy_kwh', 0):.2f} kWh and "
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
