import datetime as dt
from dataclasses import asdict

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from dashboard.celery import DATABASE_RETRY
from dashboard.notify import alerts, digest, dispatch, notebook_alerts
from dashboard.notify.channels import Transient
from dashboard.notify.models import Alert, Channel, Delivery
from dashboard.teams.models import Team

DELIVERY_RETRIES = 5
DELIVERY_BACKOFF_SECONDS = 30  # the first retry's ceiling; doubles each time (Celery's full jitter below it)
DELIVERY_BACKOFF_MAX_SECONDS = 960


@shared_task(name="dashboard.tasks.check_alerts", **DATABASE_RETRY)
def check_alerts() -> dict:
    """Open, remind and resolve idle-endpoint alerts for every team; each notification is its own retried task,
    queued once the alert's state has committed."""
    summary = {}
    for team in Team.objects.all():
        with transaction.atomic():
            outcome, events = alerts.evaluate(team)
            notebook_outcome, notebook_events = notebook_alerts.evaluate(team)
            events = [*events, *notebook_events]
            channels = list(Channel.objects.filter(team=team, enabled=True).values_list("pk", flat=True))
            for alert_id, event in events:
                for channel_id in channels:
                    transaction.on_commit(lambda c=channel_id, a=alert_id, e=event: deliver_alert.delay(c, a, e))
        summary[team.slug] = {**asdict(outcome), "notebooks": asdict(notebook_outcome)}
    return summary


@shared_task(bind=True, name="dashboard.tasks.deliver_alert", max_retries=DELIVERY_RETRIES)
def deliver_alert(self, channel_id: int, alert_id: int, event: str) -> str:
    """Deliver one alert event through one channel, once: a retry after a sent attempt does nothing."""
    what = f"alert:{alert_id}:{event}"
    channel = Channel.objects.filter(pk=channel_id).first()
    alert = Alert.objects.select_related("endpoint__account", "workload__account").filter(pk=alert_id).first()
    if channel is None or alert is None:
        return "gone"
    if Delivery.objects.filter(channel=channel, what=what, status=Delivery.Status.SENT).exists():
        return "already sent"
    try:
        delivery = dispatch.deliver(
            channel, alerts.message(alert, event, settings.SITE_URL), what, attempt=self.request.retries + 1
        )
    except Transient as exc:
        # Celery's exponential backoff with full jitter (what retry_backoff/retry_jitter do for autoretry), but
        # never sooner than the receiver's Retry-After, which autoretry cannot honour.
        backoff = get_exponential_backoff_interval(
            DELIVERY_BACKOFF_SECONDS, self.request.retries, DELIVERY_BACKOFF_MAX_SECONDS, full_jitter=True
        )
        countdown = max(backoff, getattr(exc, "retry_after", None) or 0)
        raise self.retry(exc=exc, countdown=countdown) from exc
    return delivery.status if delivery else "channel disabled"


@shared_task(name="dashboard.tasks.send_digests", **DATABASE_RETRY)
def send_digests() -> int:
    """Queue one send per weekly digest that is due (the team's local weekday and hour) and not yet sent."""
    queued = 0
    for team, user, week_start in digest.pending(timezone.now()):
        send_digest.delay(team.pk, user.pk, week_start.isoformat())
        queued += 1
    return queued


@shared_task(
    name="dashboard.tasks.send_digest",
    bind=True,
    autoretry_for=(Exception,),
    retry_backoff=60,
    retry_backoff_max=3600,
    max_retries=4,
)
def send_digest(self, team_id: int, user_id: int, week_start: str) -> bool:
    """Send one digest to one member, once: the claim makes a retried or duplicated task a no-op."""
    team, user = Team.objects.get(pk=team_id), get_user_model().objects.get(pk=user_id)
    return digest.send_one(team, user, dt.date.fromisoformat(week_start), owner=f"celery:{self.request.id}")
