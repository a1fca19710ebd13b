"""Alerts through a real Celery worker: the periodic check opens an incident and a real HTTP receiver on loopback
gets one signed webhook; a second check (or a retried task) sends nothing more."""

import hashlib
import hmac

import pytest

from dashboard.celery import app
from dashboard.notify.models import Alert, Channel, Delivery
from dashboard.notify.tasks import check_alerts
from tests.notify.conftest import receiver  # noqa: F401 - fixture
from tests.services.conftest import wait_for
from tests.web import factories


@pytest.mark.services
def test_the_alert_job_sends_one_signed_webhook_per_incident(start_worker, redis_url, teams, receiver):
    owner = factories.account(teams[0], "111122223333", "prod")
    factories.endpoint(
        owner, "idle-gpu", instance_type="ml.g5.xlarge", hours=48, invocations=0, cpu_util_pct=1.0, gpu_util_pct=0.2
    )
    factories.estimate()
    channel = Channel.objects.create(
        team=teams[0], kind=Channel.Kind.WEBHOOK, name="ops", secret="s3cret", target=f"{receiver.url}/hook"
    )
    worker = start_worker({"WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32"})  # the operator allows loopback
    with app.connection_for_write(redis_url) as connection:
        check_alerts.apply_async(queue=worker.queue, connection=connection)
    assert wait_for(lambda: receiver.at("/hook")), worker.log()
    hit = receiver.at("/hook")[0]
    signed = f"{hit['headers']['X-Wattson-Timestamp']}.".encode() + hit["body"]
    expected = "sha256=" + hmac.new(b"s3cret", signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(hit["headers"]["X-Wattson-Signature"], expected)
    assert receiver.json(0)["event"] == "alert.opened" and receiver.json(0)["payload"]["endpoint"] == "idle-gpu"
    with app.connection_for_write(redis_url) as connection:
        check_alerts.apply_async(queue=worker.queue, connection=connection)
    assert wait_for(lambda: "check_alerts" in worker.log() and worker.log().count("succeeded") >= 3)
    assert len(receiver.at("/hook")) == 1 and Alert.objects.count() == 1
    assert list(Delivery.objects.filter(channel=channel).values_list("status", flat=True)) == ["sent"]
