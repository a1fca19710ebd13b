"""Reference tables gathered for estimator model 2.0 (issue 14): cited, plausible, and complete where they must be.

The model does not read these files yet; these tests keep them honest until it does.
"""

import botocore.session
import pandas as pd
import pytest

from estimator.catalog import instance_catalog
from estimator.tables import read_table, table

NEW_FILES = ["instance_power_teads", "gpu_power_v2", "pue_by_region", "grid_factors_v2", "sagemaker_hosting_types"]


def numbers(frame: pd.DataFrame, column: str) -> pd.Series:
    """A column as floats; an empty cell becomes NaN."""
    return pd.to_numeric(frame[column].replace("", None), errors="coerce")


def sagemaker_hosting_enum() -> set[str]:
    model = botocore.session.get_session().get_service_model("sagemaker")
    return set(model.shape_for("ProductionVariantInstanceType").enum)


@pytest.mark.parametrize("name", NEW_FILES)
def test_every_row_has_a_source_and_a_year(name):
    frame = read_table(name)
    assert (frame["source"].astype(str).str.strip() != "").all()
    assert frame["source_year"].between(2000, 2030).all()
    if "assumption" in frame:
        assert set(frame["assumption"]) <= {"yes", "no"}
        assumed = frame[frame["assumption"] == "yes"]
        assert assumed["source"].str.contains("ASSUMPTION|DERIVED").all()


# ---------------------------------------------------------------- Teads whole-instance power


def test_teads_covers_the_cpu_only_catalog_types_it_measured():
    teads = table("instance_power_teads", "instance_type")
    catalog = instance_catalog()
    cpu_only = catalog[(catalog["gpu_count"] == 0) & (catalog["accelerator_count"] == 0)]
    measured_families = {"t2", "t3", "m4", "m5", "m5d", "m6i", "c4", "c5", "c5d", "r5", "r5d", "c6g", "m6g", "r6g"}
    expected = {name for name, row in cpu_only.iterrows() if row["family"] in measured_families}
    assert expected <= set(teads.index)


def test_teads_power_rises_with_load_and_adds_up():
    teads = read_table("instance_power_teads")
    for kind in ("cpu", "ram", "instance"):
        steps = [numbers(teads, f"{kind}_watts_{load}") for load in ("idle", "10", "50", "100")]
        for lower, higher in zip(steps, steps[1:], strict=False):
            assert (lower <= higher).all(), kind
    parts = (
        numbers(teads, "cpu_watts_idle") + numbers(teads, "ram_watts_idle") + numbers(teads, "platform_overhead_watts")
    )
    assert (parts - numbers(teads, "instance_watts_idle")).abs().max() < 0.2
    per_vcpu = numbers(teads, "instance_watts_100") / numbers(teads, "vcpus")
    assert per_vcpu.between(1, 20).all()


def test_teads_m5_xlarge_is_copied_verbatim():
    row = table("instance_power_teads", "instance_type").loc["m5.xlarge"]
    watts = [row[f"instance_watts_{load}"] for load in ("idle", "10", "50", "100")]
    assert watts == [8.8, 14.0, 28.2, 39.9]


# ---------------------------------------------------------------- GPU and accelerator power


def test_parked_idle_lies_between_bare_idle_and_board_power():
    gpus = read_table("gpu_power_v2")
    bare, parked, board = (numbers(gpus, c) for c in ("bare_idle_watts", "parked_idle_watts", "board_watts"))
    low, high = numbers(gpus, "parked_idle_low_watts"), numbers(gpus, "parked_idle_high_watts")
    assert (bare > 0).all()
    assert (bare < parked).all()
    assert (low <= parked).all() and (parked <= high).all()
    assert (high < board).all()
    assert board.between(50, 1500).all()


def test_every_gpu_and_accelerator_a_hosting_type_names_has_power_figures():
    gpus = set(table("gpu_power_v2", "device_model").index)
    hosting = read_table("sagemaker_hosting_types")
    named = set(hosting["gpu_model"]) | set(hosting["accelerator_model"])
    catalog = instance_catalog()
    named |= set(catalog["gpu_model"]) | set(catalog["accelerator_model"])
    assert named - {""} <= gpus


def test_the_a10g_is_costed_at_its_300_watt_limit_not_the_a10s_150():
    assert table("gpu_power_v2", "device_model").at["Nvidia A10G", "board_watts"] == 300


# ---------------------------------------------------------------- PUE


def test_pue_is_plausible_and_covers_every_region_of_the_grid_table():
    pue = table("pue_by_region", "region")
    assert numbers(pue, "pue").between(1.0, 2.0).all()
    assert set(table("grid_factors", "region").index) <= set(pue.index)
    fallback = pue["basis"] == "aws-global-fallback"
    assert (pue.loc[fallback, "assumption"] == "yes").all()
    assert (pue.loc[~fallback, "assumption"] == "no").all()
    assert pue.at["us-east-1", "pue"] == 1.15


# ---------------------------------------------------------------- grid factors


def test_grid_factors_v2_cover_every_region_and_are_plausible():
    grid = table("grid_factors_v2", "region")
    assert set(table("grid_factors", "region").index) <= set(grid.index)
    assert numbers(grid, "location_kgco2e_per_kwh").between(0.005, 1.2).all()
    assert pd.to_numeric(grid["location_year"]).between(2020, 2026).all()
    market = numbers(grid, "market_kgco2e_per_kwh")
    assert (market.dropna() >= 0).all()
    assert (market.dropna() <= numbers(grid, "location_kgco2e_per_kwh")[market.notna()]).all()
    assert (grid["market_source"].str.strip() != "").all()


def test_us_regions_use_their_egrid_subregion():
    grid = table("grid_factors_v2", "region")
    zones = {"us-east-1": "SRVC", "us-east-2": "RFCW", "us-west-1": "CAMX", "us-west-2": "NWPP"}
    for region, zone in zones.items():
        assert grid.at[region, "grid_zone"] == zone
        assert grid.at[region, "location_basis"] == "egrid-subregion-combustion"


# ---------------------------------------------------------------- SageMaker hosting types


def test_the_hosting_types_file_covers_botocores_enum():
    hosting = table("sagemaker_hosting_types", "instance_type")
    assert sagemaker_hosting_enum() <= set(hosting.index)


def test_hosting_types_have_hardware_facts_that_agree_with_the_catalog():
    hosting = read_table("sagemaker_hosting_types")
    assert (numbers(hosting, "vcpus") > 0).all()
    assert (numbers(hosting, "memory_gb") > 0).all()
    gpu_count, accelerator_count = numbers(hosting, "gpu_count"), numbers(hosting, "accelerator_count")
    assert ((gpu_count > 0) == (hosting["gpu_model"] != "")).all()
    assert ((accelerator_count > 0) == (hosting["accelerator_model"] != "")).all()
    assert (hosting["botocore_version"].str.strip() != "").all()
    catalog = instance_catalog()
    for _, row in hosting.iterrows():
        name = row["instance_type"].removeprefix("ml.")
        if name in catalog.index:
            known = catalog.loc[name]
            assert (int(row["vcpus"]), int(row["gpu_count"])) == (known["vcpus"], known["gpu_count"]), name
