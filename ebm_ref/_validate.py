"""Input checks shared by every public function.

Every check raises ``ValueError`` with a message that names the argument, says what
was received and what is allowed.  Nothing here broadcasts silently.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "as_generator",
    "as_batch",
    "as_float_array",
    "check_positive",
    "check_binary",
    "check_finite",
    "check_positive_int",
    "check_returned",
]


def as_generator(rng) -> np.random.Generator:
    """Turn ``rng`` (a ``numpy.random.Generator`` or an int seed) into a Generator.

    ``None`` and legacy ``RandomState`` objects are refused: every random function of
    the package takes its randomness explicitly, so that the same seed gives the same
    numbers.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (numbers.Integral, np.integer)) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"rng: an int seed must be non-negative, got {rng}")
        return np.random.default_rng(int(rng))
    if isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    raise ValueError(
        "rng: expected a numpy.random.Generator or a non-negative int seed, "
        f"got {type(rng).__name__}; randomness is always passed explicitly"
    )


def as_float_array(a, name: str, shape: tuple | None = None, allow_complex: bool = False) -> np.ndarray:
    """Return ``a`` as a float64 (or complex128) array, checking its shape if given.

    ``shape`` entries that are ``None`` match any length.
    """
    arr = np.asarray(a)
    if arr.dtype == object:
        raise ValueError(f"{name}: expected a numeric array, got dtype object")
    if np.iscomplexobj(arr):
        if not allow_complex:
            raise ValueError(f"{name}: expected real numbers, got a complex array")
        arr = arr.astype(np.complex128, copy=False)
    else:
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
        arr = arr.astype(np.float64, copy=False)
    if shape is not None:
        ok = arr.ndim == len(shape) and all(s is None or s == t for s, t in zip(shape, arr.shape))
        if not ok:
            want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name}: expected shape {want}, got {arr.shape}")
    return arr


def as_batch(x, d: int | None, name: str = "x", allow_complex: bool = False) -> np.ndarray:
    """Check that ``x`` is a batch of points of shape ``(n, d)`` and return it as float64.

    A single point of shape ``(d,)`` is refused rather than broadcast: the caller
    writes ``x[None, :]`` when that is what is meant.
    """
    arr = np.asarray(x)
    if arr.ndim != 2:
        want = f"(n, {d})" if d is not None else "(n, d)"
        hint = " (a single point must be passed as x[None, :])" if arr.ndim == 1 else ""
        raise ValueError(f"{name}: expected a batch of shape {want}, got shape {arr.shape}{hint}")
    if d is not None and arr.shape[1] != d:
        raise ValueError(f"{name}: expected shape (n, {d}), got {arr.shape}: the model has dimension {d}")
    arr = as_float_array(arr, name, allow_complex=allow_complex)
    if not allow_complex or not np.iscomplexobj(arr):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name}: contains NaN or inf")
    return arr


def check_positive(value, name: str, strict: bool = True) -> float:
    """Check a positive (or non-negative) finite scalar and return it as float."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, got {value!r}") from None
    if not np.isfinite(v) or (v <= 0 if strict else v < 0):
        rel = "> 0" if strict else ">= 0"
        raise ValueError(f"{name}: must be finite and {rel}, got {value!r}")
    return v


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    """Check an integer that must be at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: must be >= {minimum}, got {value}")
    return int(value)


def check_binary(x: np.ndarray, name: str = "x") -> np.ndarray:
    """Check that every entry of ``x`` is 0 or 1."""
    if not np.all((x == 0) | (x == 1)):
        bad = x[(x != 0) & (x != 1)].ravel()[:3]
        raise ValueError(f"{name}: binary units must be 0 or 1, found values such as {bad.tolist()}")
    return x


def check_finite(arr, what: str) -> None:
    """Raise if ``arr`` holds NaN or inf; ``what`` names where it was produced."""
    if not np.all(np.isfinite(arr)):
        raise FloatingPointError(f"non-finite value (NaN or inf) produced in {what}")


def check_returned(value, shape: tuple, what: str) -> np.ndarray:
    """What a user's object returned, as float64 of exactly ``shape``; else a ValueError naming ``what``.

    Used wherever a user's model, proposal or noise hands an array back, so that an
    ``(n, 1)`` log-density is never broadcast against an ``(n,)`` one into ``(n, n)``.
    """
    a = np.asarray(value)
    if a.dtype.kind not in "fiu":
        raise ValueError(f"{what}: returned dtype {a.dtype}; expected real numbers of shape {shape}")
    if a.shape != tuple(shape):
        raise ValueError(f"{what}: returned shape {a.shape}, expected {tuple(shape)}")
    return a.astype(np.float64, copy=False)
