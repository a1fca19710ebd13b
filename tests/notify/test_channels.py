"""Notification channels against real receivers: an HTTP server and an SMTP server on loopback, and SNS/SQS in
the sandbox. Nothing of Wattson's is mocked; every attempt must leave a Delivery behind."""

import email
import hashlib
import hmac
import json
import socket
import time
import uuid
from email import policy

import pytest

from dashboard.notify.channels import Message, Permanent, Transient, send
from dashboard.notify.dispatch import deliver
from dashboard.notify.models import Channel, Delivery
from dashboard.notify.urlsafety import UnsafeDestination, check_url
from sandbox.clients import client
from tests.notify.conftest import free_port

LOOPBACK = ["127.0.0.1/32"]
SECRET = "s3cret-key-for-tests"
ALERT = Message(
    event="alert.opened",
    subject="Idle endpoint: fraud-scorer",
    text="No invocations for 26 h.",
    html="<p>No invocations for <b>26 h</b>.</p>",
    payload={"alert": 42, "endpoint": "fraud-scorer"},
)


def channel(team, kind: str, target: str, **fields) -> Channel:
    return Channel.objects.create(team=team, kind=kind, name=f"{kind} channel", target=target, **fields)


@pytest.fixture
def team(teams):
    return teams[0]


@pytest.fixture
def allow_loopback(settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = LOOPBACK
    settings.WEBHOOK_TIMEOUT_SECONDS = 2


# --- signed webhooks -----------------------------------------------------------------------------


def test_signed_webhook_reaches_the_receiver_and_the_signature_verifies(team, receiver, allow_loopback):
    hook = channel(team, "webhook", f"{receiver.url}/hooks/wattson", secret=SECRET)

    delivery = deliver(hook, ALERT, "alert:42:opened")

    assert (delivery.status, delivery.detail, delivery.attempt) == (Delivery.Status.SENT, "HTTP 200", 1)
    assert (delivery.team, delivery.channel, delivery.what) == (team, hook, "alert:42:opened")
    [hit] = receiver.at("/hooks/wattson")
    headers, body = hit["headers"], hit["body"]
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Wattson-Event"] == "alert.opened"
    timestamp = headers["X-Wattson-Timestamp"]
    assert abs(time.time() - int(timestamp)) < 60
    expected = hmac.new(SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Wattson-Signature"], f"sha256={expected}")
    document = json.loads(body)
    assert document["event"] == "alert.opened" and document["subject"] == ALERT.subject
    assert document["text"] == ALERT.text and document["payload"] == {"alert": 42, "endpoint": "fraud-scorer"}
    assert document["sent_at"].endswith("Z")


def test_a_wrong_secret_does_not_verify(team, receiver, allow_loopback):
    deliver(channel(team, "webhook", f"{receiver.url}/ok", secret=SECRET), ALERT, "alert:1:opened")
    [hit] = receiver.hits
    forged = hmac.new(b"other", hit["headers"]["X-Wattson-Timestamp"].encode() + b"." + hit["body"], hashlib.sha256)
    assert hit["headers"]["X-Wattson-Signature"] != f"sha256={forged.hexdigest()}"


def test_a_server_error_is_recorded_as_failed_and_raised_as_transient(team, receiver, allow_loopback):
    hook = channel(team, "webhook", f"{receiver.url}/fail", secret=SECRET)

    with pytest.raises(Transient, match="HTTP 500"):
        deliver(hook, ALERT, "alert:42:opened", attempt=2)

    delivery = Delivery.objects.get(channel=hook)
    assert (delivery.status, delivery.attempt) == (Delivery.Status.FAILED, 2)
    assert "500" in delivery.detail
    hook.refresh_from_db()
    assert hook.enabled and hook.consecutive_failures == 0  # transient failures never disable a channel


def test_throttling_is_transient_and_carries_retry_after(team, receiver, allow_loopback):
    with pytest.raises(Transient) as raised:
        deliver(channel(team, "webhook", f"{receiver.url}/busy", secret=SECRET), ALERT, "alert:42:opened")
    assert raised.value.retry_after == 7


def test_not_found_is_a_permanent_failure(team, receiver, allow_loopback):
    hook = channel(team, "webhook", f"{receiver.url}/missing", secret=SECRET)

    delivery = deliver(hook, ALERT, "alert:42:opened")

    assert delivery.status == Delivery.Status.PERMANENT and "404" in delivery.detail
    hook.refresh_from_db()
    assert hook.enabled and hook.consecutive_failures == 1


def test_three_permanent_failures_in_a_row_disable_the_channel(team, receiver, allow_loopback):
    hook = channel(team, "webhook", f"{receiver.url}/missing", secret=SECRET)

    statuses = [deliver(hook, ALERT, f"alert:{n}:opened").status for n in range(3)]

    assert statuses == [Delivery.Status.PERMANENT] * 3
    hook.refresh_from_db()
    assert not hook.enabled and hook.consecutive_failures == 3
    assert "3 consecutive permanent failures" in hook.disabled_reason and "404" in hook.disabled_reason
    assert deliver(hook, ALERT, "alert:4:opened") is None  # disabled: skipped, nothing sent or recorded
    assert len(receiver.hits) == 3 and Delivery.objects.filter(channel=hook).count() == 3


def test_the_failure_limit_is_a_setting(team, receiver, allow_loopback, settings):
    settings.CHANNEL_MAX_PERMANENT_FAILURES = 1
    hook = channel(team, "webhook", f"{receiver.url}/missing", secret=SECRET)
    deliver(hook, ALERT, "alert:1:opened")
    assert not hook.enabled and "1 consecutive" in hook.disabled_reason


def test_a_success_resets_the_failure_count(team, receiver, allow_loopback):
    hook = channel(team, "webhook", f"{receiver.url}/missing", secret=SECRET)
    deliver(hook, ALERT, "alert:1:opened")
    deliver(hook, ALERT, "alert:2:opened")
    hook.target = f"{receiver.url}/ok"
    hook.save()

    assert deliver(hook, ALERT, "alert:3:opened").status == Delivery.Status.SENT

    hook.refresh_from_db()
    assert hook.enabled and hook.consecutive_failures == 0


def test_redirects_are_not_followed(team, receiver, allow_loopback):
    hook = channel(team, "webhook", f"{receiver.url}/redirect", secret=SECRET)

    delivery = deliver(hook, ALERT, "alert:42:opened")

    assert delivery.status == Delivery.Status.PERMANENT
    assert "redirects are not followed" in delivery.detail
    assert len(receiver.at("/redirect")) == 1 and receiver.at("/target") == []


def test_a_webhook_without_secret_is_a_permanent_failure(team, receiver, allow_loopback):
    delivery = deliver(channel(team, "webhook", f"{receiver.url}/ok"), ALERT, "alert:42:opened")
    assert delivery.status == Delivery.Status.PERMANENT and "secret" in delivery.detail
    assert receiver.hits == []


def test_a_receiver_that_never_answers_times_out_as_transient(team, settings, allow_loopback):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    with socket.socket() as silent:  # accepts connections (kernel backlog) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        hook = channel(team, "webhook", f"http://127.0.0.1:{silent.getsockname()[1]}/", secret=SECRET)
        started = time.monotonic()
        with pytest.raises(Transient, match="timed out"):
            deliver(hook, ALERT, "alert:42:opened")
    assert time.monotonic() - started < 5
    assert Delivery.objects.get(channel=hook).status == Delivery.Status.FAILED


def test_a_closed_port_is_transient(team, allow_loopback):
    hook = channel(team, "webhook", f"http://127.0.0.1:{free_port()}/", secret=SECRET)
    with pytest.raises(Transient, match="ConnectionRefused"):
        deliver(hook, ALERT, "alert:42:opened")


def test_the_connection_goes_to_the_checked_address_with_the_host_name_in_the_host_header(
    team, receiver, allow_loopback, monkeypatch
):
    """One DNS lookup, checked, then the socket is opened to that IP: a rebinding DNS server gets no second
    chance to answer with another address. (Only the system resolver is replaced: hooks.example → loopback.)"""
    port = int(receiver.url.rsplit(":", 1)[1])
    real, lookups = socket.getaddrinfo, []

    def resolver(host, *args, **kwargs):
        if host == "hooks.example":
            lookups.append(host)
            return real("127.0.0.1", *args, **kwargs) if len(lookups) == 1 else real("10.0.0.5", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    hook = channel(team, "webhook", f"http://hooks.example:{port}/pinned", secret=SECRET)

    assert deliver(hook, ALERT, "alert:42:opened").status == Delivery.Status.SENT
    assert lookups == ["hooks.example"]
    assert receiver.at("/pinned")[0]["headers"]["Host"] == f"hooks.example:{port}"


def test_https_goes_to_the_checked_address_and_verifies_the_host_name(team, tls_receiver, allow_loopback, monkeypatch):
    """TLS to the pinned IP still sends SNI and checks the certificate against the URL's host name."""
    port = int(tls_receiver.url.rsplit(":", 1)[1])
    real = socket.getaddrinfo
    fake_dns = {"hooks.example": "127.0.0.1", "impostor.example": "127.0.0.1"}
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: real(fake_dns.get(host, host), *a, **k))

    sent = deliver(channel(team, "webhook", f"https://hooks.example:{port}/tls", secret=SECRET), ALERT, "a:1")
    impostor = deliver(channel(team, "webhook", f"https://impostor.example:{port}/tls", secret=SECRET), ALERT, "a:2")

    assert sent.status == Delivery.Status.SENT and tls_receiver.at("/tls")[0]["headers"]["Host"].startswith("hooks.")
    assert impostor.status == Delivery.Status.PERMANENT and "certificate" in impostor.detail
    assert len(tls_receiver.hits) == 1


# --- Slack-compatible ----------------------------------------------------------------------------


def test_slack_payload_has_text_and_blocks(team, receiver, allow_loopback):
    message = Message(event="alert.opened", subject="Idle endpoint <!channel>", text="p95 CPU 1% & no traffic")
    delivery = deliver(channel(team, "slack", f"{receiver.url}/services/T0/B0/x"), message, "alert:7:opened")

    assert delivery.status == Delivery.Status.SENT
    document = receiver.json()
    assert document["text"] == "Idle endpoint &lt;!channel&gt;\np95 CPU 1% &amp; no traffic"
    kinds = [block["type"] for block in document["blocks"]]
    assert kinds == ["header", "section", "context"]
    assert document["blocks"][1]["text"]["text"] == "p95 CPU 1% &amp; no traffic"
    assert "X-Wattson-Signature" not in receiver.hits[0]["headers"]


# --- unsafe destinations -------------------------------------------------------------------------

UNSAFE = [
    "http://127.0.0.1:{port}/ok",
    "https://127.0.0.1:{port}/ok",
    "https://10.0.0.5/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:{port}/ok",
    "https://[::1]:{port}/ok",
    "http://localhost:{port}/ok",
    "https://localhost:{port}/ok",
]


@pytest.mark.parametrize("kind", ["webhook", "slack"])
@pytest.mark.parametrize("template", UNSAFE)
def test_private_destinations_are_refused_without_the_allow_list(team, receiver, settings, kind, template):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    target = template.format(port=receiver.url.rsplit(":", 1)[1])
    hook = channel(team, kind, target, secret=SECRET)

    delivery = deliver(hook, ALERT, "alert:42:opened")

    assert delivery.status == Delivery.Status.REFUSED
    assert delivery.detail.startswith("unsafe destination:")
    assert receiver.hits == []
    hook.refresh_from_db()
    assert hook.consecutive_failures == 1  # a refusal counts as a permanent failure


def test_the_allow_list_only_opens_what_it_lists(team, receiver, allow_loopback):
    port = receiver.url.rsplit(":", 1)[1]
    for target in ("https://10.0.0.5/hook", f"http://[::1]:{port}/ok", "http://169.254.169.254/"):
        delivery = deliver(channel(team, "webhook", target, secret=SECRET), ALERT, "alert:42:opened")
        assert delivery.status == Delivery.Status.REFUSED, target
    assert receiver.hits == []


def test_send_alone_refuses_too(team, receiver, settings):
    """The check lives in the transport, so no caller can skip it by calling a channel directly."""
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    with pytest.raises(UnsafeDestination, match="loopback"):
        send(channel(team, "slack", f"{receiver.url}/ok"), ALERT)
    assert receiver.hits == []


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/",
        "https://127.1.2.3/",
        "https://2130706433/",
        "https://10.0.0.5/",
        "https://172.16.0.1/",
        "https://192.168.1.1/",
        "https://169.254.169.254/",
        "https://100.64.0.1/",
        "https://0.0.0.0/",
        "https://224.0.0.1/",
        "https://240.0.0.1/",
        "https://255.255.255.255/",
        "https://[::1]/",
        "https://[::]/",
        "https://[fe80::1]/",
        "https://[fc00::1]/",
        "https://[fd12:3456::1]/",
        "https://[ff02::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:169.254.169.254]/",
        "https://[64:ff9b::a00:5]/",
        "https://[2002:7f00:1::]/",
        "https://[2001:db8::1]/",
        "https://localhost/",
        "http://93.184.216.34/",
        "ftp://93.184.216.34/",
        "file:///etc/passwd",
        "https://user:pw@93.184.216.34/",
        "https:///no-host",
        "https://93.184.216.34:99999/",
    ],
)
def test_check_url_refuses(url, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    with pytest.raises(UnsafeDestination):
        check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://93.184.216.34/hook?x=1",
        "https://[2606:4700::1111]/",
        "https://[::ffff:93.184.216.34]/",
        "https://[64:ff9b::5db8:d822]/",
    ],
)
def test_check_url_accepts_public_https(url, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    check_url(url)


def test_the_allow_list_admits_http_and_private_addresses(settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["10.0.0.0/8", "fd00::/8"]
    check_url("http://10.0.0.5:8080/hook")
    check_url("https://[fd12::1]/hook")
    check_url("https://[::ffff:10.0.0.5]/hook")  # IPv4-mapped: judged by its IPv4 address
    with pytest.raises(UnsafeDestination):
        check_url("http://192.168.1.1/")


# --- email ---------------------------------------------------------------------------------------


def test_email_arrives_with_subject_text_and_html(team, smtp_server):
    mail = channel(team, "email", "ops@example.com, oncall@example.com")

    delivery = deliver(mail, ALERT, "alert:42:opened")

    assert delivery.status == Delivery.Status.SENT and delivery.detail == "sent to 2 recipients"
    [envelope] = smtp_server.messages
    assert sorted(envelope.rcpt_tos) == ["oncall@example.com", "ops@example.com"]
    received = email.message_from_bytes(envelope.original_content, policy=policy.default)
    assert received["Subject"] == ALERT.subject
    assert received["X-Wattson-Event"] == "alert.opened"
    assert received.get_body(preferencelist=("plain",)).get_content().strip() == ALERT.text
    assert received.get_body(preferencelist=("html",)).get_content().strip() == ALERT.html


def test_email_without_html_is_plain_text(team, smtp_server):
    deliver(channel(team, "email", "ops@example.com"), Message("test", "Test from Wattson", "It works."), "test:1")
    [envelope] = smtp_server.messages
    received = email.message_from_bytes(envelope.original_content, policy=policy.default)
    assert received.get_content_type() == "text/plain" and received.get_content().strip() == "It works."


def test_a_refused_recipient_is_permanent(team, smtp_server):
    mail = channel(team, "email", "nobody@refused.example")

    delivery = deliver(mail, ALERT, "alert:42:opened")

    assert delivery.status == Delivery.Status.PERMANENT and "550" in delivery.detail
    assert smtp_server.messages == []


def test_an_invalid_address_is_permanent(team, smtp_server):
    delivery = deliver(channel(team, "email", "ops@example.com, not an address"), ALERT, "alert:42:opened")
    assert delivery.status == Delivery.Status.PERMANENT and "invalid email address" in delivery.detail
    assert smtp_server.messages == []


def test_an_unreachable_smtp_server_is_transient(team, smtp_server, settings):
    settings.EMAIL_PORT = free_port()  # nothing listens there
    mail = channel(team, "email", "ops@example.com")
    with pytest.raises(Transient, match="SMTP connection"):
        deliver(mail, ALERT, "alert:42:opened")
    assert Delivery.objects.get(channel=mail).status == Delivery.Status.FAILED


# --- SNS -----------------------------------------------------------------------------------------


def test_sns_publish_lands_in_the_sandbox(aws_env, prod, team):
    sns = client("sns", aws_env["url"], "us-east-1", prod.account_id)
    sqs = client("sqs", aws_env["url"], "us-east-1", prod.account_id)
    topic_arn = sns.create_topic(Name=f"wattson-alerts-{uuid.uuid4().hex[:8]}")["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"alerts-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    topic = channel(team, "sns", topic_arn, account=prod)

    delivery = deliver(topic, ALERT, "alert:42:opened")

    assert delivery.status == Delivery.Status.SENT and delivery.detail.startswith("MessageId ")
    received = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=5, MaxNumberOfMessages=1)["Messages"]
    notification = json.loads(received[0]["Body"])
    assert notification["TopicArn"] == topic_arn
    assert notification["Message"] == ALERT.text and notification["Subject"] == ALERT.subject
    assert notification["MessageAttributes"]["event"]["Value"] == "alert.opened"
    assert notification["MessageId"] == delivery.detail.removeprefix("MessageId ")


def test_sns_to_a_missing_topic_is_permanent(aws_env, prod, team):
    missing = f"arn:aws:sns:us-east-1:{prod.account_id}:no-such-topic-{uuid.uuid4().hex[:8]}"
    delivery = deliver(channel(team, "sns", missing, account=prod), ALERT, "alert:42:opened")
    assert delivery.status == Delivery.Status.PERMANENT and "NotFound" in delivery.detail


@pytest.mark.parametrize(
    ("error", "status", "outcome"),
    [
        ("AuthorizationError", 403, Delivery.Status.PERMANENT),
        ("KMSThrottling", 400, Delivery.Status.FAILED),  # not retried by botocore itself: the task retries it
    ],
)
def test_sns_errors_are_classified(aws_env, prod, team, sandbox_control, error, status, outcome):
    sns = client("sns", aws_env["url"], "us-east-1", prod.account_id)
    topic_arn = sns.create_topic(Name=f"wattson-alerts-{uuid.uuid4().hex[:8]}")["TopicArn"]
    sandbox_control("POST", "faults", {"service": "sns", "operation": "Publish", "error": error, "status": status})
    topic = channel(team, "sns", topic_arn, account=prod)

    if outcome == Delivery.Status.FAILED:
        with pytest.raises(Transient, match=error):
            deliver(topic, ALERT, "alert:42:opened")
    else:
        deliver(topic, ALERT, "alert:42:opened")

    delivery = Delivery.objects.get(channel=topic)
    assert delivery.status == outcome and error in delivery.detail


@pytest.mark.parametrize("target", ["not-an-arn", "arn:aws:sqs:us-east-1:111122223333:queue"])
def test_sns_with_an_invalid_arn_is_permanent(team, target):
    delivery = deliver(channel(team, "sns", target), ALERT, "alert:42:opened")
    assert delivery.status == Delivery.Status.PERMANENT and "not an SNS topic ARN" in delivery.detail


def test_sns_without_an_account_is_permanent(team):
    with pytest.raises(Permanent, match="no AWS account"):
        send(channel(team, "sns", "arn:aws:sns:us-east-1:111122223333:alerts"), ALERT)
