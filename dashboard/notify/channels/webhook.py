"""Signed webhooks: a JSON POST that the receiver can prove came from Wattson.

Request::

    POST <channel.target>
    Content-Type: application/json
    X-Wattson-Event: alert.opened
    X-Wattson-Timestamp: 1763300000
    X-Wattson-Signature: sha256=<hex>

    {"event": "alert.opened", "subject": "...", "text": "...", "payload": {...}, "sent_at": "2025-11-16T13:33:20Z"}

The signature is the hex HMAC-SHA256, keyed with the channel's secret (shown once when the channel is created),
of the timestamp, a dot and the raw request body, exactly as received: ``f"{timestamp}.{body}"``.

How a receiver verifies it (Python; the same in any language with HMAC-SHA256)::

    import hashlib, hmac, time

    def verify(secret: str, headers, body: bytes, tolerance: int = 300) -> bool:
        timestamp = headers["X-Wattson-Timestamp"]
        signed = timestamp.encode() + b"." + body          # the raw bytes: do not re-serialize the JSON
        expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        fresh = abs(time.time() - int(timestamp)) <= tolerance  # refuse replays of old requests
        return fresh and hmac.compare_digest(expected, headers["X-Wattson-Signature"])

Retries (after a timeout or a 5xx) are signed again with a new timestamp, so the same event can arrive more than
once: deduplicate on the payload's identifiers if that matters. The receiver should answer 2xx quickly; 3xx is
never followed and any other 4xx is a permanent failure of the channel.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

from django.core.serializers.json import DjangoJSONEncoder

from dashboard.notify.channels import Message, Permanent
from dashboard.notify.channels.outbound import post_json


def send(channel, message: Message) -> str:
    if not channel.secret:
        raise Permanent("signed webhook channel has no secret")
    timestamp = int(time.time())
    body = encode(message, timestamp)
    headers = {
        "X-Wattson-Event": message.event,
        "X-Wattson-Timestamp": str(timestamp),
        "X-Wattson-Signature": signature(channel.secret, timestamp, body),
    }
    return post_json(channel.target, body, headers)


def encode(message: Message, timestamp: int) -> bytes:
    sent_at = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    document = {
        "event": message.event,
        "subject": message.subject,
        "text": message.text,
        "payload": message.payload,
        "sent_at": sent_at,
    }
    return json.dumps(document, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
