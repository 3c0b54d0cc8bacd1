"""``ebm-ref verify``: evaluate every registered identity and print the table.

The identities and their decorator live in :mod:`ebm_ref.identities.registry` (an identity
is ``fn(rng) -> (left, right)`` with a tolerance and its reason); this module only runs
them: :func:`evaluate` one, :func:`run` all, printing name, left, right, error and
tolerance.  The test suite evaluates the same registry.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import numpy as np

from .identities.registry import REGISTRY, Identity, identity, load_all

__all__ = ["Identity", "Result", "identity", "registry", "evaluate", "run", "load_all"]


@dataclass
class Result:
    identity: Identity
    left: np.ndarray
    right: np.ndarray
    error: float
    passed: bool
    seconds: float
    failure: str = ""


def registry() -> list[Identity]:
    """All identities, in topic then registration order."""
    load_all()
    return sorted(REGISTRY.values(), key=lambda i: i.topic)


def evaluate(ident: Identity) -> Result:
    """Evaluate one identity; exceptions become a failed result with the message."""
    t0 = time.perf_counter()
    try:
        left, right = ident.fn(np.random.default_rng(ident.seed))
        left = np.asarray(left, dtype=np.float64)
        right = np.asarray(right, dtype=np.float64)
        if left.shape != right.shape:
            raise ValueError(f"left shape {left.shape} differs from right shape {right.shape}")
        if not (np.all(np.isfinite(left)) and np.all(np.isfinite(right))):
            raise FloatingPointError("a side is not finite")
        err = float(np.max(np.abs(left - right))) if left.size else 0.0
        if ident.kind == "rel":
            scale = float(np.max(np.abs(right))) if right.size else 0.0
            err = err / scale if scale > 0 else (0.0 if err == 0 else np.inf)
        return Result(ident, left, right, err, err <= ident.tol, time.perf_counter() - t0)
    except Exception as exc:  # reported as a failure, never hidden
        return Result(ident, np.array(np.nan), np.array(np.nan), np.inf, False,
                      time.perf_counter() - t0, f"{type(exc).__name__}: {exc}")


def _fmt(a: np.ndarray) -> str:
    if a.size == 1:
        return f"{float(a.reshape(())):.10g}"
    return f"[{a.size} values, max|.| {np.max(np.abs(a)):.4g}]"


def run(only: str | None = None, out=None, verbose: bool = False) -> int:
    """Evaluate every identity (or those whose name contains ``only``), print the table.

    Returns the number of failures (the command's exit status is non-zero if any).
    """
    out = sys.stdout if out is None else out
    idents = [i for i in registry() if only is None or only in i.name]
    if not idents:
        print(f"no identity matches {only!r}", file=out)
        return 1
    failures = 0
    print(f"{'':4s} {'identity':<58s} {'left':>18s} {'right':>18s} {'error':>9s} {'tol':>8s}", file=out)
    topic = None
    for ident in idents:
        if ident.topic != topic:
            topic = ident.topic
            print(f"-- {topic}", file=out)
        r = evaluate(ident)
        failures += not r.passed
        status = "pass" if r.passed else "FAIL"
        print(f"{status:4s} {ident.name[:58]:<58s} {_fmt(r.left):>18s} {_fmt(r.right):>18s} "
              f"{r.error:9.2e} {ident.tol:8.0e}", file=out)
        if verbose or not r.passed:
            print(f"       step: {ident.step}\n       case: {ident.case}\n       tol: {ident.reason}", file=out)
        if r.failure:
            print(f"       error: {r.failure}", file=out)
    print(f"{len(idents) - failures} passed, {failures} failed", file=out)
    return failures
