r"""Optimizers and the fit loop.

Every objective of ``ebm_ref.objectives`` has the form ``objective(model, x_batch, rng)
-> (loss, grads)`` with ``grads`` a dict like ``model.params``.  The loop here is the
same for all of them:

.. math::

    \theta_{t+1} = \theta_t - \text{step}(\nabla_\theta L(\theta_t; x_{B_t})),

with the step given by plain gradient descent with momentum (:class:`SGD`) or by Adam
(:class:`Adam`), both written out below.  Models are immutable values: each step
builds a new model with ``model.with_params(new_params)``, so the constructor's own
checks (a precision matrix must stay positive definite, ...) run at every step.

A loss, a gradient or a parameter that becomes NaN or inf stops the run with a
``FloatingPointError`` naming the step; a parameter update that the model's
constructor refuses stops it with a ``ValueError`` naming the step.

An objective may offer an *in-place run* (``objective.in_place(model, optimizer, data,
batch_size)``, see :func:`fit`): the parameters then live in arrays that the objective
and the optimizer's in-place step (:meth:`SGD.step_product`) overwrite, and the model is
built only where it is looked at (log-likelihood points, callbacks, the end).  The same
numbers, without a new model, a copy of the parameters or a dict of fresh arrays per step.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np
from scipy.linalg.blas import daxpy, dgemm

from ._validate import as_batch, as_generator, check_positive, check_positive_int

__all__ = ["SGD", "Adam", "History", "fit"]


def _check_grads(params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
    if list(grads) != list(params):
        raise ValueError(f"grads: expected the keys of params {list(params)}, got {list(grads)}")
    for k in params:
        if np.shape(grads[k]) != np.shape(params[k]):
            raise ValueError(f"grads[{k!r}]: expected shape {np.shape(params[k])}, got {np.shape(grads[k])}")


class SGD:
    r"""Gradient descent with (heavy-ball) momentum.

    Parameters
    ----------
    lr : float
        Learning rate :math:`\eta > 0`.
    momentum : float
        :math:`\mu \in [0, 1)`; 0 gives plain gradient descent.
    lr_decay : float or None
        :math:`\tau > 0`: the step size decays as :math:`\eta_t = \eta\,\tau/(\tau + t)`
        (t = 0, 1, … counts the steps taken); None keeps :math:`\eta_t = \eta`.

    Notes
    -----
    .. math::

        v_{t+1} = \mu v_t + g_t,\qquad \theta_{t+1} = \theta_t - \eta_t\, v_{t+1}.

    A decaying step (:math:`\sum_t\eta_t = \infty`, :math:`\sum_t\eta_t^2 < \infty`, the
    Robbins–Monro conditions) lets a noisy gradient — contrastive divergence, PCD —
    settle instead of jittering at the scale of :math:`\eta`.  The velocity and the step
    count are kept inside the optimizer (one optimizer per run); ``reset()`` clears them.
    """

    def __init__(self, lr: float, momentum: float = 0.0, lr_decay: float | None = None):
        self.lr = check_positive(lr, "lr")
        m = float(momentum)
        if not (0.0 <= m < 1.0):
            raise ValueError(f"momentum: must be in [0, 1), got {momentum!r}")
        self.momentum = m
        self.lr_decay = None if lr_decay is None else check_positive(lr_decay, "lr_decay")
        self.reset()

    def reset(self) -> None:
        """Forget the velocity and the step count."""
        self._v = None
        self._scratch = None
        self._product_checked = None
        self._t = 0

    def current_lr(self) -> float:
        r""":math:`\eta_t` of the next step."""
        return self.lr if self.lr_decay is None else self.lr / (1.0 + self._t / self.lr_decay)

    def step(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> dict:
        """Return the new parameter dict after one step along ``grads`` (``params`` is not modified)."""
        new = {k: np.array(theta, dtype=np.float64) for k, theta in params.items()}   # the next θ, one copy each
        self.step_inplace(new, grads)
        return new

    def step_inplace(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        r"""One step that overwrites the float64 arrays of ``params``:
        :math:`v \leftarrow \mu v + g`, :math:`\theta \leftarrow \theta - \eta_t v`.

        The velocity and a scratch array per parameter are the optimizer's own, allocated at
        the first step, so a step allocates nothing.  ``params`` may hold views (e.g. blocks
        of one larger array); ``grads`` needs the same keys and shapes.
        """
        _check_grads(params, grads)
        for k, theta in params.items():
            if not (isinstance(theta, np.ndarray) and theta.dtype == np.float64 and theta.flags.writeable):
                raise ValueError(f"params[{k!r}]: step_inplace needs a writeable float64 array, got "
                                 f"{type(theta).__name__} {getattr(theta, 'dtype', '')}")
        self._velocity({k: np.shape(theta) for k, theta in params.items()})
        if self._scratch is None:
            self._scratch = {k: np.empty(np.shape(theta)) for k, theta in params.items()}
        lr = self.current_lr()
        self._t += 1
        for k, theta in params.items():
            v = self._v[k]                                  # the optimizer's own buffer, updated in place
            v *= self.momentum
            v += grads[k]
            step = np.multiply(v, -lr, out=self._scratch[k])
            theta += step                                   # θ + (−η v): the same rounding as θ − η v

    def step_product(self, params: Mapping[str, np.ndarray], a: np.ndarray, b: np.ndarray) -> None:
        r"""The step of :meth:`step_inplace` for one matrix θ whose gradient is a product, :math:`g = a^\top b`.

        :math:`v \leftarrow \mu v + a^\top b` is one GEMM that writes the velocity (BLAS
        ``dgemm`` with :math:`\beta = \mu`), and :math:`\theta \leftarrow \theta - \eta_t v` one
        ``axpy``: the gradient is never stored and each array is passed over once.  The
        same numbers as ``step_inplace(params, {name: a.T @ b})`` to rounding (the GEMM
        sums in its own order).

        Parameters
        ----------
        params : dict with one entry, a C-contiguous float64 array θ of shape (p, q)
            Overwritten.
        a, b : C-contiguous float64 arrays of shapes (N, p) and (N, q)
        """
        if len(params) != 1:
            raise ValueError(f"params: step_product steps one matrix, got keys {list(params)}")
        (k, theta), = params.items()
        c = self._product_checked                           # the same arrays every step: checked once
        if c is None or c[0] is not theta or c[1] is not a or c[2] is not b or c[3] is not self._v:
            self._check_product(theta, a, b)
            v = self._velocity({k: theta.shape})[k]
            # C-order (p, q) is Fortran-order (q, p): the GEMM below is vᵀ ← 1·bᵀa + μ vᵀ on v's own memory
            c = self._product_checked = (theta, a, b, self._v, v.T, b.T, a.T, v.reshape(-1), theta.reshape(-1))
        lr = self.current_lr()
        self._t += 1
        dgemm(1.0, c[5], c[6], beta=self.momentum, c=c[4], trans_b=1, overwrite_c=1)   # v ← μ v + aᵀb
        daxpy(c[7], c[8], a=-lr)                            # θ ← θ + (−η) v, in place

    def _velocity(self, shapes: Mapping[str, tuple]) -> dict:
        """The velocity of each parameter, zero at the first step; another set of parameters is refused."""
        if self._v is None:
            self._v = {k: np.zeros(shape) for k, shape in shapes.items()}
        elif list(self._v) != list(shapes) or any(self._v[k].shape != tuple(s) for k, s in shapes.items()):
            raise ValueError(f"params: this optimizer's velocity belongs to parameters "
                             f"{ {k: v.shape for k, v in self._v.items()} }; call reset() to start a new run")
        return self._v

    @staticmethod
    def _check_product(theta, a, b) -> None:
        for name, arr in (("params", theta), ("a", a), ("b", b)):
            if not (isinstance(arr, np.ndarray) and arr.dtype == np.float64 and arr.ndim == 2
                    and arr.flags.c_contiguous and (name != "params" or arr.flags.writeable)):
                raise ValueError(f"{name}: step_product needs a C-contiguous float64 matrix, got "
                                 f"{type(arr).__name__} {getattr(arr, 'dtype', '')} {np.shape(arr)}")
        if a.shape[0] != b.shape[0] or (a.shape[1], b.shape[1]) != theta.shape:
            raise ValueError(f"a, b: expected shapes (N, {theta.shape[0]}) and (N, {theta.shape[1]}), "
                             f"got {a.shape} and {b.shape}")


class Adam:
    r"""Adam (Kingma & Ba, 2015), written out.

    Parameters
    ----------
    lr : float
        Step size :math:`\eta > 0`.
    betas : (float, float)
        Decay rates :math:`\beta_1, \beta_2 \in [0, 1)` of the first and second moments.
    eps : float
        :math:`\epsilon > 0` added to the root of the second moment.

    Notes
    -----
    .. math::

        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\qquad
        v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,

        \hat m_t = m_t / (1-\beta_1^t),\qquad \hat v_t = v_t/(1-\beta_2^t),\qquad
        \theta_t = \theta_{t-1} - \eta\,\hat m_t / (\sqrt{\hat v_t} + \epsilon).

    References
    ----------
    D. P. Kingma and J. Ba, "Adam: a method for stochastic optimization", ICLR 2015.
    """

    def __init__(self, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8):
        self.lr = check_positive(lr, "lr")
        try:
            b1, b2 = (float(b) for b in betas)
        except (TypeError, ValueError):
            raise ValueError(f"betas: expected two numbers, got {betas!r}") from None
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ValueError(f"betas: each must be in [0, 1), got {betas!r}")
        self.betas = (b1, b2)
        self.eps = check_positive(eps, "eps")
        self.reset()

    def reset(self) -> None:
        """Forget the moments and the step count."""
        self._m = None
        self._v = None
        self._t = 0

    def step(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> dict:
        """Return the new parameter dict after one Adam step."""
        _check_grads(params, grads)
        b1, b2 = self.betas
        if self._m is None:
            self._m = {k: np.zeros(np.shape(v)) for k, v in params.items()}
            self._v = {k: np.zeros(np.shape(v)) for k, v in params.items()}
        self._t += 1
        c1 = 1.0 - b1 ** self._t
        c2 = 1.0 - b2 ** self._t
        out = {}
        for k, theta in params.items():
            g = np.asarray(grads[k], dtype=np.float64)
            self._m[k] = b1 * self._m[k] + (1.0 - b1) * g
            self._v[k] = b2 * self._v[k] + (1.0 - b2) * g * g
            m_hat = self._m[k] / c1
            v_hat = self._v[k] / c2
            out[k] = np.asarray(theta, dtype=np.float64) - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        return out


@dataclass
class History:
    """What a run recorded.

    Attributes
    ----------
    loss : ndarray, shape (n_steps,)
        The objective's loss at each step (before that step's update); NaN where the
        objective returned None (it was built not to compute its loss).
    log_likelihood : ndarray
        Exact mean log-likelihood of the data, at the steps ``ll_steps`` (empty when
        no ``exact_log_likelihood`` was given).  ``ll_steps`` includes ``n_steps``:
        the value for the final model.
    ll_steps : ndarray of int
    seconds : float
        Wall time of the run.
    stopped_at : int or None
        The step at which a callback stopped the run early, else None.
    extra : dict
        ``extra["in_place"]``: whether :func:`fit` ran the objective's in-place arrays.
    """

    loss: np.ndarray
    log_likelihood: np.ndarray
    ll_steps: np.ndarray
    seconds: float
    stopped_at: int | None = None
    extra: dict = field(default_factory=dict)


def _finite_params(params) -> str | None:
    for k, v in params.items():
        if not np.all(np.isfinite(v)):
            return k
    return None


def fit(model, data, objective: Callable, optimizer, n_steps: int, rng, batch_size: int | None = None,
        callbacks: Sequence[Callable] = (), log_every: int | None = None,
        exact_log_likelihood: Callable | None = None, ll_every: int = 1, log: Callable | None = None):
    r"""Minimize ``objective`` over the model's parameters.

    Parameters
    ----------
    model : Energy
        The starting model (any value with ``params`` and ``with_params``).
    data : ndarray, shape (N, d)
        Training points.
    objective : callable
        ``objective(model, x_batch, rng) -> (loss, grads)``; ``grads`` is a dict like
        ``model.params`` holding :math:`\nabla_\theta` of the loss.  ``loss`` may be None
        when the objective was built not to compute it (recorded as NaN).  Objectives that take
        no randomness ignore ``rng``; wrap extra settings with a lambda, e.g.
        ``lambda m, x, r: score_matching.denoising_loss(m, x, sigma=0.1, rng=r)``.
    optimizer : SGD or Adam (anything with ``step(params, grads) -> params``)
    n_steps : int
        Number of parameter updates.
    rng : Generator or int
        Source of the mini-batches and of the objective's randomness.
    batch_size : int or None
        Points per step, drawn without replacement from ``data`` at each step; None
        uses all the data at every step (full-batch gradient descent).
    callbacks : sequence of callables
        Each is called as ``cb(step, model, loss)`` after every update (``step``
        counts from 1, ``model`` is the updated model); a callback returning ``True``
        stops the run.
    log_every : int or None
        Print a progress line every ``log_every`` steps.  None prints only on long
        runs: a line about every 10 seconds once 10 seconds have passed.
    exact_log_likelihood : callable or None
        ``f(model, data) -> float``, the exact mean log-likelihood (where log Z is
        known); recorded every ``ll_every`` steps and for the final model.
    ll_every : int
        See ``exact_log_likelihood``.
    log : callable or None
        Where progress lines go (default: print to stderr).

    Notes
    -----
    **In-place runs.**  When ``objective`` has an attribute ``in_place`` and
    ``objective.in_place(model, optimizer, data, batch_size)`` returns a run (it returns None when it
    cannot serve this model and optimizer), the loop calls ``run.step(batch_index, rng)``
    instead of the objective and the optimizer: the run forms the gradient in its own
    arrays and steps them in place with the optimizer (``SGD.step_product`` for the
    CD/PCD runs of ``objectives.contrastive_divergence``);
    ``run.nonfinite()`` names a parameter holding NaN or inf (else None), and
    ``run.model()`` builds the model, only where it is needed (log-likelihood points,
    callbacks, the end).  The mini-batches and the random stream are the same as on the
    generic path, and so are the numbers (to rounding; tested to 1e-12).  The parameters
    are checked finite after every update — a NaN or inf gradient reaches them in the
    same update — so the run stops with a ``FloatingPointError`` at the same step as on
    the generic path.  ``History.extra["in_place"]`` says which path ran.

    Returns
    -------
    model : Energy
        The final model.
    history : History

    Raises
    ------
    FloatingPointError
        When the loss, a gradient or a parameter is NaN or inf; the message names the step.
    ValueError
        On bad arguments, or when the model's constructor refuses the updated
        parameters (the message names the step and repeats the model's reason).
    """
    # real (complex refused, never its real part kept), finite, (N, d) with N >= 1
    x = as_batch(data, getattr(model, "dim", None), "data")
    if x.shape[0] == 0:
        raise ValueError(f"data: expected at least one data point, got shape {x.shape}")
    if not callable(objective):
        raise ValueError(f"objective: expected a callable (model, x, rng) -> (loss, grads), got {type(objective).__name__}")
    if not hasattr(optimizer, "step"):
        raise ValueError(f"optimizer: expected an object with step(params, grads), got {type(optimizer).__name__}")
    n_steps = check_positive_int(n_steps, "n_steps", 0)
    ll_every = check_positive_int(ll_every, "ll_every")
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "batch_size")
        if batch_size > x.shape[0]:
            raise ValueError(f"batch_size: must be <= the number of data points {x.shape[0]}, got {batch_size}")
    if log_every is not None:
        log_every = check_positive_int(log_every, "log_every")
    if log is None:
        def log(msg):
            print(msg, file=sys.stderr, flush=True)
    callbacks = tuple(callbacks)
    for cb in callbacks:
        if not callable(cb):
            raise ValueError(f"callbacks: every entry must be callable, got {type(cb).__name__}")
    rng = as_generator(rng)

    losses = np.empty(n_steps)
    lls, ll_steps = [], []
    t0 = time.perf_counter()
    t_last = t0
    stopped = None

    def record_ll(step, m):
        if exact_log_likelihood is not None:
            val = float(exact_log_likelihood(m, x))
            if not np.isfinite(val):
                raise FloatingPointError(f"step {step}: exact log-likelihood is not finite ({val})")
            lls.append(val)
            ll_steps.append(step)

    record_ll(0, model)
    make_run = getattr(objective, "in_place", None)
    run = make_run(model, optimizer, x, batch_size) if make_run is not None and n_steps > 0 else None
    step = 0
    for step in range(1, n_steps + 1):
        if batch_size is None:
            idx = None
        else:
            idx = rng.choice(x.shape[0], size=batch_size, replace=False)
        if run is not None:                                 # the objective's arrays, stepped in place
            loss = run.step(idx, rng)
        else:
            loss, grads = objective(model, x if idx is None else x[idx], rng)
        if loss is None:                                    # the objective was told not to compute it
            loss = np.nan
        else:
            loss = float(loss)
            if not np.isfinite(loss):
                raise FloatingPointError(f"step {step}: the loss is not finite ({loss})")
        losses[step - 1] = loss
        if run is not None:
            bad = run.nonfinite()
            if bad is not None:
                raise FloatingPointError(f"step {step}: parameter {bad!r} became NaN or inf after the update")
            model = None                                    # built below only where it is looked at
        else:
            params = model.params
            _check_grads(params, grads)
            bad = _finite_params(grads)
            if bad is not None:
                raise FloatingPointError(f"step {step}: the gradient of parameter {bad!r} is not finite")
            with np.errstate(over="ignore", invalid="ignore"):  # checked just below, with the step named
                new = optimizer.step(params, grads)
            bad = _finite_params(new)
            if bad is not None:
                raise FloatingPointError(f"step {step}: parameter {bad!r} became NaN or inf after the update")
            try:
                model = model.with_params(new)
            except ValueError as exc:
                raise ValueError(f"step {step}: the updated parameters are not a valid model: {exc}") from exc
        if step % ll_every == 0 and step != n_steps and exact_log_likelihood is not None:
            if model is None:
                model = run.model()
            record_ll(step, model)
        now = time.perf_counter()
        due = (step % log_every == 0) if log_every is not None else (now - t0 > 10.0 and now - t_last > 10.0)
        if due:
            t_last = now
            ll = f"  log-lik {lls[-1]:.6g}" if lls else ""
            log(f"step {step}/{n_steps}  loss {loss:.6g}{ll}  ({now - t0:.1f} s)")
        if callbacks:
            if model is None:
                model = run.model()
            if any(cb(step, model, loss) is True for cb in callbacks):
                stopped = step
                losses = losses[:step]
                break
    if run is not None:
        model = run.model()
    if n_steps > 0 and (not ll_steps or ll_steps[-1] != step):
        record_ll(step, model)
    return model, History(losses, np.array(lls), np.array(ll_steps, dtype=int), time.perf_counter() - t0, stopped,
                          extra={"in_place": run is not None})
