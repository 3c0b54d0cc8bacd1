r"""Annealing schedules :math:`0 = \beta_0 < \beta_1 < \dots < \beta_K = 1` for AIS."""
from __future__ import annotations

import numpy as np

from .._validate import as_float_array, check_positive_int

__all__ = ["validate_schedule", "linear_schedule", "salakhutdinov_murray_schedule"]


def validate_schedule(betas) -> np.ndarray:
    """Check a β schedule: a 1-D array, strictly increasing, from exactly 0 to exactly 1."""
    b = as_float_array(betas, "betas")
    if b.ndim != 1 or b.size < 2:
        raise ValueError(f"betas: expected a 1-D schedule of at least 2 temperatures, got shape {b.shape}")
    if not np.all(np.isfinite(b)):
        raise ValueError("betas: contains NaN or inf")
    if b[0] != 0.0 or b[-1] != 1.0:
        raise ValueError(f"betas: must start at exactly 0 and end at exactly 1, got {b[0]!r} ... {b[-1]!r}")
    if np.any(np.diff(b) <= 0):
        k = int(np.argmax(np.diff(b) <= 0))
        raise ValueError(f"betas: must be strictly increasing; betas[{k + 1}] = {b[k + 1]!r} <= betas[{k}] = {b[k]!r}")
    return b


def linear_schedule(n_temperatures: int) -> np.ndarray:
    """``n_temperatures`` equally spaced β from 0 to 1 (both included)."""
    n = check_positive_int(n_temperatures, "n_temperatures", 2)
    b = np.linspace(0.0, 1.0, n)
    b[-1] = 1.0
    return b


def salakhutdinov_murray_schedule() -> np.ndarray:
    """The schedule of Salakhutdinov & Murray (2008): 14,500 temperatures.

    500 equally spaced in [0, 0.5), 4,000 in [0.5, 0.9) and 10,000 in [0.9, 1] — denser
    where the distributions change fastest, near the target.
    """
    return np.concatenate([
        np.linspace(0.0, 0.5, 500, endpoint=False),
        np.linspace(0.5, 0.9, 4000, endpoint=False),
        np.linspace(0.9, 1.0, 10000),
    ])
