"""``default`` 1.0.0 (``DEFAULT_1``): measured utilization on Teads' curve, GPUs by model, AWS PUE, state grid
factors. No longer the registered ``default`` (2.0.0 is, see test_default_2.py) but still shipped: the Methodology
page compares the two on the user's own fleet, so its numbers must stay what they were.

Expected values are written out from the documented coefficients in docs/methodology.md.
"""

import numpy as np
import pytest

from estimator import METHODOLOGIES, Factors, estimate
from estimator.methods import PREVIOUS_DEFAULT
from estimator.methods.default import DEFAULT_1
from tests.estimator.usage import NAN, one, serverless, usage

PUE = 1.15  # AWS 2023/2024
US_EAST_1 = 539.599 * 0.45359237 / 1000  # eGRID2023 Virginia, lb/MWh -> kg/kWh
TEADS_SHARE_AT_10 = (0.32 - 0.12) / (1.02 - 0.12)
TEADS_SHARE_AT_50 = (0.75 - 0.12) / (1.02 - 0.12)  # 0.7


def default(*rows, factors=None):
    return estimate(usage(*rows), DEFAULT_1, factors)


@pytest.mark.parametrize(
    ("util", "share"),
    [
        (0, 0.0),
        (10, TEADS_SHARE_AT_10),
        (50, TEADS_SHARE_AT_50),
        (100, 1.0),
        (30, TEADS_SHARE_AT_10 + (TEADS_SHARE_AT_50 - TEADS_SHARE_AT_10) * 20 / 40),
    ],
)
def test_cpu_power_follows_the_teads_curve_between_min_and_max(util, share):
    result = default({"instance_type": "ml.g4dn.xlarge", "cpu_util_pct": util})
    watts_per_vcpu = 0.64 + share * (3.97 - 0.64)  # Cascade Lake; 2.971 W at 50 %
    assert one(result, "cpu_kwh") == pytest.approx(4 * watts_per_vcpu * PUE / 1000)


def test_gpu_power_is_linear_between_the_models_idle_and_max():
    result = default({"instance_type": "ml.g4dn.xlarge", "cpu_util_pct": 20, "gpu_util_pct": 80})
    assert one(result, "gpu_kwh") == pytest.approx((8 + 0.8 * (71 - 8)) * PUE / 1000)  # T4, 58.4 W


def test_newer_gpus_use_their_vendor_tdp_with_teads_ratios():
    result = default({"instance_type": "ml.g6.xlarge", "cpu_util_pct": 20, "gpu_util_pct": 100})
    assert one(result, "gpu_kwh") == pytest.approx(72 * 1.02 * PUE / 1000)  # L4 TDP 72 W


def test_accelerator_chips_use_the_flagged_per_chip_assumption():
    result = default({"instance_type": "ml.inf2.24xlarge", "cpu_util_pct": 20, "gpu_util_pct": 100})
    per_chip_watts = 407 * 190 / 312  # A100 max scaled by FP16 TFLOPS: 247.85 W
    assert one(result, "accelerator_kwh") == pytest.approx(6 * per_chip_watts * PUE / 1000, rel=1e-4)
    assert "acc:AWS Inferentia2@wattson-assumed" in result["factors"].iloc[0]


def test_memory_above_the_baseline_of_every_chip_of_the_host():
    result = default(
        {"instance_type": "ml.g5.48xlarge", "cpu_util_pct": 20, "gpu_util_pct": 20},
        {"instance_type": "ml.g5.xlarge", "cpu_util_pct": 20, "gpu_util_pct": 20},
    )
    host_excess_gb = 768 - 2 * 129.78  # two chips of 96 vCPUs, EPYC 2nd Gen baseline 129.78 GB each
    assert result["memory_kwh"][0] == pytest.approx(host_excess_gb * 0.392 * PUE / 1000)
    assert result["memory_kwh"][1] == pytest.approx(host_excess_gb * 16 / 768 * 0.392 * PUE / 1000)


def test_co2e_uses_the_regions_grid_factor_and_embodied_stays_separate():
    result = default({"instance_type": "ml.g5.xlarge", "cpu_util_pct": 40, "gpu_util_pct": 60, "hours": 3})
    assert one(result, "co2e_kg") == pytest.approx(one(result, "energy_kwh") * US_EAST_1, rel=1e-5)
    assert one(result, "embodied_co2e_kg") == pytest.approx(3434 * 4 / 192 / 35040 * 3)  # g5 host, 4 of 192 vCPUs


def test_instances_and_hours_multiply():
    single = default({"instance_type": "ml.c5.2xlarge", "cpu_util_pct": 35})
    many = default({"instance_type": "ml.c5.2xlarge", "cpu_util_pct": 35, "instance_count": 3, "hours": 2})
    for column in ("energy_kwh", "co2e_kg", "embodied_co2e_kg", "co2e_kg_low", "co2e_kg_high"):
        assert one(many, column) == pytest.approx(6 * one(single, column))


def test_a_busy_gpu_instance_costs_far_more_than_an_idle_one():
    idle = default({"instance_type": "ml.g5.12xlarge", "cpu_util_pct": 1, "gpu_util_pct": 0})
    busy = default({"instance_type": "ml.g5.12xlarge", "cpu_util_pct": 60, "gpu_util_pct": 95})
    assert one(busy, "energy_kwh") > 3 * one(idle, "energy_kwh")


def test_serverless_energy_is_invocation_time_times_memory_size():
    result = default(serverless(memory_mb=4096, invocations=600, latency_ms=250))
    busy_hours = 600 * 250 / 3_600_000
    vcpu_hours = busy_hours * 4096 / 1769  # Lambda's 1,769 MB per vCPU
    assert one(result, "cpu_kwh") == pytest.approx(vcpu_hours * 3.5 * PUE / 1000)  # AWS-average CPU flat out
    assert one(result, "memory_kwh") == pytest.approx(busy_hours * 4 * 0.392 * PUE / 1000)
    assert one(result, "embodied_co2e_kg") == pytest.approx(vcpu_hours * 1610.3792 / 96 / 35040)
    assert result["factors"].iloc[0].startswith("serverless:1769MB=1vCPU@awslambda2024")


def test_sci_per_thousand_invocations_includes_embodied():
    result = default(
        {"instance_type": "ml.m5.large", "cpu_util_pct": 20, "invocations": 250},
        {"instance_type": "ml.m5.large", "cpu_util_pct": 20, "invocations": 0},
        {"instance_type": "ml.m5.large", "cpu_util_pct": 20, "invocations": NAN},
    )
    grams = (result["co2e_kg"][0] + result["embodied_co2e_kg"][0]) * 1000
    assert result["gco2e_per_1k_invocations"][0] == pytest.approx(grams / 250 * 1000)
    assert np.isnan(result["gco2e_per_1k_invocations"][1:]).all()


def test_operator_overrides_are_used_and_named():
    factors = Factors(pue=1.3, grid_kgco2e_per_kwh={"us-east-1": 0.5}, lifetime_hours=52_560)
    result = default({"instance_type": "ml.m5.large", "cpu_util_pct": 20}, factors=factors)
    plain = default({"instance_type": "ml.m5.large", "cpu_util_pct": 20})
    assert one(result, "energy_kwh") == pytest.approx(one(plain, "energy_kwh") / PUE * 1.3)
    assert one(result, "co2e_kg") == pytest.approx(one(result, "energy_kwh") * 0.5)
    assert one(result, "embodied_co2e_kg") == pytest.approx(one(plain, "embodied_co2e_kg") * 35040 / 52560)
    assert {"pue:1.3@operator", "grid:us-east-1@operator", "life:52560h@operator"} <= set(
        result["factors"].iloc[0].split(";")
    )


def test_the_range_is_power_pue_and_grid_uncertainty_around_the_point():
    result = default({"instance_type": "ml.m5.large", "cpu_util_pct": 20})
    assert one(result, "co2e_kg_low") == pytest.approx(one(result, "co2e_kg") / PUE * 0.8 * 1.04 * 0.75)
    assert one(result, "co2e_kg_high") == pytest.approx(one(result, "co2e_kg") / PUE * 1.2 * 1.25 * 1.25)


def test_an_unknown_metric_widens_the_range_to_idle_and_full_load():
    result = default({"instance_type": "ml.m5.large"})
    idle = default({"instance_type": "ml.m5.large", "cpu_util_pct": 0})
    full = default({"instance_type": "ml.m5.large", "cpu_util_pct": 100})
    assert one(result, "co2e_kg_low") == pytest.approx(one(idle, "co2e_kg_low"))
    assert one(result, "co2e_kg_high") == pytest.approx(one(full, "co2e_kg_high"))


def test_rows_carry_the_methodology_and_its_version():
    result = default({"instance_type": "ml.m5.large"})
    assert (result["methodology"].iloc[0], result["methodology_version"].iloc[0]) == ("default", "1.0.0")
    current = estimate(usage({"instance_type": "ml.m5.large"}), "default")
    assert current["methodology_version"].iloc[0] == METHODOLOGIES["default"].version == "2.0.0"
    assert PREVIOUS_DEFAULT is DEFAULT_1


def test_an_unknown_methodology_is_refused():
    with pytest.raises(ValueError, match="ccf"):
        estimate(usage({"instance_type": "ml.m5.large"}), "boavizta")
