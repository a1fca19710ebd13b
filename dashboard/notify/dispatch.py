"""Deliver one message through one channel, and keep a record of every attempt.

``deliver`` records a ``Delivery`` for each attempt, whatever happens:

- sent → ``SENT`` with the channel's detail (HTTP status, message id); the channel's failure count is reset;
- unsafe destination (slack/webhook URLs are checked, and pinned to the checked address, right before
  connecting) → ``REFUSED``; counts as a permanent failure;
- ``Permanent`` → ``PERMANENT``; after ``settings.CHANNEL_MAX_PERMANENT_FAILURES`` (default 3) permanent
  failures in a row the channel is disabled, with the reason, until someone edits and re-enables it;
- ``Transient`` → ``FAILED``, and the exception is re-raised for the Celery task to retry with backoff
  (``exc.retry_after`` seconds when the destination asked for it);
- anything else (a bug) → ``FAILED`` with the error, re-raised.

A disabled channel is skipped: ``deliver`` returns None and records nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import F

from dashboard.notify.channels import Message, Permanent, Transient, send
from dashboard.notify.models import Channel, Delivery
from dashboard.notify.urlsafety import UnsafeDestination

DETAIL_MAX = 2000


def deliver(channel: Channel, message: Message, what: str, attempt: int = 1) -> Delivery | None:
    if not channel.enabled:
        return None
    try:
        detail = send(channel, message)
    except UnsafeDestination as exc:
        return _permanent_failure(channel, what, attempt, Delivery.Status.REFUSED, f"unsafe destination: {exc}")
    except Permanent as exc:
        return _permanent_failure(channel, what, attempt, Delivery.Status.PERMANENT, str(exc))
    except Exception as exc:  # Transient (retried by the task) or a bug: recorded, then raised
        _record(channel, what, attempt, Delivery.Status.FAILED, str(exc) if isinstance(exc, Transient) else repr(exc))
        raise
    _reset_failures(channel)
    return _record(channel, what, attempt, Delivery.Status.SENT, detail)


def _record(channel: Channel, what: str, attempt: int, status: str, detail: str) -> Delivery:
    return Delivery.objects.create(
        team_id=channel.team_id, channel=channel, what=what, status=status, attempt=attempt, detail=detail[:DETAIL_MAX]
    )


def _permanent_failure(channel: Channel, what: str, attempt: int, status: str, detail: str) -> Delivery:
    delivery = _record(channel, what, attempt, status, detail)
    _count_permanent_failure(channel, detail)
    return delivery


def _count_permanent_failure(channel: Channel, detail: str) -> None:
    """Increment in the database (concurrent deliveries count correctly) and disable at the limit."""
    limit = getattr(settings, "CHANNEL_MAX_PERMANENT_FAILURES", 3)
    channels = Channel.objects.filter(pk=channel.pk)
    channels.update(consecutive_failures=F("consecutive_failures") + 1)
    reason = f"Disabled after {limit} consecutive permanent failures; the last: {detail}"[:DETAIL_MAX]
    channels.filter(enabled=True, consecutive_failures__gte=limit).update(enabled=False, disabled_reason=reason)
    channel.refresh_from_db(fields=["consecutive_failures", "enabled", "disabled_reason"])


def _reset_failures(channel: Channel) -> None:
    if channel.consecutive_failures:
        Channel.objects.filter(pk=channel.pk).update(consecutive_failures=0)
        channel.consecutive_failures = 0
