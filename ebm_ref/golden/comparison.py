r"""The comparer: another implementation's results against the reference cases, entry by entry.

Every entry k of a quantity is judged on its own (component-wise, as :mod:`ebm_ref.check`
judges derivatives: a wrong small entry cannot hide behind a large one), with the tolerance
class the manifest gives the quantity (:data:`TOLERANCES`):

.. math::  |r_k - \mathrm{ref}_k| \le \mathrm{atol} + \mathrm{rtol}\,|\mathrm{ref}_k| .

Non-finite entries are decided explicitly, never by the inequality: a NaN (in the result or
the reference) never passes, and an infinite entry passes only when result and reference
are the same infinity (``+inf`` against ``+inf``).  A quantity passes when every entry
passes.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .fileformat import GoldenError, check_inside, load_npz, read_manifest

__all__ = ["Row", "compare", "check", "TOLERANCES", "RULE"]

RULE = ("pass when |result[k] - reference[k]| <= atol + rtol * |reference[k]| for every entry k "
        "(component-wise); a NaN never passes; an infinite entry passes only against the same infinity")


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
    """One line of the report: one quantity of one case.

    ``where`` is the worst entry, the one with the largest ``|r_k − ref_k| / (atol + rtol|ref_k|)``
    (``tol_ratio``; the quantity passes when it is ≤ 1); ``max_abs_err`` and ``max_rel_err`` are
    the absolute and relative errors ``|r_k − ref_k|``, ``|r_k − ref_k| / |ref_k|`` of that entry.
    """

    case: str
    quantity: str
    status: str            # "pass", "FAIL" or "missing"
    max_abs_err: float = float("nan")
    max_rel_err: float = float("nan")
    where: tuple = ()
    rtol: float = float("nan")
    atol: float = float("nan")
    note: str = ""
    tol_ratio: float = float("nan")

    @property
    def failed(self) -> bool:
        return self.status == "FAIL"


def _compare_arrays(case, key, res, ref, spec) -> Row:
    """One quantity, entry by entry (see the module docstring)."""
    rtol, atol = float(spec["rtol"]), float(spec["atol"])
    r = np.asarray(res, dtype=np.float64)
    note = f"results are {res.dtype} (tolerances assume float64)" if res.dtype != np.float64 else ""
    if ref.size == 0:
        return Row(case, key, "pass", 0.0, 0.0, (), rtol, atol, note)
    finite = np.isfinite(r) & np.isfinite(ref)
    bad = ~finite & ~(np.isinf(r) & (r == ref))          # a NaN, or an infinity against anything else
    if np.any(bad):
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        why = (f"not finite: result {r[idx]} against reference {ref[idx]} at {idx} (a NaN never passes; "
               "an infinity passes only against the same infinity)")
        return Row(case, key, "FAIL", np.inf, np.inf, idx, rtol, atol, "; ".join(filter(None, [why, note])), np.inf)
    err = np.abs(np.where(finite, r, 0.0) - np.where(finite, ref, 0.0))   # equal infinities: error 0
    bound = atol + rtol * np.abs(np.where(finite, ref, 0.0))
    ratio = np.divide(err, bound, out=np.where(err > 0, np.inf, 0.0), where=bound > 0)
    idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(ratio)), ratio.shape))
    max_abs, scale = float(err[idx]), float(abs(ref[idx]))
    rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else np.inf)
    status = "pass" if bool(np.all(err <= bound)) else "FAIL"
    return Row(case, key, status, max_abs, rel, idx, rtol, atol, note, float(ratio[idx]))


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
        ``allow_missing``); a wrong shape; a non-float array; a symbolic link or a path
        outside DIR or RESULTS; an archive larger than its manifest shapes need.

    Notes
    -----
    Reading stays inside the two folders (case names are single path components,
    :func:`~ebm_ref.golden.fileformat.check_case_name`, and no symbolic link is followed)
    and within :data:`~ebm_ref.golden.fileformat.MEMORY_BOUND` bytes: every member's .npy
    header is checked against the manifest before its data are read.
    """
    root, res_root = Path(dir), Path(results)
    manifest = read_manifest(root)
    cases = manifest["cases"]
    if not res_root.is_dir():
        raise GoldenError(f"{res_root}: results directory not found; expected RESULTS/<case>/outputs.npz "
                          f"for some of the cases {sorted(cases)}")
    extra = sorted(p.name for p in res_root.iterdir() if (p.is_dir() or p.is_symlink())
                   and not p.name.startswith(".") and p.name not in cases)
    if extra:
        raise GoldenError(f"{res_root / extra[0]}: not a case of the reference (known cases: {sorted(cases)})")
    present = [n for n in cases if (res_root / n).exists()]
    if not present:
        raise GoldenError(f"{res_root}: holds no results; expected RESULTS/<case>/outputs.npz "
                          f"for some of the cases {sorted(cases)}")
    rows, skipped = [], [n for n in cases if n not in present]
    for name in present:
        spec_out = cases[name]["outputs"]
        expected = {k: tuple(spec["shape"]) for k, spec in spec_out.items()}
        ref_path = check_inside(root, root / name / "outputs.npz", f"the reference outputs of case {name!r}")
        res_path = check_inside(res_root, res_root / name / "outputs.npz", f"the results of case {name!r}")
        ref = load_npz(ref_path, f"the reference outputs of case {name!r}", expected, reference=True)
        res = load_npz(res_path, f"case {name!r}", expected)
        for key, spec in spec_out.items():
            shape = expected[key]
            if key not in ref:
                raise GoldenError(f"{ref_path}: key {key!r} listed in the manifest is missing from the reference")
            if key not in res:
                if allow_missing:
                    rows.append(Row(case=name, quantity=key, status="missing",
                                    rtol=spec["rtol"], atol=spec["atol"], note="not provided"))
                    continue
                raise GoldenError(f"{res_path}: missing key {key!r}; expected a float64 array of shape {shape}: "
                                  f"{spec.get('formula', '')}; pass --allow-missing to check only the keys "
                                  "you provide")
            rows.append(_compare_arrays(name, key, res[key], ref[key], spec))
    return rows, skipped


def _fmt(v) -> str:
    return "-" if v != v else f"{v:.2e}"


def check(dir, results, *, allow_missing: bool = False, out=None, verbose: bool = True) -> int:
    """Compare RESULTS with the reference cases in DIR, print the report, return the number of failures.

    The table has one line per quantity: case, quantity, then for its worst entry (the one
    with the largest error relative to its own tolerance) the absolute error, the relative
    error, that ratio ``err/tol`` (≤ 1 passes) and the entry's index; rtol, atol, pass/FAIL.
    See :func:`compare` for what raises :class:`GoldenError`.
    """
    out = sys.stdout if out is None else out
    rows, skipped = compare(dir, results, allow_missing=allow_missing)
    wc = max([len("case")] + [len(r.case) for r in rows])
    wq = max([len("quantity")] + [len(r.quantity) for r in rows])
    if verbose:
        print(f"{'case':<{wc}}  {'quantity':<{wq}}  {'abs err':>9}  {'rel err':>9}  {'err/tol':>9}  "
              f"{'worst entry':<12}  {'rtol':>7}  {'atol':>7}  result", file=out)
        for r in rows:
            where = "-" if r.status == "missing" else str(r.where)
            extra = f"  [{r.note}]" if r.note else ""
            print(f"{r.case:<{wc}}  {r.quantity:<{wq}}  {_fmt(r.max_abs_err):>9}  {_fmt(r.max_rel_err):>9}  "
                  f"{_fmt(r.tol_ratio):>9}  {where:<12}  {r.rtol:7.0e}  {r.atol:7.0e}  {r.status}{extra}", file=out)
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
