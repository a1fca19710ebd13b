"""Unknown types, regions, microarchitectures and missing metrics fall back with a flag, never an exception."""

import numpy as np
import pytest

from estimator import estimate
from estimator.catalog import instance_catalog
from estimator.methods import METHODOLOGIES
from estimator.profiles import build_profiles
from tests.estimator.usage import one, serverless, usage

METHODS = sorted(METHODOLOGIES)


@pytest.mark.parametrize("method", METHODS)
def test_an_unknown_instance_type_is_costed_as_m5_xlarge_and_flagged(method):
    result = estimate(
        usage(
            {"instance_type": "ml.g9.huge", "cpu_util_pct": 40}, {"instance_type": "ml.m5.xlarge", "cpu_util_pct": 40}
        ),
        method,
    )
    assert result["energy_kwh"][0] == pytest.approx(result["energy_kwh"][1])
    assert "unknown instance type: costed as m5.xlarge" in result["fallbacks"][0]
    assert result["fallbacks"][1] == ""
    assert result["co2e_kg_high"][0] > result["co2e_kg_high"][1]  # the widest uncertainty


@pytest.mark.parametrize("method", METHODS)
def test_a_missing_instance_type_or_region_falls_back_too(method):
    result = estimate(usage({"instance_type": np.nan, "region": np.nan, "cpu_util_pct": 10}), method)
    assert "unknown instance type" in result["fallbacks"][0]
    assert "unknown region: mean factor" in result["fallbacks"][0]


@pytest.mark.parametrize(("method", "mean_kg_per_kwh"), [("ccf", 0.39278188), ("default", 0.429275)])
def test_an_unknown_region_uses_the_mean_factor(method, mean_kg_per_kwh):
    result = estimate(usage({"instance_type": "ml.c5.large", "region": "xx-nowhere-9", "cpu_util_pct": 5}), method)
    assert one(result, "co2e_kg") == pytest.approx(one(result, "energy_kwh") * mean_kg_per_kwh)
    assert "unknown region: mean factor" in result["fallbacks"].iloc[0]
    assert "grid:*@" in result["factors"].iloc[0]


def test_missing_metrics_are_flagged_only_where_they_matter():
    result = estimate(
        usage(
            {"instance_type": "ml.m5.large"},
            {"instance_type": "ml.g5.xlarge"},
            {"instance_type": "ml.inf1.xlarge", "cpu_util_pct": 5},
        )
    )
    assert result["fallbacks"][0] == "no CPU metric: 50 %"
    assert result["fallbacks"][1] == "no CPU metric: 50 %; no GPU metric: 50 %"
    assert result["fallbacks"][2] == "no accelerator metric: 50 %"


def test_an_unknown_microarchitecture_gets_the_aws_average():
    catalog = instance_catalog().loc[["m5.xlarge"]].assign(cpu_microarchitecture="Zen 9")
    profile = build_profiles(METHODOLOGIES["default"], catalog, 35_040.0).loc["m5.xlarge"]
    assert (profile["cpu_min_watts"], profile["cpu_min_watts"] + profile["cpu_span_watts"]) == (0.74, 3.5)
    assert profile["notes"] == "unknown microarchitecture: AWS average"


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("invocations", "latency_ms"), [(np.nan, 80.0), (120.0, np.nan), (np.nan, np.nan)])
def test_serverless_without_invocation_time_is_costed_as_a_busy_hour_and_flagged(method, invocations, latency_ms):
    result = estimate(usage(serverless(memory_mb=1024, invocations=invocations, latency_ms=latency_ms)), method)
    busy_hour = estimate(usage(serverless(memory_mb=1024, invocations=3600, latency_ms=1000)), method)
    assert one(result, "energy_kwh") == pytest.approx(one(busy_hour, "energy_kwh")) and one(result, "energy_kwh") > 0
    assert one(result, "co2e_kg_low") == 0 < one(result, "co2e_kg") <= one(result, "co2e_kg_high")
    assert result["fallbacks"].iloc[0].startswith("serverless: invocations or model latency unknown")


@pytest.mark.parametrize("method", METHODS)
def test_serverless_with_known_invocations_but_no_latency_bounds_its_range_by_aws_timeout(method):
    unknown = estimate(usage(serverless(memory_mb=4096, invocations=10_000, latency_ms=np.nan)), method)
    slow = estimate(usage(serverless(memory_mb=4096, invocations=10_000, latency_ms=2_000)), method)
    longest = estimate(usage(serverless(memory_mb=4096, invocations=10_000, latency_ms=60_000)), method)
    assert one(unknown, "co2e_kg_high") >= one(slow, "co2e_kg")  # a realistic latency stays inside the range
    assert one(unknown, "co2e_kg_high") == pytest.approx(one(longest, "co2e_kg_high"))


@pytest.mark.parametrize("method", METHODS)
def test_serverless_without_invocations_costs_nothing_even_without_a_latency(method):
    result = estimate(usage(serverless(memory_mb=1024, invocations=0, latency_ms=np.nan)), method)
    assert one(result, "energy_kwh") == 0 and one(result, "co2e_kg_high") == 0
    assert result["fallbacks"].iloc[0] == ""


def test_an_operator_grid_factor_keeps_awss_market_factor_where_one_is_published():
    from estimator import Factors
    from estimator.tables import table

    grid = table("grid_factors_v2", "region")
    rows = [
        {"instance_type": "ml.m5.large", "region": region, "cpu_util_pct": 30}
        for region in ("eu-north-1", "ap-southeast-1", "xx-nowhere-9")
    ]
    factors = Factors(grid_kgco2e_per_kwh={"eu-north-1": 0.2, "ap-southeast-1": 0.3, "*": 0.4})
    result = estimate(usage(*rows), "default", factors)
    energy, market = result["energy_kwh"], result["co2e_market_kg"]
    assert result["co2e_kg"].tolist() == pytest.approx((energy * [0.2, 0.3, 0.4]).tolist())
    assert float(grid.at["eu-north-1", "market_kgco2e_per_kwh"]) == 0 == market[0]  # AWS matching stays
    assert "market:0@" in result["factors"][0] and "market: location factor" not in result["fallbacks"][0]
    assert grid.at["ap-southeast-1", "market_kgco2e_per_kwh"] == ""  # none published: the operator's stands in
    assert market[1] == pytest.approx(energy[1] * 0.3) and "market: location factor" in result["fallbacks"][1]
    assert market[2] == pytest.approx(energy[2] * 0.4)


def test_an_operator_grid_factor_under_ccf_sets_the_market_figure_too():
    from estimator import Factors

    rows = [{"instance_type": "ml.m5.large", "region": "eu-north-1", "cpu_util_pct": 30}]
    result = estimate(usage(*rows), "ccf", Factors(grid_kgco2e_per_kwh={"eu-north-1": 0.2}))
    assert result["co2e_kg"][0] > 0
    assert result["co2e_market_kg"][0] == pytest.approx(result["co2e_kg"][0])  # no market table: market = location
