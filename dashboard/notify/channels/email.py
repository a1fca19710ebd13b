"""Email to the comma-separated addresses in ``channel.target``, through Django's configured backend
(SMTP from ``EMAIL_*`` settings in production). Text, plus an HTML alternative when the message has one.

SMTP replies in the 5xx range about the message or its recipients are permanent; the 4xx range (greylisting,
full mailbox), connection failures and timeouts are transient. Problems with the server's own configuration
(authentication, sender refused) are reported as transient: they are the operator's to fix, and should not
disable a team's channel.
"""

from __future__ import annotations

import smtplib

from django.core.exceptions import ValidationError
from django.core.mail import BadHeaderError, EmailMultiAlternatives
from django.core.validators import validate_email

from dashboard.notify.channels import Message, Permanent, Transient

SERVER_SIDE = (
    smtplib.SMTPConnectError,
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPSenderRefused,
    smtplib.SMTPAuthenticationError,
    smtplib.SMTPHeloError,
    smtplib.SMTPNotSupportedError,
)


def send(channel, message: Message) -> str:
    email = build(addresses(channel.target), message)
    try:
        email.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        raise _refused(exc) from exc
    except SERVER_SIDE as exc:
        raise Transient(f"SMTP server: {exc}") from exc
    except smtplib.SMTPResponseException as exc:
        error = Permanent if exc.smtp_code >= 500 else Transient
        raise error(f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}") from exc
    except OSError as exc:  # connection refused, timeout, TLS errors; smtplib.SMTPException is an OSError
        raise Transient(f"SMTP connection: {exc}") from exc
    count = len(email.to)
    return f"sent to {count} recipient{'' if count == 1 else 's'}"


def addresses(target: str) -> list[str]:
    found = [item.strip() for item in target.split(",") if item.strip()]
    if not found:
        raise Permanent("no email address")
    for address in found:
        try:
            validate_email(address)
        except ValidationError:
            raise Permanent(f"invalid email address {address!r}") from None
    return found


def build(to: list[str], message: Message) -> EmailMultiAlternatives:
    subject = " ".join(message.subject.split())  # one line: no header injection, no BadHeaderError
    email = EmailMultiAlternatives(subject, message.text, to=to, headers={"X-Wattson-Event": message.event})
    if message.html:
        email.attach_alternative(message.html, "text/html")
    try:
        email.message()  # fail on a bad header now, as a permanent error, not inside the backend
    except (BadHeaderError, ValueError) as exc:
        raise Permanent(f"invalid message: {exc}") from exc
    return email


def _refused(exc: smtplib.SMTPRecipientsRefused) -> Permanent | Transient:
    replies = ", ".join(f"{rcpt}: {code} {_text(text)}" for rcpt, (code, text) in exc.recipients.items())
    permanent = all(code >= 500 for code, _ in exc.recipients.values())
    return (Permanent if permanent else Transient)(f"recipients refused: {replies}")


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
