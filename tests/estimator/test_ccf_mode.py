"""``ccf`` reproduces Cloud Carbon Footprint's published coefficients (AWS constants, Nov 2022).

Expected values are written out from CCF's documented figures, not computed by the code under test.
"""

import pytest

from estimator import estimate, estimate_storage
from tests.estimator.usage import one, serverless, usage

CCF_PUE = 1.135
US_EAST_1 = 0.379069  # kg/kWh (CCF: 0.000379069 t/kWh, eGRID2020 SERC)


def ccf(*rows):
    return estimate(usage(*rows), "ccf")


def test_one_cascade_lake_vcpu_hour_at_50_percent():
    result = ccf({"instance_type": "ml.g4dn.xlarge", "cpu_util_pct": 50, "gpu_util_pct": 50})
    per_vcpu_kwh = one(result, "cpu_kwh") / 4  # g4dn.xlarge: 4 Cascade Lake vCPUs
    assert per_vcpu_kwh == pytest.approx(2.305 * 1.135 / 1000)  # 0.002616 kWh
    assert per_vcpu_kwh * US_EAST_1 / 1000 == pytest.approx(9.92e-7, rel=1e-3)  # t CO2e, CCF's worked example


def test_one_t4_gpu_hour_at_50_percent_even_for_an_ml_type():
    result = ccf({"instance_type": "ml.g4dn.xlarge", "cpu_util_pct": 50, "gpu_util_pct": 50})
    assert one(result, "gpu_kwh") == pytest.approx(39.5 * 1.135 / 1000)  # 0.04483, not 2.12 W of CCF's ml. bug


def test_a_v100_gpu_hour_at_50_percent():
    result = ccf({"instance_type": "ml.p3.2xlarge", "gpu_util_pct": 50})
    assert one(result, "gpu_kwh") == pytest.approx(170.5 * CCF_PUE / 1000)


def test_utilization_defaults_to_50_percent_when_unknown():
    assert one(ccf({"instance_type": "ml.g4dn.xlarge"}), "gpu_kwh") == pytest.approx(39.5 * CCF_PUE / 1000)


def test_m5_xlarge_memory_above_the_skylake_baseline():
    excess_gb = (384 - 81.32) * 16 / 384  # m5.metal RAM minus Skylake GB/chip, scaled to 16 GB: 12.61 GB
    assert excess_gb == pytest.approx(12.61, abs=0.005)
    result = ccf({"instance_type": "ml.m5.xlarge", "cpu_util_pct": 50})
    assert one(result, "memory_kwh") == pytest.approx(excess_gb * 0.000392 * CCF_PUE)


def test_a_mixed_microarchitecture_takes_the_mean_of_min_and_max():
    result = ccf({"instance_type": "ml.c5.xlarge", "cpu_util_pct": 100})
    assert one(result, "cpu_kwh") == pytest.approx(4 * (3.97 + 4.26) / 2 * CCF_PUE / 1000)  # 4.115 W per vCPU


def test_burstable_types_without_a_cpu_metric_scale_vcpus_by_baseline_and_have_no_memory_term():
    result = ccf({"instance_type": "ml.t3.medium"})
    vcpu_hours = 2 * 20 / 50  # t3.medium baseline 20 %
    assert one(result, "cpu_kwh") == pytest.approx(vcpu_hours * 2.305 * CCF_PUE / 1000)
    assert one(result, "memory_kwh") == 0
    assert "CCF baseline scaling" in result["fallbacks"].iloc[0]


@pytest.mark.parametrize(
    ("region", "tonnes_per_kwh"),
    [
        ("us-east-1", 0.000379069),
        ("us-east-2", 0.000410608),
        ("us-west-2", 0.000322167),
        ("eu-west-1", 0.0002786),
        ("eu-north-1", 0.0000088),
        ("ap-southeast-3", 0.0007177),
        ("me-central-1", 0.0004041),
        ("sa-east-1", 0.0000617),
        ("il-central-1", 0.00039278188),  # not in CCF's table: its stated mean
    ],
)
def test_it_uses_ccfs_regional_factors(region, tonnes_per_kwh):
    result = ccf({"instance_type": "ml.m5.large", "region": region, "cpu_util_pct": 30})
    assert one(result, "co2e_kg") == pytest.approx(one(result, "energy_kwh") * tonnes_per_kwh * 1000)


def test_embodied_follows_the_documented_gsf_formula_per_size():
    result = ccf(
        {"instance_type": "ml.p3dn.24xlarge", "hours": 24},
        {"instance_type": "ml.m5.large"},
        {"instance_type": "ml.m5.24xlarge"},
    )
    assert result["embodied_co2e_kg"][0] == pytest.approx(3.5429488 * 1000 * 24 / 35040 * 96 / 96)  # 2.43e-3 t
    assert result["embodied_co2e_kg"][1] == pytest.approx(1.6103792 * 1000 / 35040 * 2 / 96)
    assert result["embodied_co2e_kg"][2] / result["embodied_co2e_kg"][1] == pytest.approx(48)


def test_energy_never_includes_embodied_emissions():
    result = ccf({"instance_type": "ml.t2.medium", "region": "eu-north-1", "cpu_util_pct": 10})
    parts = ["cpu_kwh", "gpu_kwh", "memory_kwh", "accelerator_kwh"]
    assert one(result, "energy_kwh") == pytest.approx(sum(one(result, part) for part in parts))


def test_ice_lake_uses_measured_figures_not_the_aws_average():
    result = ccf({"instance_type": "ml.c6i.large", "cpu_util_pct": 50})
    assert one(result, "cpu_kwh") == pytest.approx(2 * (1.00 + 0.5 * (4.13 - 1.00)) * CCF_PUE / 1000)
    assert "cpu:Ice Lake@specpower2023" in result["factors"].iloc[0]


def test_types_added_for_the_hosting_enum_keep_ccfs_mapping_and_take_ccfs_2026_embodied_figures():
    result = ccf(
        {"instance_type": "ml.c6gd.xlarge", "cpu_util_pct": 50},
        {"instance_type": "ml.p5e.48xlarge", "cpu_util_pct": 50, "gpu_util_pct": 50},
    )
    assert result["cpu_kwh"][0] == pytest.approx(4 * (0.47 + 0.5 * (1.69 - 0.47)) * CCF_PUE / 1000)
    assert "cpu:AWS Graviton2@ccf2022" in result["factors"][0]  # CCF maps c6gd to Graviton2 itself
    assert result["embodied_co2e_kg"][0] == pytest.approx(0.8 * 1000 / 35040 * 4 / 64)  # CCF 2026: 0.8 t per host
    assert result["gpu_kwh"][1] == pytest.approx(8 * (84 + 0.5 * (714 - 84)) * CCF_PUE / 1000)  # H200: 700 W TDP
    assert "gpu:Nvidia H200@nvidia-tdp2026" in result["factors"][1]
    assert result["embodied_co2e_kg"][1] == pytest.approx(5.7 * 1000 / 35040)  # p5's 5.7 t, flagged as borrowed
    assert not result["fallbacks"].str.contains("unknown instance type").any()


def test_serverless_follows_ccfs_lambda_rule():
    result = ccf(serverless(memory_mb=2048, invocations=1000, latency_ms=100))
    vcpu_hours = 1000 * 0.1 / 3600 * 2048 / 1024  # GB-seconds / 3600
    assert one(result, "cpu_kwh") == pytest.approx(vcpu_hours * 2.12 * CCF_PUE / 1000)
    assert one(result, "memory_kwh") == 0
    assert one(result, "embodied_co2e_kg") == 0


def test_s3_standard_terabyte_month_as_ccf_intends():
    frame = usage()[[]].assign(
        service=["s3"], storage_class=["STANDARD"], stored_bytes=[1e12], hours=[720.0], region=["us-east-1"]
    )
    result = estimate_storage(frame, "ccf")
    assert one(result, "storage_kwh") == pytest.approx(720 * 0.65 * 1.135 * 6 / 1000)  # 3.19 kWh, replication 6
    assert one(result, "co2e_kg") == pytest.approx(3.18708 * US_EAST_1, rel=1e-5)


def test_rows_carry_the_methodology_and_its_version():
    result = ccf({"instance_type": "ml.m5.large"})
    assert result["methodology"].iloc[0] == "ccf"
    assert result["methodology_version"].iloc[0] == "1.0.0"
    assert "pue:1.135@ccf2022" in result["factors"].iloc[0]
    assert "grid:us-east-1@ccf2022" in result["factors"].iloc[0]
