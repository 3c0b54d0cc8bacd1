r"""Derivative checkers for any callable on NumPy arrays, and for the energy contract.

Three numerical derivatives, from most to least accurate:

* **complex step** — :math:`f'(x)u \approx \operatorname{Im} f(x + i h u)/h`, with
  ``h = 1e-30``: no subtraction, so no cancellation.  Its truncation error is
  :math:`h^2 |f'''|/6 \approx 10^{-60}|f'''|`, nil in float64; its rounding error is a few
  ulps of the derivative itself.  Needs ``f`` to accept complex input.
* **Richardson** — the central difference :math:`D(h) = (f(x+hu) - f(x-hu))/2h` has an
  error series in even powers of h; combining :math:`D(h), D(h/2), D(h/4), \dots` cancels
  them one by one (:math:`R_{i,j} = R_{i,j-1} + (R_{i,j-1} - R_{i-1,j-1})/(4^j - 1)`).
* **random directions** — :math:`\langle v, J u\rangle` for random u, v, compared with the
  same product of the analytic Jacobian; to second order, the directional derivative of
  :math:`\langle \nabla f(x), w\rangle` along u against :math:`w^\top H u`.

How a check decides
-------------------
Every entry k is judged on its own, against its own error estimate — never against the
largest entry of the array, so a wrong small entry cannot hide behind a large one.  For a
numerical derivative :math:`N_k` with truncation estimate :math:`T_k` and rounding bound
:math:`\rho_k`, the analytic :math:`A_k` agrees when

.. math::  |A_k - N_k| \le \mathrm{atol} + \mathrm{rtol}\,|N_k| + T_k + \rho_k .

* Richardson (L levels, steps :math:`h_i = h/2^i`): :math:`T_k = \max(|R_{L-1,L-1} - R_{L-1,L-2}|,
  |R_{L-1,L-1} - R_{L-2,L-2}|)`, the difference between successive extrapolation levels
  (the error of the less accurate of two estimates, so an over-estimate of the error of the
  final one).  :math:`\rho_k` propagates through the table the rounding of each difference,
  :math:`S\,\varepsilon\,(|f(x+h_iu)|+|f(x-h_iu)|)/2h_i + S\,\varepsilon\,|D(h_i)|\,|x|/(h_i|u|)`
  (rounding of the two function values, and of the step :math:`x + h_iu` itself), with
  :math:`\varepsilon` the float64 machine epsilon and the safety factor ``S = ROUND_SAFETY``.
* Complex step: :math:`T_k = 0` (see above) and :math:`\rho_k = S\,\varepsilon\,|N_k|`.

Each entry has one of three outcomes, and so has the whole check (``fail`` if any entry
fails, else ``cannot check`` if any entry cannot be checked, else ``pass``):

* **pass** — finite on both sides and within the bound above;
* **fail** — outside the bound where the numerical derivative is trustworthy, or an
  analytic value that is not finite where the numerical one is;
* **cannot check** — the numerical derivative (or its error estimate) is not finite here
  (overflow, or a point outside the domain within the step), or the function is not smooth
  at the scale of the step: :math:`T_k > \mathrm{SMOOTH\_REL}\,|N_k| + \mathrm{atol} + \rho_k`,
  i.e. successive extrapolation levels disagree beyond 0.1 % (a kink or a steep feature
  within h of x).  This is never a pass.

``raise_on_fail=True`` raises :class:`DerivativeMismatch` on a failure and
:class:`DerivativeUncheckable` on a cannot-check (accept it with
``allow_uncheckable=True``: the report still carries ``status == "cannot check"`` and
``passed`` is False).  Both derive from :class:`DerivativeCheckError`.

Nothing here assumes this package's classes: ``check_energy`` needs only an object
with the methods of the contract, so it checks a user's own implementation as well.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ._validate import check_positive

__all__ = [
    "DerivativeReport",
    "DerivativeCheckError",
    "DerivativeMismatch",
    "DerivativeUncheckable",
    "complex_step",
    "richardson",
    "numerical_jacobian",
    "numerical_hessian",
    "numerical_param_gradient",
    "check_jacobian",
    "check_grad",
    "check_hessian",
    "check_directions",
    "check_energy",
    "RTOL_COMPLEX",
    "RTOL_RICHARDSON",
    "MAX_PARAM_ENTRIES",
]

#: complex step has no cancellation: agreement to ~1e-13 is typical, 1e-10 leaves room
#: for rounding in long sums inside the function and its analytic derivative.
RTOL_COMPLEX = 1e-10
#: Richardson differences of well-scaled float64 functions reach ~1e-10; 1e-7 allows for
#: rounding amplified by the extrapolation and curvature at larger scales.  A relative
#: error of 1e-6 in any entry is therefore caught wherever the entry's own error estimate
#: is below it.
RTOL_RICHARDSON = 1e-7
#: absolute floor: differences below this are rounding, whatever the scale.
ATOL = 1e-12
#: machine epsilon of float64.
EPS = float(np.finfo(np.float64).eps)
#: safety factor on one-rounding bounds: a function value computed by a sum of many terms
#: carries several roundings, not one (32 ulps ≈ 7e-15 relative).
ROUND_SAFETY = 32.0
#: successive Richardson levels that differ by more than this fraction of the value mean the
#: function is not smooth at the scale of the step: the entry cannot be checked there.
SMOOTH_REL = 1e-3
#: ``check_energy`` differentiates every entry of a parameter with at most this many
#: entries; a larger parameter gets this many entries at random plus random directions.
MAX_PARAM_ENTRIES = 4096

PASS, FAIL, CANNOT = "pass", "fail", "cannot check"


class DerivativeCheckError(AssertionError):
    """A derivative check did not pass (base of the two outcomes below)."""


class DerivativeMismatch(DerivativeCheckError):
    """An analytic derivative disagrees with its numerical counterpart."""


class DerivativeUncheckable(DerivativeCheckError):
    """A derivative could not be checked here (overflow, or not smooth at the scale of the step)."""


@dataclass
class DerivativeReport:
    """Outcome of one comparison of an analytic derivative with a numerical one.

    ``status`` is ``"pass"``, ``"fail"``, ``"cannot check"`` or ``"skipped"``; ``passed``
    is True only for a pass (and a skipped method).  ``where``, ``analytic_at_worst``,
    ``numeric_at_worst`` and ``tol_at_worst`` describe the entry that decided the outcome:
    the worst failing entry, else the first entry that cannot be checked, else the entry
    closest to its tolerance.  ``max_abs_err`` and ``max_rel_err`` (``|A_k - N_k|/|N_k|``)
    are maxima over the entries that could be checked.
    """

    name: str
    method: str
    max_abs_err: float
    max_rel_err: float
    where: tuple
    n_compared: int
    rtol: float
    atol: float
    passed: bool
    analytic_at_worst: float = float("nan")
    numeric_at_worst: float = float("nan")
    note: str = field(default="")
    status: str = ""
    n_failed: int = 0
    n_cannot_check: int = 0
    tol_at_worst: float = float("nan")
    reason: str = ""

    def __post_init__(self):
        if not self.status:
            self.status = "skipped" if self.method == "skipped" else (PASS if self.passed else FAIL)

    def __str__(self) -> str:
        if self.method == "skipped":
            return f"skip {self.name:<34s} {self.note}"
        extra = f"  [{self.note}]" if self.note else ""
        vals = (f"at {self.where}: analytic {self.analytic_at_worst:.12g} vs numeric "
                f"{self.numeric_at_worst:.12g}")
        if self.status == CANNOT:
            return (f"CANNOT CHECK {self.name} ({self.method}, {self.n_cannot_check} of "
                    f"{self.n_compared} entries): {self.reason}; {vals}{extra}")
        status = "ok  " if self.status == PASS else "FAIL"
        head = (f"{status} {self.name:<34s} {self.method:<11s} abs {self.max_abs_err:9.2e}  "
                f"rel {self.max_rel_err:9.2e}  (rtol {self.rtol:.0e})  {vals}")
        head += f" (tolerance {self.tol_at_worst:.2e})"
        if self.status == FAIL:
            head += f"; {self.n_failed} of {self.n_compared} entries wrong"
            if self.reason:
                head += f"; {self.reason}"
            if self.n_cannot_check:
                head += f"; {self.n_cannot_check} cannot be checked here"
        return head + extra


def compare(name: str, analytic, numeric, method: str, rtol: float, atol: float = ATOL, note: str = "", *,
            trunc=None, rounding=None) -> DerivativeReport:
    """Compare two arrays of the same shape entry by entry and return a :class:`DerivativeReport`.

    ``trunc`` and ``rounding`` (broadcast to the shape; zero by default) are the numerical
    value's own truncation estimate :math:`T_k` and rounding bound :math:`\\rho_k`.  Entry k
    passes when :math:`|A_k - N_k| \\le \\mathrm{atol} + \\mathrm{rtol}|N_k| + T_k + \\rho_k`;
    it cannot be checked when :math:`N_k`, :math:`T_k` or :math:`\\rho_k` is not finite or
    when :math:`T_k > \\mathrm{SMOOTH\\_REL}|N_k| + \\mathrm{atol} + \\rho_k`; it fails
    otherwise, or when :math:`A_k` is not finite where :math:`N_k` is.
    """
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    if a.shape != n.shape:
        raise DerivativeMismatch(f"{name}: analytic shape {a.shape} differs from numerical shape {n.shape}")
    if a.size == 0:
        return DerivativeReport(name, method, 0.0, 0.0, (), 0, rtol, atol, True, note=note)
    T = np.broadcast_to(np.zeros(()) if trunc is None else np.asarray(trunc, dtype=np.float64), n.shape)
    rho = np.broadcast_to(np.zeros(()) if rounding is None else np.asarray(rounding, dtype=np.float64), n.shape)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        num_bad = ~(np.isfinite(n) & np.isfinite(T) & np.isfinite(rho))
        ana_bad = ~np.isfinite(a) & ~num_bad
        rough = ~num_bad & ~ana_bad & (T > SMOOTH_REL * np.abs(n) + atol + rho)
        checked = ~(num_bad | ana_bad | rough)
        diff = np.where(checked, np.abs(a - n), 0.0)
        tol = atol + rtol * np.abs(n) + T + rho
        wrong = checked & ~(diff <= tol)
        failed = wrong | ana_bad
        cannot = num_bad | rough
        ratio = np.where(checked, diff / np.where(tol > 0, tol, np.inf), 0.0)
        ratio = np.where(checked & (tol == 0) & (diff > 0), np.inf, ratio)
        rel = np.where(checked & (diff > 0), diff / np.abs(n), 0.0)
    n_failed, n_cannot = int(failed.sum()), int(cannot.sum())
    reason = ""
    if n_failed:
        status = FAIL
        if ana_bad.any():
            flat = int(np.flatnonzero(ana_bad)[0])
            reason = "analytic value not finite where the numerical derivative is"
        else:
            flat = int(np.argmax(np.where(wrong, ratio, -1.0)))
    elif n_cannot:
        status = CANNOT
        flat = int(np.flatnonzero(cannot)[0])
        if num_bad.flat[flat]:
            reason = ("cannot check here: the numerical derivative is not finite "
                      "(overflow, or a point outside the domain within the step)")
        else:
            t, v = float(T.flat[flat]), float(abs(n.flat[flat]))
            rel_t = f"{t / v:.1e} of the value" if v > 0 else "the value is 0"
            reason = (f"cannot check here: the function is not smooth at this scale (successive "
                      f"estimates differ by {t:.2e}, {rel_t}); try a smaller h or another point")
    else:
        status = PASS
        flat = int(np.argmax(ratio))
    idx = tuple(int(i) for i in np.unravel_index(flat, a.shape))
    max_abs = np.inf if ana_bad.any() else float(diff.max())
    max_rel = np.inf if ana_bad.any() else float(rel.max())
    return DerivativeReport(name, method, max_abs, max_rel, idx, a.size, rtol, atol, status == PASS,
                            float(a[idx]), float(n[idx]), note=note, status=status, n_failed=n_failed,
                            n_cannot_check=n_cannot, tol_at_worst=float(tol[idx]), reason=reason)


# ------------------------------------------------------------- derivatives
def _complex_step_est(f, x, u, h=1e-30):
    """(value, truncation estimate, rounding bound) of the complex-step derivative."""
    x = np.asarray(x, dtype=np.float64)
    val = np.asarray(f(x + 1j * h * np.asarray(u, dtype=np.float64)))
    if not np.iscomplexobj(val):
        raise TypeError("complex step: the function returned a real value for complex input")
    d = val.imag / h
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.where(np.isfinite(val.real), d, np.nan)  # overflow in f itself: no derivative
        return d, np.zeros_like(d), ROUND_SAFETY * EPS * np.abs(d)


def complex_step(f: Callable, x, u, h: float = 1e-30, *, return_error: bool = False):
    """Directional derivative ``Im f(x + i h u) / h`` (f must accept complex input).

    With ``return_error`` also returns an error estimate per entry,
    ``ROUND_SAFETY * eps * |value|`` (the truncation error h²|f'''|/6 is nil at h = 1e-30).
    """
    d, t, r = _complex_step_est(f, x, u, h)
    return (d, t + r) if return_error else d


def _richardson_est(f, x, u, h=1e-2, levels=4, scale=None, f_err=False):
    """(value, truncation estimate, rounding bound) of the Richardson derivative.

    ``f_err``: ``f`` returns ``(value, abs_error)``, the error of its own values (a nested
    numerical derivative), which enters the rounding bound like the rounding of f.
    ``scale``: magnitude of the perturbed coordinates when the perturbation happens inside f
    (default: ``max |x_i| / |u_i|`` over the entries u moves).  With one level there is no
    truncation estimate (NaN: the entry cannot be checked).
    """
    x = np.asarray(x, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64)
    if scale is None:
        moved = np.broadcast_to(u != 0, np.broadcast_shapes(x.shape, u.shape))
        xb, ub = np.broadcast_to(x, moved.shape), np.broadcast_to(u, moved.shape)
        scale = float(np.max(np.abs(xb[moved]) / np.abs(ub[moved]))) if moved.any() else 0.0
    table, rtable = [], []
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        for i in range(levels):
            hi = h / 2**i
            fp, fm = f(x + hi * u), f(x - hi * u)
            ep = em = 0.0
            if f_err:
                (fp, ep), (fm, em) = fp, fm
            fp, fm = np.asarray(fp, dtype=np.float64), np.asarray(fm, dtype=np.float64)
            d = (fp - fm) / (2 * hi)
            rd = (ROUND_SAFETY * EPS * (np.abs(fp) + np.abs(fm)) + np.abs(ep) + np.abs(em)) / (2 * hi) \
                + ROUND_SAFETY * EPS * np.abs(d) * scale / hi
            row, rrow = [d], [rd]
            for j in range(1, i + 1):
                row.append(row[j - 1] + (row[j - 1] - table[i - 1][j - 1]) / (4**j - 1))
                rrow.append(rrow[j - 1] * (1 + 1 / (4**j - 1)) + rtable[i - 1][j - 1] / (4**j - 1))
            table.append(row)
            rtable.append(rrow)
        value = table[-1][-1]
        if levels < 2:
            trunc = np.full_like(value, np.nan)
        else:
            trunc = np.maximum(np.abs(value - table[-1][-2]), np.abs(value - table[-2][-1]))
            trunc = np.where(np.isfinite(value), trunc, np.nan)
    return value, trunc, rtable[-1][-1]


def richardson(f: Callable, x, u, h: float = 1e-2, levels: int = 4, *, return_error: bool = False):
    """Directional derivative of ``f`` at ``x`` along ``u`` by Richardson-extrapolated central differences.

    ``levels`` central differences with steps h, h/2, ..., h/2^(levels-1) are combined
    so that the error terms h², h⁴, ... cancel.  With ``return_error`` also returns an
    error estimate per entry: the truncation estimate T plus the rounding bound ρ of the
    module docstring (T needs ``levels >= 2``; with one level the estimate is NaN).
    """
    d, t, r = _richardson_est(f, x, u, h, levels)
    return (d, t + r) if return_error else d


def _directional(f, x, u, method, h, scale=None, f_err=False):
    """(value, truncation estimate, rounding bound) of the derivative of f at x along u."""
    if method == "complex":
        return _complex_step_est(f, x, u)
    return _richardson_est(f, x, u, h=h, scale=scale, f_err=f_err)


def _pick_method(f, x, method):
    if method != "auto":
        if method not in ("complex", "richardson"):
            raise ValueError(f"method: expected 'auto', 'complex' or 'richardson', got {method!r}")
        return method
    try:
        complex_step(f, x, np.zeros_like(np.asarray(x, dtype=np.float64)))
        return "complex"
    except Exception:
        return "richardson"


def _jacobian_est(f, x, method, h, f_err=False):
    """Numerical Jacobian with its per-entry truncation estimate and rounding bound."""
    x = np.asarray(x, dtype=np.float64)
    cols = []
    for j in range(x.size):
        e = np.zeros(x.size)
        e[j] = 1.0
        cols.append(_directional(f, x, e.reshape(x.shape), method, h, f_err=f_err))
    out = [np.stack([c[k] for c in cols], axis=-1) for k in range(3)]
    return tuple(o.reshape(o.shape[:-1] + x.shape) for o in out)


def numerical_jacobian(f: Callable, x, method: str = "auto", h: float = 1e-2) -> np.ndarray:
    """Jacobian of ``f`` at ``x``, shape ``f(x).shape + x.shape``, one direction per entry of x."""
    x = np.asarray(x, dtype=np.float64)
    return _jacobian_est(f, x, _pick_method(f, x, method), h)[0]


def _hessian_est(f, x, h):
    """Nested Richardson Hessian; the inner derivative's error estimate is the outer one's noise."""
    def grad(y):
        J, T, R = _jacobian_est(f, y, "richardson", h)
        return J, T + R

    return _jacobian_est(grad, np.asarray(x, dtype=np.float64), "richardson", h, f_err=True)


def numerical_hessian(f: Callable, x, h: float = 1e-2) -> np.ndarray:
    """Hessian of a scalar ``f`` by nested Richardson differences, shape ``x.shape * 2``."""
    return _hessian_est(f, x, h)[0]


def _method_rtol(method, rtol):
    if rtol is not None:
        return rtol
    return RTOL_COMPLEX if method == "complex" else RTOL_RICHARDSON


def _raise_if(reports, raise_on_fail: bool, allow_uncheckable: bool, what: str = "derivative check"):
    """Raise on a failure (:class:`DerivativeMismatch`) or an unaccepted cannot-check."""
    if not raise_on_fail:
        return
    bad = [r for r in reports if r.status == FAIL]
    unc = [r for r in reports if r.status == CANNOT]
    if bad:
        raise DerivativeMismatch(f"{what} failed:\n  " + "\n  ".join(map(str, bad + unc)))
    if unc and not allow_uncheckable:
        raise DerivativeUncheckable(
            f"{what} could not check every entry (pass allow_uncheckable=True to accept this):\n  "
            + "\n  ".join(map(str, unc)))


def _raise_or_return(report: DerivativeReport, raise_on_fail: bool, allow_uncheckable: bool = False) -> DerivativeReport:
    _raise_if([report], raise_on_fail, allow_uncheckable)
    return report


def check_jacobian(f: Callable, jac: Callable, x, *, method: str = "auto", rtol: float | None = None,
                   atol: float = ATOL, h: float = 1e-2, name: str = "jacobian",
                   raise_on_fail: bool = True, allow_uncheckable: bool = False) -> DerivativeReport:
    """Compare ``jac(x)`` (shape ``f(x).shape + x.shape``) with the numerical Jacobian of ``f``.

    ``method`` is ``'complex'``, ``'richardson'`` or ``'auto'`` (complex step when ``f``
    accepts complex input).  Each entry is compared with its own error estimate:
    :math:`|A_k - N_k| \\le \\mathrm{atol} + \\mathrm{rtol}|N_k| + T_k + \\rho_k` (module
    docstring); default ``rtol`` is 1e-10 for the complex step and 1e-7 for Richardson
    differences.  Raises :class:`DerivativeMismatch` on a failure and
    :class:`DerivativeUncheckable` where an entry cannot be checked (unless
    ``allow_uncheckable``); with ``raise_on_fail=False`` returns the report either way.
    """
    x = np.asarray(x, dtype=np.float64)
    method = _pick_method(f, x, method)
    num, T, R = _jacobian_est(f, x, method, h)
    rep = compare(name, jac(x), num, method, _method_rtol(method, rtol), atol, trunc=T, rounding=R)
    return _raise_or_return(rep, raise_on_fail, allow_uncheckable)


def check_grad(f: Callable, grad: Callable, x, **kwargs) -> DerivativeReport:
    """Compare ``grad(x)`` (shape ``x.shape``) with the numerical gradient of the scalar ``f``.

    Keyword arguments as :func:`check_jacobian`.
    """
    kwargs.setdefault("name", "gradient")
    return check_jacobian(lambda y: np.asarray(f(y)).reshape(()), grad, x, **kwargs)


def check_hessian(f: Callable, hess: Callable, x, *, grad: Callable | None = None, rtol: float | None = None,
                  atol: float = 1e-10, h: float = 1e-2, method: str = "auto", name: str = "hessian",
                  raise_on_fail: bool = True, allow_uncheckable: bool = False) -> DerivativeReport:
    """Compare ``hess(x)`` (shape ``x.shape * 2``) with a numerical Hessian.

    With ``grad`` the reference is the Jacobian of ``grad`` (complex step or Richardson);
    without it, nested Richardson differences of ``f`` (default ``rtol`` 1e-6: two nested
    extrapolations lose more digits), whose rounding bound carries the inner derivative's
    own error estimate divided by the outer step.
    """
    x = np.asarray(x, dtype=np.float64)
    if grad is not None:
        return check_jacobian(grad, hess, x, method=method, rtol=rtol, atol=atol, h=h, name=name,
                              raise_on_fail=raise_on_fail, allow_uncheckable=allow_uncheckable)
    num, T, R = _hessian_est(lambda y: np.asarray(f(y)).reshape(()), x, h)
    rep = compare(name, hess(x), num, "richardson²", 1e-6 if rtol is None else rtol, atol, trunc=T, rounding=R)
    return _raise_or_return(rep, raise_on_fail, allow_uncheckable)


def _along(J, u, ndim):
    """J u for a Jacobian J of shape out_shape + x.shape, and Σ|J||u| (its rounding scale)."""
    return np.tensordot(J, u, axes=ndim), np.tensordot(np.abs(J), np.abs(u), axes=ndim)


def check_directions(f: Callable, x, *, jac: Callable | None = None, grad: Callable | None = None,
                     hess: Callable | None = None, n_directions: int = 8, rng=0, h: float = 1e-2,
                     rtol: float | None = None, raise_on_fail: bool = True,
                     allow_uncheckable: bool = False) -> list[DerivativeReport]:
    """Random-direction checks of first and second derivatives.

    * ``jac`` (or ``grad`` for a scalar ``f``): for random u, v,
      :math:`\\langle v, J u\\rangle` numerical (directional derivative of f along u)
      against analytic.
    * ``hess`` with ``grad``: directional derivative of :math:`\\langle\\nabla f, w\\rangle`
      along u against :math:`w^\\top H u`.

    Each direction is one entry of the comparison.  Its error estimate is
    :math:`\\sum_i |v_i| (T_i + \\rho_i)` from the numerical derivative plus the rounding of
    the products, ``ROUND_SAFETY · eps · Σ|v||J||u|``.
    """
    from ._validate import as_generator

    rng = as_generator(rng)
    x = np.asarray(x, dtype=np.float64)
    reports = []

    def one(fun, A, out_shape, method, name):
        ana, num, T, R = [], [], [], []
        for _ in range(n_directions):
            u = rng.standard_normal(x.shape)
            v = rng.standard_normal(out_shape)
            Au, AAu = _along(A, u, x.ndim)
            d, t, r = _directional(fun, x, u, method, h)
            ana.append(np.sum(v * Au))
            num.append(np.sum(v * d))
            T.append(np.sum(np.abs(v) * t))
            R.append(np.sum(np.abs(v) * r) + ROUND_SAFETY * EPS * np.sum(np.abs(v) * AAu))
        return compare(name, np.array(ana), np.array(num), method, _method_rtol(method, rtol),
                       trunc=np.array(T), rounding=np.array(R))

    first = jac if jac is not None else grad
    if first is not None:
        J = np.asarray(first(x), dtype=np.float64)
        reports.append(one(f, J, J.shape[: J.ndim - x.ndim], _pick_method(f, x, "auto"), "<v, J u>"))
    if hess is not None:
        if grad is None:
            raise ValueError("check_directions: a Hessian check needs grad as well")
        H = np.asarray(hess(x), dtype=np.float64)
        reports.append(one(grad, H, x.shape, _pick_method(grad, x, "auto"), "<w, H u>"))
    _raise_if(reports, raise_on_fail, allow_uncheckable)
    return reports


# ------------------------------------------------------------ energy contract
def _x_columns(fun, x, method, h):
    """Derivative of a per-point function along each coordinate j, perturbing all points at once.

    ``fun`` maps (n, d) to (n, ...); returns value, truncation estimate and rounding bound,
    each (n, ..., d).
    """
    cols = []
    for j in range(x.shape[1]):
        e = np.zeros_like(x)
        e[:, j] = 1.0
        cols.append(_directional(fun, x, e, method, h))
    return tuple(np.stack([c[k] for c in cols], axis=-1) for k in range(3))


def _param_entries(shape, max_entries, rng):
    size = int(np.prod(shape, dtype=int))
    idx = np.arange(size)
    if size > max_entries:
        idx = np.sort(rng.choice(size, size=max_entries, replace=False))
    return [np.unravel_index(i, shape) if shape else () for i in idx]


def _entry_direction(base, entry, symmetric):
    """Unit perturbation of one entry (of the pair (i, j), (j, i) for a symmetric matrix)."""
    direction = np.zeros_like(base)
    if symmetric and len(entry) >= 2 and entry[-1] != entry[-2]:
        *lead, i, j = entry
        direction[(*lead, i, j)] = direction[(*lead, j, i)] = 0.5
    else:
        direction[entry] = 1.0
    return direction


def _param_derivative(model, key, direction, fun, h):
    """Richardson derivative of ``fun(model)`` along ``direction`` in parameter ``key``.

    Returns value, truncation estimate and rounding bound; the step is ``h · max(1, max|θ|)``
    and the rounding of ``θ + t·direction`` is bounded with the size of the moved entries.
    """
    base = np.array(model.params[key], dtype=np.float64)
    step = h * max(1.0, float(np.max(np.abs(base))) if base.size else 1.0)
    moved = direction != 0
    scale = float(np.max(np.abs(base[moved]) / np.abs(direction[moved]))) if moved.any() else 0.0

    def g(t):
        return np.asarray(fun(model.replace(**{key: base + float(t) * direction})), dtype=np.float64)

    return _richardson_est(g, 0.0, 1.0, h=step, scale=scale)


def numerical_param_gradient(fun: Callable, model, *, h: float = 1e-2, symmetric=(), mask=None) -> dict:
    r"""Richardson derivative of a scalar ``fun(model)`` in every entry of every parameter.

    .. math:: \frac{\partial f}{\partial\theta_k} \approx \text{Richardson}\Big(t \mapsto
              f\big(\theta + t\,e_k\big)\Big)\Big|_{t=0}

    with the step :math:`h\cdot\max(1, \max|\theta_{\text{key}}|)` and the model moved by
    ``model.replace`` (so the constructor's checks run at every point).  Use it to check an
    analytic gradient of a model-level quantity — :math:`\log Z`, a log-likelihood, a loss —
    against differences of the exact quantity.

    Parameters
    ----------
    fun : callable ``model -> float``
    model : Energy
    h : float
        Base step of the Richardson table (see :func:`richardson`).
    symmetric : iterable of str
        Keys of symmetric matrices: entries (i, j) and (j, i) move together by ½ each — the
        derivative along the symmetric direction, which for an analytic gradient :math:`G`
        taken entry by entry is :math:`(G_{ij} + G_{ji})/2`; the entries below the diagonal
        are copied from above.
    mask : dict of bool arrays, optional
        Entries to differentiate per key (default: all); the others are NaN — for example the
        fixed zero diagonal of a Boltzmann machine's couplings.

    Returns
    -------
    dict like ``model.params``
    """
    h = check_positive(h, "h")
    symmetric, mask = set(symmetric), dict(mask or {})
    for what, keys in (("symmetric", symmetric), ("mask", set(mask))):
        unknown = keys - set(model.params)
        if unknown:
            raise ValueError(f"{what}: {sorted(unknown)} are not parameters of {type(model).__name__}")
    out = {}
    for key, value in model.params.items():
        base = np.asarray(value, dtype=np.float64)
        free = np.ones(base.shape, dtype=bool) if key not in mask else np.asarray(mask[key], dtype=bool)
        if free.shape != base.shape:
            raise ValueError(f"mask[{key!r}]: expected shape {base.shape}, got {free.shape}")
        if key in symmetric:
            if base.ndim != 2 or base.shape[0] != base.shape[1]:
                raise ValueError(f"symmetric: {key!r} is not a square matrix (shape {base.shape})")
            free = np.triu(free)
        grad = np.full(base.shape, np.nan)
        for entry in zip(*np.nonzero(free)):
            direction = _entry_direction(base, entry, key in symmetric)
            grad[entry] = _param_derivative(model, key, direction, fun, h)[0]
        if key in symmetric:
            lower = np.tril_indices(base.shape[0], -1)
            grad[lower] = grad.T[lower]
        out[key] = grad
    return out


def _try(name, fn, skipped):
    """``fn()``, or None with ``"name: why"`` appended to ``skipped`` when the model does not
    provide the method (it raises ``NotImplementedError``)."""
    try:
        return fn()
    except NotImplementedError as exc:
        skipped.append(f"{name}: {str(exc) or 'not provided'}")
        return None


def _param_dict(method, value, params, shape_of):
    """A dict keyed by parameter name with the right shapes, or a clear error."""
    if not isinstance(value, Mapping):
        raise ValueError(f"{method}: expected a dict keyed by parameter name, got {type(value).__name__}")
    missing = [k for k in params if k not in value]
    extra = [k for k in value if k not in params]
    if missing:
        raise ValueError(f"{method}: no entry for parameter(s) {missing}; model.params has {list(params)}")
    if extra:
        raise ValueError(f"{method}: key(s) {extra} are not parameters of the model; "
                         f"model.params has {list(params)}")
    out = {}
    for key in params:
        arr = np.asarray(value[key], dtype=np.float64)
        if arr.shape != shape_of(key):
            raise DerivativeMismatch(f"{method}[{key}]: expected shape {shape_of(key)}, got {arr.shape}")
        out[key] = arr
    return out


def check_energy(model, x, *, rng=0, max_param_entries: int = MAX_PARAM_ENTRIES, h: float = 1e-2,
                 rtol_complex: float = RTOL_COMPLEX, rtol_fd: float = RTOL_RICHARDSON,
                 raise_on_fail: bool = True, verbose: bool = False, n_directions: int = 4,
                 allow_uncheckable: bool = False) -> list[DerivativeReport]:
    """Check every method of the energy contract against finite differences of the one below it.

    Parameters
    ----------
    model
        Any object with ``energy``, ``grad_x``, ``score``, ``hessian_x``,
        ``laplacian_x``, ``grad_params``, ``params`` and ``replace``, and optionally
        ``grad_params_sum``, ``grad_params_dot_grad_x``, ``grad_params_laplacian``
        and ``grad_params_hvp``.  Methods that raise ``NotImplementedError`` are
        skipped and listed in the report.  A parameter-gradient dict must have exactly
        the keys of ``model.params`` (a missing or extra key is a ``ValueError`` naming
        the method and the key).
    x : ndarray, shape (n, d)
        Points at which to check.
    max_param_entries : int
        Every entry of a parameter with at most this many entries (default 4096) is
        differentiated.  A larger parameter gets this many entries at random (with
        ``rng``) plus ``n_directions`` random directions over all its entries
        (:math:`\\langle V, \\nabla_\\theta \\cdot\\rangle` against the derivative along V),
        and its report says so in its note.
    allow_uncheckable : bool
        Accept entries that cannot be checked (overflow, not smooth at the scale h):
        they stay in the reports with ``status == "cannot check"`` instead of raising
        :class:`DerivativeUncheckable`.

    Checks (x derivatives by complex step when ``model.supports_complex_step`` and
    the model accepts complex input, otherwise Richardson; θ derivatives by Richardson),
    each entry against its own error estimate (module docstring):

    ``score = -grad_x`` (exactly); ``grad_x`` vs ∂E/∂x; ``hessian_x`` vs ∂(grad_x)/∂x;
    ``laplacian_x`` vs tr ``hessian_x``; ``grad_params`` vs ∂E/∂θ;
    ``grad_params_sum`` vs Σ wₙ ``grad_params``; ``grad_params_dot_grad_x`` vs
    ∂(Σ u·grad_x)/∂θ; ``grad_params_laplacian`` vs ∂(Σ laplacian_x)/∂θ;
    ``grad_params_hvp`` vs ∂(Σ vᵀ hessian_x v)/∂θ.  The two exact identities
    (Laplacian, weighted sum) allow rtol 1e-12 plus ``ROUND_SAFETY · eps`` times the sum of
    the magnitudes of the summed terms.
    """
    from ._validate import as_generator

    rng = as_generator(rng)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"x: expected a batch of shape (n, d), got {x.shape}")
    reports: list[DerivativeReport] = []
    skipped: list[str] = []

    xmethod = "richardson"
    if getattr(model, "supports_complex_step", False):
        try:
            val = np.asarray(model.energy(x + 0j))
            if np.iscomplexobj(val):
                xmethod = "complex"
        except Exception:
            xmethod = "richardson"
    xr = rtol_complex if xmethod == "complex" else rtol_fd

    E = np.asarray(model.energy(x))
    if E.shape != (x.shape[0],):
        raise DerivativeMismatch(f"energy: expected shape ({x.shape[0]},), got {E.shape}")
    G = np.asarray(model.grad_x(x))
    reports.append(compare("score = -grad_x", model.score(x), -G, "exact", 0.0, 0.0))
    num, T, R = _x_columns(model.energy, x, xmethod, h)
    reports.append(compare("grad_x vs dE/dx", G, num, xmethod, xr, trunc=T, rounding=R))

    H = _try("hessian_x", lambda: np.asarray(model.hessian_x(x)), skipped)
    if H is not None:
        num, T, R = _x_columns(model.grad_x, x, xmethod, h)
        reports.append(compare("hessian_x vs d(grad_x)/dx", H, num, xmethod, xr, trunc=T, rounding=R))
        L = _try("laplacian_x", lambda: np.asarray(model.laplacian_x(x)), skipped)
        if L is not None:
            diag = np.diagonal(H, axis1=1, axis2=2)
            reports.append(compare("laplacian_x vs tr hessian_x", L, np.sum(diag, axis=-1), "exact", 1e-12,
                                   rounding=ROUND_SAFETY * EPS * np.sum(np.abs(diag), axis=-1)))

    params = model.params
    symmetric = tuple(getattr(model, "symmetric_params", ()))
    n = x.shape[0]
    u = rng.standard_normal(x.shape)
    v = rng.standard_normal(x.shape)
    w = rng.standard_normal(n)
    gp = _try("grad_params", lambda: model.grad_params(x), skipped)
    if gp is not None:
        gp = _param_dict("grad_params", gp, params, lambda k: (n,) + np.shape(params[k]))

    second = {
        "grad_params_dot_grad_x": (lambda m: m.grad_params_dot_grad_x(x, u),
                                   lambda m: np.sum(u * m.grad_x(x))),
        "grad_params_laplacian": (lambda m: m.grad_params_laplacian(x),
                                  lambda m: np.sum(m.laplacian_x(x))),
        "grad_params_hvp": (lambda m: m.grad_params_hvp(x, v),
                            lambda m: np.einsum("ni,nij,nj->", v, m.hessian_x(x), v)),
    }
    analytic_second = {}
    for name, (ana, _) in second.items():
        if not hasattr(model, name):
            skipped.append(f"{name}: not provided")
            continue
        val = _try(name, lambda: ana(model), skipped)
        if val is not None:
            analytic_second[name] = _param_dict(name, val, params, lambda k: np.shape(params[k]))

    if gp is not None and hasattr(model, "grad_params_sum"):
        gs = _try("grad_params_sum", lambda: model.grad_params_sum(x, w), skipped)
        if gs is not None:
            gs = _param_dict("grad_params_sum", gs, params, lambda k: np.shape(params[k]))
            for key in params:
                reports.append(compare(f"grad_params_sum[{key}]", gs[key], np.tensordot(w, gp[key], axes=(0, 0)),
                                       "exact", 1e-12, rounding=ROUND_SAFETY * EPS
                                       * np.tensordot(np.abs(w), np.abs(gp[key]), axes=(0, 0))))

    for key, value in params.items():
        shape = np.shape(value)
        base = np.array(value, dtype=np.float64)
        size = base.size
        entries = _param_entries(shape, max_param_entries, rng)
        sym = key in symmetric
        sampled = size > len(entries)
        note = (f"{len(entries)} of {size} entries at random (max_param_entries={max_param_entries}) "
                f"and {n_directions} random directions over all" if sampled else "")
        dirs = [_entry_direction(base, tuple(e), sym) for e in entries]
        # beyond the budget, random directions V over all entries: <V, grad> against d/dt along V
        rand_dirs = []
        if sampled:
            for _ in range(n_directions):
                V = rng.standard_normal(shape)
                if sym and len(shape) >= 2:
                    V = 0.5 * (V + np.swapaxes(V, -1, -2))
                rand_dirs.append(V)

        def along(arr, D, batched):
            """<D, arr> over the parameter axes, and Σ|D||arr| (its rounding scale)."""
            ax = tuple(range(1, arr.ndim)) if batched else None
            return np.sum(arr * D, axis=ax), np.sum(np.abs(arr * D), axis=ax)

        checks = []
        if gp is not None:
            checks.append((f"grad_params[{key}] vs dE/dθ", gp[key], lambda m: m.energy(x), True))
        for name, val in analytic_second.items():
            checks.append((f"{name}[{key}]", val[key], second[name][1], False))
        for label, arr, fun, batched in checks:
            parts = [_param_derivative(model, key, D, fun, h) for D in dirs]
            num, T, R = (np.stack([p[k] for p in parts], axis=-1) for k in range(3))
            if batched:
                ana = np.stack([arr[(slice(None),) + tuple(e)] for e in entries], axis=-1)
            else:
                ana = np.array([arr[tuple(e)] for e in entries])
            rep = compare(label, ana, num, "richardson", rtol_fd, trunc=T, rounding=R, note=note)
            if rep.where:  # (point, k) or (k,) -> (point, *entry) or entry
                *lead, k = rep.where
                rep.where = tuple(lead) + tuple(int(i) for i in entries[k])
            reports.append(rep)
            if rand_dirs:
                parts = [_param_derivative(model, key, D, fun, h) for D in rand_dirs]
                num, T, R = (np.stack([p[k] for p in parts], axis=-1) for k in range(3))
                prods = [along(arr, D, batched) for D in rand_dirs]
                ana = np.stack([p[0] for p in prods], axis=-1)
                R = R + ROUND_SAFETY * EPS * np.stack([p[1] for p in prods], axis=-1)
                reports.append(compare(f"{label} along random directions", ana, num, "richardson", rtol_fd,
                                       trunc=T, rounding=R))

    if verbose:
        for r in reports:
            print(r)
        for s in skipped:
            print("skip", s)
    _raise_if(reports, raise_on_fail, allow_uncheckable, what=f"check_energy({type(model).__name__})")
    for s in skipped:
        reports.append(DerivativeReport(s.split(":")[0], "skipped", 0.0, 0.0, (), 0, 0.0, 0.0, True, note=s))
    return reports
