"""CloudWatch Logs and S3 storage: media coefficient x replication x PUE x grid factor."""

import pandas as pd
import pytest

from estimator import InputError, estimate_storage

PUE = 1.15  # AWS global, and us-east-1's own (pue_by_region.csv, AWS 2024)
PUE_EU_WEST_1 = 1.11  # pue_by_region.csv, AWS 2024
HDD_WH_PER_TB_HOUR = 0.65


def storage(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["service", "storage_class", "stored_bytes", "hours", "region"])


def test_cloudwatch_logs_are_hdd_without_replication():
    result = estimate_storage(storage(("logs", "STANDARD", 5e11, 24.0, "eu-west-1")))
    assert result["storage_kwh"][0] == pytest.approx(0.5 * 24 * HDD_WH_PER_TB_HOUR * 1 * PUE_EU_WEST_1 / 1000)
    assert result["co2e_kg"][0] == pytest.approx(result["storage_kwh"][0] * 0.290805)  # Ireland, Ember 2023


def test_s3_classes_are_replicated_per_ccf():
    result = estimate_storage(
        storage(("s3", "STANDARD", 1e12, 1.0, "us-east-1"), ("s3", "onezone_ia", 1e12, 1.0, "us-east-1"))
    )
    assert result["storage_kwh"][0] == pytest.approx(HDD_WH_PER_TB_HOUR * 6 * PUE / 1000)
    assert result["storage_kwh"][1] == pytest.approx(HDD_WH_PER_TB_HOUR * 2 * PUE / 1000)


def test_unknown_classes_services_and_regions_fall_back_with_a_flag():
    result = estimate_storage(
        storage(("s3", "SHINY_NEW", 1e12, 1.0, "us-east-1"), ("efs", "standard", 1e12, 1.0, "nowhere-1"))
    )
    assert result["storage_kwh"][0] == pytest.approx(HDD_WH_PER_TB_HOUR * 6 * PUE / 1000)
    assert result["fallbacks"][0] == "unknown storage class: service default"
    assert result["storage_kwh"][1] == pytest.approx(HDD_WH_PER_TB_HOUR * PUE / 1000)
    assert result["fallbacks"][1] == (
        "unknown storage service: HDD, no replication; unknown region: mean factor; pue: AWS global; "
        "market: location factor (no AWS 100 % matching, no residual mix)"
    )
    assert result["factors"][1].startswith("storage:efs/standard@fallback;hdd:ccf2022")


def test_the_range_brackets_the_point():
    result = estimate_storage(storage(("s3", "GLACIER", 3e14, 720.0, "ap-south-1")), "ccf")
    assert result["co2e_kg_low"][0] < result["co2e_kg"][0] < result["co2e_kg_high"][0]


def test_a_missing_column_is_named():
    with pytest.raises(InputError, match="stored_bytes"):
        estimate_storage(storage(("s3", "STANDARD", 1.0, 1.0, "us-east-1")).drop(columns="stored_bytes"))
