"""A task sent through the real Redis broker runs in a real Celery worker process and writes to the database."""

import uuid

import pytest

from collectors.models import WorkerHeartbeat
from collectors.tasks import heartbeat
from dashboard.celery import app
from tests.services.conftest import wait_for


@pytest.mark.services
def test_a_task_through_redis_runs_in_a_worker_and_lands_in_the_database(start_worker, redis_url):
    worker = start_worker()
    hostname = f"worker-under-test-{uuid.uuid4().hex[:6]}"
    with app.connection_for_write(redis_url) as connection:
        heartbeat.apply_async(args=[hostname], queue=worker.queue, connection=connection)
        heartbeat.apply_async(args=[hostname], queue=worker.queue, connection=connection)
    assert wait_for(lambda: WorkerHeartbeat.objects.filter(hostname=hostname, beats=2).exists()), worker.log()
