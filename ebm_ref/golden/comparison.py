"""The comparer: another implementation's results against the reference cases, quantity by quantity.

A quantity passes when max|r − ref| ≤ atol + rtol·max|ref| (norm-wise, as :mod:`ebm_ref.check`
compares derivatives: small entries do not inflate the error), with the tolerance class the
manifest gives it (:data:`TOLERANCES`).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .fileformat import GoldenError, load_npz, read_manifest

__all__ = ["Row", "compare", "check", "TOLERANCES", "RULE"]

RULE = "pass when max|result - reference| <= atol + rtol * max|reference| (per quantity, norm-wise)"


#: tolerance classes (rtol, atol, reason).  The reference is float64; a correct float64
#: implementation differs only by the order of its floating-point operations.  A wrong
#: formula (a sign, a factor ½, a dropped term, a transposed weight) is an O(1) relative
#: error, many orders of magnitude above every class here.
TOLERANCES = {
    "value": (1e-10, 1e-12,
              "float64 evaluation of a closed form: a different order of operations changes the "
              "result by a few ulps times the conditioning of its sums; 1e-10 leaves ~1e5 ulps for that"),
    "second": (1e-9, 1e-10,
               "second derivatives and their parameter gradients pass through two chain rules "
               "(autodiff over autodiff, or a forward Laplacian against a Hessian trace): one more "
               "decade than first-order values"),
    "objective": (1e-9, 1e-11,
                  "a loss or its gradient is a batch mean of derivatives, computed by softplus/logsumexp "
                  "or second-order rewrites that are equal in exact arithmetic only"),
}


@dataclass
class Row:
    """One line of the report: one quantity of one case."""

    case: str
    quantity: str
    status: str            # "pass", "FAIL" or "missing"
    max_abs_err: float = float("nan")
    max_rel_err: float = float("nan")
    where: tuple = ()
    rtol: float = float("nan")
    atol: float = float("nan")
    note: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "FAIL"


def _compare_arrays(case, key, res, ref, spec) -> Row:
    rtol, atol = float(spec["rtol"]), float(spec["atol"])
    r = np.asarray(res, dtype=np.float64)
    note = f"results are {res.dtype} (tolerances assume float64)" if res.dtype != np.float64 else ""
    if ref.size == 0:
        return Row(case, key, "pass", 0.0, 0.0, (), rtol, atol, note)
    if not np.all(np.isfinite(r)):
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(r))[0])
        return Row(case, key, "FAIL", np.inf, np.inf, idx, rtol, atol, "result not finite")
    err = np.abs(r - ref)
    idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(err)), err.shape))
    max_abs = float(err[idx])
    scale = float(np.max(np.abs(ref)))
    rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else np.inf)
    ok = max_abs <= atol + rtol * scale
    return Row(case, key, "pass" if ok else "FAIL", max_abs, rel, idx, rtol, atol, note)


def compare(dir, results, *, allow_missing: bool = False) -> tuple[list[Row], list[str]]:
    """Compare RESULTS with the reference cases in DIR.

    Returns ``(rows, skipped_cases)``: one :class:`Row` per quantity of every case that
    RESULTS holds, and the names of the cases it does not hold.

    Raises
    ------
    GoldenError
        A malformed manifest; a missing or corrupt reference file; RESULTS not a
        directory, holding no case, or holding a directory that is not a case; a case
        directory without ``outputs.npz``; an unknown key; a missing key (unless
        ``allow_missing``); a wrong shape; a non-float array.
    """
    root, res_root = Path(dir), Path(results)
    manifest = read_manifest(root)
    cases = manifest["cases"]
    if not res_root.is_dir():
        raise GoldenError(f"{res_root}: results directory not found; expected RESULTS/<case>/outputs.npz "
                          f"for some of the cases {sorted(cases)}")
    extra = sorted(p.name for p in res_root.iterdir() if p.is_dir() and not p.name.startswith(".")
                   and p.name not in cases)
    if extra:
        raise GoldenError(f"{res_root / extra[0]}: not a case of the reference (known cases: {sorted(cases)})")
    present = [n for n in cases if (res_root / n).exists()]
    if not present:
        raise GoldenError(f"{res_root}: holds no results; expected RESULTS/<case>/outputs.npz "
                          f"for some of the cases {sorted(cases)}")
    rows, skipped = [], [n for n in cases if n not in present]
    for name in present:
        spec_out = cases[name]["outputs"]
        ref_path = root / name / "outputs.npz"
        res_path = res_root / name / "outputs.npz"
        ref = load_npz(ref_path, f"the reference outputs of case {name!r}")
        res = load_npz(res_path, f"the results of case {name!r} with keys {sorted(spec_out)}")
        unknown = sorted(set(res) - set(spec_out))
        if unknown:
            raise GoldenError(f"{res_path}: key {unknown[0]!r} is not a quantity of case {name!r}; "
                              f"expected keys: {sorted(spec_out)}")
        for key, spec in spec_out.items():
            shape = tuple(spec["shape"])
            if key not in ref:
                raise GoldenError(f"{ref_path}: key {key!r} listed in the manifest is missing from the reference")
            a_ref = ref[key]
            if a_ref.shape != shape or a_ref.dtype != np.float64:
                raise GoldenError(f"{ref_path}: key {key!r} has shape {a_ref.shape} and dtype {a_ref.dtype}; "
                                  f"the manifest says {shape} float64")
            if key not in res:
                if allow_missing:
                    rows.append(Row(case=name, quantity=key, status="missing",
                                    rtol=spec["rtol"], atol=spec["atol"], note="not provided"))
                    continue
                raise GoldenError(f"{res_path}: missing key {key!r}; expected a float64 array of shape {shape}: "
                                  f"{spec.get('formula', '')}; pass --allow-missing to check only the keys "
                                  "you provide")
            a = res[key]
            if not np.issubdtype(a.dtype, np.floating):
                raise GoldenError(f"{res_path}: key {key!r} has dtype {a.dtype}; expected a float array "
                                  "(float64)")
            if a.shape != shape:
                raise GoldenError(f"{res_path}: key {key!r} has shape {a.shape}; expected {shape}: "
                                  f"{spec.get('formula', '')}")
            rows.append(_compare_arrays(name, key, a, a_ref, spec))
    return rows, skipped


def _fmt(v) -> str:
    return "-" if v != v else f"{v:.2e}"


def check(dir, results, *, allow_missing: bool = False, out=None, verbose: bool = True) -> int:
    """Compare RESULTS with the reference cases in DIR, print the report, return the number of failures.

    The table has one line per quantity: case, quantity, max absolute error, norm-wise
    relative error, where (index of the largest absolute error), rtol, atol, pass/FAIL.
    See :func:`compare` for what raises :class:`GoldenError`.
    """
    out = sys.stdout if out is None else out
    rows, skipped = compare(dir, results, allow_missing=allow_missing)
    wc = max([len("case")] + [len(r.case) for r in rows])
    wq = max([len("quantity")] + [len(r.quantity) for r in rows])
    if verbose:
        print(f"{'case':<{wc}}  {'quantity':<{wq}}  {'max abs err':>11}  {'max rel err':>11}  "
              f"{'where':<12}  {'rtol':>7}  {'atol':>7}  result", file=out)
        for r in rows:
            where = "-" if r.status == "missing" else str(r.where)
            extra = f"  [{r.note}]" if r.note else ""
            print(f"{r.case:<{wc}}  {r.quantity:<{wq}}  {_fmt(r.max_abs_err):>11}  {_fmt(r.max_rel_err):>11}  "
                  f"{where:<12}  {r.rtol:7.0e}  {r.atol:7.0e}  {r.status}{extra}", file=out)
    n_fail = sum(r.failed for r in rows)
    n_pass = sum(r.status == "pass" for r in rows)
    n_miss = sum(r.status == "missing" for r in rows)
    print(f"{n_pass} passed, {n_fail} failed, {n_miss} not provided; "
          f"{len({r.case for r in rows})} case(s) checked"
          + (f", {len(skipped)} skipped (no results): {', '.join(skipped)}" if skipped else ""), file=out)
    if n_fail:
        failed = sorted({f"{r.case}/{r.quantity}" for r in rows if r.failed})
        print("FAILED: " + ", ".join(failed), file=out)
    return n_fail
