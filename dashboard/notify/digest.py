"""The weekly digest: one email per subscribed team member, once per week, at the team's local weekday and hour.

The week is the previous complete week in the team's timezone (Monday to Sunday); its numbers are the daily
rollups of those seven dates, which are UTC days like every page's. The change against the week before is per
collected day (``notify.coverage``: the hours actually collected of each week), so a week collected on 4 of its 7
days is not read as a drop or a rise, and the digest says how much of each week was collected when one is partial.
The idle endpoints are every idle period that reached the team's alert threshold during the week, from the hourly
history (``IdlePolicy.reached_between``).

One email = subject, text and HTML templates, a chart drawn on the server and attached inline, and a signed
one-click unsubscribe link.

A send is claimed with a conditional UPDATE on its ``DigestClaim`` row before the message is built, so two
workers, or a job retried after a crash, never send the same week twice to the same person.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import os
import socket
import threading
from email.mime.image import MIMEImage
from email.utils import make_msgid
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.core.mail.utils import DNS_NAME
from django.db import IntegrityError
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from dashboard.footprint import billed, filters, reconciliation, workload_queries
from dashboard.footprint import queries as reports
from dashboard.footprint.idle import IdlePeriod
from dashboard.footprint.units import kg
from dashboard.notify import alerts, coverage, digest_chart
from dashboard.notify.models import Delivery, DigestClaim, DigestSubscription, NotificationSettings
from dashboard.recommend.models import Recommendation

log = logging.getLogger(__name__)

SALT = "wattson.digest.unsubscribe"
CHART_CID = "digest-chart"
CLAIM_TIMEOUT = dt.timedelta(minutes=15)  # a "sending" claim older than this was lost with its worker
MAX_ATTEMPTS = 5  # a week's digest to one person is given up after this many failed sends
TOP = 5
COMPARED = ("total_co2e_kg", "energy_kwh", "cost_usd")  # the figures with a week-over-week change
Status = DigestClaim.Status


# --- when -----------------------------------------------------------------------------------------


def zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown timezone %r: digests use UTC", name)
        return dt.UTC


def week_of(now: dt.datetime, tz: dt.tzinfo | str) -> dt.date:
    """The Monday of the last complete week before ``now``, in the timezone ``tz``."""
    local = now.astimezone(zone(tz) if isinstance(tz, str) else tz)
    return local.date() - dt.timedelta(days=local.weekday() + 7)


def due(settings: NotificationSettings, now: dt.datetime) -> bool:
    """Whether the team's weekday and hour, in its timezone, have come in the week of ``now``: from then until the
    week ends the digest of the previous week is due (claims make sure it goes out once)."""
    tz = zone(settings.timezone)
    local = now.astimezone(tz)
    monday = local.date() - dt.timedelta(days=local.weekday())
    day = monday + dt.timedelta(days=min(settings.digest_weekday, 6))
    return local >= dt.datetime.combine(day, dt.time(min(settings.digest_hour, 23)), tzinfo=tz)


def schedule_of(team) -> NotificationSettings:
    """The team's notification settings, or the defaults (Monday 08:00 UTC) when it has none saved."""
    try:
        return team.notification_settings
    except NotificationSettings.DoesNotExist:
        return NotificationSettings(team=team)


# --- what -----------------------------------------------------------------------------------------


def link(path: str, query: str = "") -> str:
    return f"{django_settings.SITE_URL}{path}" + (f"?{query}" if query else "")


def week_view(week_start: dt.date) -> filters.Filters:
    return filters.Filters(period="custom", start=week_start, end=week_start + dt.timedelta(days=6), grain="day")


def change_pct(now: float | None, before: float | None) -> float | None:
    if now is None or not before:
        return None
    return 100 * (now - before) / before


def week_coverage(accounts: list[dict], view: filters.Filters) -> coverage.Coverage:
    return coverage.collected(accounts, view.start_time, view.end_time)


def daily_change_pct(now: float | None, before: float | None, covered: dict[str, coverage.Coverage]) -> float | None:
    """The change per collected day: a week collected on 4 of its 7 days is compared by its daily rate, not its
    total (for two complete weeks both are the same)."""
    return change_pct(
        coverage.per_collected_day(now, covered["this"]), coverage.per_collected_day(before, covered["previous"])
    )


def change_text(pct: float | None) -> str:
    """ "−5 %", "+12 %", "0 %"; empty without a previous week to compare with (a true minus sign, as typeset)."""
    if pct is None:
        return ""
    rounded = round(pct)
    return "0 %" if rounded == 0 else f"{'+' if rounded > 0 else '−'}{abs(rounded)} %"


def _daily(accounts: list[dict], view: filters.Filters) -> list[dict]:
    series = reports.daily_series(accounts, view, None)
    totals = (
        series.assign(total=series["co2e_kg"] + series["embodied_co2e_kg"]).groupby("bucket")["total"].sum().to_dict()
        if len(series)
        else {}
    )
    days = [view.start + dt.timedelta(days=n) for n in range(view.days)]
    return [{"day": day, "label": day.strftime("%a %d"), "total_co2e_kg": float(totals.get(day, 0.0))} for day in days]


def _top_emitters(per_endpoint, endpoints: list[dict]) -> list[dict]:
    rows = reports.breakdown(reports.label_columns(per_endpoint, endpoints), "endpoint").head(TOP)
    return [
        {
            "name": row["endpoint"],
            "region": row["region"],
            "total_co2e_kg": float(row["total_co2e_kg"]),
            "energy_kwh": float(row["energy_kwh"]),
            "url": link(reverse("endpoint", args=[int(row["endpoint_id"])])),
        }
        for row in rows.to_dict("records")
    ]


def _newly_idle(team, view: filters.Filters, endpoints: list[dict]) -> list[dict]:
    """Endpoints that went idle during the week by the team's definition (``alerts.alerting_policy``): every idle
    period of the hourly history that reached ``idle_hours`` within the week, as an alert evaluated at that hour
    would have found it new — whether or not it was corroborated or alerted on, and whether or not traffic returned
    before the week ended — with its true start and how long it lasted."""
    config = schedule_of(team)
    watched = {
        e["id"]: e for e in endpoints if not e["deleted_at"] and not alerts.excluded(e["tags"], config.exclude_tags)
    }
    periods = alerts.alerting_policy(team, config).reached_between(watched, view.start_time, view.end_time)
    return [_idle_row(watched[period.endpoint_id], period) for period in periods]


def _idle_row(endpoint: dict, period: IdlePeriod) -> dict:
    return {
        "name": endpoint["name"],
        "region": endpoint["region"],
        "idle_since": period.since,
        "idle_until": None if period.ongoing else period.until,
        "idle_hours": period.hours,
        "lasted": alerts.duration_text(period.hours),
        "corroborated": period.corroborated,
        "cpu_util_pct_p95": period.cpu_util_pct_p95,
        "gpu_util_pct_p95": period.gpu_util_pct_p95,
        "url": link(reverse("endpoint", args=[endpoint["id"]])),
    }


def _top_training_jobs(accounts: list[dict], view: filters.Filters) -> list[dict]:
    """The week's top training jobs by CO2e (operational + embodied), with the query layer's figures
    (``workload_queries.workload_totals`` over the digest's week: hours, kWh, CO2e and list cost in it)."""
    totals = workload_queries.workload_totals(accounts, view.start_time, view.end_time, kind="training")
    if totals.empty:
        return []
    totals = totals.assign(total_co2e_kg=totals["co2e_kg"].astype(float) + totals["embodied_co2e_kg"].astype(float))
    top = totals.sort_values(["total_co2e_kg", "name"], ascending=[False, True], kind="stable").head(TOP)
    return [
        {
            "name": row["name"],
            "region": row["region"],
            "instance_type": row["instance_type"],
            "instance_count": int(row["instance_count"] or 1),
            "spot": bool(row["spot"]),
            "status": row["status"],
            "hours": int(row["hours"]),
            "instance_hours": float(row["instance_hours"]),
            "energy_kwh": float(row["energy_kwh"]),
            "total_co2e_kg": float(row["total_co2e_kg"]),
            "cost_usd": None if pd.isna(row["cost_usd"]) else float(row["cost_usd"]),
            "url": link(reverse("training-job", args=[int(row["workload_id"])])),
        }
        for row in top.to_dict("records")
    ]


def _recommendations(team) -> tuple[list[dict], int]:
    open_recs = Recommendation.objects.filter(team=team, status=Recommendation.Status.OPEN)
    top = open_recs.select_related("endpoint", "workload").order_by("-monthly_co2e_kg_saved", "pk")[:TOP]
    return [
        {
            "title": r.title,
            "endpoint": r.endpoint.name if r.endpoint else (r.workload.name if r.workload else ""),
            "monthly_co2e_kg_saved": r.monthly_co2e_kg_saved,
            "monthly_usd_saved": r.monthly_usd_saved,
            # ``rec=`` opens the page of the (paged) list that holds it
            "url": link(reverse("recommendations"), f"rec={r.pk}") + f"#rec-{r.pk}",
        }
        for r in top
    ], open_recs.count()


def content(team, week_start: dt.date) -> dict:
    """The week's numbers against the week before, the top emitters, the top training jobs, newly idle endpoints
    and top open recommendations, each with a link into the dashboard."""
    accounts, endpoints = reports.team_accounts(team), reports.team_endpoints(team)
    view, before = week_view(week_start), week_view(week_start - dt.timedelta(days=7))
    per_endpoint = reports.endpoint_totals(accounts, view, None)
    this, previous = reports.summary(per_endpoint), reports.summary(reports.endpoint_totals(accounts, before, None))
    covered = {"this": week_coverage(accounts, view), "previous": week_coverage(accounts, before)}
    changes = {name: daily_change_pct(this[name], previous[name], covered) for name in COMPARED}
    recommendations, open_count = _recommendations(team)
    return {
        "team": team,
        "week_start": view.start,
        "week_end": view.end,
        "this": this,
        "previous": previous,
        "billed": billed.billed_view(accounts, view, None),
        "coverage": covered,
        "per_day": {
            week: {name: coverage.per_collected_day(totals[name], covered[week]) for name in COMPARED}
            for week, totals in (("this", this), ("previous", previous))
        },
        "partial": not all(c.complete for c in covered.values()),
        "change": changes,
        "change_text": {name: change_text(pct) for name, pct in changes.items()},
        "daily": _daily(accounts, view),
        "top_emitters": _top_emitters(per_endpoint, endpoints),
        "top_training_jobs": _top_training_jobs(accounts, view),
        "newly_idle": _newly_idle(team, view, endpoints),
        "recommendations": recommendations,
        "open_recommendations": open_count,
        "aws_month": reconciliation.month_total(team, view.end),
        "links": {
            "overview": link(reverse("home"), view.query()),
            "recommendations": link(reverse("recommendations")),
            "preferences": link(reverse("digest-preview")),
            "reconciliation": link(reverse("reconciliation")),
        },
    }


# --- the message ----------------------------------------------------------------------------------


def unsubscribe_token(team, user) -> str:
    return signing.dumps({"u": user.pk, "t": team.pk}, salt=SALT)


def read_token(token: str) -> tuple[int, int]:
    """``(user pk, team pk)`` of a token; ``signing.BadSignature`` for anything not made by ``unsubscribe_token``."""
    data = signing.loads(token, salt=SALT)
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("t"), int):
        raise signing.BadSignature("Not a digest token")
    return data["u"], data["t"]


def unsubscribe_url(team, user) -> str:
    return link(reverse("digest-unsubscribe", args=[unsubscribe_token(team, user)]))


def subject(data: dict) -> str:
    change = data["change_text"]["total_co2e_kg"]
    team = " ".join(data["team"].name.split())  # a header is one line
    basis = " per collected day" if data["partial"] else ""
    return (
        f"Wattson weekly: {kg(data['this']['total_co2e_kg'], 1)} CO2e"
        f"{f' ({change}{basis} vs last week)' if change else ''} · {team}"
    )


def chart(data: dict) -> bytes:
    days = data["daily"]
    title = f"CO2e per day (operational + embodied), {days[0]['day']:%d %b} to {days[-1]['day']:%d %b %Y}"
    return digest_chart.daily_bars([(d["label"], d["total_co2e_kg"]) for d in days], title)


def bodies(team, user, week_start: dt.date, preview: bool = False) -> dict:
    """Subject, text and HTML of the digest, and the chart's PNG: the HTML shows it by Content-ID, or as a data:
    URI in the preview page (whose links then open outside the preview's frame)."""
    data = content(team, week_start)
    png = chart(data)
    chart_src = f"data:image/png;base64,{base64.b64encode(png).decode()}" if preview else f"cid:{CHART_CID}"
    context = {
        **data,
        "user": user,
        "subject": subject(data),
        "unsubscribe_url": unsubscribe_url(team, user),
        "chart_src": chart_src,
        "preview": preview,
    }
    return {
        "subject": context["subject"],
        "text": _plain(render_to_string("email/digest.txt", context)),
        "html": _plain(render_to_string("email/digest.html", context)),
        "png": png,
        "unsubscribe_url": context["unsubscribe_url"],
    }


def _plain(rendered: str) -> str:
    """A rendered template as a plain str, not marked safe: a page that shows it must escape it."""
    return "".join([rendered])


class DigestMessage(EmailMultiAlternatives):
    """multipart/related (RFC 2387): the text/HTML alternatives, then the inline images the HTML shows."""

    mixed_subtype = "related"

    def _create_attachments(self, msg):
        msg = super()._create_attachments(msg)
        if msg.get_content_type() == "multipart/related":
            msg.set_param("type", "multipart/alternative")
        return msg


def inline_png(png: bytes, cid: str) -> MIMEImage:
    image = MIMEImage(png, "png")
    image.add_header("Content-ID", f"<{cid}>")
    image.add_header("Content-Disposition", "inline", filename=f"{cid}.png")
    return image


def render(team, user, week_start: dt.date) -> EmailMultiAlternatives:
    parts = bodies(team, user, week_start)
    headers = {
        "List-Unsubscribe": f"<{parts['unsubscribe_url']}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
        "Message-ID": make_msgid("digest", domain=str(DNS_NAME)),
    }
    message = DigestMessage(
        parts["subject"], parts["text"], django_settings.DEFAULT_FROM_EMAIL, [user.email], headers=headers
    )
    message.attach_alternative(parts["html"], "text/html")
    message.attach(inline_png(parts["png"], CHART_CID))
    return message


# --- sending once ---------------------------------------------------------------------------------


def claim(team, user, week_start: dt.date, owner: str) -> DigestClaim | None:
    """The week's claim for this recipient, taken for ``owner``; None when sent, being sent, or given up."""
    try:
        row, _ = DigestClaim.objects.get_or_create(team=team, user=user, week_start=week_start)
    except IntegrityError:  # created by a concurrent worker between the get and the create
        row = DigestClaim.objects.get(team=team, user=user, week_start=week_start)
    now = timezone.now()
    claimable = Q(status__in=[Status.PENDING, Status.FAILED]) | Q(
        status=Status.SENDING, claimed_at__lt=now - CLAIM_TIMEOUT
    )
    changed = DigestClaim.objects.filter(claimable, pk=row.pk, attempts__lt=MAX_ATTEMPTS).update(
        status=Status.SENDING, claimed_by=owner[:200], claimed_at=now, attempts=F("attempts") + 1
    )
    if changed != 1:
        return None
    row.refresh_from_db()
    return row


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def send_one(team, user, week_start: dt.date, owner: str | None = None) -> bool:
    """Sends the week's digest to ``user`` unless it was (or is being) sent; re-raises a failure for a retry."""
    row = claim(team, user, week_start, owner or default_owner())
    if row is None:
        return False
    what = f"digest:{week_start}:{user.username}"[:200]
    try:
        message = render(team, user, week_start)
        message.send()
    except Exception as exc:
        DigestClaim.objects.filter(pk=row.pk).update(status=Status.FAILED, last_error=repr(exc)[:2000])
        final = row.attempts >= MAX_ATTEMPTS
        Delivery.objects.create(
            team=team,
            what=what,
            attempt=row.attempts,
            detail=repr(exc)[:2000],
            status=Delivery.Status.PERMANENT if final else Delivery.Status.FAILED,
        )
        raise
    DigestClaim.objects.filter(pk=row.pk).update(status=Status.SENT, sent_at=timezone.now(), last_error="")
    Delivery.objects.create(
        team=team,
        what=what,
        status=Delivery.Status.SENT,
        attempt=row.attempts,
        detail=f"{message.extra_headers['Message-ID']} to {user.email}",
    )
    return True


def recipients(team):
    """Members with an email address who have not unsubscribed (no subscription row means subscribed)."""
    unsubscribed = DigestSubscription.objects.filter(team=team, subscribed=False).values("user")
    return (
        get_user_model()
        .objects.filter(memberships__team=team, is_active=True)
        .exclude(email="")
        .exclude(pk__in=unsubscribed)
        .order_by("pk")
    )


def pending(now: dt.datetime):
    """``(team, user, week_start)`` of every digest due at ``now`` and not yet sent (nor given up); teams
    without an AWS account have nothing to report."""
    from dashboard.teams.models import Team

    for team in Team.objects.filter(aws_accounts__isnull=False).distinct().select_related("notification_settings"):
        schedule = schedule_of(team)
        if not due(schedule, now):
            continue
        week_start = week_of(now, schedule.timezone)
        done = (
            DigestClaim.objects.filter(team=team, week_start=week_start)
            .filter(Q(status=Status.SENT) | Q(attempts__gte=MAX_ATTEMPTS))
            .values("user")
        )
        for user in recipients(team).exclude(pk__in=done):
            yield team, user, week_start


def send_due(now: dt.datetime | None = None, owner: str | None = None) -> int:
    """Sends every digest due at ``now``; returns how many went out. A failed send is logged and left ``failed``,
    to be retried by the next run (up to ``MAX_ATTEMPTS``); the other recipients are not held up by it."""
    sent = 0
    for team, user, week_start in list(pending(now or timezone.now())):
        try:
            sent += send_one(team, user, week_start, owner)
        except Exception:
            log.exception("digest of %s for %s to %s failed", week_start, team, user)
    return sent
