"""Notification channels behind one small interface: ``send(channel, message) -> detail``.

One module per ``Channel.Kind`` (``email``, ``slack``, ``webhook``, ``sns``), each with a
``send(channel, message) -> str`` that returns a short detail (HTTP status, message id) or raises:

- ``Permanent``: retrying cannot help (4xx, invalid address or ARN, missing secret, refused recipient);
  ``dispatch.deliver`` counts these and disables a channel after several in a row.
- ``Transient``: worth retrying later (timeouts, connection errors, 5xx, throttling); the Celery task retries
  with backoff, honouring ``retry_after`` (seconds) when the destination said how long to wait.

Slack and webhook channels only ever reach the network through ``outbound.post_json``, which refuses
unsafe destinations (``dashboard.notify.urlsafety.UnsafeDestination``) before connecting.
Recording attempts, counting failures and disabling channels is ``dashboard.notify.dispatch``'s job, not a
channel's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module

MODULES = {"email": "email", "slack": "slack", "webhook": "webhook", "sns": "sns"}


@dataclass
class Message:
    """What to say, whatever the channel: ``event`` is e.g. alert.opened, alert.reminder, alert.resolved, test."""

    event: str
    subject: str
    text: str
    html: str = ""
    payload: dict = field(default_factory=dict)


class DeliveryError(Exception):
    """A channel could not deliver a message."""


class Transient(DeliveryError):
    """Worth retrying later."""

    def __init__(self, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class Permanent(DeliveryError):
    """Retrying will not help until someone fixes the channel or the destination."""


def send(channel, message: Message) -> str:
    """Deliver ``message`` through ``channel`` with the module for its kind; returns a short detail."""
    name = MODULES.get(channel.kind)
    if name is None:
        raise Permanent(f"unknown channel kind {channel.kind!r}")
    return import_module(f"{__name__}.{name}").send(channel, message)
