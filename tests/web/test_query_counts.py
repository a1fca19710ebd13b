"""SQL queries per page stay constant as the fleet grows, and equal a checked-in baseline (as NetBox does).

A change that adds a query to a page fails here until the baseline is updated on purpose:
``UPDATE_QUERY_BASELINE=1 pytest tests/web/test_query_counts.py`` rewrites ``query_counts.json``.
"""

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from collectors.models import LogGroupSnapshot, StorageLensDay
from tests.web import factories

BASELINE = Path(__file__).with_name("query_counts.json")
PAGES = {
    "overview": ("home", {}),
    "overview-hourly-by-region": ("home", {"period": "7d", "grain": "hour", "group": "region"}),
    "overview-filtered": ("home", {"region": "us-east-1", "tag": "env=prod", "group": "tag:env"}),
    "overview-year-by-month": ("home", {"period": "365d", "grain": "month"}),
    "endpoint-list": ("endpoints", {}),
    # Sorting and the name search work on the rows the page already holds: the same queries as the plain list.
    "endpoint-list-sorted-searched": ("endpoints", {"sort": "-co2e_kg", "q": "e"}),
    "overview-sorted": ("home", {"sort": "-energy_kwh", "top-emitters-sort": "endpoint", "trend-sort": "-co2e_kg"}),
    "endpoint-hourly": ("endpoint", {}),
    "endpoint-daily": ("endpoint", {"period": "90d", "grain": "week"}),
    "storage": ("storage", {}),
    "collection-health": ("collection-health", {}),
    "methodology": ("methodology", {}),
    "recommendations": ("recommendations", {}),
    "recommendations-by-endpoint-any-status": ("recommendations", {"group": "endpoint", "status": "any"}),
    "reconciliation": ("reconciliation", {}),
}


def log_days(owner, name: str, region: str) -> None:
    today = timezone.now().date()
    for days_ago in (0, 1, 2):
        day = today - timedelta(days=days_ago)
        LogGroupSnapshot.objects.create(
            account=owner,
            region=region,
            name=name,
            day=day,
            collected_at=timezone.now(),
            stored_bytes=10**9 * (3 - days_ago),
            retention_days=None,
        )
        StorageLensDay.objects.create(
            account=owner,
            day=day,
            region=region,
            bucket="capture",
            prefix=f"{name.rsplit('/', 1)[-1]}/",
            storage_class="STANDARD",
            stored_bytes=10**9,
            object_count=100,
            source="export",
            collected_at=timezone.now(),
        )


def grow_fleet(team, endpoints: int) -> int:
    owner = factories.account(team, f"{len(str(endpoints)) * 111111111111 % 10**12:012d}")
    first = None
    for index in range(endpoints):
        row = factories.endpoint(
            owner,
            f"ep-{endpoints}-{index}",
            region=("us-east-1", "eu-west-1")[index % 2],
            tags={"env": "prod", "team": f"t{index % 3}"},
            hours=30,
            instance_type=("ml.g5.xlarge", "ml.c5.xlarge")[index % 2],
        )
        if index % 2 == 0:
            factories.change_type(row, "AllTraffic", "ml.g5.2xlarge", hours_ago=5)
        first = first or row
        log_days(owner, f"/aws/sagemaker/Endpoints/{row.name}", row.region)
    factories.estimate()
    return first.pk


def count(client, name: str, params: dict, endpoint_pk: int) -> int:
    url = reverse(name, args=[endpoint_pk]) if name == "endpoint" else reverse(name)
    cache.clear()  # measured uncached: the methodology page caches its fleet comparison per team and day
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200, name
    return len(queries)


def test_queries_per_page_do_not_grow_with_the_fleet_and_match_the_baseline(client, alice, teams):
    client.force_login(alice)
    small_pk = grow_fleet(teams[0], 2)
    small = {page: count(client, name, params, small_pk) for page, (name, params) in PAGES.items()}
    large_pk = grow_fleet(teams[0], 12)
    large = {page: count(client, name, params, large_pk) for page, (name, params) in PAGES.items()}
    assert_constant_and_as_baseline(small, large, BASELINE)


def assert_constant_and_as_baseline(small: dict, large: dict, baseline_file: Path) -> None:
    """Counts measured on a small and a large fleet are equal (no N+1 query) and equal the checked-in baseline,
    which ``UPDATE_QUERY_BASELINE=1`` rewrites."""
    assert large == small, "a query count grows with the fleet (an N+1 query)"
    if os.environ.get("UPDATE_QUERY_BASELINE") == "1":
        baseline_file.write_text(json.dumps(large, indent=2, sort_keys=True) + "\n")
    baseline = json.loads(baseline_file.read_text())
    assert large == baseline, f"query counts changed; if on purpose, update {baseline_file.name} (module docstring)"


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_page_in_the_baseline_is_measured(page):
    assert page in json.loads(BASELINE.read_text())
