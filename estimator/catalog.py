"""The instance catalog: hardware of each EC2 / SageMaker instance type, one cited row per type.

SageMaker's ``ml.<family>.<size>`` runs on the EC2 ``<family>.<size>`` hardware: the ``ml.``
prefix is stripped and the rest matched exactly (no fuzzy matching).
"""

from functools import cache
from typing import cast

import pandas as pd

from estimator.tables import read_table

ML_PREFIX = "ml."
TEXT_COLUMNS = ("cpu_microarchitecture", "gpu_model", "accelerator_model", "ccf_cpu_microarchitecture")


def ec2_type(instance_type: str) -> str:
    """``ml.g5.xlarge`` -> ``g5.xlarge``; an EC2 name is returned unchanged (lower-cased, trimmed)."""
    name = instance_type.strip().lower()
    return name[len(ML_PREFIX) :] if name.startswith(ML_PREFIX) else name


@cache
def instance_catalog() -> pd.DataFrame:
    """The catalog indexed by EC2 instance type."""
    frame = read_table("instance_types", dtype={column: str for column in TEXT_COLUMNS})
    if not frame["instance_type"].is_unique:
        raise ValueError("instance_types.csv lists an instance type twice")
    return frame.set_index("instance_type")


def hardware(instance_type: str) -> pd.Series:
    """One catalog row; ``KeyError`` naming the type when it is not in the catalog."""
    key = ec2_type(instance_type)
    try:
        return cast(pd.Series, instance_catalog().loc[key])  # a row: the index is unique
    except KeyError:
        raise KeyError(f"unknown instance type {instance_type!r} (looked up as {key!r})") from None
