"""AWS SNS: publish to the topic ARN in ``channel.target`` as the channel's AWS account.

The client comes from ``collectors.aws`` exactly as collectors get theirs: the account's role is assumed with
its external id (the role then needs ``sns:Publish`` on the topic, or the topic's policy must allow it), and
``AWS_ENDPOINT_URL`` points it at another endpoint such as the sandbox. The region is the topic's, from its ARN.

SNS subjects must be ASCII, one line, under 100 characters; the event name travels as the ``event`` message
attribute, for subscription filter policies. Throttling and server errors are transient (botocore has already
retried them adaptively); authorization errors, a missing topic or invalid parameters are permanent.
"""

from __future__ import annotations

import re
import unicodedata

from botocore.exceptions import BotoCoreError, ClientError

from collectors import aws
from dashboard.notify.channels import Message, Permanent, Transient

TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):[A-Za-z0-9_.-]{1,256}$")
TRANSIENT_CODES = {
    "Throttled",
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "KMSThrottling",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "RequestTimeout",
}


def send(channel, message: Message) -> str:
    region = topic_region(channel.target)
    if channel.account is None:
        raise Permanent("SNS channel has no AWS account to publish as")
    if TOPIC_ARN.match(channel.target.strip())["account"] != channel.account.account_id:
        raise Permanent(f"the topic does not belong to account {channel.account.account_id}, which publishes it")
    try:
        response = aws.client(channel.account, "sns", region).publish(
            TopicArn=channel.target,
            Subject=subject(message.subject),
            Message=message.text or message.subject,
            MessageAttributes={"event": {"DataType": "String", "StringValue": message.event}},
        )
    except ClientError as exc:
        raise _classify(exc) from exc
    except BotoCoreError as exc:  # connection errors and timeouts, after botocore's own retries
        raise Transient(f"SNS: {exc}") from exc
    except aws.IdentityError as exc:  # the account's credentials are not that account's: never publish with them
        raise Permanent(f"SNS: {exc}") from exc
    return f"MessageId {response['MessageId']}"


def topic_region(arn: str) -> str:
    match = TOPIC_ARN.match(arn.strip())
    if not match:
        raise Permanent(f"not an SNS topic ARN: {arn!r}")
    return match["region"]


def subject(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(ascii_text.split())[:100] or "Wattson"


def _classify(exc: ClientError) -> Permanent | Transient:
    error = exc.response.get("Error", {})
    code, status = error.get("Code", ""), exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    detail = f"SNS {code or status}: {error.get('Message', exc)}"
    if code in TRANSIENT_CODES or status >= 500:
        return Transient(detail)
    return Permanent(detail)
