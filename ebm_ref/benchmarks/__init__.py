"""Benchmarks for ``ebm-ref bench``: each reports ratios measured in one run.

A benchmark is ``fn(quick: bool) -> list[Row]`` registered with :func:`benchmark`;
each row names a ratio, its measured value and the goal beside it.  Timing is never
asserted in tests; the tests only run the benchmarks in ``quick`` mode to keep them
working.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Callable

from .._submodules import import_all, lazy_getattr

#: benchmark modules load on first use (``ebm_ref.benchmarks.laplacian``)
__getattr__ = lazy_getattr(__name__)

__all__ = ["Row", "benchmark", "all_benchmarks", "best_time", "interleaved"]

_BENCH: dict[str, Callable] = {}


@dataclass
class Row:
    name: str
    ratio: float
    goal: str
    detail: str = ""
    met: bool | None = None


def benchmark(name: str):
    def register(fn):
        _BENCH[name] = fn
        return fn

    return register


def all_benchmarks() -> dict[str, Callable]:
    import_all(sys.modules[__name__])
    return dict(_BENCH)


def best_time(fn, repeat: int = 5, number: int = 1) -> float:
    """Best of ``repeat`` timings of ``number`` calls, in seconds per call."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def interleaved(fns, rounds: int, repeat: int, timer: Callable = best_time) -> list[float]:
    """Best time per call of each of ``fns``, measured alternately in ``rounds`` rounds.

    Each round times every function in turn with ``timer(fn, repeat)`` (:func:`best_time`,
    wall time, by default), so that a burst of load from other processes falls on all of
    them alike and their ratios are not skewed by it.
    """
    if not (isinstance(rounds, int) and rounds >= 1 and isinstance(repeat, int) and repeat >= 1):
        raise ValueError(f"rounds, repeat: expected integers >= 1, got {rounds!r}, {repeat!r}")
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for k, f in enumerate(fns):
            best[k] = min(best[k], timer(f, repeat))
    return best
