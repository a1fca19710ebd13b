"""A malformed usage frame is refused with the row and column of the first bad value."""

import pytest

from estimator import InputError, estimate
from tests.estimator.usage import usage


def test_a_missing_column_is_named():
    with pytest.raises(InputError, match="invocations") as caught:
        estimate(usage({"instance_type": "ml.m5.large"}).drop(columns="invocations"))
    assert caught.value.column == "invocations"


def test_a_value_that_is_not_a_number_is_located():
    frame = usage({"instance_type": "ml.m5.large"}, {"instance_type": "ml.m5.large"}).astype({"hours": object})
    frame.loc[1, "hours"] = "two"
    with pytest.raises(InputError, match="not a number") as caught:
        estimate(frame)
    assert (caught.value.row, caught.value.column) == (1, "hours")


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("cpu_util_pct", 350.0, "normalised per vCPU"),
        ("gpu_util_pct", -1.0, "negative"),
        ("hours", -2.0, "negative"),
        ("hours", float("nan"), "missing"),
        ("instance_count", float("nan"), "missing"),
    ],
)
def test_out_of_range_values_are_refused(column, value, message):
    with pytest.raises(InputError, match=message) as caught:
        estimate(usage({"instance_type": "ml.m5.large"}, {"instance_type": "ml.m5.large", column: value}))
    assert (caught.value.row, caught.value.column) == (1, column)


def test_a_serverless_frame_needs_the_latency_column():
    frame = usage({"instance_type": "ml.m5.large"}).assign(serverless_memory_mb=[2048.0])
    with pytest.raises(InputError, match="model_latency_ms"):
        estimate(frame)


@pytest.mark.parametrize("column", ["cpu_util_pct", "gpu_util_pct", "memory_util_pct"])
def test_a_boolean_utilization_is_refused_not_read_as_0_or_1(column):
    frame = usage({"instance_type": "ml.g5.xlarge"}, {"instance_type": "ml.g5.xlarge"})
    frame[column] = [False, True]
    with pytest.raises(InputError, match="is a boolean") as caught:
        estimate(frame)
    assert caught.value.column == column


@pytest.mark.parametrize("value", [float("inf"), -float("inf")])
def test_an_infinite_value_is_refused_with_a_plain_number_in_the_message(value):
    frame = usage({"instance_type": "ml.m5.large"}, {"instance_type": "ml.m5.large"})
    frame.loc[1, "invocations"] = value
    with pytest.raises(InputError, match="not a finite number") as caught:
        estimate(frame)
    assert (caught.value.row, caught.value.column) == (1, "invocations")
    assert "np." not in str(caught.value)
