"""``ebm-ref verify``: evaluate every registered identity and print the table.

The identities and their decorator live in :mod:`ebm_ref.identities.registry` (an identity
is ``fn(rng) -> (left, right)`` with a tolerance and its reason); this module only runs
them: :func:`evaluate` one, :func:`run` all.  The test suite evaluates the same registry.

Nothing stops the run: an identity that raises, returns NaN or returns sides of two
shapes is a FAIL row carrying its name and the error, and the others still run; a topic
module that fails to import is a FAIL row named after the module.  The table has one row
per identity — status, the full name (wrapped at word boundaries, never cut), left, right,
error and tolerance; a statistical identity (``kind='z'``) is stated as what it is,
``z = 2.78   |z| ≤ 4, false-alarm rate 6.3e-05`` — and closes with a summary: counts by
topic, the largest error relative to its tolerance, the time.  ``--json`` prints the same
as one JSON document for scripts.
"""
from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import textwrap
import time
from dataclasses import dataclass

import numpy as np

from .identities.registry import REGISTRY, Identity, identity, load_all

__all__ = ["Identity", "Result", "identity", "registry", "evaluate", "run", "load_all", "load_errors"]

#: width of the name column; names longer than this wrap onto continuation lines.
NAME_WIDTH = 56
#: width of the left and right columns.
VALUE_WIDTH = 20


@dataclass
class Result:
    identity: Identity
    left: np.ndarray
    right: np.ndarray
    error: float
    passed: bool
    seconds: float
    failure: str = ""

    @property
    def ratio(self) -> float:
        """error / tolerance: ≤ 1 passes."""
        return self.error / self.identity.tol


def load_errors() -> list[Identity]:
    """Import every topic module of :mod:`ebm_ref.identities`, one at a time.

    Returns a failing pseudo-identity for each module whose import raised (named
    ``import ebm_ref.identities.<module>``, its function re-raising the error), so that one
    broken module is reported by name and the others still load.
    """
    from . import identities

    failed = []
    for m in sorted(pkgutil.iter_modules(identities.__path__), key=lambda m: m.name):
        if m.name.startswith("_") or m.name == "registry":
            continue
        try:
            importlib.import_module(f"{identities.__name__}.{m.name}")
        except Exception as exc:  # reported as a failing row, never an abort
            message = f"{type(exc).__name__}: {exc}"

            def fn(rng, message=message):
                raise ImportError(message)

            failed.append(Identity(f"import ebm_ref.identities.{m.name}", "the module imports", "-", fn, 1.0,
                                   "a topic module must import; its identities are missing from this run",
                                   "abs", m.name))
    return failed


def registry() -> list[Identity]:
    """All identities, in topic then registration order (modules that fail to import: :func:`load_errors`)."""
    load_errors()
    return sorted(REGISTRY.values(), key=lambda i: i.topic)


def evaluate(ident: Identity) -> Result:
    """Evaluate one identity; exceptions become a failed result with the message.

    The identity runs with one numba thread: the samplers then run their chunks in turn
    (``samplers._common.run_chunk_segment``; the same chains as under ``prange``), so no
    ``parallel=True`` wrapper is compiled for a first run — on two cores the wrappers cost
    more compile time (a cold run: ~9 s CPU) than the few large identities gain from a second thread.
    """
    from numba import get_num_threads, set_num_threads

    t0 = time.perf_counter()
    threads = get_num_threads()
    set_num_threads(1)
    try:
        left, right = ident.fn(np.random.default_rng(ident.seed))
        left = np.asarray(left, dtype=np.float64)
        right = np.asarray(right, dtype=np.float64)
        if left.shape != right.shape:
            raise ValueError(f"left shape {left.shape} differs from right shape {right.shape}")
        if not (np.all(np.isfinite(left)) and np.all(np.isfinite(right))):
            raise FloatingPointError(f"a side is not finite (left {_fmt(left)}, right {_fmt(right)})")
        err = float(np.max(np.abs(left - right))) if left.size else 0.0
        if ident.kind == "rel":
            scale = float(np.max(np.abs(right))) if right.size else 0.0
            err = err / scale if scale > 0 else (0.0 if err == 0 else np.inf)
        return Result(ident, left, right, err, err <= ident.tol, time.perf_counter() - t0)
    except Exception as exc:  # reported as a failure, never hidden
        return Result(ident, np.array(np.nan), np.array(np.nan), np.inf, False,
                      time.perf_counter() - t0, f"{type(exc).__name__}: {exc}")
    finally:
        set_num_threads(threads)


def _fmt(a: np.ndarray) -> str:
    if a.size == 1:
        return f"{float(a.reshape(())):.10g}"
    return f"[{a.size}] max|.| {np.max(np.abs(a)):.3g}"


def _cells(r: Result) -> str:
    """The columns after the name: left, right, error, tolerance — or a z-score stated as one."""
    ident = r.identity
    if r.failure:
        return f"{'-':>{VALUE_WIDTH}s} {'-':>{VALUE_WIDTH}s} {'-':>9s} {ident.tol:8.2g}"
    if ident.kind == "z":
        return (f"z = {float(np.max(r.left - r.right)):.3g}".ljust(VALUE_WIDTH + 1)
                + f"|z| ≤ {ident.tol:g}, false-alarm rate {ident.false_alarm_rate:.2g}")
    kind = " rel" if ident.kind == "rel" else ""
    return f"{_fmt(r.left):>{VALUE_WIDTH}s} {_fmt(r.right):>{VALUE_WIDTH}s} {r.error:9.2e} {ident.tol:8.2g}{kind}"


def _row(r: Result) -> list[str]:
    status = "pass" if r.passed else "FAIL"
    name = textwrap.wrap(r.identity.name, NAME_WIDTH, break_long_words=False, break_on_hyphens=False) or [""]
    lines = [f"{status:4s} {name[0]:<{NAME_WIDTH}s} {_cells(r)}"]
    lines += [f"     {part}" for part in name[1:]]
    return lines


def _as_json(r: Result) -> dict:
    i = r.identity
    d = {"name": i.name, "topic": i.topic, "status": "pass" if r.passed else "FAIL", "kind": i.kind,
         "step": i.step, "case": i.case, "tol": i.tol, "tol_reason": i.reason, "seconds": round(r.seconds, 4)}
    if r.failure:
        d["error_message"] = r.failure
    else:
        d.update(left=r.left.tolist(), right=r.right.tolist(), error=_num(r.error), error_over_tol=_num(r.ratio))
    if i.kind == "z":
        d["false_alarm_rate"] = i.false_alarm_rate
    return d


def _num(v: float):
    """A float for JSON, or its text when it is not finite (JSON has no inf)."""
    return float(v) if np.isfinite(v) else str(v)


def _summary(results: list[Result], seconds: float) -> dict:
    topics: dict = {}
    for r in results:
        t = topics.setdefault(r.identity.topic, {"passed": 0, "failed": 0})
        t["passed" if r.passed else "failed"] += 1
    finite = [r for r in results if np.isfinite(r.ratio)]
    worst = max(finite, key=lambda r: r.ratio, default=None)
    return {
        "identities": len(results),
        "passed": sum(r.passed for r in results),
        "failed": sum(not r.passed for r in results),
        "by_topic": topics,
        "largest_error_over_tol": None if worst is None else {
            "name": worst.identity.name, "error": worst.error, "tol": worst.identity.tol, "ratio": worst.ratio},
        "failed_names": [r.identity.name for r in results if not r.passed],
        "seconds": round(seconds, 2),
    }


def run(only: str | None = None, out=None, verbose: bool = False, as_json: bool = False,
        progress=None) -> int:
    """Evaluate every identity (or those whose name contains ``only``), print the table.

    Parameters
    ----------
    only : str, optional
        Evaluate only identities whose name contains this text.
    out : file, optional
        Where the table (or the JSON document) goes; default stdout.
    verbose : bool
        Print each identity's step, case and tolerance reason (always printed for a failure).
    as_json : bool
        Print one JSON document (``{"results": [...], "summary": {...}}``) instead of the table.
    progress : file, optional
        Where the one progress line goes while the identities load and numba compiles;
        default stderr (so that ``--json`` output stays clean).

    Returns the number of failures (the command's exit status is non-zero if any).
    """
    out = sys.stdout if out is None else out
    progress = sys.stderr if progress is None else progress
    t0 = time.perf_counter()
    print("ebm-ref verify: loading the identities; the first run also compiles the numba kernels "
          "(several seconds)...", file=progress, flush=True)
    broken = load_errors()
    idents = [i for i in broken + registry() if only is None or only in i.name]
    if not idents:
        print(f"no identity matches {only!r}", file=out)
        return 1
    results = []
    if not as_json:
        print(f"{'':4s} {'identity':<{NAME_WIDTH}s} {'left':>{VALUE_WIDTH}s} {'right':>{VALUE_WIDTH}s} "
              f"{'error':>9s} {'tol':>8s}",
              file=out)
    topic = None
    for ident in idents:
        if not as_json and ident.topic != topic:
            topic = ident.topic
            print(f"-- {topic}", file=out)
        r = evaluate(ident)
        results.append(r)
        if as_json:
            continue
        print("\n".join(_row(r)), file=out, flush=True)
        if verbose or not r.passed:
            print(f"       step: {ident.step}\n       case: {ident.case}\n       tol: {ident.reason}", file=out)
        if r.failure:
            print(f"       error: {r.failure}", file=out)
    s = _summary(results, time.perf_counter() - t0)
    if as_json:
        json.dump({"results": [_as_json(r) for r in results], "summary": s}, out, indent=1, allow_nan=False,
                  default=float)
        print(file=out)
        return s["failed"]
    print(f"\n{s['passed']} passed, {s['failed']} failed of {s['identities']} identities in {s['seconds']:.1f} s",
          file=out)
    by_topic = ", ".join(f"{t} {c['passed']}/{c['passed'] + c['failed']}" for t, c in s["by_topic"].items())
    print("\n".join(textwrap.wrap(f"by topic (passed/total): {by_topic}", 100, subsequent_indent="  ",
                                  break_long_words=False)), file=out)
    w = s["largest_error_over_tol"]
    if w is not None:
        print(f"largest error relative to its tolerance: {w['ratio']:.2g} (error {w['error']:.3g}, tol "
              f"{w['tol']:.2g}) in \"{w['name']}\"", file=out)
    if s["failed"]:
        print("FAILED:\n" + "\n".join(f"  {n}" for n in s["failed_names"]), file=out)
    return s["failed"]
