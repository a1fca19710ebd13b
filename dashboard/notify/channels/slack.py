"""Slack-compatible incoming webhooks (Slack, Mattermost, Rocket.Chat, Discord's ``/slack`` endpoint).

Posts ``{"text": ..., "blocks": [...]}``: ``text`` alone is enough for the compatible services and is Slack's
notification fallback; ``blocks`` give Slack a header, the message and the event name. Slack answers 400/403/
404/410 for a bad payload or a removed webhook or channel (permanent) and 429 when rate limited (retried).
"""

from __future__ import annotations

import json

from dashboard.notify.channels import Message
from dashboard.notify.channels.outbound import post_json

HEADER_MAX, SECTION_MAX = 150, 3000


def send(channel, message: Message) -> str:
    return post_json(channel.target, json.dumps(payload(message)).encode())


def payload(message: Message) -> dict:
    return {
        "text": escape(f"{message.subject}\n{message.text}" if message.text else message.subject),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": message.subject[:HEADER_MAX] or "Wattson"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": escape(message.text)[:SECTION_MAX] or " "}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Wattson · `{escape(message.event)}`"}]},
        ],
    }


def escape(text: str) -> str:
    """Slack's mrkdwn control characters, so ``<`` in a name cannot form a link or a mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
