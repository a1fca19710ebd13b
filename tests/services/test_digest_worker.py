"""Weekly digests the way production sends them: beat's ``send_digests`` job in a real Celery worker fans out one
``send_digest`` task per member, each delivered to a real SMTP server on loopback, once."""

import pytest

from dashboard.celery import app
from dashboard.notify.models import DigestClaim, NotificationSettings
from dashboard.notify.tasks import send_digests
from tests.notify.conftest import smtp_server  # noqa: F401 - fixture
from tests.services.conftest import wait_for
from tests.web import factories


def mail_env(settings) -> dict:
    return {
        "EMAIL_HOST": settings.EMAIL_HOST,
        "EMAIL_PORT": str(settings.EMAIL_PORT),
        "EMAIL_USE_TLS": "false",
        "DEFAULT_FROM_EMAIL": "wattson@example.com",
        "SITE_URL": "https://wattson.example",
    }


def job_results(worker) -> list[str]:
    """What each finished ``send_digests`` returned (how many sends it queued), from the worker's log."""
    return [
        line.rsplit(": ", 1)[-1].strip()
        for line in worker.log().splitlines()
        if "dashboard.tasks.send_digests[" in line and " succeeded in " in line
    ]


def run_job(redis_url: str, worker) -> None:
    with app.connection_for_write(redis_url) as connection:
        send_digests.apply_async(queue=worker.queue, connection=connection)


@pytest.mark.services
def test_the_digest_job_sends_each_members_digest_once_through_a_worker(
    start_worker, redis_url, teams, alice, bob, charlie, smtp_server, settings
):
    for user in (alice, bob, charlie):
        user.email = f"{user.username}@example.com"
        user.save(update_fields=["email"])
    account = factories.account(teams[0], "111122223333", "prod")
    factories.endpoint(account, "ranker", instance_type="ml.g5.2xlarge", hours=8 * 24)
    factories.estimate()
    # Due from Monday 00:00 UTC on: due whenever the test runs. Charlie's team has no AWS account: no digest.
    NotificationSettings.objects.create(team=teams[0], digest_weekday=0, digest_hour=0, timezone="UTC")
    worker = start_worker(mail_env(settings), concurrency=2)
    run_job(redis_url, worker)
    assert wait_for(lambda: len(smtp_server.messages) >= 2, 120), worker.log()
    assert sorted(r for m in smtp_server.messages for r in m.rcpt_tos) == ["alice@example.com", "bob@example.com"]
    assert b"Wattson weekly" in smtp_server.messages[0].content

    run_job(redis_url, worker)  # beat's next run, or a duplicated message: the claims make it a no-op
    assert wait_for(lambda: len(job_results(worker)) == 2, 120), worker.log()
    assert job_results(worker) == ["2", "0"]  # the second run found nothing left to send
    assert len(smtp_server.messages) == 2
    assert sorted(DigestClaim.objects.values_list("user__username", "status")) == [("alice", "sent"), ("bob", "sent")]
