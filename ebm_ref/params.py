"""Parameter dictionaries θ: ordered ``dict[str, ndarray]``.

Every model keeps its parameters as an ordered dict; parameter gradients are dicts
with the same keys and shapes.  Optimizers and derivative checkers work on one flat
vector, so this module converts between the two views.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

__all__ = ["flatten", "unflatten", "replace", "like", "add", "scale", "check_like", "size"]


def _as_params(params: Mapping[str, np.ndarray], name: str = "params") -> dict:
    if not isinstance(params, Mapping):
        raise ValueError(f"{name}: expected a dict of arrays, got {type(params).__name__}")
    return {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}


def size(params: Mapping[str, np.ndarray]) -> int:
    """Total number of scalar parameters."""
    return int(sum(np.size(v) for v in params.values()))


def flatten(params: Mapping[str, np.ndarray]) -> np.ndarray:
    """Concatenate the arrays of ``params`` in key order into one float64 vector."""
    p = _as_params(params)
    if not p:
        return np.zeros(0)
    return np.concatenate([v.ravel() for v in p.values()])


def unflatten(vector, template: Mapping[str, np.ndarray]) -> dict:
    """Inverse of :func:`flatten`: cut ``vector`` into arrays shaped like ``template``."""
    vec = np.asarray(vector)
    if vec.ndim != 1:
        raise ValueError(f"vector: expected a 1-D array, got shape {vec.shape}")
    n = size(template)
    if vec.shape[0] != n:
        raise ValueError(f"vector: expected length {n} to fill the template, got {vec.shape[0]}")
    out, i = {}, 0
    for k, v in template.items():
        shape = np.shape(v)
        m = int(np.prod(shape, dtype=int))
        out[k] = vec[i:i + m].reshape(shape).copy()
        i += m
    return out


def check_like(params: Mapping[str, np.ndarray], template: Mapping[str, np.ndarray], name: str = "params") -> dict:
    """Check that ``params`` has exactly the keys and shapes of ``template``."""
    p = _as_params(params, name)
    if list(p) != list(template):
        raise ValueError(f"{name}: expected keys {list(template)}, got {list(p)}")
    for k in p:
        if p[k].shape != np.shape(template[k]):
            raise ValueError(f"{name}[{k!r}]: expected shape {np.shape(template[k])}, got {p[k].shape}")
    return p


def replace(params: Mapping[str, np.ndarray], **new) -> dict:
    """Return a copy of ``params`` with some entries replaced (shapes must match)."""
    out = dict(params)
    for k, v in new.items():
        if k not in out:
            raise ValueError(f"unknown parameter {k!r}; the parameters are {list(out)}")
        v = np.asarray(v)
        if v.shape != np.shape(out[k]):
            raise ValueError(f"parameter {k!r}: expected shape {np.shape(out[k])}, got {v.shape}")
        out[k] = v
    return out


def like(params: Mapping[str, np.ndarray], fill: float = 0.0) -> dict:
    """A dict of arrays shaped like ``params`` filled with ``fill``."""
    return {k: np.full(np.shape(v), fill, dtype=np.float64) for k, v in params.items()}


def add(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray], beta: float = 1.0) -> dict:
    """Entry-wise ``a + beta * b`` of two parameter dicts with the same keys."""
    if list(a) != list(b):
        raise ValueError(f"parameter dicts differ in keys: {list(a)} vs {list(b)}")
    return {k: np.asarray(a[k]) + beta * np.asarray(b[k]) for k in a}


def scale(a: Mapping[str, np.ndarray], alpha: float) -> dict:
    """Entry-wise ``alpha * a``."""
    return {k: alpha * np.asarray(v) for k, v in a.items()}
