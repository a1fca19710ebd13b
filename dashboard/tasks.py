from celery import shared_task
from django.db.utils import InterfaceError, OperationalError

from dashboard import footprint

# A lost database connection (a restart, a failover) is retried with Celery's exponential backoff and jitter, from
# 5 s up to 5 minutes; each of these jobs is idempotent (estimates are upserted, alerts and digests are claimed).
DATABASE_RETRY = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 12,
}


@shared_task(name="dashboard.tasks.estimate_pending", **DATABASE_RETRY)
def estimate_pending() -> int:
    """Estimate new, re-collected and outdated variant-hours (the estimator's version is stored with each)."""
    return footprint.estimate_pending()


@shared_task(name="dashboard.tasks.recommend", **DATABASE_RETRY)
def recommend() -> dict:
    """Re-compute every team's recommendations; returns per team what was created, updated, resolved."""
    from dataclasses import asdict

    from dashboard.recommend import engine

    return {slug: asdict(outcome) for slug, outcome in engine.recompute_all().items()}


@shared_task(name="dashboard.tasks.check_alerts", **DATABASE_RETRY)
def check_alerts() -> dict:
    """Open, remind and resolve idle-endpoint alerts for every team; each notification is its own retried task,
    queued once the alert's state has committed."""
    from dataclasses import asdict

    from django.db import transaction

    from dashboard.models import Channel, Team
    from dashboard.notify import alerts

    summary = {}
    for team in Team.objects.all():
        with transaction.atomic():
            outcome, events = alerts.evaluate(team)
            channels = list(Channel.objects.filter(team=team, enabled=True).values_list("pk", flat=True))
            for alert_id, event in events:
                for channel_id in channels:
                    transaction.on_commit(lambda c=channel_id, a=alert_id, e=event: deliver_alert.delay(c, a, e))
        summary[team.slug] = asdict(outcome)
    return summary


@shared_task(bind=True, name="dashboard.tasks.deliver_alert", max_retries=5)
def deliver_alert(self, channel_id: int, alert_id: int, event: str) -> str:
    """Deliver one alert event through one channel, once: a retry after a sent attempt does nothing."""
    from django.conf import settings

    from dashboard.models import Alert, Channel, Delivery
    from dashboard.notify import alerts, dispatch
    from dashboard.notify.channels import Transient

    what = f"alert:{alert_id}:{event}"
    channel = Channel.objects.filter(pk=channel_id).first()
    alert = Alert.objects.select_related("endpoint__account").filter(pk=alert_id).first()
    if channel is None or alert is None:
        return "gone"
    if Delivery.objects.filter(channel=channel, what=what, status=Delivery.Status.SENT).exists():
        return "already sent"
    try:
        delivery = dispatch.deliver(
            channel, alerts.message(alert, event, settings.SITE_URL), what, attempt=self.request.retries + 1
        )
    except Transient as exc:
        countdown = max(30 * 2**self.request.retries, getattr(exc, "retry_after", None) or 0)  # honour Retry-After
        raise self.retry(exc=exc, countdown=countdown) from exc
    return delivery.status if delivery else "channel disabled"


@shared_task(name="dashboard.tasks.send_digests", **DATABASE_RETRY)
def send_digests() -> int:
    """Queue one send per weekly digest that is due (the team's local weekday and hour) and not yet sent."""
    from django.utils import timezone

    from dashboard.notify import digest

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
    import datetime as dt

    from django.contrib.auth import get_user_model

    from dashboard.models import Team
    from dashboard.notify import digest

    team, user = Team.objects.get(pk=team_id), get_user_model().objects.get(pk=user_id)
    return digest.send_one(team, user, dt.date.fromisoformat(week_start), owner=f"celery:{self.request.id}")
