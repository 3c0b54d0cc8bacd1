r"""Energies built from other energies: product, mixture, temperature, labels.

In the energy convention (:math:`p \propto e^{-E}`):

* :class:`ProductOfExperts` — :math:`E = \sum_k E_k`, so :math:`p \propto \prod_k e^{-E_k}`:
  a point is likely only where *every* expert finds it likely (an intersection).
  :math:`Z` is not the product of the experts' Z; for Gaussian experts it is exact.
* :class:`Mixture` — :math:`p = \sum_k w_k p_k`, :math:`E = -\log\sum_k w_k e^{-E_k - \log Z_k}`:
  a point is likely where *any* component finds it likely (a union); :math:`Z = \sum_k w_k`.
* :class:`Tempered` — :math:`E/T`: T > 1 flattens, T < 1 sharpens; Z changes, ratios
  :math:`p(x)/p(x') = e^{(E(x') - E(x))/T}` do not need it.
* :class:`ConditionalEnergy` — :math:`E(x, y)` over K labels,
  :math:`p(y\mid x) = \operatorname{softmax}_y(-E(x, y))`, prediction
  :math:`\arg\min_y E(x, y)`; as an energy of x alone it is the label free energy
  :math:`E(x) = -\log\sum_y e^{-E(x, y)}`.

Parameters of a composite are those of its parts with keys prefixed by the part's
index: ``"0.mean"``, ``"1.precision"``, ...  Constructors take the parts and, as
keyword arguments with these keys, optional replacement values (this is how
``replace`` rebuilds a composite).
"""
from __future__ import annotations

import numpy as np

from .._validate import as_float_array, as_generator, check_positive
from ..energy import Energy, has_capability
from .gaussian import Gaussian

__all__ = ["ProductOfExperts", "Mixture", "Tempered", "ConditionalEnergy"]



# ------------------------------------------------------------------ helpers
def _check_parts(parts, name):
    parts = tuple(parts) if not isinstance(parts, Energy) else None
    if not parts:
        raise ValueError(f"{name}: expected a non-empty list of Energy models")
    for i, p in enumerate(parts):
        if not isinstance(p, Energy):
            raise ValueError(f"{name}[{i}]: expected an Energy, got {type(p).__name__}")
    dims = {p.dim for p in parts}
    if len(dims) != 1:
        raise ValueError(f"{name}: all parts must have the same dimension, got {[p.dim for p in parts]}")
    return parts


def _apply_overrides(parts, overrides, name):
    """Replace parameters of the parts from prefixed keys ``"i.key"``."""
    per = [dict() for _ in parts]
    for key, value in overrides.items():
        i, sep, k = key.partition(".")
        if not sep or not i.isdigit() or int(i) >= len(parts) or k not in parts[int(i)].params:
            raise ValueError(f"{name}: unknown parameter {key!r}; expected keys like '0.{next(iter(parts[0].params), 'name')}' "
                             f"naming a part (0..{len(parts) - 1}) and one of its parameters")
        per[int(i)][k] = value
    return tuple(p.replace(**kw) if kw else p for p, kw in zip(parts, per))


def _checked_by_parts(parts, x, name):
    """Run every part's own input check (a Gamma part's x > 0, an RBM part's binary units) on x.

    A composite calls its parts' private primitives, which skip those checks; its ``_x``
    runs them here, once per public call, so a point outside a part's domain is refused
    with that part's message instead of giving a NaN or a meaningless number.
    """
    for p in parts:
        p._x(x, name)
    return x


def _prefixed(parts):
    return {f"{i}.{k}": v for i, p in enumerate(parts) for k, v in p.params.items()}


def _merge(dicts):
    return {f"{i}.{k}": v for i, d in enumerate(dicts) for k, v in d.items()}


def _softmin(e):
    """For effective energies e (n, K): responsibilities r = softmax(−e) and E = −logsumexp(−e)."""
    m = np.min(e.real, axis=1, keepdims=True)
    t = np.exp(-(e - m))
    s = t.sum(axis=1, keepdims=True)
    return t / s, m[:, 0] - np.log(s[:, 0])


class _SoftMin(Energy):
    r"""Shared maths of :math:`E(x) = -\log\sum_k e^{-e_k(x)}`, :math:`e_k = E_k + c_k`.

    With responsibilities :math:`r_k = e^{-e_k}/\sum_j e^{-e_j}` and :math:`g_k = \nabla E_k`:

    .. math::

        \nabla E = \sum_k r_k g_k = \bar g,\qquad
        \nabla^2 E = \sum_k r_k \nabla^2 E_k - \sum_k r_k g_k g_k^\top + \bar g\bar g^\top,

        \Delta E = \sum_k r_k \Delta E_k - \sum_k r_k\lVert g_k\rVert^2 + \lVert\bar g\rVert^2,
        \qquad \nabla_{\theta_k} E = r_k\,\nabla_{\theta_k}(E_k + c_k).

    (Differentiate :math:`\nabla E = \sum r_k g_k` once more with
    :math:`\nabla r_k = -r_k(g_k - \bar g)`.)
    """

    def _x(self, x, name: str = "x") -> np.ndarray:
        return _checked_by_parts(self._parts, super()._x(x, name), name)

    def _offsets(self):
        return np.zeros(len(self._parts))

    def _grad_offsets(self, k):
        return None

    def _resp(self, x):
        e = np.stack([p._energy(x) for p in self._parts], axis=1) + self._offsets()
        return _softmin(e)

    def _energy(self, x):
        return self._resp(x)[1]

    def _grad_x(self, x):
        r, _ = self._resp(x)
        return sum(r[:, [k]] * p._grad_x(x) for k, p in enumerate(self._parts))

    def _hessian_x(self, x):
        r, _ = self._resp(x)
        gs = [p._grad_x(x) for p in self._parts]
        gbar = sum(r[:, [k]] * g for k, g in enumerate(gs))
        H = sum(r[:, k, None, None] * (p._hessian_x(x) - np.einsum("ni,nj->nij", g, g))
                for k, (p, g) in enumerate(zip(self._parts, gs)))
        return H + np.einsum("ni,nj->nij", gbar, gbar)

    def _laplacian_x(self, x):
        r, _ = self._resp(x)
        gs = [p._grad_x(x) for p in self._parts]
        gbar = sum(r[:, [k]] * g for k, g in enumerate(gs))
        lap = sum(r[:, k] * (p._laplacian_x(x) - np.sum(g * g, axis=1)) for k, (p, g) in enumerate(zip(self._parts, gs)))
        return lap + np.sum(gbar * gbar, axis=1)

    def _component_grads(self, x, r, per_point, w=None):
        out = {}
        for k, p in enumerate(self._parts):
            gl = self._grad_offsets(k)
            if per_point:
                g = p._grad_params(x)
                for key, v in g.items():
                    val = r[:, k].reshape((-1,) + (1,) * (v.ndim - 1)) * v
                    if gl is not None:
                        val = val + r[:, k].reshape((-1,) + (1,) * (v.ndim - 1)) * gl[key][None]
                    out[f"{k}.{key}"] = val
            else:
                rk = w * r[:, k]
                g = p._grad_params_sum(x, rk)
                for key, v in g.items():
                    out[f"{k}.{key}"] = v + (rk.sum() * gl[key] if gl is not None else 0.0)
        return out

    # ----------------------------------------- second-order parameter primitives
    # With ∂r_j/∂θ_k = −r_j(δ_jk − r_k) ∂e_k/∂θ_k, a quantity Q = Σ_k r_k A_k + (terms in ḡ)
    # has θ_k-gradient  −r_k (A_k − Ā) ∂e_k + r_k ∂A_k + (the ḡ terms' own chain rule).
    def _weights_grad(self, coef):
        return {}

    def _e_grads(self, x, coef):
        """Σ_n coef_nk ∇θ e_k(x_n) for every component k (and the weights, for a mixture)."""
        out = self._weights_grad(coef)
        for k, p in enumerate(self._parts):
            gl = self._grad_offsets(k)
            for key, v in p._grad_params_sum(x, coef[:, k]).items():
                out[f"{k}.{key}"] = v + (coef[:, k].sum() * gl[key] if gl is not None else 0.0)
        return out

    def _ordered(self, out):
        return {k: out[k] for k in self._params}

    @staticmethod
    def _acc(out, k, d):
        for key, v in d.items():
            out[f"{k}.{key}"] = out[f"{k}.{key}"] + v

    def _grad_params_dot_grad_x(self, x, u):
        r"""∇θ Σ u·∇E with ∇E = Σ r_k g_k, q_k = u·g_k, q̄ = Σ r_k q_k:
        θ_k-gradient = r_k ∇θ q_k − r_k (q_k − q̄) ∇θ e_k."""
        r, _ = self._resp(x)
        gs = [p._grad_x(x) for p in self._parts]
        q = np.stack([np.sum(u * g, axis=1) for g in gs], axis=1)
        qbar = np.sum(r * q, axis=1, keepdims=True)
        out = self._e_grads(x, -r * (q - qbar))
        for k, p in enumerate(self._parts):
            self._acc(out, k, p._grad_params_dot_grad_x(x, r[:, [k]] * u))
        return self._ordered(out)

    def _grad_params_laplacian(self, x):
        r"""ΔE = Σ r_k A_k + ‖ḡ‖², A_k = ΔE_k − ‖g_k‖²:
        θ_k-gradient = −r_k[(A_k − Ā) + 2ḡ·(g_k − ḡ)] ∇θe_k + r_k ∇θΔE_k + r_k (2ḡ − 2g_k)·∇θ g_k.
        The per-point weights r_k on ∇θΔE_k use Σ_i hvp(√r_k e_i), since the contract's
        grad_params_laplacian takes no weights (d calls)."""
        r, _ = self._resp(x)
        n, d = x.shape
        gs = [p._grad_x(x) for p in self._parts]
        gbar = sum(r[:, [k]] * g for k, g in enumerate(gs))
        A = np.stack([p._laplacian_x(x) - np.sum(g * g, axis=1) for p, g in zip(self._parts, gs)], axis=1)
        Abar = np.sum(r * A, axis=1, keepdims=True)
        cross = np.stack([np.sum(gbar * (g - gbar), axis=1) for g in gs], axis=1)
        out = self._e_grads(x, -r * ((A - Abar) + 2.0 * cross))
        for k, (p, g) in enumerate(zip(self._parts, gs)):
            sr = np.sqrt(r[:, k])
            for i in range(d):
                v = np.zeros((n, d))
                v[:, i] = sr
                self._acc(out, k, p._grad_params_hvp(x, v))
            self._acc(out, k, p._grad_params_dot_grad_x(x, r[:, [k]] * (2.0 * gbar - 2.0 * g)))
        return self._ordered(out)

    def _grad_params_hvp(self, x, v):
        r"""vᵀ∇²E v = Σ r_k B_k + q̄², B_k = vᵀ∇²E_k v − q_k², q_k = v·g_k:
        θ_k-gradient = −r_k[(B_k − B̄) + 2q̄(q_k − q̄)] ∇θe_k + r_k ∇θ(vᵀ∇²E_k v) + r_k(2q̄ − 2q_k) ∇θ q_k."""
        r, _ = self._resp(x)
        gs = [p._grad_x(x) for p in self._parts]
        q = np.stack([np.sum(v * g, axis=1) for g in gs], axis=1)
        h = np.stack([np.einsum("ni,nij,nj->n", v, p._hessian_x(x), v) for p in self._parts], axis=1)
        qbar = np.sum(r * q, axis=1, keepdims=True)
        B = h - q * q
        Bbar = np.sum(r * B, axis=1, keepdims=True)
        out = self._e_grads(x, -r * ((B - Bbar) + 2.0 * qbar * (q - qbar)))
        for k, p in enumerate(self._parts):
            self._acc(out, k, p._grad_params_hvp(x, np.sqrt(r[:, [k]]) * v))
            self._acc(out, k, p._grad_params_dot_grad_x(x, (r[:, [k]] * (2.0 * qbar[:, [0]] - 2.0 * q[:, [k]])) * v))
        return self._ordered(out)


# ------------------------------------------------------------------ product
class ProductOfExperts(Energy):
    r"""Product of experts: :math:`E(x) = \sum_k E_k(x)`, :math:`p \propto \prod_k e^{-E_k}`.

    Parameters
    ----------
    experts : sequence of Energy
        Of one dimension d.
    **params
        Optional replacement values under prefixed keys (``"0.mean"``, ...).

    Notes
    -----
    Every derivative is the sum of the experts' derivatives; ``grad_params`` and the
    second-order primitives are the experts' own, with keys prefixed by the index.

    Z of a product is not the product of the Z's.  For Gaussian experts
    :math:`E_k = \tfrac12 (x-\mu_k)^\top P_k (x-\mu_k)`, completing the square:

    .. math::

        \sum_k E_k = \tfrac12 (x-\mu)^\top P (x-\mu) + c,\qquad
        P = \sum_k P_k,\quad \mu = P^{-1}\sum_k P_k\mu_k,\quad
        c = \tfrac12\sum_k \mu_k^\top P_k\mu_k - \tfrac12 \mu^\top P\mu,

    so :math:`\log Z = \tfrac d2\log 2\pi - \tfrac12\log\det P - c`.  The cross term c
    is ≥ 0 and zero only when all means coincide: experts that disagree leave less mass.
    """

    def __init__(self, experts, **params):
        experts = _apply_overrides(_check_parts(experts, "experts"), params, "ProductOfExperts")
        super().__init__(experts[0].dim, _prefixed(experts), experts=experts)
        self._parts = experts
        self.supports_complex_step = all(getattr(e, "supports_complex_step", False) for e in experts)
        self.symmetric_params = tuple(f"{i}.{k}" for i, e in enumerate(experts) for k in getattr(e, "symmetric_params", ()))

    def _x(self, x, name: str = "x") -> np.ndarray:
        return _checked_by_parts(self._parts, super()._x(x, name), name)

    @property
    def experts(self) -> tuple:
        return self._parts

    def _energy(self, x):
        return sum(e._energy(x) for e in self._parts)

    def _grad_x(self, x):
        return sum(e._grad_x(x) for e in self._parts)

    def _hessian_x(self, x):
        return sum(e._hessian_x(x) for e in self._parts)

    def _laplacian_x(self, x):
        return sum(e._laplacian_x(x) for e in self._parts)

    def _grad_params(self, x):
        return _merge([e._grad_params(x) for e in self._parts])

    def _grad_params_sum(self, x, w):
        return _merge([e._grad_params_sum(x, w) for e in self._parts])

    def _grad_params_dot_grad_x(self, x, u):
        return _merge([e._grad_params_dot_grad_x(x, u) for e in self._parts])

    def _grad_params_laplacian(self, x):
        return _merge([e._grad_params_laplacian(x) for e in self._parts])

    def _grad_params_hvp(self, x, v):
        return _merge([e._grad_params_hvp(x, v) for e in self._parts])

    def as_gaussian(self) -> tuple:
        """For Gaussian experts: ``(Gaussian(μ, P), c)`` with Σ_k E_k = E_{μ,P} + c (see Notes)."""
        if not all(type(e) is Gaussian for e in self._parts):
            raise NotImplementedError("ProductOfExperts.as_gaussian: every expert must be a Gaussian; "
                                      "otherwise estimate log Z with partition.log_partition_quadrature (d <= 2) or partition.ais")
        P = sum(e.precision for e in self._parts)
        h = sum(e.precision @ e.mean for e in self._parts)
        mu = np.linalg.solve(P, h)
        c = 0.5 * sum(e.mean @ e.precision @ e.mean for e in self._parts) - 0.5 * mu @ P @ mu
        return Gaussian(mu, 0.5 * (P + P.T)), float(c)

    def log_partition(self) -> float:
        """Exact when every expert is a Gaussian: log Z = (d/2) log 2π − ½ log det P − c."""
        g, c = self.as_gaussian()
        return g.log_partition() - c


# ------------------------------------------------------------------ mixture
def _check_mixture(weights, components, overrides, check_sum):
    """Checked components (with prefixed overrides applied) and weights of a ``Mixture``."""
    comps = _check_parts(components, "components")
    overrides = dict(overrides)
    if "weights" in overrides:
        weights = overrides.pop("weights")
    comps = _apply_overrides(comps, overrides, "Mixture")
    w = as_float_array(weights, "weights")
    if w.shape != (len(comps),):
        raise ValueError(f"weights: expected shape ({len(comps)},), one per component, got {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ValueError(f"weights: must be finite and > 0, got {w}")
    if check_sum and abs(w.sum() - 1.0) > 1e-10:
        raise ValueError(f"weights: must sum to 1, got sum {w.sum():.12g}")
    return comps, w


class Mixture(_SoftMin):
    r"""Mixture of normalized models: :math:`p(x) = \sum_k w_k p_k(x)`.

    Parameters
    ----------
    weights : ndarray, shape (K,)
        :math:`w_k > 0`, summing to 1.
    components : sequence of Energy
        Normalized models: each must have an exact ``log_partition()``.
    **params
        Optional replacements: ``weights`` and prefixed component keys.

    Notes
    -----
    With :math:`e_k = E_k + \log Z_k - \log w_k` (so :math:`w_k p_k = e^{-e_k}`):

    .. math:: E(x) = -\log\sum_k e^{-e_k(x)},\qquad Z = \sum_k w_k = 1 .

    Derivatives: see the responsibilities formulas (class ``_SoftMin``);
    :math:`\partial E/\partial w_k = -r_k/w_k` and
    :math:`\nabla_{\theta_k}E = r_k(\nabla_{\theta_k}E_k + \nabla_{\theta_k}\log Z_k)`, the
    last from the component's ``grad_log_partition()`` (for a Gaussian mixture, 1/Σw for its
    weights and zero for its other parameters).
    The second-order parameter primitives are derived from the components' own (see
    ``_SoftMin``); a component without them raises ``NotImplementedError``.
    """

    def __init__(self, weights, components, **params):
        comps, w = _check_mixture(weights, components, params, check_sum=True)
        Energy.__init__(self, comps[0].dim, {"weights": w, **_prefixed(comps)}, components=comps)

    def _derive(self):
        comps = self._settings["components"]
        log_z = []
        for i, c in enumerate(comps):
            try:
                log_z.append(float(c.log_partition()))
            except NotImplementedError:
                raise ValueError(f"components[{i}]: a mixture needs normalized components with an exact "
                                 f"log_partition(); {type(c).__name__} has none") from None
        self._parts = comps
        self._log_z = np.array(log_z)
        self.supports_complex_step = all(getattr(c, "supports_complex_step", False) for c in comps)
        self.symmetric_params = tuple(f"{i}.{k}" for i, c in enumerate(comps) for k in getattr(c, "symmetric_params", ()))

    def replace(self, **new_params):
        # weights moved off the simplex (by a derivative check) are allowed here: the
        # formula does not use the constraint, and log Z = log Σ w_k stays exact.
        from .. import params as _p

        p = _p.replace(self._params, **new_params)
        comps, w = _check_mixture(p.pop("weights"), self._parts, p, check_sum=False)
        return type(self)._from_checked(self.dim, {"weights": w, **_prefixed(comps)}, components=comps)

    def with_params(self, params):
        from .. import params as _p

        return self.replace(**_p.check_like(params, self._params))

    @property
    def components(self) -> tuple:
        return self._parts

    @property
    def weights(self) -> np.ndarray:
        return self._params["weights"]

    def _offsets(self):
        return self._log_z - np.log(self._params["weights"])

    def _grad_offsets(self, k):
        c = self._parts[k]
        if has_capability(c, "grad_log_partition"):
            return c.grad_log_partition()
        raise NotImplementedError(f"Mixture: component {k} ({type(c).__name__}) has no grad_log_partition(), "
                                  "so the gradient in its parameters is not available")

    def _weights_grad(self, coef):
        return {"weights": -coef.sum(axis=0) / self._params["weights"]}

    def responsibilities(self, x) -> np.ndarray:
        r"""Posterior over components :math:`r_k(x) = w_k p_k(x)/p(x)`, shape (n, K)."""
        return self._resp(self._x(x))[0]

    def _grad_params(self, x):
        r, _ = self._resp(x)
        return {"weights": -r / self._params["weights"], **self._component_grads(x, r, True)}

    def _grad_params_sum(self, x, w):
        r, _ = self._resp(x)
        return {"weights": -(w @ r) / self._params["weights"], **self._component_grads(x, r, False, w)}

    def log_partition(self) -> float:
        """log Z = log Σ_k w_k (= 0 for weights on the simplex)."""
        return float(np.log(np.sum(self._params["weights"])))

    def grad_log_partition(self) -> dict:
        """∇θ log Z: 1/Σw for each weight, zero for the component parameters."""
        w = self._params["weights"]
        out = {"weights": np.full(w.shape, 1.0 / w.sum())}
        out.update({k: np.zeros_like(v) for k, v in self._params.items() if k != "weights"})
        return out

    def sample(self, n, rng) -> np.ndarray:
        """Exact samples when every component has ``sample``: k ~ Categorical(w), then x ~ p_k."""
        rng = as_generator(rng)
        w = self._params["weights"] / self._params["weights"].sum()
        k = rng.choice(len(self._parts), size=n, p=w)
        out = np.empty((n, self.dim))
        for j, c in enumerate(self._parts):
            idx = np.flatnonzero(k == j)
            if idx.size:
                out[idx] = c.sample(idx.size, rng)
        return out


# -------------------------------------------------------------- temperature
class Tempered(Energy):
    r"""Tempered energy :math:`E_T(x) = E(x)/T`, T > 0.

    Parameters
    ----------
    model : Energy
    T : float
        Temperature; the parameters θ are the model's (same keys), T is a setting.
    **params
        Optional replacements of the model's parameters.

    Notes
    -----
    Every derivative of the model is divided by T.  Density ratios need no Z:
    :math:`p_T(x)/p_T(x') = \exp\{(E(x') - E(x))/T\}`.  For a Gaussian model,
    :math:`E/T` is the Gaussian with precision P/T, so
    :math:`\log Z_T = \log Z + \tfrac d2\log T`; otherwise Z_T is not known.
    """

    def __init__(self, model, T, **params):
        if not isinstance(model, Energy):
            raise ValueError(f"model: expected an Energy, got {type(model).__name__}")
        T = check_positive(T, "T")
        if params:
            model = model.replace(**params)
        super().__init__(model.dim, model.params, model=model, T=T)
        self._model, self._T = model, T
        self.supports_complex_step = getattr(model, "supports_complex_step", False)
        self.symmetric_params = tuple(getattr(model, "symmetric_params", ()))

    def _x(self, x, name: str = "x") -> np.ndarray:
        return _checked_by_parts((self._model,), super()._x(x, name), name)

    @property
    def T(self) -> float:
        return self._T

    @property
    def model(self) -> Energy:
        return self._model

    def _scale(self, d):
        return {k: v / self._T for k, v in d.items()}

    def _energy(self, x):
        return self._model._energy(x) / self._T

    def _grad_x(self, x):
        return self._model._grad_x(x) / self._T

    def _hessian_x(self, x):
        return self._model._hessian_x(x) / self._T

    def _laplacian_x(self, x):
        return self._model._laplacian_x(x) / self._T

    def _grad_params(self, x):
        return self._scale(self._model._grad_params(x))

    def _grad_params_sum(self, x, w):
        return self._scale(self._model._grad_params_sum(x, w))

    def _grad_params_dot_grad_x(self, x, u):
        return self._scale(self._model._grad_params_dot_grad_x(x, u))

    def _grad_params_laplacian(self, x):
        return self._scale(self._model._grad_params_laplacian(x))

    def _grad_params_hvp(self, x, v):
        return self._scale(self._model._grad_params_hvp(x, v))

    def log_density_ratio(self, x, x_prime) -> np.ndarray:
        r""":math:`\log p_T(x) - \log p_T(x') = (E(x') - E(x))/T`, per pair of rows; Z cancels."""
        return self.energy(x_prime) - self.energy(x)

    def log_partition(self) -> float:
        """Exact for a Gaussian model: log Z + (d/2) log T."""
        if type(self._model) is Gaussian:
            return self._model.log_partition() + 0.5 * self.dim * np.log(self._T)
        return super().log_partition()


# -------------------------------------------------------------- conditional
class ConditionalEnergy(_SoftMin):
    r"""A joint energy :math:`E(x, y)` over K labels, :math:`E(x, y) = E_y(x)`.

    Parameters
    ----------
    energies : sequence of K Energy
        :math:`E_y` for y = 0..K−1, all of dimension d.  (A network with K outputs is
        K energies that share a trunk; here each label has its own model, which keeps
        every derivative the label model's own.)
    **params
        Optional replacements under prefixed keys ``"y.key"``.

    Notes
    -----
    .. math::

        p(y\mid x) = \frac{e^{-E(x,y)}}{\sum_{y'} e^{-E(x,y')}},\qquad
        \hat y(x) = \arg\min_y E(x, y) = \arg\max_y p(y\mid x).

    As an ``Energy`` of x alone it is the free energy of the label,
    :math:`E(x) = -\log\sum_y e^{-E(x,y)}`, so that :math:`p(x) \propto \sum_y e^{-E(x,y)}`
    is the marginal of the joint :math:`p(x, y)\propto e^{-E(x,y)}` (the "JEM" reading
    of a classifier, Grathwohl et al. 2020).  Its derivatives are the responsibility
    formulas with :math:`r_y = p(y\mid x)`, including the second-order parameter
    primitives.
    """

    def __init__(self, energies, **params):
        parts = _apply_overrides(_check_parts(energies, "energies"), params, "ConditionalEnergy")
        if len(parts) < 2:
            raise ValueError(f"energies: expected at least 2 labels, got {len(parts)}")
        super().__init__(parts[0].dim, _prefixed(parts), energies=parts)
        self._parts = parts
        self.supports_complex_step = all(getattr(p, "supports_complex_step", False) for p in parts)
        self.symmetric_params = tuple(f"{i}.{k}" for i, p in enumerate(parts) for k in getattr(p, "symmetric_params", ()))

    @property
    def n_labels(self) -> int:
        return len(self._parts)

    def _labels(self, y, n):
        y = np.asarray(y)
        if y.shape != (n,) or y.dtype.kind not in "iu" or np.any(y < 0) or np.any(y >= self.n_labels):
            raise ValueError(f"y: expected integer labels in 0..{self.n_labels - 1} of shape ({n},), got {y.dtype} {y.shape}")
        return y

    def energy_table(self, x) -> np.ndarray:
        """E(x, y) for every label, shape (n, K)."""
        x = self._x(x)
        return np.stack([p._energy(x) for p in self._parts], axis=1)

    def energy_xy(self, x, y) -> np.ndarray:
        """E(x_n, y_n), shape (n,)."""
        table = self.energy_table(x)
        y = self._labels(y, table.shape[0])
        return table[np.arange(table.shape[0]), y]

    def log_prob_y(self, x) -> np.ndarray:
        r""":math:`\log p(y\mid x) = -E(x,y) - \log\sum_{y'} e^{-E(x,y')}`, shape (n, K)."""
        table = self.energy_table(x)
        _, free = _softmin(table)
        return -table + free[:, None]

    def prob_y(self, x) -> np.ndarray:
        """p(y|x) = softmax(−E(x, ·)), shape (n, K); rows sum to 1."""
        return _softmin(self.energy_table(x))[0]

    def predict(self, x) -> np.ndarray:
        """argmin_y E(x, y), shape (n,) of ints."""
        return np.argmin(self.energy_table(x).real, axis=1)

    def _grad_params(self, x):
        r, _ = self._resp(x)
        return self._component_grads(x, r, True)

    def _grad_params_sum(self, x, w):
        r, _ = self._resp(x)
        return self._component_grads(x, r, False, w)
