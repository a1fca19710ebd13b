"""The API throttle holds across processes: its counts live in the shared cache (the database table by default,
Redis when CACHE_URL says so), not in each gunicorn process's memory."""

import json
import os
import subprocess
import sys
import time
import uuid
from types import SimpleNamespace

import pytest
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache

from dashboard.api.auth import TokenRateThrottle
from tests.api.conftest import bearer
from tests.conftest import REDIS_HOST, REDIS_PORT, ROOT, port_open, require_or_skip

REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/14"
LIMIT = 25
NOON = 1_800_000_000.0 + 1800  # a fixed clock, in the middle of a one-hour window


class Throttle(TokenRateThrottle):
    rate = f"{LIMIT}/hour"
    timer = staticmethod(lambda: NOON)

    def __init__(self, cache):
        super().__init__()
        self.cache = cache


def as_user(pk: int):
    return SimpleNamespace(auth=None, user=SimpleNamespace(pk=pk))


def allowed(cache, requests: int, user: int) -> int:
    return sum(Throttle(cache).allow_request(as_user(user), None) for _ in range(requests))


def two_connections(backend):
    """Two cache objects with their own connections to the same store, as two gunicorn processes have."""
    prefix = f"test-{uuid.uuid4().hex}"
    if backend == "redis":
        require_or_skip(port_open(REDIS_HOST, REDIS_PORT), f"Redis at {REDIS_HOST}:{REDIS_PORT}")
        return [RedisCache(REDIS_URL, {"KEY_PREFIX": prefix}) for _ in range(2)]
    return [DatabaseCache("wattson_cache", {"KEY_PREFIX": prefix}) for _ in range(2)]


@pytest.mark.parametrize("backend", ["db", "redis"])
def test_the_limit_holds_across_two_cache_connections(db, backend):
    first, second = two_connections(backend)
    assert allowed(first, 15, user=1) + allowed(second, 15, user=1) == LIMIT
    assert allowed(second, 5, user=2) == 5  # another caller has its own count


@pytest.mark.parametrize("backend", ["db", "redis"])
def test_refused_requests_do_not_count_and_the_next_window_weighs_the_last(db, backend):
    cache, _ = two_connections(backend)
    assert allowed(cache, LIMIT + 10, user=1) == LIMIT
    later = type("Later", (Throttle,), {"timer": staticmethod(lambda: NOON + 3600)})  # half into the next window
    assert sum(later(cache).allow_request(as_user(1), None) for _ in range(LIMIT)) == LIMIT - LIMIT // 2 - 1


def test_the_default_cache_is_the_shared_database_table():
    from django.conf import settings

    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"


SCRIPT = """
import json, sys, time
import django
django.setup()
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # both processes start hammering at the same instant
from types import SimpleNamespace
from dashboard.api.auth import TokenRateThrottle

class Throttle(TokenRateThrottle):
    rate = "%d/hour"
    timer = staticmethod(lambda: %r)

request = SimpleNamespace(auth=None, user=SimpleNamespace(pk=int(sys.argv[1])))
print(json.dumps(sum(Throttle().allow_request(request, None) for _ in range(%d))))
"""


def test_the_limit_holds_across_two_processes_hammering_redis_at_once():
    require_or_skip(port_open(REDIS_HOST, REDIS_PORT), f"Redis at {REDIS_HOST}:{REDIS_PORT}")
    user = str(uuid.uuid4().int % 10**9)
    env = {**os.environ, "CACHE_URL": REDIS_URL, "DJANGO_SETTINGS_MODULE": "dashboard.settings"}
    script = SCRIPT % (LIMIT * 4, NOON + 7200 * int(user), LIMIT * 4)  # a window of its own
    start = str(time.time() + 4)
    processes = [
        subprocess.Popen([sys.executable, "-c", script, user, start], cwd=ROOT, env=env, stdout=subprocess.PIPE)
        for _ in range(2)
    ]
    counts = [json.loads(process.communicate(timeout=120)[0]) for process in processes]
    assert sum(counts) == LIMIT * 4  # DRF's read-modify-write history let ~2x through here


def test_a_throttled_api_call_is_a_429_with_retry_after(client, alice, teams, monkeypatch):
    from dashboard.teams.models import ApiToken

    _, plaintext = ApiToken.issue(alice, teams[0], "hammer")
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "3/min"})
    statuses = [client.get("/api/v1/accounts/", **bearer(plaintext)) for _ in range(5)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429, 429]
    assert 0 < int(statuses[-1]["Retry-After"]) <= 60
