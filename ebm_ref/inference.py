r"""Inference by energy minimization: :math:`x^\star = \arg\min_x E(x)`.

An energy answers a question by its minimum: the most likely point (the mode of
:math:`p \propto e^{-E}`), the cleanest version of a noisy input, the best label
(``ebm_ref.models.compose.ConditionalEnergy.predict``).  Two minimizers, both on the
analytic gradient :math:`\nabla_x E` of the energy contract:

* gradient descent :math:`x_{t+1} = x_t - \eta\,\nabla_x E(x_t)` (every point of the
  batch moves at once, stopped when every gradient norm is below ``gtol``);
* L-BFGS (:func:`ebm_ref.numerics.optimize.minimize_lbfgs`) on :math:`\sum_n E(x_n)`: the sum
  is separable, so its minimizer is the batch of per-point minimizers.  Its line search accepts a
  step whose decrease of the sum is below the sum's rounding, so it reaches a small ``gtol`` too.

Both stop when every :math:`\lVert\nabla_x E(x_n)\rVert \le` ``gtol`` (L-BFGS by requiring every
entry of the stacked gradient to be ≤ ``gtol``/√d).

Denoising (:func:`denoise`) minimizes from the noisy point, optionally with a
proximity term: :math:`\min_x E(x) + \lambda\lVert x - \tilde x\rVert^2`.  For a
Gaussian noise model :math:`\tilde x = x + \sigma\varepsilon` with
:math:`\lambda = 1/(2\sigma^2)` this is the posterior mode (MAP) under the prior
:math:`p \propto e^{-E}`; with λ = 0 it runs to a mode of the prior, forgetting the input
except through the basin it starts in.

Gradient descent converges only to a local minimum, and only for a step size below
:math:`2/\lambda_{\max}(\nabla^2 E)`; a non-finite iterate stops with a
``FloatingPointError`` naming the step.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import as_batch, check_positive, check_positive_int
from .numerics.optimize import LBFGSNotConverged, minimize_lbfgs

__all__ = ["InferenceResult", "minimize_energy", "denoise"]


@dataclass
class InferenceResult:
    """Outcome of an energy minimization.

    Attributes
    ----------
    x : ndarray (n, d)
        The minimizers.
    energy : ndarray (n,)
        The objective at x (E, plus the proximity term for :func:`denoise`).
    grad_norm : ndarray (n,)
        ‖∇‖ of the objective at x.
    n_steps : int
        Iterations run (gradient steps, or L-BFGS iterations).
    converged : bool
        Every gradient norm below ``gtol``.
    """

    x: np.ndarray
    energy: np.ndarray
    grad_norm: np.ndarray
    n_steps: int
    converged: bool


def _objective(model, anchor=None, lam=0.0):
    def fun(x):
        e = model.energy(x)
        g = model.grad_x(x)
        if lam > 0:
            r = x - anchor
            e = e + lam * np.sum(r * r, axis=1)
            g = g + 2.0 * lam * r
        return e, g
    return fun


def _gd(fun, x0, step_size, max_steps, gtol):
    x = x0.copy()
    e, g = fun(x)
    for t in range(1, max_steps + 1):
        gn = np.linalg.norm(g, axis=1)
        if np.all(gn <= gtol):
            return x, e, gn, t - 1, True
        active = gn > gtol
        x[active] = x[active] - step_size * g[active]       # x_{t+1} = x_t − η ∇E(x_t)
        if not np.all(np.isfinite(x)):
            raise FloatingPointError(f"minimize_energy: non-finite iterate at gradient step {t} "
                                     f"(step_size {step_size} may exceed 2 / largest curvature)")
        e, g = fun(x)
    gn = np.linalg.norm(g, axis=1)
    return x, e, gn, max_steps, bool(np.all(gn <= gtol))


def _lbfgs(fun, x0, max_steps, gtol):
    shape = x0.shape

    def f(flat):
        e, g = fun(flat.reshape(shape))
        return float(np.sum(e)), g.ravel()

    # max_i |∂_i| ≤ gtol/√d bounds every row's ‖∇E(x_n)‖ by gtol, the stopping rule of gradient descent
    try:
        res = minimize_lbfgs(f, x0.ravel(), max_iter=max_steps, gtol=gtol / np.sqrt(shape[1]))
    except LBFGSNotConverged as err:    # out of iterations, or no step decreases ΣE: the last point, unconverged
        res = err.result
    x = res.x.reshape(shape)
    e, g = fun(x)
    gn = np.linalg.norm(g, axis=1)
    return x, e, gn, res.n_iter, bool(np.all(gn <= gtol))


def _run(fun, x0, method, step_size, max_steps, gtol):
    if method not in ("gd", "lbfgs"):
        raise ValueError(f"method: expected 'gd' or 'lbfgs', got {method!r}")
    max_steps = check_positive_int(max_steps, "max_steps")
    gtol = check_positive(gtol, "gtol")
    if method == "gd":
        step_size = check_positive(step_size, "step_size")
        return InferenceResult(*_gd(fun, x0, step_size, max_steps, gtol))
    return InferenceResult(*_lbfgs(fun, x0, max_steps, gtol))


def minimize_energy(model, x0, method: str = "lbfgs", *, step_size: float = 0.1, max_steps: int = 1000,
                    gtol: float = 1e-8) -> InferenceResult:
    r"""Minimize the energy from each starting point: :math:`x^\star = \arg\min_x E(x)`.

    Parameters
    ----------
    model : Energy
        Anything with ``energy`` and ``grad_x`` on ``(n, d)`` batches and ``dim``.
    x0 : ndarray, shape (n, d)
        Starting points, one minimization each.
    method : {"gd", "lbfgs"}
        Gradient descent with fixed ``step_size`` η, or L-BFGS
        (:func:`ebm_ref.numerics.optimize.minimize_lbfgs`) on :math:`\sum_n E(x_n)` with the analytic gradient.
    step_size : float
        η > 0 (gradient descent only).
    max_steps : int
        Iteration budget.
    gtol : float
        Stop when every ‖∇E(x_n)‖ ≤ gtol.  A run that ends otherwise (``max_steps`` used up, or
        L-BFGS's line search unable to move) returns its last point with ``converged=False``.

    Returns
    -------
    InferenceResult
    """
    x0 = as_batch(x0, getattr(model, "dim", None), "x0")
    return _run(_objective(model), x0, method, step_size, max_steps, gtol)


def denoise(model, x_noisy, lam: float = 0.0, method: str = "lbfgs", *, step_size: float = 0.1,
            max_steps: int = 1000, gtol: float = 1e-8) -> InferenceResult:
    r"""Denoise by energy minimization started at the noisy points.

    .. math:: \hat x = \arg\min_x\ E(x) + \lambda\lVert x - \tilde x\rVert^2,
              \quad\text{from } x_0 = \tilde x .

    With λ = 1/(2σ²) and noise :math:`\tilde x = x + \sigma\varepsilon`, this is the
    posterior mode :math:`\arg\max_x p(x\mid\tilde x)` under the prior
    :math:`p\propto e^{-E}`.  For a Gaussian prior :math:`E = \tfrac12 (x-\mu)^\top P(x-\mu)`
    the minimizer solves :math:`(P + 2\lambda I)\hat x = P\mu + 2\lambda\tilde x`.

    Parameters
    ----------
    lam : float
        λ ≥ 0; 0 removes the proximity term (pure descent to a mode).
    Other parameters as in :func:`minimize_energy`.
    """
    x_noisy = as_batch(x_noisy, getattr(model, "dim", None), "x_noisy")
    lam = check_positive(lam, "lam", strict=False)
    return _run(_objective(model, x_noisy, lam), x_noisy, method, step_size, max_steps, gtol)
