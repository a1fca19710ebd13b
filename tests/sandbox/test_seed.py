"""The seeder's in-process metric sink stores exactly what PutMetricData over HTTP stores."""

from datetime import UTC, datetime

import numpy as np
import pytest
from moto.cloudwatch.models import cloudwatch_backends

from sandbox import fleet as fl
from sandbox.cli import direct_metric_sink
from sandbox.patches import metric_store
from sandbox.seed import SeedReport, http_metric_sink, seed_metrics
from sandbox.server import SandboxServer

OVER_HTTP, IN_PROCESS = "100000000001", "100000000002"  # accounts of their own in this process's moto
NOW = datetime(2024, 3, 5, 14, 37, 21, tzinfo=UTC)
SAMPLE = ("recsys-ranker", "sentiment-serverless", "doc-summarizer-async", "multi-tenant-models")  # one per mode


@pytest.fixture(scope="module")
def server():
    server = SandboxServer().start()
    yield server
    server.stop()


def into_account(sink, account: str):
    return lambda _account, region, namespace, data: sink(account, region, namespace, data)


def stored(account: str, region: str) -> dict:
    store = metric_store(cloudwatch_backends[account][region])
    return {(s.namespace, s.metric_name, s.dimensions): (s.unit, s.rows) for s in store.list_metrics(now=0)}


def test_the_in_process_sink_stores_what_put_metric_data_stores(server):
    sample = [e for e in fl.build_fleet() if e.name in SAMPLE]
    for account, sink in ((OVER_HTTP, http_metric_sink(server.url)), (IN_PROCESS, direct_metric_sink(server))):
        seed_metrics(sample, NOW, into_account(sink, account), SeedReport(), progress=lambda _: None)

    over_http, in_process = stored(OVER_HTTP, "us-east-1"), stored(IN_PROCESS, "us-east-1")
    assert over_http.keys() == in_process.keys() and len(over_http) >= 4 * len(SAMPLE)
    for key, (unit, rows) in over_http.items():
        assert in_process[key][0] == unit, key
        np.testing.assert_array_equal(in_process[key][1], rows, err_msg=str(key))
