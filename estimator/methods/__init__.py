"""The two selectable methodologies, ``ccf`` and ``default``; both are versioned."""

from estimator.methods.base import Methodology, ServerlessUse
from estimator.methods.ccf import CCF
from estimator.methods.default import DEFAULT, DEFAULT_1

METHODOLOGIES: dict[str, Methodology] = {method.name: method for method in (CCF, DEFAULT)}

PREVIOUS_DEFAULT = DEFAULT_1  # the version the current ``default`` replaced, for "what changed" comparisons

__all__ = ["METHODOLOGIES", "PREVIOUS_DEFAULT", "Methodology", "ServerlessUse", "methodology_named"]


def methodology_named(name: str) -> Methodology:
    """The methodology called ``name``; ``ValueError`` listing the choices otherwise."""
    if name not in METHODOLOGIES:
        raise ValueError(f"unknown methodology {name!r}; choose one of {sorted(METHODOLOGIES)}")
    return METHODOLOGIES[name]
