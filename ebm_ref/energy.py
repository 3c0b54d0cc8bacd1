r"""The energy contract every model keeps.

A model is an energy :math:`E_\theta(x)` with density :math:`p_\theta(x) = e^{-E_\theta(x)}/Z(\theta)`,
:math:`Z(\theta) = \int e^{-E_\theta(x)}\,dx`.  Where the lecture writes
:math:`p = e^{f}/Z` the negative energy is :math:`f = -E`.

Public methods check their input (a batch ``x`` of shape ``(n, d)``, never a single
point broadcast silently) and dispatch to private ``_`` methods that subclasses write.
All shapes:

==========================================  ===================  =========================================
method                                      returns              meaning
==========================================  ===================  =========================================
``energy(x)``                               ``(n,)``             :math:`E(x)`
``grad_x(x)``                               ``(n, d)``           :math:`\nabla_x E(x)`
``score(x)``                                ``(n, d)``           :math:`s(x) = \nabla_x\log p(x) = -\nabla_x E(x)`
``hessian_x(x)``                            ``(n, d, d)``        :math:`\nabla_x^2 E(x)`
``laplacian_x(x)``                          ``(n,)``             :math:`\operatorname{tr}\nabla_x^2 E(x)`
``grad_params(x)``                          dict ``(n, *shape)`` :math:`\nabla_\theta E(x_n)` per point
``grad_params_sum(x, weights)``             dict like params     :math:`\nabla_\theta \sum_n w_n E(x_n)`
``grad_params_dot_grad_x(x, u)``            dict like params     :math:`\nabla_\theta \sum_n u_n\cdot\nabla_x E(x_n)`
``grad_params_laplacian(x)``                dict like params     :math:`\nabla_\theta \sum_n \operatorname{tr}\nabla_x^2E(x_n)`
``grad_params_hvp(x, v)``                   dict like params     :math:`\nabla_\theta \sum_n v_n^\top\nabla_x^2E(x_n)v_n`
``log_partition()``                         float                :math:`\log Z`, only where known exactly
==========================================  ===================  =========================================

``hvp_x(x, v)``                              ``(n, d)``           :math:`\nabla_x^2E(x_n)\,v_n`, Hessian-vector products
==========================================  ===================  =========================================

``u`` and ``v`` are held fixed when differentiating in θ.

Optional capabilities.  ``Energy`` declares them with defaults that raise
``NotImplementedError`` saying which models have them; a model *has* one when its class
overrides the default, which :func:`has_capability` checks (never ``hasattr``: every
``Energy`` has the attribute, so ``hasattr`` would always say yes):

==========================  =================  ==========================================================
capability                  returns            models that have it
==========================  =================  ==========================================================
``log_partition()``         float              log Z where it is known exactly (Gaussian, mixtures, RBMs
                                               by enumeration, Boltzmann machines, exponential families)
``grad_log_partition()``    dict like params   :math:`\nabla_\theta\log Z` (Gaussian, RBMs, Boltzmann
                                               machines, ``ExpFamEnergy``, ``Mixture``)
``sample(n, rng)``          ``(n, d)``         exact samples (Gaussian, mixtures, RBMs and Boltzmann
                                               machines by enumeration, ``ExpFamEnergy``, ``WarpedGaussian``)
==========================  =================  ==========================================================

Two protocols sit beside ``Energy``; objects need not be ``Energy`` subclasses to keep them
(a flow, an exponential family or a user's own class may):

===============  ===========================================  ==================================================
protocol         members                                      used by
===============  ===========================================  ==================================================
``Normalized``   ``log_prob(x) -> (n,)``,                     the NCE noise, the adversarial q, the proposal of
                 ``sample(n, rng) -> (n, d)``                 importance sampling, the base of AIS
``Trainable``    ``params`` (dict of arrays),                 ``train.fit`` and every optimizer step:
                 ``with_params(params) -> same kind``         θ ← θ − η g, then ``model.with_params(θ)``
===============  ===========================================  ==================================================

:func:`require_normalized` is the one check of the ``Normalized`` protocol: it raises a
``ValueError`` naming the argument and the missing method.  (``ebm_ref.check`` duck-types
on purpose, since ``check_energy`` must work on other people's objects; it is the one
place that does.)

Models that must be built without their constructor's checks (a derivative check moves
a Gaussian mixture's weights off the simplex or a Boltzmann machine's diagonal off zero)
are built by :meth:`Energy._from_checked`; quantities derived from the parameters (a
precision, a normalizing constant) are computed in ``_derive()``, which both the
constructor and that hook run.
"""
from __future__ import annotations

from typing import Mapping, Protocol, runtime_checkable

import numpy as np

from . import params as _params
from ._validate import as_batch, as_float_array

__all__ = ["Energy", "Normalized", "Trainable", "has_capability", "require_normalized"]

#: The optional capabilities declared on ``Energy`` with raising defaults.
CAPABILITIES = ("log_partition", "grad_log_partition", "sample", "hvp_x")


class Energy:
    """Base class of every energy.

    Subclasses call ``super().__init__(dim, params, **settings)`` and implement
    ``_energy``, ``_grad_x``, ``_hessian_x`` and ``_grad_params``; they override
    ``_laplacian_x`` when the trace can be formed without the full Hessian, and the
    second-order parameter primitives where score matching needs them.

    Attributes
    ----------
    dim : int
        Dimension d of a point.
    supports_complex_step : bool
        True when ``energy``/``grad_x`` are analytic in x and accept complex input,
        so derivative checks may use the complex step.
    symmetric_params : tuple of str
        Parameters that are symmetric matrices; derivative checks perturb them along
        symmetric directions only.
    """

    supports_complex_step: bool = True
    symmetric_params: tuple = ()

    def __init__(self, dim: int, params: Mapping[str, np.ndarray], /, **settings):
        self.dim = int(dim)
        frozen = {}
        for k, v in params.items():
            a = np.array(v, dtype=np.float64)
            a.setflags(write=False)
            frozen[k] = a
        self._params = frozen
        self._settings = dict(settings)
        self._derive()

    def _derive(self) -> None:
        """Compute quantities derived from ``params`` and ``settings`` (none by default).

        Run at the end of ``Energy.__init__``, so both the constructor and
        :meth:`_from_checked` get them from this one place.
        """

    @classmethod
    def _from_checked(cls, dim: int, params: Mapping[str, np.ndarray], /, **settings) -> "Energy":
        """Build a model from parameters already checked, without running ``cls.__init__``.

        The one hook for models whose ``replace`` accepts values the public constructor
        refuses (used by derivative checks); ``_derive`` still runs.
        """
        obj = cls.__new__(cls)
        Energy.__init__(obj, dim, params, **settings)
        return obj

    # ------------------------------------------------------------------ values
    @property
    def params(self) -> dict:
        """Ordered ``dict[str, ndarray]`` of the parameters θ (read-only arrays)."""
        return dict(self._params)

    @property
    def settings(self) -> dict:
        """Non-parameter constructor arguments (e.g. the activation of an MLP)."""
        return dict(self._settings)

    def replace(self, **new_params) -> "Energy":
        """Return a new model of the same kind with some parameters replaced."""
        p = _params.replace(self._params, **new_params)
        return type(self)(**p, **self._settings)

    def with_params(self, params: Mapping[str, np.ndarray]) -> "Energy":
        """Return a new model with the whole parameter dict replaced (same keys and shapes)."""
        p = _params.check_like(params, self._params)
        return type(self)(**p, **self._settings)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}{tuple(np.shape(v))}" for k, v in self._params.items())
        return f"{type(self).__name__}(dim={self.dim}, {shapes})"

    # ---------------------------------------------------------------- contract
    def _x(self, x, name: str = "x") -> np.ndarray:
        return as_batch(x, self.dim, name, allow_complex=self.supports_complex_step)

    def _xu(self, x, u, uname: str):
        x = self._x(x)
        u = as_batch(u, self.dim, uname)
        if u.shape != x.shape:
            raise ValueError(f"{uname}: expected shape {x.shape} to match x, got {u.shape}")
        return x, u

    def energy(self, x) -> np.ndarray:
        """E(x) for a batch ``x`` of shape ``(n, d)``; returns ``(n,)``."""
        return self._energy(self._x(x))

    def in_support(self, x) -> np.ndarray:
        r"""Mask ``(n,)``: which rows of ``x`` lie in the support, where :math:`E(x) < +\infty`.

        Outside the support :math:`p(x) = 0`, i.e. :math:`E(x) = +\infty`; a model with a
        bounded support (a Beta or Gamma energy) raises ``ValueError`` from ``energy`` there,
        and answers here instead, so that a sampler rejects a proposal outside without
        evaluating the energy at it.  Default: every point (override ``_in_support``).  A NaN
        coordinate is not "outside": it is a failure the sampler reports.
        """
        x = as_batch(x, self.dim, "x")
        return np.asarray(self._in_support(x), dtype=bool)

    def unnormalized_log_prob(self, x) -> np.ndarray:
        """The negative energy f(x) = −E(x) = log p(x) + log Z."""
        return -self.energy(x)

    def grad_x(self, x) -> np.ndarray:
        """∇ₓE(x), shape ``(n, d)``."""
        return self._grad_x(self._x(x))

    def score(self, x) -> np.ndarray:
        """Score s(x) = ∇ₓ log p(x) = −∇ₓE(x), shape ``(n, d)``; Z does not enter."""
        return -self.grad_x(x)

    def hessian_x(self, x) -> np.ndarray:
        """∇²ₓE(x), shape ``(n, d, d)``."""
        return self._hessian_x(self._x(x))

    def laplacian_x(self, x) -> np.ndarray:
        """tr ∇²ₓE(x), shape ``(n,)``."""
        return self._laplacian_x(self._x(x))

    def grad_params(self, x) -> dict:
        """∇θE(xₙ) for each point: dict of arrays of shape ``(n, *param.shape)``."""
        return self._grad_params(self._x(x))

    def grad_params_sum(self, x, weights=None) -> dict:
        """∇θ Σₙ wₙ E(xₙ) (w = 1 by default): a dict like ``params``."""
        x = self._x(x)
        if weights is None:
            w = np.ones(x.shape[0])
        else:
            w = as_float_array(weights, "weights")
            if w.shape != (x.shape[0],):
                raise ValueError(f"weights: expected shape ({x.shape[0]},), one per point, got {w.shape}")
            if not np.all(np.isfinite(w)):
                raise ValueError("weights: contains NaN or inf")
        return self._grad_params_sum(x, w)

    def grad_params_dot_grad_x(self, x, u) -> dict:
        """∇θ Σₙ uₙ·∇ₓE(xₙ) with u of shape ``(n, d)`` held fixed; a dict like ``params``."""
        x, u = self._xu(x, u, "u")
        return self._grad_params_dot_grad_x(x, u)

    def grad_params_laplacian(self, x) -> dict:
        """∇θ Σₙ tr ∇²ₓE(xₙ); a dict like ``params``."""
        return self._grad_params_laplacian(self._x(x))

    def grad_params_hvp(self, x, v) -> dict:
        """∇θ Σₙ vₙᵀ ∇²ₓE(xₙ) vₙ with v of shape ``(n, d)`` held fixed; a dict like ``params``."""
        x, v = self._xu(x, v, "v")
        return self._grad_params_hvp(x, v)

    def log_partition(self) -> float:
        """log Z, where it is known exactly.

        Raises ``NotImplementedError`` otherwise; use
        ``ebm_ref.partition.log_partition_quadrature`` (d ≤ 2),
        ``ebm_ref.partition.importance_sampling`` or ``ebm_ref.partition.ais``.
        """
        raise NotImplementedError(
            f"{type(self).__name__} has no closed-form log Z; estimate it with "
            "partition.log_partition_quadrature (d <= 2), partition.importance_sampling "
            "or partition.ais"
        )

    def log_prob(self, x) -> np.ndarray:
        """log p(x) = −E(x) − log Z (only where log Z is known exactly)."""
        return -self.energy(x) - self.log_partition()

    def grad_log_partition(self) -> dict:
        """∇θ log Z = −E_p[∇θE], a dict like ``params``, where it is known exactly.

        Raises ``NotImplementedError`` otherwise.
        """
        raise NotImplementedError(
            f"{type(self).__name__} has no closed-form grad_log_partition(); the Gaussian, the "
            "RBMs, BoltzmannMachine, ExpFamEnergy and Mixture have one; otherwise use "
            "objectives.mle with method='enumerate' or bounds=..., or contrastive divergence")

    def sample(self, n: int, rng) -> np.ndarray:
        """Exact samples, shape ``(n, d)``, where the model can draw them.

        Raises ``NotImplementedError`` otherwise.
        """
        raise NotImplementedError(
            f"{type(self).__name__} cannot draw exact samples; the Gaussian, GaussianMixture, "
            "WarpedGaussian, Mixture, the RBMs, BoltzmannMachine and ExpFamEnergy can; "
            "otherwise use ebm_ref.samplers (MCMC)")

    def hvp_x(self, x, v) -> np.ndarray:
        r"""Hessian-vector products :math:`\nabla_x^2E(x_n)\,v_n`, shape ``(n, d)``.

        The default uses the complex step on the gradient,
        :math:`\operatorname{Im}\nabla_xE(x + i h v)/h` with h = 1e-30 (exact to rounding
        for energies written with analytic operations, ``supports_complex_step``), and
        otherwise the full Hessian; models override ``_hvp_x`` where a cheaper form exists.
        """
        x, v = self._xu(x, v, "v")
        return self._hvp_x(x, v)

    # ----------------------------------------------------- default derivations
    def _in_support(self, x):
        return np.ones(x.shape[0], dtype=bool)

    def _energy(self, x):
        raise NotImplementedError(f"{type(self).__name__} does not define its energy")

    def _grad_x(self, x):
        raise NotImplementedError(f"{type(self).__name__} does not define grad_x")

    def _hessian_x(self, x):
        raise NotImplementedError(f"{type(self).__name__} does not define hessian_x")

    def _laplacian_x(self, x):
        return np.trace(self._hessian_x(x), axis1=1, axis2=2)

    def _hvp_x(self, x, v):
        if self.supports_complex_step:
            h = 1e-30
            out = np.asarray(self.grad_x(x + 1j * h * v))
            if np.iscomplexobj(out):
                return out.imag / h
        return np.einsum("nij,nj->ni", self._hessian_x(x), v)

    def _grad_params(self, x):
        raise NotImplementedError(f"{type(self).__name__} does not define grad_params")

    def _grad_params_sum(self, x, w):
        g = self._grad_params(x)
        return {k: np.tensordot(w, v, axes=(0, 0)) for k, v in g.items()}

    def _grad_params_dot_grad_x(self, x, u):
        raise NotImplementedError(f"{type(self).__name__} does not define grad_params_dot_grad_x")

    def _grad_params_laplacian(self, x):
        raise NotImplementedError(f"{type(self).__name__} does not define grad_params_laplacian")

    def _grad_params_hvp(self, x, v):
        raise NotImplementedError(f"{type(self).__name__} does not define grad_params_hvp")


# ------------------------------------------------------------------ protocols
@runtime_checkable
class Normalized(Protocol):
    """A normalized density: ``log_prob(x)`` of shape ``(n,)`` and ``sample(n, rng)`` of shape ``(n, d)``."""

    def log_prob(self, x) -> np.ndarray: ...

    def sample(self, n: int, rng) -> np.ndarray: ...


@runtime_checkable
class Trainable(Protocol):
    """A model an optimizer can step: ``params`` (dict of arrays) and ``with_params(params)``."""

    @property
    def params(self) -> dict: ...

    def with_params(self, params): ...


def has_capability(model, name: str) -> bool:
    """Whether ``model`` really provides the optional method ``name``.

    For an ``Energy`` the class must override the raising default declared on ``Energy``
    (``log_prob`` counts when either it or ``log_partition`` is overridden, since the
    default derives it from log Z); any other object has it when the attribute is callable.
    """
    if isinstance(model, Energy):
        cls = type(model)
        if name == "log_prob":
            return cls.log_prob is not Energy.log_prob or cls.log_partition is not Energy.log_partition
        if name not in CAPABILITIES:
            raise ValueError(f"name: expected one of {CAPABILITIES + ('log_prob',)}, got {name!r}")
        return getattr(cls, name) is not getattr(Energy, name)
    return callable(getattr(model, name, None))


def require_normalized(obj, name: str):
    """Check that ``obj`` keeps the ``Normalized`` protocol (``log_prob`` and ``sample``); return it.

    Raises
    ------
    ValueError
        Naming the argument ``name`` and the first missing method.
    """
    for method in ("log_prob", "sample"):
        if not has_capability(obj, method):
            raise ValueError(f"{name}: expected a normalized model with log_prob(x) and sample(n, rng); "
                             f"{type(obj).__name__} has no {method}()")
    return obj
