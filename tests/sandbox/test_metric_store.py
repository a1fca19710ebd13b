"""The sandbox's CloudWatch store follows AWS's GetMetricData rules (no HTTP here: the pure store)."""

from datetime import UTC, datetime, timedelta

import pytest

from sandbox.metric_store import (
    MAX_DATAPOINTS_PER_CALL,
    MetricQueryError,
    MetricStore,
    period_fits_age,
    rounded_start,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DIMS = [{"Name": "EndpointName", "Value": "e1"}, {"Name": "VariantName", "Value": "A"}]


def query(
    name="CPUUtilization", stat="Average", period=60, namespace="/aws/sagemaker/Endpoints", dims=DIMS, query_id="q0"
):
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": dims},
            "Period": period,
            "Stat": stat,
        },
    }


def put_minutes(store, minutes: int, value_of=lambda i: float(i), count=1, end=NOW, dims=DIMS):
    data = [
        {
            "MetricName": "CPUUtilization",
            "Dimensions": dims,
            "Timestamp": end - timedelta(minutes=i + 1),
            "StatisticValues": {
                "SampleCount": count,
                "Sum": value_of(i) * count,
                "Minimum": value_of(i),
                "Maximum": value_of(i),
            },
            "Unit": "Percent",
        }
        for i in range(minutes)
    ]
    store.put("/aws/sagemaker/Endpoints", data)


def run(store, queries, start, end=NOW, **kwargs):
    return store.get_metric_data(queries, start, end, now=NOW.timestamp(), **kwargs)


def test_it_aggregates_statistic_sets_per_period():
    store = MetricStore()
    put_minutes(store, 120, value_of=lambda i: 10.0 if i < 60 else 30.0, count=2)
    results = run(
        store,
        [query(stat="Average", period=3600), query(stat="SampleCount", period=3600, query_id="q1")],
        NOW - timedelta(hours=2),
        scan_by="TimestampAscending",
    )["MetricDataResults"]
    assert results[0]["Values"] == [30.0, 10.0]
    assert results[1]["Values"] == [120.0, 120.0]
    assert results[0]["Timestamps"][0] == NOW - timedelta(hours=2)


def test_it_matches_the_whole_dimension_set_and_the_namespace_exactly():
    store = MetricStore()
    put_minutes(store, 10)
    start = NOW - timedelta(hours=1)
    only_endpoint = [{"Name": "EndpointName", "Value": "e1"}]
    assert run(store, [query(dims=only_endpoint)], start)["MetricDataResults"][0]["Values"] == []
    assert run(store, [query(namespace="AWS/SageMaker")], start)["MetricDataResults"][0]["Values"] == []
    assert len(run(store, [query()], start)["MetricDataResults"][0]["Values"]) == 10


def test_it_refuses_more_than_500_queries():
    with pytest.raises(MetricQueryError, match="500"):
        run(MetricStore(), [query(query_id=f"q{i}") for i in range(501)], NOW - timedelta(hours=1))


def test_it_pages_by_max_datapoints_with_partial_data_and_next_token():
    store = MetricStore()
    put_minutes(store, 250)
    first = run(store, [query()], NOW - timedelta(hours=5), max_datapoints=100)
    assert first["MetricDataResults"][0]["StatusCode"] == "PartialData"
    assert len(first["MetricDataResults"][0]["Values"]) == 100
    seen = list(first["MetricDataResults"][0]["Values"])
    token = first["NextToken"]
    while token:
        page = run(store, [query()], NOW - timedelta(hours=5), max_datapoints=100, next_token=token)
        seen += page["MetricDataResults"][0]["Values"] if page["MetricDataResults"] else []
        token = page.get("NextToken")
    assert sorted(seen) == [float(i) for i in range(250)]
    assert page["MetricDataResults"][0]["StatusCode"] == "Complete"


def test_it_caps_a_page_at_100800_datapoints():
    store = MetricStore()
    put_minutes(store, 3)
    big = run(store, [query()], NOW - timedelta(hours=1), max_datapoints=10**7)
    assert "NextToken" not in big
    assert MAX_DATAPOINTS_PER_CALL == 100_800


def test_it_returns_nothing_for_a_period_that_does_not_fit_the_age_of_the_start():
    store = MetricStore()
    put_minutes(store, 60 * 24 * 20, value_of=lambda i: 1.0)  # 20 days of minutes
    old_start = NOW - timedelta(days=20)
    assert run(store, [query(period=60)], old_start)["MetricDataResults"][0]["Values"] == []
    assert run(store, [query(period=300)], old_start)["MetricDataResults"][0]["Values"] != []
    assert period_fits_age(10, (NOW - timedelta(hours=1)).timestamp(), NOW.timestamp())
    assert not period_fits_age(10, (NOW - timedelta(hours=4)).timestamp(), NOW.timestamp())
    assert not period_fits_age(300, (NOW - timedelta(days=70)).timestamp(), NOW.timestamp())


def test_it_rounds_the_start_time_down_by_age():
    now = NOW.timestamp()
    recent = (NOW - timedelta(hours=1, seconds=17)).timestamp()
    month_old = (NOW - timedelta(days=30, minutes=2, seconds=5)).timestamp()
    assert rounded_start(recent, now) % 60 == 0 and now - rounded_start(recent, now) == 3660
    assert rounded_start(month_old, now) % 300 == 0


def test_percentiles_need_raw_values():
    store = MetricStore()
    put_minutes(store, 100, value_of=lambda i: float(i + 1))
    p90 = run(store, [query(stat="p90", period=3600)], NOW - timedelta(hours=2))["MetricDataResults"][0]["Values"]
    assert p90 and all(v > 0 for v in p90)
    aggregated = MetricStore()
    aggregated.put(
        "/aws/sagemaker/Endpoints",
        [
            {
                "MetricName": "CPUUtilization",
                "Dimensions": DIMS,
                "Timestamp": NOW - timedelta(minutes=5),
                "StatisticValues": {"SampleCount": 3, "Sum": 30, "Minimum": 5, "Maximum": 15},
            }
        ],
    )
    result = run(aggregated, [query(stat="p90")], NOW - timedelta(hours=1))
    assert result["MetricDataResults"][0]["Values"] == []


def test_list_metrics_lists_each_series_once_and_filters_by_dimension():
    store = MetricStore()
    put_minutes(store, 30)
    put_minutes(store, 30, dims=[{"Name": "EndpointName", "Value": "e2"}, {"Name": "VariantName", "Value": "A"}])
    every = store.list_metrics(namespace="/aws/sagemaker/Endpoints", now=NOW.timestamp())
    assert len(every) == 2
    e2 = store.list_metrics(dimensions=[{"Name": "EndpointName", "Value": "e2"}], now=NOW.timestamp())
    assert [dict(s.dimensions)["EndpointName"] for s in e2] == ["e2"]
    later = NOW.timestamp() + 15 * 86400
    assert store.list_metrics(now=later) == []  # nothing published for two weeks: not listed
