"""The shipped catalog and factor tables: complete for SageMaker today, and every row cited."""

from importlib import resources

import pandas as pd
import pytest

from estimator.catalog import hardware, instance_catalog
from estimator.tables import table

DATA_FILES = sorted(path.name for path in resources.files("estimator.data").iterdir() if path.name.endswith(".csv"))

FAMILIES_IN_USE = [
    "t2",
    "t3",
    "m4",
    "m5",
    "m5d",
    "m6i",
    "m7i",
    "c4",
    "c5",
    "c5d",
    "c6i",
    "c7i",
    "r5",
    "r6i",
    "c6g",
    "c7g",
    "m6g",
    "m7g",
    "r6g",
    "r7g",
    "g4dn",
    "g5",
    "g6",
    "p2",
    "p3",
    "p3dn",
    "p4d",
    "p5",
    "inf1",
    "inf2",
    "trn1",
]

COMMERCIAL_REGIONS = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "ca-west-1",
    "mx-central-1",
    "sa-east-1",
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-south-1",
    "ap-south-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-south-1",
    "eu-south-2",
    "eu-north-1",
    "il-central-1",
    "me-south-1",
    "me-central-1",
]


@pytest.mark.parametrize("name", DATA_FILES)
def test_every_row_of_every_data_file_has_a_source_and_year(name):
    with resources.files("estimator.data").joinpath(name).open() as handle:
        frame = pd.read_csv(handle, keep_default_na=False)
    assert (frame["source"].str.strip() != "").all()
    assert frame["source_year"].between(2000, 2030).all()


def test_it_keeps_the_catalog_columns_the_fleet_uses():
    assert hardware("ml.g5.2xlarge")["vcpus"] == 8
    assert hardware("ml.g5.2xlarge")["gpu_count"] == 1
    assert {
        "instance_type",
        "family",
        "vcpus",
        "memory_gb",
        "cpu_microarchitecture",
        "gpu_model",
        "gpu_count",
        "accelerator_model",
        "accelerator_count",
        "source",
        "source_year",
    } <= {"instance_type", *instance_catalog().columns}


def test_it_covers_every_sagemaker_family_in_use():
    assert set(FAMILIES_IN_USE) <= set(instance_catalog()["family"])


@pytest.mark.parametrize(
    ("instance_type", "vcpus", "gpus", "accelerators"),
    [
        ("ml.p5.48xlarge", 192, 8, 0),
        ("ml.p4d.24xlarge", 96, 8, 0),
        ("ml.g6.12xlarge", 48, 4, 0),
        ("ml.inf2.48xlarge", 192, 0, 12),
        ("ml.inf1.24xlarge", 96, 0, 16),
        ("ml.trn1.32xlarge", 128, 0, 16),
        ("ml.c7i.48xlarge", 192, 0, 0),
        ("ml.r7g.16xlarge", 64, 0, 0),
        ("ml.t2.medium", 2, 0, 0),
    ],
)
def test_it_knows_the_hardware_of_large_and_small_sizes(instance_type, vcpus, gpus, accelerators):
    row = hardware(instance_type)
    assert (row["vcpus"], row["gpu_count"], row["accelerator_count"]) == (vcpus, gpus, accelerators)


def test_it_strips_the_ml_prefix_and_matches_exactly():
    assert hardware("ml.m5.xlarge").equals(hardware("M5.XLARGE"))
    with pytest.raises(KeyError, match="ml.m5.xlarg"):
        hardware("ml.m5.xlarg")


def test_every_model_the_catalog_names_has_power_figures():
    catalog = instance_catalog()
    microarchitectures = {part for name in catalog["cpu_microarchitecture"] for part in name.split("+")}
    assert microarchitectures <= set(table("cpu_power", "microarchitecture").index)
    assert set(catalog["gpu_model"]) - {""} <= set(table("gpu_power", "gpu_model").index)
    assert set(catalog["accelerator_model"]) - {""} <= set(table("accelerator_power", "accelerator_model").index)
    assert set(catalog["family"]) <= set(table("families", "family").index)


def test_the_cpu_table_extends_ccf_with_newer_microarchitectures():
    cpu = table("cpu_power", "microarchitecture")
    assert {
        "Ice Lake",
        "Sapphire Rapids",
        "AMD EPYC 3rd Gen",
        "AMD EPYC 4th Gen",
        "AWS Graviton2",
        "AWS Graviton3",
        "AWS Graviton4",
    } <= set(cpu.index)
    assert cpu.loc["AWS Graviton3", "assumption"] == "yes"


def test_the_grid_table_covers_every_current_commercial_region():
    assert set(COMMERCIAL_REGIONS) <= set(table("grid_factors", "region").index)


def test_the_grid_fallback_is_the_mean_of_the_tabulated_regions():
    grid = table("grid_factors", "region")["kgco2e_per_kwh"]
    assert grid["*"] == pytest.approx(grid.drop("*").mean(), abs=1e-6)


def test_cloud_carbon_footprints_regional_table_is_shipped_verbatim():
    ccf = table("grid_factors_ccf", "region")["kgco2e_per_kwh"]
    assert ccf["us-east-1"] == 0.379069  # 0.000379069 t/kWh, eGRID2020 SERC
    assert ccf["eu-north-1"] == 0.0088
    assert ccf["*"] == 0.39278188
