"""A task sent through the real Redis broker runs in a real Celery worker process and writes to the database."""

import os
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings

from collectors.models import WorkerHeartbeat
from collectors.tasks import heartbeat
from dashboard.celery import app
from tests.conftest import ROOT


def database_url() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def worker(redis_url, transactional_db, tmp_path):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "CELERY_BROKER_URL": redis_url, "DATABASE_URL": database_url(), "VAR_DIR": str(tmp_path)}
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "dashboard", "worker", "--pool", "solo", "-Q", queue,
         "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    yield queue
    process.terminate()
    process.wait(timeout=20)
    log.close()


def wait_for(predicate, seconds: float = 45):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return False


@pytest.mark.services
def test_a_task_through_redis_runs_in_a_worker_and_lands_in_the_database(worker, redis_url):
    hostname = f"worker-under-test-{uuid.uuid4().hex[:6]}"
    with app.connection_for_write(redis_url) as connection:
        heartbeat.apply_async(args=[hostname], queue=worker, connection=connection)
        heartbeat.apply_async(args=[hostname], queue=worker, connection=connection)
    assert wait_for(lambda: WorkerHeartbeat.objects.filter(hostname=hostname, beats=2).exists())
