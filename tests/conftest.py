"""Shared fixtures: personas, the simulated AWS as a real HTTP server, and real services.

Request database fixtures (db, and personas built on it) in test signatures, never through
request.getfixturevalue: pytest-django creates test databases only for what collected tests declare, so a
session whose only database use is dynamic would run against the configured, real database.

``REQUIRE_SERVICES=1`` (set by .ci/run) turns a missing Redis or Chromium into a failure
instead of a skip, so CI can never pass by skipping the tests that matter.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.cli import SandboxNotReady, wait_until_ready

ROOT = Path(__file__).resolve().parent.parent
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
SANDBOX_STALL_SECONDS = 120  # no total deadline: the start fails only if the sandbox dies or stops making progress
# A loopback call to the sandbox has no deadline a slow, busy machine could miss (its first price request builds
# the catalog); the timeout only stops a hung test.
LOOPBACK_TIMEOUT_SECONDS = 300


def pytest_configure(config):
    """Passwords hashed with a fast hasher in tests (Django's advice for test settings): PBKDF2's deliberate
    ~0.2 s per user created or logged in, paid by most tests, would add minutes to the suite. Every test process
    that checks a password is this one (the test client and live server), so the production hasher is unchanged."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def require_or_skip(available: bool, what: str) -> None:
    if available:
        return
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{what} is required (REQUIRE_SERVICES=1) but not available")
    pytest.skip(f"{what} not available")


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


@pytest.fixture
def redis_url():
    require_or_skip(port_open(REDIS_HOST, REDIS_PORT), f"Redis at {REDIS_HOST}:{REDIS_PORT}")
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/15"


# --- personas ------------------------------------------------------------------------------------


@pytest.fixture
def teams(db):
    from dashboard.teams.models import Team

    return Team.objects.create(name="ML Platform", slug="ml-platform"), Team.objects.create(name="Other", slug="other")


def _member(team, username: str, role: str):
    from django.contrib.auth import get_user_model

    from dashboard.teams.models import Membership

    user = get_user_model().objects.create_user(username=username, password="correct horse battery staple")
    Membership.objects.create(team=team, user=user, role=role)
    return user


@pytest.fixture
def alice(teams):
    """Owner of the ML Platform team."""
    return _member(teams[0], "alice", "owner")


@pytest.fixture
def bob(teams):
    """Member of the ML Platform team."""
    return _member(teams[0], "bob", "member")


@pytest.fixture
def charlie(teams):
    """Outsider: owner of another team."""
    return _member(teams[1], "charlie", "owner")


# --- the sandbox (simulated AWS over HTTP) -------------------------------------------------------


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory):
    """The seeded demo fleet behind a patched moto server, in its own process, for the whole session."""
    folder = tmp_path_factory.mktemp("sandbox")
    ready_file, log_file = folder / "ready.json", folder / "sandbox.log"
    with log_file.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "--port", "0", "--no-live", "--ready-file", str(ready_file)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        try:
            fleet = wait_until_ready(process, ready_file, SANDBOX_STALL_SECONDS)
        except SandboxNotReady as exc:
            process.kill()
            raise RuntimeError(f"{exc}:\n{log_file.read_text()}") from exc
        yield fleet
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def sandbox_control(sandbox):
    """Reset the sandbox's faults, trust rules and call counters around a test."""
    import urllib.request

    def call(method: str, route: str, payload=None):
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(f"{sandbox['url']}/_sandbox/{route}", data=data, method=method)
        with urllib.request.urlopen(request, timeout=LOOPBACK_TIMEOUT_SECONDS) as response:  # noqa: S310 - loopback sandbox only
            return json.loads(response.read())

    call("DELETE", "faults")
    call("DELETE", "trust")
    call("DELETE", "calls")
    yield call
    call("DELETE", "faults")
    call("DELETE", "trust")
