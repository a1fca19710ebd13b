"""CPU load curves: the share of a chip's (max - min) watts drawn at a given utilization (0 % -> 0, 100 % -> 1)."""

from functools import cache

import numpy as np

from estimator.tables import table

Curve = tuple[tuple[float, ...], tuple[float, ...]]

LINEAR: Curve = ((0.0, 100.0), (0.0, 1.0))


@cache
def teads_curve() -> Curve:
    """Teads' measured power-versus-load shape, rescaled so that idle is 0 and full load is 1.

    Teads gives power as a fraction of TDP (0 % -> 0.12, 10 % -> 0.32, 50 % -> 0.75, 100 % -> 1.02); rescaling
    keeps the concave shape but lets each microarchitecture's own min and max watts set the level.
    """
    points = table("cpu_load_curve", "cpu_util_pct")["tdp_fraction"]
    share = (points - points.iloc[0]) / (points.iloc[-1] - points.iloc[0])
    return tuple(points.index.astype(float)), tuple(share.astype(float))


def load_share(util_pct: np.ndarray, curve: Curve) -> np.ndarray:
    """Share of (max - min) watts at each utilization (NaN stays NaN), piecewise linear between curve points."""
    share: np.ndarray = np.interp(util_pct, curve[0], curve[1])
    return share
