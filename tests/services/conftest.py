"""A real Celery worker process on the real Redis broker, against the test database."""

import os
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings

from tests.conftest import ROOT


def database_url() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


HANG_SECONDS = 180  # bounds a hang, not speed: each wait ends as soon as its condition holds, however slow the box


def wait_for(predicate, seconds: float = HANG_SECONDS) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


class Worker:
    def __init__(self, process: subprocess.Popen, queue: str, log_path):
        self.process, self.queue, self.log_path = process, queue, log_path

    def children(self) -> list[int]:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True)
        return [int(pid) for pid in out.stdout.split()]

    def log(self) -> str:
        return self.log_path.read_text()


@pytest.fixture
def start_worker(redis_url, transactional_db, tmp_path):
    started = []

    def start(extra_env: dict | None = None, concurrency: int = 1, queue: str | None = None) -> Worker:
        """A worker process; ``queue`` names an earlier worker's queue for a replacement worker."""
        queue = queue or f"test-{uuid.uuid4().hex[:8]}"
        env = {
            **os.environ,
            "CELERY_BROKER_URL": redis_url,
            "DATABASE_URL": database_url(),
            "VAR_DIR": str(tmp_path),
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            **(extra_env or {}),
        }
        log_path = tmp_path / f"worker-{queue}.log"
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "dashboard",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                str(concurrency),
                "-Q",
                queue,
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=log_path.open("w"),
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        return Worker(process, queue, log_path)

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
