"""Properties that hold for any usage row, checked with generated data."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estimator import estimate, estimation
from estimator.catalog import instance_catalog
from estimator.methods import METHODOLOGIES
from tests.estimator.usage import usage

TYPES = sorted(instance_catalog().index)
REGIONS = ["us-east-1", "eu-north-1", "ap-south-1", "me-central-1", "nowhere-1"]
ENERGY = [
    "cpu_kwh",
    "gpu_kwh",
    "memory_kwh",
    "accelerator_kwh",
    "energy_kwh",
    "co2e_kg",
    "embodied_co2e_kg",
    "co2e_kg_low",
    "co2e_kg_high",
]

methods = st.sampled_from(sorted(METHODOLOGIES))
percent = st.floats(0, 100)
maybe_percent = st.one_of(st.just(float("nan")), percent)
rows = st.fixed_dictionaries(
    {
        "instance_type": st.sampled_from(TYPES).map(lambda name: f"ml.{name}"),
        "region": st.sampled_from(REGIONS),
        "hours": st.floats(0, 744),
        "instance_count": st.integers(0, 20).map(float),
        "cpu_util_pct": maybe_percent,
        "gpu_util_pct": maybe_percent,
        "invocations": st.one_of(st.just(float("nan")), st.integers(0, 10**7).map(float)),
    }
)


@settings(max_examples=60, deadline=None, database=None)
@given(st.lists(rows, min_size=1, max_size=20), methods)
def test_the_range_brackets_the_point(row_list, method):
    result = estimate(usage(*row_list), method)
    assert (result["co2e_kg_low"] <= result["co2e_kg"] * (1 + 1e-12)).all()
    assert (result["co2e_kg"] <= result["co2e_kg_high"] * (1 + 1e-12)).all()
    assert (result[ENERGY] >= 0).all().all()


@settings(max_examples=60, deadline=None, database=None)
@given(rows, methods, percent, percent, st.sampled_from(["cpu_util_pct", "gpu_util_pct"]))
def test_energy_never_falls_as_utilization_rises(row, method, first, second, column):
    lower, higher = sorted([first, second])
    result = estimate(usage({**row, column: lower}, {**row, column: higher}), method)
    assert result["energy_kwh"][0] <= result["energy_kwh"][1] * (1 + 1e-12)


@settings(max_examples=40, deadline=None, database=None)
@given(rows, methods, st.sampled_from(["hours", "instance_count"]))
def test_zero_hours_or_zero_instances_cost_nothing(row, method, column):
    result = estimate(usage({**row, column: 0.0}), method)
    assert (result[ENERGY] == 0).all().all()


@settings(max_examples=40, deadline=None, database=None)
@given(rows, methods)
def test_the_ml_prefix_and_case_do_not_matter(row, method):
    ec2_name = row["instance_type"].removeprefix("ml.")
    result = estimate(
        usage(row, {**row, "instance_type": ec2_name}, {**row, "instance_type": ec2_name.upper()}), method
    )
    numbers = result[ENERGY].to_numpy()
    assert np.allclose(numbers[0], numbers[1:], equal_nan=True)
    assert result["factors"].nunique() == 1 and result["fallbacks"].nunique() == 1


@settings(max_examples=20, deadline=None, database=None)
@given(st.lists(rows, min_size=1, max_size=30), methods)
def test_categorical_and_string_columns_give_the_same_result(row_list, method):
    plain = usage(*row_list)
    categorical = plain.astype({"instance_type": "category", "region": "category"})
    left, right = estimate(plain, method), estimate(categorical, method)
    pd.testing.assert_frame_equal(left[ENERGY], right[ENERGY])
    assert (left["factors"].astype(str) == right["factors"].astype(str)).all()


@pytest.mark.parametrize("method", sorted(METHODOLOGIES))
def test_blocks_do_not_change_the_result(method, monkeypatch):
    rng = np.random.default_rng(3)
    frame = usage(
        *(
            {
                "instance_type": f"ml.{rng.choice(TYPES)}",
                "region": rng.choice(REGIONS),
                "cpu_util_pct": rng.uniform(0, 100),
                "gpu_util_pct": rng.uniform(0, 100),
            }
            for _ in range(500)
        )
    )
    whole = estimate(frame, method)
    monkeypatch.setattr(estimation, "BLOCK_ROWS", 37)
    pd.testing.assert_frame_equal(estimate(frame, method), whole)
