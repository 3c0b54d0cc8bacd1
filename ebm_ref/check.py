r"""Derivative checkers for any callable on NumPy arrays, and for the energy contract.

Three numerical derivatives, from most to least accurate:

* **complex step** — :math:`f'(x)u \approx \operatorname{Im} f(x + i h u)/h`, with
  ``h = 1e-30``: no subtraction, so no cancellation; exact to rounding for functions
  written with analytic operations.  Needs ``f`` to accept complex input.
* **Richardson** — the central difference :math:`D(h) = (f(x+hu) - f(x-hu))/2h` has an
  error series in even powers of h; combining :math:`D(h), D(h/2), D(h/4), \dots` cancels
  them one by one (:math:`R_{i,j} = R_{i,j-1} + (R_{i,j-1} - R_{i-1,j-1})/(4^j - 1)`).
* **random directions** — :math:`\langle v, J u\rangle` for random u, v, compared with the
  same product of the analytic Jacobian; to second order, the directional derivative of
  :math:`\langle \nabla f(x), w\rangle` along u against :math:`w^\top H u`.

Errors are reported as the maximum absolute error, where it occurs, and the norm-wise
relative error ``max|A - N| / max|N|`` (small entries do not inflate it).  A check
passes when ``max|A - N| <= atol + rtol * max|N|``.

Nothing here assumes this package's classes: ``check_energy`` needs only an object
with the methods of the contract, so it checks a user's own implementation as well.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = [
    "DerivativeReport",
    "DerivativeMismatch",
    "complex_step",
    "richardson",
    "numerical_jacobian",
    "numerical_hessian",
    "check_jacobian",
    "check_grad",
    "check_hessian",
    "check_directions",
    "check_energy",
    "RTOL_COMPLEX",
    "RTOL_RICHARDSON",
]

#: complex step has no cancellation: agreement to ~1e-13 is typical, 1e-10 leaves room
#: for rounding in long sums.
RTOL_COMPLEX = 1e-10
#: Richardson differences of well-scaled float64 functions reach ~1e-10; 1e-7 allows for
#: rounding amplified by the extrapolation and curvature at larger scales.
RTOL_RICHARDSON = 1e-7
#: absolute floor: differences below this are rounding, whatever the scale.
ATOL = 1e-12


class DerivativeMismatch(AssertionError):
    """An analytic derivative disagrees with its numerical counterpart."""


@dataclass
class DerivativeReport:
    """Outcome of one comparison of an analytic derivative with a numerical one."""

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

    def __str__(self) -> str:
        if self.method == "skipped":
            return f"skip {self.name:<34s} {self.note}"
        status = "ok  " if self.passed else "FAIL"
        extra = f"  [{self.note}]" if self.note else ""
        return (
            f"{status} {self.name:<34s} {self.method:<11s} abs {self.max_abs_err:9.2e}  "
            f"rel {self.max_rel_err:9.2e}  (rtol {self.rtol:.0e})  at {self.where}: "
            f"analytic {self.analytic_at_worst:.12g} vs numeric {self.numeric_at_worst:.12g}{extra}"
        )


def compare(name: str, analytic, numeric, method: str, rtol: float, atol: float = ATOL, note: str = "") -> DerivativeReport:
    """Compare two arrays of the same shape and return a :class:`DerivativeReport`."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    if a.shape != n.shape:
        raise DerivativeMismatch(f"{name}: analytic shape {a.shape} differs from numerical shape {n.shape}")
    if a.size == 0:
        return DerivativeReport(name, method, 0.0, 0.0, (), 0, rtol, atol, True, note=note)
    if not np.all(np.isfinite(a)):
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
        return DerivativeReport(name, method, np.inf, np.inf, idx, a.size, rtol, atol, False,
                                float(a[idx]), float(n[idx]), note="analytic value not finite")
    err = np.abs(a - n)
    idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(err)), err.shape))
    max_abs = float(err[idx])
    scale = float(np.max(np.abs(n)))
    rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else np.inf)
    passed = max_abs <= atol + rtol * scale
    return DerivativeReport(name, method, max_abs, rel, idx, a.size, rtol, atol, bool(passed),
                            float(a[idx]), float(n[idx]), note=note)


# ------------------------------------------------------------- derivatives
def complex_step(f: Callable, x, u, h: float = 1e-30) -> np.ndarray:
    """Directional derivative ``Im f(x + i h u) / h`` (f must accept complex input)."""
    x = np.asarray(x, dtype=np.float64)
    val = f(x + 1j * h * np.asarray(u, dtype=np.float64))
    val = np.asarray(val)
    if not np.iscomplexobj(val):
        raise TypeError("complex step: the function returned a real value for complex input")
    return val.imag / h


def richardson(f: Callable, x, u, h: float = 1e-2, levels: int = 4) -> np.ndarray:
    """Directional derivative of ``f`` at ``x`` along ``u`` by Richardson-extrapolated central differences.

    ``levels`` central differences with steps h, h/2, ..., h/2^(levels-1) are combined
    so that the error terms h², h⁴, ... cancel.
    """
    x = np.asarray(x, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64)
    table = []
    for i in range(levels):
        hi = h / 2**i
        d = (np.asarray(f(x + hi * u), dtype=np.float64) - np.asarray(f(x - hi * u), dtype=np.float64)) / (2 * hi)
        row = [d]
        for j in range(1, i + 1):
            row.append(row[j - 1] + (row[j - 1] - table[i - 1][j - 1]) / (4**j - 1))
        table.append(row)
    return table[-1][-1]


def _directional(f, x, u, method, h):
    if method == "complex":
        return complex_step(f, x, u)
    return richardson(f, x, u, h=h)


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


def numerical_jacobian(f: Callable, x, method: str = "auto", h: float = 1e-2) -> np.ndarray:
    """Jacobian of ``f`` at ``x``, shape ``f(x).shape + x.shape``, one direction per entry of x."""
    x = np.asarray(x, dtype=np.float64)
    method = _pick_method(f, x, method)
    cols = []
    for j in range(x.size):
        e = np.zeros(x.size)
        e[j] = 1.0
        cols.append(_directional(f, x, e.reshape(x.shape), method, h))
    out = np.stack(cols, axis=-1)
    return out.reshape(out.shape[:-1] + x.shape)


def numerical_hessian(f: Callable, x, h: float = 1e-2) -> np.ndarray:
    """Hessian of a scalar ``f`` by nested Richardson differences, shape ``x.shape * 2``."""
    x = np.asarray(x, dtype=np.float64)

    def grad(y):
        return numerical_jacobian(f, y, method="richardson", h=h)

    return numerical_jacobian(grad, x, method="richardson", h=h)


def _method_rtol(method, rtol):
    if rtol is not None:
        return rtol
    return RTOL_COMPLEX if method == "complex" else RTOL_RICHARDSON


def _raise_or_return(report: DerivativeReport, raise_on_fail: bool) -> DerivativeReport:
    if raise_on_fail and not report.passed:
        raise DerivativeMismatch("derivative check failed:\n  " + str(report))
    return report


def check_jacobian(f: Callable, jac: Callable, x, *, method: str = "auto", rtol: float | None = None,
                   atol: float = ATOL, h: float = 1e-2, name: str = "jacobian",
                   raise_on_fail: bool = True) -> DerivativeReport:
    """Compare ``jac(x)`` (shape ``f(x).shape + x.shape``) with the numerical Jacobian of ``f``.

    ``method`` is ``'complex'``, ``'richardson'`` or ``'auto'`` (complex step when ``f``
    accepts complex input).  Default ``rtol`` is 1e-10 for the complex step and 1e-7
    for Richardson differences.
    """
    x = np.asarray(x, dtype=np.float64)
    method = _pick_method(f, x, method)
    num = numerical_jacobian(f, x, method, h)
    rep = compare(name, jac(x), num, method, _method_rtol(method, rtol), atol)
    return _raise_or_return(rep, raise_on_fail)


def check_grad(f: Callable, grad: Callable, x, **kwargs) -> DerivativeReport:
    """Compare ``grad(x)`` (shape ``x.shape``) with the numerical gradient of the scalar ``f``."""
    kwargs.setdefault("name", "gradient")
    return check_jacobian(lambda y: np.asarray(f(y)).reshape(()), grad, x, **kwargs)


def check_hessian(f: Callable, hess: Callable, x, *, grad: Callable | None = None, rtol: float | None = None,
                  atol: float = 1e-10, h: float = 1e-2, method: str = "auto", name: str = "hessian",
                  raise_on_fail: bool = True) -> DerivativeReport:
    """Compare ``hess(x)`` (shape ``x.shape * 2``) with a numerical Hessian.

    With ``grad`` the reference is the Jacobian of ``grad`` (complex step or Richardson);
    without it, nested Richardson differences of ``f`` (default ``rtol`` 1e-6: two nested
    extrapolations lose more digits).
    """
    x = np.asarray(x, dtype=np.float64)
    if grad is not None:
        return check_jacobian(grad, hess, x, method=method, rtol=rtol, atol=atol, h=h, name=name,
                              raise_on_fail=raise_on_fail)
    num = numerical_hessian(lambda y: np.asarray(f(y)).reshape(()), x, h=h)
    rep = compare(name, hess(x), num, "richardson²", 1e-6 if rtol is None else rtol, atol)
    return _raise_or_return(rep, raise_on_fail)


def check_directions(f: Callable, x, *, jac: Callable | None = None, grad: Callable | None = None,
                     hess: Callable | None = None, n_directions: int = 8, rng=0, h: float = 1e-2,
                     rtol: float | None = None, raise_on_fail: bool = True) -> list[DerivativeReport]:
    """Random-direction checks of first and second derivatives.

    * ``jac`` (or ``grad`` for a scalar ``f``): for random u, v,
      :math:`\\langle v, J u\\rangle` numerical (directional derivative of f along u)
      against analytic.
    * ``hess`` with ``grad``: directional derivative of :math:`\\langle\\nabla f, w\\rangle`
      along u against :math:`w^\\top H u`.
    """
    from ._validate import as_generator

    rng = as_generator(rng)
    x = np.asarray(x, dtype=np.float64)
    reports = []
    first = jac if jac is not None else grad
    if first is not None:
        method = _pick_method(f, x, "auto")
        J = np.asarray(first(x), dtype=np.float64)
        out_shape = J.shape[: J.ndim - x.ndim]
        ana, num = [], []
        for _ in range(n_directions):
            u = rng.standard_normal(x.shape)
            v = rng.standard_normal(out_shape)
            Ju = np.tensordot(J, u, axes=x.ndim)
            ana.append(np.sum(v * Ju))
            num.append(np.sum(v * _directional(f, x, u, method, h)))
        reports.append(compare("<v, J u>", np.array(ana), np.array(num), method, _method_rtol(method, rtol)))
    if hess is not None:
        if grad is None:
            raise ValueError("check_directions: a Hessian check needs grad as well")
        method = _pick_method(grad, x, "auto")
        H = np.asarray(hess(x), dtype=np.float64)
        ana, num = [], []
        for _ in range(n_directions):
            u = rng.standard_normal(x.shape)
            w = rng.standard_normal(x.shape)
            ana.append(np.sum(w * np.tensordot(H, u, axes=x.ndim)))
            num.append(np.sum(w * _directional(grad, x, u, method, h)))
        reports.append(compare("<w, H u>", np.array(ana), np.array(num), method, _method_rtol(method, rtol)))
    if raise_on_fail:
        bad = [r for r in reports if not r.passed]
        if bad:
            raise DerivativeMismatch("derivative check failed:\n  " + "\n  ".join(map(str, bad)))
    return reports


# ------------------------------------------------------------ energy contract
def _x_columns(fun, x, method, h):
    """Derivative of a per-point function along each coordinate j, perturbing all points at once.

    ``fun`` maps (n, d) to (n, ...); returns (n, ..., d).
    """
    cols = []
    for j in range(x.shape[1]):
        e = np.zeros_like(x)
        e[:, j] = 1.0
        cols.append(_directional(fun, x, e, method, h))
    return np.stack(cols, axis=-1)


def _param_entries(shape, max_entries, rng):
    size = int(np.prod(shape, dtype=int))
    idx = np.arange(size)
    if size > max_entries:
        idx = np.sort(rng.choice(size, size=max_entries, replace=False))
    return [np.unravel_index(i, shape) if shape else () for i in idx]


def _param_derivative(model, key, entry, fun, h, symmetric):
    """Richardson derivative of ``fun(model)`` in parameter ``key`` at ``entry``."""
    base = np.array(model.params[key], dtype=np.float64)
    direction = np.zeros_like(base)
    if symmetric and len(entry) >= 2 and entry[-1] != entry[-2]:
        *lead, i, j = entry
        direction[(*lead, i, j)] = direction[(*lead, j, i)] = 0.5
    else:
        direction[entry] = 1.0
    step = h * max(1.0, float(np.max(np.abs(base))) if base.size else 1.0)

    def g(t):
        return np.asarray(fun(model.replace(**{key: base + t * direction})), dtype=np.float64)

    return richardson(lambda t: g(float(t)), 0.0, 1.0, h=step)


def _try(fn):
    try:
        return fn(), None
    except NotImplementedError as exc:
        return None, str(exc) or "not provided"


def check_energy(model, x, *, rng=0, max_param_entries: int = 48, h: float = 1e-2,
                 rtol_complex: float = RTOL_COMPLEX, rtol_fd: float = RTOL_RICHARDSON,
                 raise_on_fail: bool = True, verbose: bool = False) -> list[DerivativeReport]:
    """Check every method of the energy contract against finite differences of the one below it.

    Parameters
    ----------
    model
        Any object with ``energy``, ``grad_x``, ``score``, ``hessian_x``,
        ``laplacian_x``, ``grad_params``, ``params`` and ``replace``, and optionally
        ``grad_params_sum``, ``grad_params_dot_grad_x``, ``grad_params_laplacian``
        and ``grad_params_hvp``.  Methods that raise ``NotImplementedError`` are
        skipped and listed in the report.
    x : ndarray, shape (n, d)
        Points at which to check.
    max_param_entries : int
        Per parameter array, at most this many entries are differentiated (chosen
        at random with ``rng``); the parameter gradient is otherwise checked whole.

    Checks (x derivatives by complex step when ``model.supports_complex_step`` and
    the model accepts complex input, otherwise Richardson; θ derivatives by Richardson):

    ``score = -grad_x``; ``grad_x`` vs ∂E/∂x; ``hessian_x`` vs ∂(grad_x)/∂x;
    ``laplacian_x`` vs tr ``hessian_x``; ``grad_params`` vs ∂E/∂θ;
    ``grad_params_sum`` vs Σ wₙ ``grad_params``; ``grad_params_dot_grad_x`` vs
    ∂(Σ u·grad_x)/∂θ; ``grad_params_laplacian`` vs ∂(Σ laplacian_x)/∂θ;
    ``grad_params_hvp`` vs ∂(Σ vᵀ hessian_x v)/∂θ.
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
    reports.append(compare("grad_x vs dE/dx", G, _x_columns(model.energy, x, xmethod, h), xmethod, xr))

    H, why = _try(lambda: np.asarray(model.hessian_x(x)))
    if H is None:
        skipped.append(f"hessian_x: {why}")
    else:
        reports.append(compare("hessian_x vs d(grad_x)/dx", H, _x_columns(model.grad_x, x, xmethod, h), xmethod, xr))
        L, why = _try(lambda: np.asarray(model.laplacian_x(x)))
        if L is None:
            skipped.append(f"laplacian_x: {why}")
        else:
            reports.append(compare("laplacian_x vs tr hessian_x", L, np.trace(H, axis1=1, axis2=2), "exact", 1e-12))

    params = model.params
    symmetric = tuple(getattr(model, "symmetric_params", ()))
    n = x.shape[0]
    u = rng.standard_normal(x.shape)
    v = rng.standard_normal(x.shape)
    w = rng.standard_normal(n)
    gp, why = _try(lambda: model.grad_params(x))
    if gp is None:
        skipped.append(f"grad_params: {why}")

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
        val, why = _try(lambda: ana(model))
        if val is None:
            skipped.append(f"{name}: {why}")
        else:
            analytic_second[name] = val

    if gp is not None and hasattr(model, "grad_params_sum"):
        gs, why = _try(lambda: model.grad_params_sum(x, w))
        if gs is None:
            skipped.append(f"grad_params_sum: {why}")
        else:
            for key in params:
                reports.append(compare(f"grad_params_sum[{key}]", gs[key],
                                       np.tensordot(w, gp[key], axes=(0, 0)), "exact", 1e-12))

    for key, value in params.items():
        shape = np.shape(value)
        entries = _param_entries(shape, max_param_entries, rng)
        sym = key in symmetric
        if gp is not None:
            if gp[key].shape != (n,) + shape:
                raise DerivativeMismatch(f"grad_params[{key}]: expected shape {(n,) + shape}, got {gp[key].shape}")
            num = np.stack([_param_derivative(model, key, e, lambda m: m.energy(x), h, sym) for e in entries], axis=-1)
            ana = np.stack([gp[key][(slice(None),) + tuple(e)] for e in entries], axis=-1)
            reports.append(compare(f"grad_params[{key}] vs dE/dθ", ana, num, "richardson", rtol_fd))
        for name, val in analytic_second.items():
            fun = second[name][1]
            num = np.array([_param_derivative(model, key, e, fun, h, sym) for e in entries])
            ana = np.array([val[key][tuple(e)] for e in entries])
            reports.append(compare(f"{name}[{key}]", ana, num, "richardson", rtol_fd))

    if verbose:
        for r in reports:
            print(r)
        for s in skipped:
            print("skip", s)
    bad = [r for r in reports if not r.passed]
    if bad and raise_on_fail:
        raise DerivativeMismatch(
            f"check_energy({type(model).__name__}) found {len(bad)} mismatch(es):\n  "
            + "\n  ".join(map(str, bad))
        )
    for s in skipped:
        reports.append(DerivativeReport(s.split(":")[0], "skipped", 0.0, 0.0, (), 0, 0.0, 0.0, True, note=s))
    return reports
