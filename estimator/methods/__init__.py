"""The two selectable methodologies, ``ccf`` and ``default``; both are versioned."""

from estimator.methods.base import Methodology, ServerlessUse
from estimator.methods.ccf import CCF
from estimator.methods.default import DEFAULT

METHODOLOGIES: dict[str, Methodology] = {method.name: method for method in (CCF, DEFAULT)}

__all__ = ["METHODOLOGIES", "Methodology", "ServerlessUse", "methodology_named"]


def methodology_named(name: str) -> Methodology:
    """The methodology called ``name``; ``ValueError`` listing the choices otherwise."""
    if name not in METHODOLOGIES:
        raise ValueError(f"unknown methodology {name!r}; choose one of {sorted(METHODOLOGIES)}")
    return METHODOLOGIES[name]
