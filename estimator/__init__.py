"""Wattson's estimator: energy and CO2e of ML workloads on AWS, with cited factors and two methodologies.

Plain Python on pandas/numpy; usable on its own (``python -m estimator --help``).
"""

from estimator.estimation import OUTPUT_COLUMNS, estimate
from estimator.factors import Factors
from estimator.methods import METHODOLOGIES
from estimator.storage import STORAGE_OUTPUT_COLUMNS, estimate_storage
from estimator.validation import InputError

__all__ = [
    "METHODOLOGIES",
    "OUTPUT_COLUMNS",
    "STORAGE_OUTPUT_COLUMNS",
    "Factors",
    "InputError",
    "estimate",
    "estimate_storage",
]
