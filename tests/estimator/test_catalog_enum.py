"""The catalog holds every instance type SageMaker can host, and every catalog row resolves in every methodology.

The enum is read at run time from the installed botocore (``botocore>=1.44.8`` in pyproject.toml), so a botocore
upgrade that adds a hosting type fails here, naming the type, until the catalog has a row for it.
"""

import botocore.session
import numpy as np
import pandas as pd
import pytest

from estimator import estimate
from estimator.catalog import ec2_type, instance_catalog
from estimator.factors import Factors, resolve_lifetime
from estimator.methods import METHODOLOGIES, Methodology
from estimator.methods.default import DEFAULT_1
from estimator.profiles import UNKNOWN, build_profiles
from estimator.tables import table
from tests.estimator.usage import usage

UNKNOWN_TYPE_NOTE = "unknown instance type"
EVERY_METHODOLOGY = [*(METHODOLOGIES[name] for name in sorted(METHODOLOGIES)), DEFAULT_1]


def hosting_enum() -> list[str]:
    """Botocore's SageMaker ``ProductionVariantInstanceType`` values, e.g. ``ml.g5.xlarge``."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    return sorted(model.shape_for("ProductionVariantInstanceType").enum)


def label(method: Methodology) -> str:
    return f"{method.name}-{method.version}"


def test_botocore_is_new_enough_to_list_the_newest_hosting_types():
    assert {"ml.g7e.48xlarge", "ml.p6-b300.48xlarge", "ml.trn2.48xlarge"} <= set(hosting_enum())


def test_every_hosting_type_has_a_catalog_row():
    missing = sorted(name for name in hosting_enum() if ec2_type(name) not in instance_catalog().index)
    assert not missing, f"{len(missing)} SageMaker hosting types are not in instance_types.csv: {missing}"


@pytest.mark.parametrize("methodology", ["default", "ccf"])
def test_no_hosting_type_is_costed_as_an_unknown_type(methodology):
    names = hosting_enum()
    result = estimate(usage(*({"instance_type": name, "cpu_util_pct": 30.0} for name in names)), methodology)
    unknown = [name for name, notes in zip(names, result["fallbacks"], strict=True) if UNKNOWN_TYPE_NOTE in notes]
    assert not unknown, f"{methodology}: {len(unknown)} hosting types hit the unknown-type fallback: {unknown}"
    assert np.isfinite(result["energy_kwh"]).all() and (result["energy_kwh"] > 0).all()


# ---------------------------------------------------------------- every catalog row resolves


def test_every_catalog_family_has_a_host_row():
    missing = set(instance_catalog()["family"]) - set(table("families", "family").index)
    assert not missing, f"families missing from families.csv: {sorted(missing)}"


def test_every_catalog_microarchitecture_has_power_figures():
    catalog = instance_catalog()
    known = set(table("cpu_power", "microarchitecture").index)
    parts = {part for name in catalog["cpu_microarchitecture"] for part in name.split("+")}
    assert parts - known == set(), f"microarchitectures missing from cpu_power.csv: {sorted(parts - known)}"


@pytest.mark.parametrize(
    ("kind", "tables"),
    [
        ("gpu", [("gpu_power", "gpu_model"), ("gpu_power_v2", "device_model")]),
        ("accelerator", [("accelerator_power", "accelerator_model"), ("gpu_power_v2", "device_model")]),
    ],
)
def test_every_catalog_device_model_has_power_figures_in_the_1x_and_2x_tables(kind, tables):
    catalog = instance_catalog()
    used = set(catalog.loc[catalog[f"{kind}_count"] > 0, f"{kind}_model"])
    for name, key in tables:
        missing = used - set(table(name, key).index)
        assert not missing, f"{kind} models missing from {name}.csv: {sorted(missing)}"


@pytest.mark.parametrize("method", EVERY_METHODOLOGY, ids=label)
def test_profiles_build_for_every_catalog_row(method):
    lifetime_hours, _ = resolve_lifetime(Factors())
    profiles = build_profiles(method, instance_catalog(), lifetime_hours)
    catalog_rows = profiles.drop(index=[UNKNOWN]).loc[instance_catalog().index]
    unresolved = catalog_rows.index[catalog_rows["notes"].astype(str).str.contains("unknown", case=False)]
    assert list(unresolved) == [], f"{label(method)}: rows costed with a fallback: {list(unresolved)}"
    numeric = catalog_rows.select_dtypes("number")
    assert np.isfinite(numeric.to_numpy(dtype=float)).all()
    assert (catalog_rows["embodied_kg_per_hour"] > 0).all()
    devices = catalog_rows["gpu_count"] + catalog_rows["acc_count"]
    assert (catalog_rows.loc[devices > 0, ["gpu_board_watts", "acc_board_watts"]].sum(axis=1) > 0).all()


def test_the_types_added_for_the_enum_carry_their_devices():
    catalog = instance_catalog()
    expected = pd.DataFrame(
        [
            ("p5.4xlarge", "Nvidia H100", 1, "", 0),
            ("p5e.48xlarge", "Nvidia H200", 8, "", 0),
            ("p6-b200.48xlarge", "Nvidia B200", 8, "", 0),
            ("p6e-gb200.36xlarge", "Nvidia B200 (GB200)", 4, "", 0),
            ("g7e.48xlarge", "Nvidia RTX PRO 6000 Blackwell Server Edition", 8, "", 0),
            ("trn2.48xlarge", "", 0, "AWS Trainium2", 16),
            ("dl1.24xlarge", "", 0, "Habana Gaudi", 8),
        ],
        columns=["instance_type", "gpu_model", "gpu_count", "accelerator_model", "accelerator_count"],
    ).set_index("instance_type")
    assert catalog.loc[expected.index, expected.columns].equals(expected)
