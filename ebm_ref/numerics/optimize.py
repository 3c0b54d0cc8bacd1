r"""L-BFGS, written once: :func:`minimize_lbfgs` minimizes a smooth f on a vector from its value and gradient.

Every full-batch minimization in the package runs through it: NCE's ``fit(method="lbfgs")``,
``inference.minimize_energy(method="lbfgs")`` (and so ``denoise`` and the figures), and the
identities that fit a model to an exact distribution.  It exists because scipy's L-BFGS-B
stops near a minimum where the decrease of f falls below f's rounding (its line search asks
for a decrease it cannot see), short of a small gradient tolerance; this line search accepts
a step whose value is within f's rounding of the current one (judged by the gradients where the
values cannot tell), so the quasi-Newton steps keep shrinking the gradient down to its own
rounding.  It also lets f refuse a point (return None, as a model constructor refuses a
precision that is not positive definite): a refused trial point is a failed trial of the line
search, which halves the step.

Nothing here knows of models: callers pass a function of a flat float vector.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from .._validate import check_positive, check_positive_int

__all__ = ["LBFGSResult", "LBFGSNotConverged", "minimize_lbfgs"]

#: the Armijo constant c₁ of the sufficient-decrease condition
_ARMIJO_C1 = 1e-4
#: the rounding allowance, in units of |f(v)|: a few ulps of f, as f's own evaluation error
_ROUNDING_ULPS = 8 * np.finfo(float).eps
#: the relative change of f below which a step may be judged by its gradients instead (Hager & Zhang's ε,
#: smaller than their 1e-6: well above the rounding of f, ~nε for a sum of n ≲ 10⁵ terms, and far below
#: any change of f that matters)
_APPROX_REL = 1e-10
#: the line search gives up once the step has been halved below this
_T_MIN = 1e-12
#: a pair (s, y) is stored only if sᵀy > this · ‖s‖‖y‖ (positive curvature, not lost in rounding)
_CURVATURE_MIN = 1e-12


class LBFGSResult(NamedTuple):
    """Outcome of :func:`minimize_lbfgs`.

    Attributes
    ----------
    x : ndarray (p,)
        The last accepted point.
    value : float
        f(x).
    grad : ndarray (p,)
        ∇f(x).
    n_iter : int
        Iterations run (a line-search failure that restarts from steepest descent counts as one).
    n_eval : int
        Calls of f, the start included.
    converged : bool
        :math:`\\max_i|\\partial_i f(x)| \\le` ``gtol`` (False only when ``on_iteration`` stopped
        the run first, or in the result carried by :class:`LBFGSNotConverged`).
    """

    x: np.ndarray
    value: float
    grad: np.ndarray
    n_iter: int
    n_eval: int
    converged: bool


class LBFGSNotConverged(RuntimeError):
    """:func:`minimize_lbfgs` stopped short of ``gtol``; ``result``: the :class:`LBFGSResult` at the last accepted point."""

    def __init__(self, message: str, result: LBFGSResult):
        super().__init__(message)
        self.result = result


def _two_loop(g, pairs):
    r"""The L-BFGS direction's negative, :math:`H_k g`, by the two-loop recursion over ``pairs``."""
    q, alphas = g.copy(), []
    for s, y, rho in reversed(pairs):
        a = rho * (s @ q)
        q -= a * y
        alphas.append(a)
    if pairs:
        s, y, rho = pairs[-1]
        q *= (s @ y) / (y @ y)
    else:
        q /= max(1.0, float(np.linalg.norm(q)))
    for (s, y, rho), a in zip(pairs, reversed(alphas)):
        q += (a - rho * (y @ q)) * s
    return q


def minimize_lbfgs(f: Callable, x0, *, max_iter: int, gtol: float, on_iteration: Callable | None = None,
                   memory: int = 20) -> LBFGSResult:
    r"""Minimize f by L-BFGS with a backtracking (Armijo) line search that tolerates f's rounding.

    Parameters
    ----------
    f : callable
        ``f(v) -> (value, gradient)`` for a float vector v of shape (p,): the value f(v) and
        :math:`\nabla f(v)` of shape (p,); or ``None`` where v is outside f's domain (a refused
        point, treated as a failed line-search trial).
    x0 : array_like, shape (p,)
        Start; must be inside the domain.
    max_iter : int
        Iteration budget (≥ 1).
    gtol : float
        Stop when :math:`\max_i|\partial_i f(v)| \le` ``gtol`` (> 0).
    on_iteration : callable or None
        ``on_iteration(v, value)`` after every accepted step; returning True stops the run.
    memory : int
        m ≥ 1, the number of curvature pairs kept.

    Returns
    -------
    LBFGSResult
        ``x``, ``value``, ``grad``, ``n_iter``, ``n_eval``, ``converged``.

    Raises
    ------
    ValueError
        x0 not a finite non-empty vector, f refuses x0, f's gradient has the wrong shape, or
        ``max_iter``, ``gtol``, ``memory`` out of range.
    FloatingPointError
        f or its gradient is not finite at an accepted point (the message names the iteration).
    LBFGSNotConverged
        (a ``RuntimeError``) ``max_iter`` iterations pass without :math:`\max_i|\partial_i f| \le`
        ``gtol``, or the line search cannot decrease f from steepest descent.  Its ``result``
        holds the :class:`LBFGSResult` at the last accepted point.

    Notes
    -----
    **Direction.**  With the last m pairs :math:`s_j = v_{j+1} - v_j`,
    :math:`y_j = \nabla f(v_{j+1}) - \nabla f(v_j)`, :math:`\rho_j = 1/s_j^\top y_j`, the
    direction is :math:`p_k = -H_k\nabla f(v_k)`, with :math:`H_k` the BFGS inverse-Hessian
    update applied m times to :math:`H^0 = \gamma I`,
    :math:`\gamma = s_{k-1}^\top y_{k-1}/y_{k-1}^\top y_{k-1}`, computed without forming it by
    the two-loop recursion (Nocedal & Wright, Algorithm 7.4):

    .. math::

        q \leftarrow \nabla f(v_k);\quad
        \text{for } j = k-1, \dots, k-m:\ \alpha_j = \rho_j s_j^\top q,\ q \leftarrow q - \alpha_j y_j;

        r \leftarrow \gamma q;\quad
        \text{for } j = k-m, \dots, k-1:\ \beta = \rho_j y_j^\top r,\ r \leftarrow r + (\alpha_j - \beta) s_j;
        \quad p_k = -r .

    A pair is kept only if :math:`s^\top y > 10^{-12}\lVert s\rVert\lVert y\rVert`, so every
    :math:`H_k` is positive definite and :math:`p_k` a descent direction.  With no pairs (the
    first iteration, or after a restart) the direction is steepest descent scaled to length at
    most 1: :math:`p = -\nabla f/\max(1, \lVert\nabla f\rVert)`.

    **Step.**  Along the line write :math:`\varphi(t) = f(v + tp)`, so :math:`\varphi'(0) = \nabla f(v)^\top p < 0`.
    The step :math:`t = 1, \tfrac12, \tfrac14, \dots` is the first whose trial point is accepted
    by f (not None) and satisfies the Armijo condition with a rounding allowance

    .. math:: \varphi(t) \le \varphi(0) + c_1 t\,\varphi'(0) + 8\epsilon\,\lvert\varphi(0)\rvert,
              \qquad c_1 = 10^{-4},\ \epsilon = 2^{-52},

    or, failing that, its approximate form judged by the gradients (Hager & Zhang)

    .. math:: \varphi(t) \le \varphi(0) + 10^{-10}\lvert\varphi(0)\rvert
              \quad\text{and}\quad \varphi'(t) \le (2c_1 - 1)\,\varphi'(0).

    Why: near the minimum the true decrease :math:`\approx \tfrac12 t\,\nabla f^\top H_k\nabla f`
    is quadratic in the gradient and falls below the rounding of f long before the gradient
    reaches a small ``gtol``; the plain Armijo test then compares rounding errors and rejects
    the quasi-Newton step (this is where scipy's L-BFGS-B stalls).  The allowance of 8 ulps of
    :math:`\lvert f\rvert` accepts such a step as it is.  Where f is a difference of larger terms its
    rounding exceeds that allowance; the second test replaces the difference of values by the
    trapezoid rule :math:`\varphi(t) - \varphi(0) \approx \tfrac t2(\varphi'(0) + \varphi'(t))` (exact for a
    quadratic), which the gradients give to a much smaller absolute error: it is the Armijo
    condition with that estimate, and it only applies where f has changed by less than
    :math:`10^{-10}` relative, so a step that climbs out of the basin is still refused.  Far from the
    minimum the allowance is negligible against the Armijo decrease.

    If t falls below :math:`10^{-12}`, or the accepted step moves no coordinate of v, the curvature
    memory is cleared and the iteration restarts from steepest descent; if steepest descent itself
    fails, ``RuntimeError``.

    References
    ----------
    J. Nocedal and S. J. Wright, *Numerical Optimization*, 2nd ed., Springer (2006), §7.2.
    W. W. Hager and H. Zhang, "A new conjugate gradient method with guaranteed descent and an
    efficient line search", SIAM J. Optim. 16 (2005) — the approximate Wolfe conditions.
    D. C. Liu and J. Nocedal, "On the limited memory BFGS method for large scale optimization",
    Math. Programming 45 (1989).
    """
    v = np.array(x0, dtype=float)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"minimize_lbfgs: x0 must be a non-empty vector of shape (p,), got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError("minimize_lbfgs: x0 has non-finite entries")
    max_iter = check_positive_int(max_iter, "max_iter")
    gtol = check_positive(gtol, "gtol")
    memory = check_positive_int(memory, "memory")
    first = f(v)
    if first is None:
        raise ValueError("minimize_lbfgs: the starting point x0 is outside f's domain (f returned None)")
    value, g = first
    if np.shape(g) != v.shape:
        raise ValueError(f"minimize_lbfgs: f's gradient has shape {np.shape(g)}, expected {v.shape} like x0")
    n_eval = 1
    pairs: list[tuple[np.ndarray, np.ndarray, float]] = []

    def result(it):
        return LBFGSResult(v, float(value), g, it, n_eval, bool(np.max(np.abs(g)) <= gtol))

    for it in range(max_iter + 1):
        if not (np.isfinite(value) and np.all(np.isfinite(g))):
            raise FloatingPointError(f"minimize_lbfgs: f or its gradient is not finite at iteration {it}")
        if np.max(np.abs(g)) <= gtol:
            return result(it)
        if it == max_iter:
            break
        p = -_two_loop(g, pairs)
        slope = float(g @ p)
        t = 1.0
        while True:
            trial = f(v + t * p)
            n_eval += 1
            if trial is not None and trial[0] <= value + _ARMIJO_C1 * t * slope + _ROUNDING_ULPS * abs(value):
                break
            if (trial is not None and trial[0] <= value + _APPROX_REL * abs(value)
                    and trial[1] @ p <= (2 * _ARMIJO_C1 - 1) * slope):
                break                               # the approximate Armijo condition, from the gradients
            t *= 0.5
            if t < _T_MIN:
                break
        if t < _T_MIN or np.array_equal(v + t * p, v):     # a step that moves no coordinate fails as well
            if not pairs:
                raise LBFGSNotConverged(f"minimize_lbfgs: the line search cannot decrease f at iteration {it} "
                                        f"(max |∇f| = {np.max(np.abs(g)):.3g} > gtol = {gtol:g})", result(it))
            pairs = []                              # the curvature memory misleads: restart from steepest descent
            continue
        s = t * p
        v = v + s
        y = trial[1] - g
        value, g = trial
        if s @ y > _CURVATURE_MIN * np.linalg.norm(s) * np.linalg.norm(y):
            pairs = (pairs + [(s, y, 1.0 / (s @ y))])[-memory:]
        if on_iteration is not None and on_iteration(v, float(value)):
            return result(it + 1)
    raise LBFGSNotConverged(f"minimize_lbfgs: {max_iter} iterations without max |∇f| ≤ gtol = {gtol:g} "
                            f"(now {np.max(np.abs(g)):.3g}); raise max_iter or gtol", result(max_iter))
