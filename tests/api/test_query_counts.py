"""SQL queries per API list view stay constant as the fleet grows, and equal a checked-in baseline, as the pages'
do (tests/web/test_query_counts.py). ``UPDATE_QUERY_BASELINE=1 pytest tests/api/test_query_counts.py`` rewrites
``query_counts.json`` after a change made on purpose."""

import json
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.recommend import engine
from dashboard.teams.models import ApiToken
from tests.api.conftest import bearer
from tests.web.test_query_counts import assert_constant_and_as_baseline, grow_fleet

BASELINE = Path(__file__).with_name("query_counts.json")
RESOURCES = {
    "accounts": ("/api/v1/accounts/", {}),
    "endpoints": ("/api/v1/endpoints/", {}),
    "endpoint": ("/api/v1/endpoints/{pk}/", {}),
    "variants": ("/api/v1/variants/", {}),
    "usage-hourly": ("/api/v1/usage/", {"grain": "hour"}),
    "usage-daily": ("/api/v1/usage/", {"grain": "day"}),
    "usage-csv": ("/api/v1/usage/", {"grain": "hour", "format": "csv"}),
    "emissions-by-endpoint": ("/api/v1/emissions/", {"group_by": "endpoint"}),
    "emissions-by-tag": ("/api/v1/emissions/", {"group_by": "tag:env", "grain": "week"}),
    "log-groups": ("/api/v1/log-groups/", {}),
    "storage": ("/api/v1/storage/", {}),
    "recommendations": ("/api/v1/recommendations/", {}),
    "focus": ("/api/v1/focus/", {}),
    "reconciliation": ("/api/v1/reconciliation/", {}),
    "reconciliation-idle": ("/api/v1/reconciliation/idle/", {}),
    "metrics": ("/metrics", {}),
}


def count(client, token: str, path: str, params: dict, endpoint_pk: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path.format(pk=endpoint_pk), params, **bearer(token))
        if response.streaming:
            b"".join(response.streaming_content)  # a streamed CSV queries while it is read
    assert response.status_code == 200, (path, response.content[:300])
    return len(queries)


def measure(client, token: str, endpoint_pk: int) -> dict:
    client.get("/api/v1/accounts/", **bearer(token))  # the token's last use is written at most once a minute
    return {name: count(client, token, path, params, endpoint_pk) for name, (path, params) in RESOURCES.items()}


def test_queries_per_api_list_do_not_grow_with_the_fleet_and_match_the_baseline(client, alice, teams, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "100000/min"}}
    _, token = ApiToken.issue(alice, teams[0], "counts")
    small_pk = grow_fleet(teams[0], 2)
    engine.recompute(teams[0])
    small = measure(client, token, small_pk)
    large_pk = grow_fleet(teams[0], 12)
    engine.recompute(teams[0])
    large = measure(client, token, large_pk)
    assert_constant_and_as_baseline(small, large, BASELINE)


@pytest.mark.parametrize("resource", sorted(RESOURCES))
def test_every_resource_in_the_baseline_is_measured(resource):
    assert resource in json.loads(BASELINE.read_text())
