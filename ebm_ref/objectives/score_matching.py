r"""Score matching, written as its derivation, and its variants.

Energy convention throughout: :math:`p_\theta(x) = e^{-E_\theta(x)}/Z(\theta)`, score
:math:`s_\theta(x) = \nabla_x\log p_\theta(x) = -\nabla_x E_\theta(x)` (Z drops out).
Where the lecture writes :math:`p = e^{f}/Z`, :math:`f = -E`.

The derivation, one function per line, each computing the same number:

1. :func:`fisher_divergence` — :math:`F = \tfrac12\mathbb E_{p}\|\nabla\log p(x) - s_\theta(x)\|^2`
   by quadrature (p is the data density, known here so that F can be computed);
2. :func:`fisher_divergence_expanded` — the square expanded:
   :math:`\tfrac12\mathbb E_p\|\nabla\log p\|^2 + \mathbb E_p[\nabla\log p\cdot\nabla_xE_\theta]
   + \tfrac12\mathbb E_p\|\nabla_xE_\theta\|^2`;
3. :func:`fisher_divergence_by_parts` — the cross term integrated by parts,
   :math:`\int\nabla p\cdot\nabla E_\theta = -\int p\,\Delta E_\theta` (boundary term
   :func:`boundary_term` dropped):
   :math:`F = \mathbb E_p[\tfrac12\|\nabla_xE_\theta\|^2 - \operatorname{tr}\nabla_x^2E_\theta] + C_p`,
   :math:`C_p = \tfrac12\mathbb E_p\|\nabla\log p\|^2` (:func:`data_constant`);
4. :func:`hyvarinen_objective` — the Monte Carlo form on samples,
   :math:`J(\theta) = \frac1n\sum_i \tfrac12\|\nabla_xE_\theta(x_i)\|^2 - \operatorname{tr}\nabla_x^2E_\theta(x_i)`
   (:func:`hyvarinen_expectation` is its exact expectation by quadrature).

Training losses, each ``(loss, grads)`` with ``grads`` a dict like ``model.params``:
:func:`loss` (Hyvärinen), :func:`sliced_loss` (Song et al. 2019),
:func:`denoising_loss` (Vincent 2011), :func:`multiscale_denoising_loss` (Song & Ermon
2019), :func:`nonnegative_loss` (data on :math:`[0,\infty)^d`, Hyvärinen 2007) and
:func:`ratio_matching_loss` (binary data, Hyvärinen 2007).  Parameter gradients go
through the model's second-order primitives (``grad_params_dot_grad_x``,
``grad_params_laplacian``, ``grad_params_hvp``), never through finite differences.

References
----------
A. Hyvärinen, "Estimation of non-normalized statistical models by score matching", JMLR 2005.
A. Hyvärinen, "Some extensions of score matching", Comput. Stat. Data Anal. 2007.
P. Vincent, "A connection between score matching and denoising autoencoders", Neural Comput. 2011.
Y. Song, S. Garg, J. Shi, S. Ermon, "Sliced score matching", UAI 2019.
Y. Song and S. Ermon, "Generative modeling by estimating gradients of the data distribution", NeurIPS 2019.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy.special import expit

from ..energy import Energy
from .._validate import as_batch, as_float_array, as_generator, check_binary, check_positive, check_positive_int
from ..numerics.quadrature import adaptive_quad, gauss_hermite, gauss_legendre_grid

__all__ = [
    # derivation of score matching
    "fisher_divergence",
    "kl_divergence_1d",
    "fisher_divergence_expanded",
    "fisher_divergence_by_parts",
    "data_constant",
    "boundary_term",
    "hyvarinen_pointwise",
    "hyvarinen_objective",
    "hyvarinen_expectation",
    # training losses
    "loss",
    "sliced_loss",
    "denoising_loss",
    "multiscale_denoising_loss",
    "NoiseConditional",
    "nonnegative_loss",
    "ratio_matching_loss",
    # derivations of the variants
    "sliced_pointwise",
    "denoising_expectation",
    "denoising_constant",
    "smoothed",
    "nonnegative_pointwise",
    "ratio_matching_pointwise",
    "ratio_matching_divergence",
    "ratio_matching_expanded",
    "ratio_matching_by_symmetry",
    "ratio_matching_expectation",
    "hvp_x",
    "objective",
    # score networks (note 12): a field that need not be a gradient
    "score_network_loss",
    "score_network_expectation",
    "score_field_fisher",
    # counting the work of the Laplacian (figure score_matching_cost)
    "tangent_multiply_adds",
]

#: Gauss–Legendre nodes per axis for 2-D quadrature (smooth densities vanishing at the box edges).
N_NODES_2D = 200
#: probabilists' Gauss–Hermite nodes for the noise integral of denoising score matching.
N_HERMITE = 120
#: relative accuracy asked of adaptive quadrature (scipy.integrate.quad) in 1-D.
QUAD_EPSREL = 1e-12


# ------------------------------------------------------------------ quadrature
def _data(x, d) -> np.ndarray:
    """A data batch for a loss (a mean over points): shape (n, d) with n ≥ 1, never empty."""
    x = as_batch(x, d, "x")
    if x.shape[0] == 0:
        raise ValueError(f"x: expected at least one data point, got shape {x.shape}; a loss is a mean over points")
    return x


def _bounds(bounds, d):
    b = as_float_array(bounds, "bounds")
    if b.ndim != 2 or b.shape[1] != 2 or b.shape[0] != d:
        raise ValueError(f"bounds: expected {d} (low, high) pair(s) for a {d}-D density, got {np.asarray(bounds).tolist()}")
    if not np.all(np.isfinite(b)):
        raise ValueError("bounds: must be finite (choose a box holding the mass)")
    if np.any(b[:, 0] >= b[:, 1]):
        raise ValueError(f"bounds: each low must be < high, got {b.tolist()}")
    if d not in (1, 2):
        raise ValueError(f"quadrature is offered in 1-D and 2-D only, got d = {d}")
    return b


def _integrate(fn, b):
    """∫_box fn(x) dx for fn mapping (m, d) → (m,): quad in 1-D, Gauss–Legendre grid in 2-D."""
    if b.shape[0] == 1:
        val, _ = adaptive_quad(lambda t: float(fn(np.array([[t]]))[0]), b[0, 0], b[0, 1],
                               epsabs=0.0, epsrel=QUAD_EPSREL, limit=400)
        return val
    pts, w = gauss_legendre_grid(b, N_NODES_2D)
    return float(np.sum(w * fn(pts)))


def _density(p_data, b):
    """x ↦ p_data(x), normalized (by its log Z if known, else by quadrature over the box)."""
    try:
        log_z = float(p_data.log_partition())
    except NotImplementedError:
        log_z = np.log(_integrate(lambda x: np.exp(-p_data.energy(x)), b))
    return lambda x: np.exp(-p_data.energy(x) - log_z)


def _expect(p_data, fn, bounds):
    b = _bounds(bounds, p_data.dim)
    p = _density(p_data, b)
    return _integrate(lambda x: p(x) * fn(x), b)


def _check_pair(p_data, model):
    for name, m in (("p_data", p_data), ("model", model)):
        if not isinstance(m, Energy):
            raise ValueError(f"{name}: expected an Energy, got {type(m).__name__}")
    if p_data.dim != model.dim:
        raise ValueError(f"model: dimension {model.dim} differs from p_data's {p_data.dim}")


# ------------------------------------------------------ the derivation, step by step
def fisher_divergence(p_data, model, bounds) -> float:
    r"""Step 1: :math:`F(p\,\|\,p_\theta) = \tfrac12\,\mathbb E_{p}\|\nabla_x\log p(x) - \nabla_x\log p_\theta(x)\|^2`.

    Parameters
    ----------
    p_data : Energy
        The data density p (its score is ``p_data.score``; normalized by its log Z, or by
        quadrature when that is not known).
    model : Energy
        :math:`p_\theta`, of the same dimension.
    bounds : sequence of (low, high)
        Box of integration (1-D: adaptive ``quad``; 2-D: tensor Gauss–Legendre).
    """
    _check_pair(p_data, model)
    return _expect(p_data, lambda x: 0.5 * np.sum((p_data.score(x) - model.score(x)) ** 2, axis=1), bounds)


def kl_divergence_1d(p, q, bounds) -> float:
    r""":math:`\mathrm{KL}(p\,\|\,q) = \int p(x)\,(\log p(x) - \log q(x))\,dx`, by adaptive quadrature on ``bounds``.

    The divergence score matching is compared with: beside :func:`fisher_divergence`, it sees
    the weights of separated modes that the Fisher divergence does not (note 07).

    Parameters
    ----------
    p, q : Energy
        Normalized 1-D densities with ``log_prob`` (a Gaussian, a Gaussian mixture).
    bounds : sequence of one (low, high)
        Interval holding the mass of p; it is split at 0 when 0 lies inside (the figures'
        mixtures are symmetric about 0).
    """
    _check_pair(p, q)
    (a, b), = _bounds(bounds, 1)
    if p.dim != 1:
        raise ValueError(f"p: expected a 1-D density, got dimension {p.dim}")

    def f(t):
        x = np.array([[t]])
        lp = float(p.log_prob(x)[0])
        return np.exp(lp) * (lp - float(q.log_prob(x)[0]))

    val, _ = adaptive_quad(f, a, b, epsabs=0.0, epsrel=1e-10, limit=400, points=[0.0] if a < 0.0 < b else None)
    return float(val)


def fisher_divergence_expanded(p_data, model, bounds, return_terms: bool = False):
    r"""Step 2: the square expanded into three terms (energy sign, :math:`s_\theta = -\nabla_xE`).

    .. math::

        F = \underbrace{\tfrac12\mathbb E_p\|\nabla\log p\|^2}_{C_p}
          + \underbrace{\mathbb E_p[\nabla\log p\cdot\nabla_x E_\theta]}_{\text{cross}}
          + \underbrace{\tfrac12\mathbb E_p\|\nabla_x E_\theta\|^2}_{\text{model}} .

    Only the cross term involves both the unknown data score and θ; it is the term
    integration by parts removes.  With ``return_terms`` returns ``(F, C_p, cross, model)``.
    """
    _check_pair(p_data, model)
    c = data_constant(p_data, bounds)
    cross = _expect(p_data, lambda x: np.sum(p_data.score(x) * model.grad_x(x), axis=1), bounds)
    quad = _expect(p_data, lambda x: 0.5 * np.sum(model.grad_x(x) ** 2, axis=1), bounds)
    total = c + cross + quad
    return (total, c, cross, quad) if return_terms else total


def data_constant(p_data, bounds) -> float:
    r""":math:`C_p = \tfrac12\mathbb E_p\|\nabla_x\log p\|^2`, the part of F that does not depend on θ."""
    return _expect(p_data, lambda x: 0.5 * np.sum(p_data.score(x) ** 2, axis=1), bounds)


def boundary_term(p_data, model, bounds) -> float:
    r"""What integration by parts drops, in 1-D: :math:`[\,p(x)\,E_\theta'(x)\,]_{a}^{b}`.

    .. math::

        \int_a^b p'(x)E_\theta'(x)\,dx = \big[p\,E_\theta'\big]_a^b - \int_a^b p\,E_\theta''\,dx .

    Score matching needs it to vanish: :math:`p(x)E'_\theta(x)\to 0` at both ends of the
    support.  On a box wide enough for Gaussian tails it is ~1e-30; on the half-line
    with p(0) > 0 (exponential data) it does not vanish, and plain score matching is
    then not the Fisher divergence (see :func:`nonnegative_loss`).
    """
    _check_pair(p_data, model)
    b = _bounds(bounds, p_data.dim)
    if b.shape[0] != 1:
        raise ValueError("boundary_term: offered for 1-D densities only")
    p = _density(p_data, b)
    ends = b[0][:, None]
    vals = p(ends) * model.grad_x(ends)[:, 0]
    return float(vals[1] - vals[0])


def fisher_divergence_by_parts(p_data, model, bounds) -> float:
    r"""Step 3: :math:`F = \mathbb E_p[\tfrac12\|\nabla_xE_\theta\|^2 - \operatorname{tr}\nabla_x^2E_\theta] + C_p`.

    The cross term of step 2 is :math:`\int\nabla p\cdot\nabla E_\theta\,dx` (because
    :math:`p\nabla\log p = \nabla p`); integrating each coordinate by parts,
    :math:`\int \partial_i p\,\partial_iE_\theta = [p\,\partial_iE_\theta] - \int p\,\partial_i^2E_\theta`,
    and the boundary term vanishes when :math:`p\,\partial_iE_\theta\to0` at the ends of
    every coordinate line.  The two model terms are integrated separately here.
    """
    _check_pair(p_data, model)
    quad = _expect(p_data, lambda x: 0.5 * np.sum(model.grad_x(x) ** 2, axis=1), bounds)
    lap = _expect(p_data, model.laplacian_x, bounds)
    return quad - lap + data_constant(p_data, bounds)


def hyvarinen_pointwise(model, x) -> np.ndarray:
    r"""Per point :math:`\tfrac12\|\nabla_xE_\theta(x)\|^2 - \operatorname{tr}\nabla_x^2E_\theta(x)`, shape (n,).

    In the lecture's f-sign (:math:`f=-E`): :math:`\tfrac12\|\nabla f\|^2 + \operatorname{tr}\nabla^2 f`.
    """
    x = as_batch(x, model.dim, "x")
    return 0.5 * np.sum(model.grad_x(x) ** 2, axis=1) - model.laplacian_x(x)


def hyvarinen_objective(model, x) -> float:
    r"""Step 4: the Monte Carlo form :math:`J(\theta) = \frac1n\sum_i \tfrac12\|\nabla_xE_\theta(x_i)\|^2 - \operatorname{tr}\nabla_x^2E_\theta(x_i)`.

    :math:`\mathbb E[J] = F - C_p`: minimizing J over θ minimizes the Fisher divergence.
    """
    return float(np.mean(hyvarinen_pointwise(model, _data(x, model.dim))))


def hyvarinen_expectation(p_data, model, bounds) -> float:
    r""":math:`\mathbb E_p[\tfrac12\|\nabla_xE_\theta\|^2 - \operatorname{tr}\nabla_x^2E_\theta]` by quadrature (= F − C_p)."""
    _check_pair(p_data, model)
    return _expect(p_data, lambda x: hyvarinen_pointwise(model, x), bounds)


# ------------------------------------------------------------------- the losses
def loss(model, x):
    r"""Hyvärinen's score matching loss and its parameter gradient.

    Parameters
    ----------
    model : Energy
    x : ndarray, shape (n, d)

    Returns
    -------
    loss : float
        :math:`J = \frac1n\sum_i \tfrac12\|g_i\|^2 - \operatorname{tr}\nabla_x^2E(x_i)`, :math:`g_i = \nabla_xE(x_i)`.
    grads : dict like ``model.params``

    Notes
    -----
    .. math::

        \nabla_\theta\,\tfrac12\|g\|^2 = \nabla_\theta\,(u\cdot\nabla_xE)\big|_{u=g\ \text{fixed}},

    so :math:`\nabla_\theta J = \frac1n[\texttt{grad\_params\_dot\_grad\_x}(x, g) - \texttt{grad\_params\_laplacian}(x)]`.
    """
    x = _data(x, model.dim)
    n = x.shape[0]
    g = model.grad_x(x)
    value = float(np.mean(0.5 * np.sum(g * g, axis=1) - model.laplacian_x(x)))
    a = model.grad_params_dot_grad_x(x, g)
    b = model.grad_params_laplacian(x)
    return value, {k: (a[k] - b[k]) / n for k in a}


def hvp_x(model, x, v) -> np.ndarray:
    r"""Hessian-vector products :math:`\nabla_x^2E(x_n)\,v_n`, shape (n, d).

    The model's own :meth:`ebm_ref.energy.Energy.hvp_x`: by default the complex step on the
    gradient, :math:`\operatorname{Im}\nabla_xE(x + i h v)/h` with h = 1e-30 (exact to
    rounding for energies written with analytic operations, ``supports_complex_step``),
    otherwise the full Hessian; a model overrides it where a cheaper form exists.
    """
    x = as_batch(x, model.dim, "x")
    v = as_batch(v, model.dim, "v")
    if v.shape != x.shape:
        raise ValueError(f"v: expected shape {x.shape} to match x, got {v.shape}")
    return np.asarray(model.hvp_x(x, v), dtype=np.float64)


def _projections(rng, shape, dist):
    if dist == "gaussian":
        return rng.standard_normal(shape)
    if dist == "rademacher":
        return rng.integers(0, 2, size=shape).astype(np.float64) * 2.0 - 1.0
    raise ValueError(f"dist: expected 'gaussian' or 'rademacher', got {dist!r}")


def sliced_pointwise(model, x, v) -> np.ndarray:
    r"""Per pair :math:`\tfrac12(v^\top\nabla_xE(x))^2 - v^\top\nabla_x^2E(x)\,v`, shape (n,)."""
    x = as_batch(x, model.dim, "x")
    a = np.sum(v * model.grad_x(x), axis=1)
    return 0.5 * a * a - np.sum(v * hvp_x(model, x, v), axis=1)


def sliced_loss(model, x, rng=None, n_projections: int = 1, dist: str = "gaussian", projections=None,
                variance_reduced: bool = False):
    r"""Sliced score matching: the trace replaced by random projections.

    Parameters
    ----------
    model : Energy
    x : ndarray, shape (n, d)
    rng : Generator or int
        Draws the projections (not needed when ``projections`` is given).
    n_projections : int
        m projections per data point.
    dist : {'gaussian', 'rademacher'}
        Distribution of v; both have :math:`\mathbb E[vv^\top] = I`.
    projections : ndarray, shape (m, d) or (n, m, d), optional
        Fixed projections instead of random ones; shape (m, d) uses the same m for
        every point.  With a set whose second moment is exactly I (e.g. :math:`\sqrt d\,e_i`,
        i = 1..d) the loss equals :func:`loss` exactly.
    variance_reduced : bool
        Replace :math:`\tfrac12(v^\top g)^2` by its expectation :math:`\tfrac12\|g\|^2`
        (the "SSM-VR" form; valid for any v with :math:`\mathbb E[vv^\top]=I`).

    Returns
    -------
    loss, grads

    Notes
    -----
    In the log-density form the objective is
    :math:`\mathbb E_x\mathbb E_v[\tfrac12(v^\top\nabla_x\log p_\theta)^2 + v^\top\nabla_x^2\log p_\theta\,v]`;
    in energy sign, with :math:`g = \nabla_xE`, :math:`H = \nabla_x^2E`,

    .. math::

        J_{\text{sliced}} = \mathbb E_x\mathbb E_v\big[\tfrac12 (v^\top g)^2 - v^\top H v\big],
        \qquad \mathbb E_v[(v^\top g)^2] = g^\top\mathbb E[vv^\top]g = \|g\|^2,\quad
        \mathbb E_v[v^\top Hv] = \operatorname{tr}(H\,\mathbb E[vv^\top]) = \operatorname{tr}H,

    so its expectation over v is Hyvärinen's J.  Cost: one gradient and one
    Hessian-vector product per projection instead of d of them for the trace.
    Gradients: :math:`\nabla_\theta\tfrac12(v^\top g)^2 = \nabla_\theta[u\cdot g]` with
    :math:`u = (v^\top g)v` fixed (``grad_params_dot_grad_x``), and
    :math:`\nabla_\theta v^\top Hv` from ``grad_params_hvp``.
    """
    x = _data(x, model.dim)
    n, d = x.shape
    if projections is None:
        n_projections = check_positive_int(n_projections, "n_projections")
        if dist not in ("gaussian", "rademacher"):
            raise ValueError(f"dist: expected 'gaussian' or 'rademacher', got {dist!r}")
        rng = as_generator(rng)
        v = _projections(rng, (n, n_projections, d), dist)
    else:
        v = as_float_array(projections, "projections")
        if v.ndim == 2 and v.shape[1] == d:
            v = np.broadcast_to(v, (n,) + v.shape)
        if v.ndim != 3 or v.shape[0] != n or v.shape[2] != d or v.shape[1] == 0:
            raise ValueError(f"projections: expected shape (m, {d}) or ({n}, m, {d}), got {np.shape(projections)}")
        if not np.all(np.isfinite(v)):
            raise ValueError("projections: contains NaN or inf")
    m = v.shape[1]
    xr = np.repeat(x, m, axis=0)
    vr = v.reshape(n * m, d)
    g = model.grad_x(x)
    gr = np.repeat(g, m, axis=0)
    a = np.sum(vr * gr, axis=1)                                   # vᵀg
    vhv = np.sum(vr * hvp_x(model, xr, vr), axis=1)               # vᵀHv
    hv_grad = model.grad_params_hvp(xr, vr)
    if variance_reduced:
        value = float(np.mean(0.5 * np.sum(g * g, axis=1)) - np.mean(vhv))
        first = model.grad_params_dot_grad_x(x, g)
        return value, {k: first[k] / n - hv_grad[k] / (n * m) for k in first}
    value = float(np.mean(0.5 * a * a - vhv))
    first = model.grad_params_dot_grad_x(xr, a[:, None] * vr)
    return value, {k: (first[k] - hv_grad[k]) / (n * m) for k in first}


def denoising_loss(model, x, sigma, rng=None, noise=None):
    r"""Denoising score matching (Vincent 2011) at noise level σ.

    Parameters
    ----------
    model : Energy
    x : ndarray, shape (n, d)
        Clean data.
    sigma : float
        Noise standard deviation σ > 0.
    rng : Generator or int
        Draws ε ~ N(0, I) (not needed when ``noise`` is given).
    noise : ndarray, shape (n, d), optional
        Fixed standard-normal draws ε, for reproducible checks.

    Returns
    -------
    loss, grads

    Notes
    -----
    With :math:`\tilde x = x + \sigma\varepsilon`, :math:`q(\tilde x\mid x) = \mathcal N(x, \sigma^2 I)`,
    :math:`\nabla_{\tilde x}\log q(\tilde x\mid x) = -(\tilde x - x)/\sigma^2 = -\varepsilon/\sigma`:

    .. math::

        \ell = \tfrac12\big\|s_\theta(\tilde x) + (\tilde x - x)/\sigma^2\big\|^2
             = \tfrac12\big\|\nabla_xE_\theta(\tilde x) - \varepsilon/\sigma\big\|^2 .

    Its expectation is the Fisher divergence between :math:`p_\theta` and the smoothed
    data density :math:`q_\sigma = p * \mathcal N(0,\sigma^2 I)` plus a constant
    (:func:`denoising_expectation`, :func:`denoising_constant`).  Gradient: with
    :math:`r = \nabla_xE(\tilde x) - \varepsilon/\sigma` held fixed,
    :math:`\nabla_\theta\ell = \nabla_\theta[r\cdot\nabla_xE(\tilde x)]` (``grad_params_dot_grad_x``).
    """
    x = _data(x, model.dim)
    sigma = check_positive(sigma, "sigma")
    if noise is None:
        eps = as_generator(rng).standard_normal(x.shape)
    else:
        eps = as_batch(noise, model.dim, "noise")
        if eps.shape != x.shape:
            raise ValueError(f"noise: expected shape {x.shape} to match x, got {eps.shape}")
    xt = x + sigma * eps
    r = model.grad_x(xt) - eps / sigma
    value = float(np.mean(0.5 * np.sum(r * r, axis=1)))
    gp = model.grad_params_dot_grad_x(xt, r)
    return value, {k: v / x.shape[0] for k, v in gp.items()}


def denoising_expectation(p_data, model, sigma, bounds) -> float:
    r""":math:`\mathbb E_{x\sim p}\mathbb E_{\varepsilon}\,\tfrac12\|\nabla_xE_\theta(x+\sigma\varepsilon) - \varepsilon/\sigma\|^2`, exactly (1-D).

    Quadrature over x (adaptive ``quad``) and probabilists' Gauss–Hermite over ε.
    """
    _check_pair(p_data, model)
    sigma = check_positive(sigma, "sigma")
    if p_data.dim != 1:
        raise ValueError("denoising_expectation: offered for 1-D densities only")
    t, w = gauss_hermite(N_HERMITE)                    # E_ε g(ε) ≈ Σ_j w_j g(t_j)

    def inner(x):  # x: (k, 1) → (k,)
        xt = (x[:, None, 0] + sigma * t[None, :]).reshape(-1, 1)
        r = model.grad_x(xt)[:, 0].reshape(x.shape[0], -1) - t[None, :] / sigma
        return 0.5 * (r * r) @ w

    return _expect(p_data, inner, bounds)


def denoising_constant(p_data, sigma, bounds) -> float:
    r"""The constant between denoising and explicit score matching on :math:`q_\sigma`.

    .. math::

        J_{\text{DSM}}(\theta) = F(q_\sigma\,\|\,p_\theta) + \frac{d}{2\sigma^2} - \tfrac12\mathbb E_{q_\sigma}\|\nabla\log q_\sigma\|^2 ,

    because :math:`\mathbb E_{q_\sigma}[s_\theta\cdot\nabla\log q_\sigma]
    = \int s_\theta\cdot\nabla q_\sigma = \iint p(x)\,s_\theta(\tilde x)\cdot\nabla_{\tilde x}q(\tilde x|x)
    = \mathbb E_{p,q}[s_\theta(\tilde x)\cdot\nabla\log q(\tilde x|x)]` (the cross terms are
    equal) and :math:`\mathbb E\|\nabla\log q(\tilde x|x)\|^2 = \mathbb E\|\varepsilon\|^2/\sigma^2 = d/\sigma^2`.
    ``p_data`` here is the smoothed density :math:`q_\sigma` itself (see :func:`smoothed`).
    """
    sigma = check_positive(sigma, "sigma")
    return 0.5 * p_data.dim / sigma**2 - data_constant(p_data, bounds)


def smoothed(p_data, sigma):
    r"""The smoothed density :math:`q_\sigma = p * \mathcal N(0, \sigma^2 I)` in closed form.

    Offered for a ``Gaussian`` (covariance Σ + σ²I) and a ``GaussianMixture`` (each
    component's covariance + σ²I).
    """
    from ..models.gaussian import Gaussian, GaussianMixture

    sigma = check_positive(sigma, "sigma")
    if isinstance(p_data, Gaussian):
        return Gaussian.from_covariance(p_data.mean, p_data.covariance + sigma**2 * np.eye(p_data.dim))
    if isinstance(p_data, GaussianMixture):
        p = p_data.params
        return GaussianMixture(p["weights"], p["means"], p["covariances"] + sigma**2 * np.eye(p_data.dim))
    raise ValueError(f"p_data: the smoothed density is known in closed form for Gaussian and GaussianMixture, "
                     f"got {type(p_data).__name__}")


class NoiseConditional:
    r"""A noise-conditional score model: one energy :math:`E_l` per noise level :math:`\sigma_l`.

    Parameters
    ----------
    models : sequence of Energy
        :math:`E_1..E_L`, all of one dimension; :math:`s(x, \sigma_l) = -\nabla_xE_l(x)`.
    sigmas : sequence of float
        :math:`\sigma_1 > \sigma_2 > \dots > \sigma_L > 0` (largest first, the order
        annealed Langevin visits them).

    Notes
    -----
    ``params`` is one flat dict with keys ``"<level>/<name>"`` so that :func:`ebm_ref.train.fit`
    trains all levels at once; ``with_params`` splits it back.  Annealed Langevin samples
    by running Langevin on ``level(0)``, then ``level(1)`` from where it stopped, and so on.
    """

    def __init__(self, models: Sequence, sigmas):
        models = tuple(models)
        sig = as_float_array(sigmas, "sigmas")
        if sig.ndim != 1 or sig.size == 0 or not np.all(np.isfinite(sig)) or np.any(sig <= 0):
            raise ValueError(f"sigmas: expected a non-empty 1-D array of finite values > 0, got {np.asarray(sigmas).tolist()}")
        if np.any(np.diff(sig) >= 0):
            raise ValueError(f"sigmas: must be strictly decreasing (largest first), got {sig.tolist()}")
        if len(models) != sig.size:
            raise ValueError(f"models: expected one energy per noise level ({sig.size}), got {len(models)}")
        dims = {getattr(m, "dim", None) for m in models}
        if len(dims) != 1 or None in dims:
            raise ValueError(f"models: all energies must have one dimension, got {sorted(map(str, dims))}")
        self.models = models
        self.sigmas = sig
        self.dim = dims.pop()

    @property
    def params(self) -> dict:
        return {f"{l}/{k}": v for l, m in enumerate(self.models) for k, v in m.params.items()}

    def with_params(self, params) -> "NoiseConditional":
        new = []
        for l, m in enumerate(self.models):
            keys = list(m.params)
            new.append(m.with_params({k: params[f"{l}/{k}"] for k in keys}))
        return NoiseConditional(new, self.sigmas)

    def level(self, l: int):
        """The energy of noise level l."""
        return self.models[l]

    def score(self, x, l: int) -> np.ndarray:
        """:math:`s(x, \\sigma_l) = -\\nabla_x E_l(x)`."""
        return self.models[l].score(x)

    def score_at_sigma(self, x, sigma: float) -> np.ndarray:
        """The score of the level whose σ equals ``sigma``: the ``score_fn(x, sigma)`` that
        ``ebm_ref.samplers.annealed_langevin`` takes."""
        hit = np.flatnonzero(np.isclose(self.sigmas, float(sigma), rtol=1e-12, atol=0.0))
        if hit.size != 1:
            raise ValueError(f"sigma: {sigma!r} is not one of the noise levels {self.sigmas.tolist()}")
        return self.models[int(hit[0])].score(x)


def multiscale_denoising_loss(model, x, sigmas=None, rng=None, weights=None, shared_energy=False):
    r"""Denoising score matching summed over noise levels (Song & Ermon 2019).

    Parameters
    ----------
    model : NoiseConditional or Energy
        One energy per level (a :class:`NoiseConditional`), or — only with
        ``shared_energy=True`` — a single Energy used at every level (then ``sigmas`` is
        required).
    x : ndarray, shape (n, d)
    sigmas : sequence of float, optional
        Noise levels; taken from the ``NoiseConditional`` when omitted.
    rng : Generator or int
    weights : sequence of float, optional
        :math:`\lambda_l`; default :math:`\sigma_l^2`, which makes every level's term of
        order one (the DSM target :math:`\varepsilon/\sigma` has size :math:`1/\sigma`).
    shared_energy : bool
        Must be ``True`` to pass a single Energy.  Such an energy ignores σ: it has one score
        :math:`-\nabla_xE` at every level, so it cannot match every :math:`\nabla\log q_{\sigma_l}`
        and the sum is minimized by a compromise between the levels (for Gaussian data
        :math:`\mathcal N(0, s^2)` and :math:`E = \tfrac12Px^2`,
        :math:`P^* = \sum_l\lambda_l / \sum_l\lambda_l(s^2+\sigma_l^2)`), not by any
        level's smoothed score.  The flag makes that choice explicit.

    Notes
    -----
    .. math::

        L = \frac1L\sum_{l} \lambda_l\, \mathbb E\,\tfrac12\|\nabla_xE_l(x+\sigma_l\varepsilon) - \varepsilon/\sigma_l\|^2 .

    Every point is noised at every level (rather than one random level per point):
    the same expectation with less variance.
    """
    if isinstance(model, NoiseConditional):
        sig = model.sigmas if sigmas is None else as_float_array(sigmas, "sigmas")
        if sig.shape != model.sigmas.shape or np.any(sig != model.sigmas):
            raise ValueError("sigmas: must equal the NoiseConditional's own sigmas (or be omitted)")
        levels = list(model.models)
    else:
        if sigmas is None:
            raise ValueError("sigmas: required when model is a single Energy")
        sig = as_float_array(sigmas, "sigmas")
        if sig.ndim != 1 or sig.size == 0 or not np.all(np.isfinite(sig)) or np.any(sig <= 0):
            raise ValueError(f"sigmas: expected a non-empty 1-D array of values > 0, got {np.asarray(sigmas).tolist()}")
        levels = [model] * sig.size
    L = sig.size
    if weights is None:
        lam = sig**2
    else:
        lam = as_float_array(weights, "weights", shape=(L,))
        if not np.all(np.isfinite(lam)) or np.any(lam < 0):
            raise ValueError(f"weights: expected {L} finite values >= 0, got {lam.tolist()}")
    if not isinstance(model, NoiseConditional) and not shared_energy:
        raise ValueError("model: a single Energy ignores sigma, so it has one score at every noise level and "
                         "fits a compromise between the levels, not the score of each smoothed density; pass a "
                         "NoiseConditional (one energy per level), or shared_energy=True to fit the compromise")
    rng = as_generator(rng)
    total = 0.0
    grads = {k: np.zeros(np.shape(v)) for k, v in model.params.items()}
    for l in range(L):
        val, g = denoising_loss(levels[l], x, sig[l], rng)
        total += lam[l] * val / L
        for k, v in g.items():
            key = f"{l}/{k}" if isinstance(model, NoiseConditional) else k
            grads[key] = grads[key] + lam[l] * v / L
    return float(total), grads


def nonnegative_pointwise(model, x) -> np.ndarray:
    r"""Per point :math:`\sum_i -2x_i\partial_iE - x_i^2\partial_i^2E + \tfrac12x_i^2(\partial_iE)^2`, shape (n,)."""
    x = as_batch(x, model.dim, "x")
    g = model.grad_x(x)
    hdiag = np.diagonal(model.hessian_x(x), axis1=1, axis2=2)
    return np.sum(-2.0 * x * g - x * x * hdiag + 0.5 * x * x * g * g, axis=1)


def nonnegative_loss(model, x):
    r"""Score matching for data on :math:`[0,\infty)^d` (Hyvärinen 2007).

    Parameters
    ----------
    model : Energy
    x : ndarray, shape (n, d), entries >= 0

    Returns
    -------
    loss, grads

    Notes
    -----
    Replace :math:`\partial_i` by :math:`x_i\partial_i` in the Fisher divergence,
    :math:`\tfrac12\mathbb E_p\sum_i x_i^2(\partial_i\log p - \partial_i\log p_\theta)^2`.
    The cross term integrates by parts against :math:`x_i^2\partial_i\log p_\theta`:
    :math:`\int x_i^2\,\partial_ip\,\partial_i\log p_\theta = [x_i^2 p\,\partial_i\log p_\theta]_0^\infty
    - \int p\,\partial_i(x_i^2\partial_i\log p_\theta)`, and the factor :math:`x_i^2` kills
    the boundary term at 0 even when p(0) > 0.  What remains, with
    :math:`\psi_i = \partial_i\log p_\theta = -\partial_iE`:

    .. math::

        J = \mathbb E_p\sum_i \big[2x_i\psi_i + x_i^2\partial_i\psi_i + \tfrac12x_i^2\psi_i^2\big]
          = \mathbb E_p\sum_i\big[-2x_i\partial_iE - x_i^2\partial_i^2E + \tfrac12 x_i^2(\partial_iE)^2\big].

    Gradients (g = ∇ₓE): :math:`\nabla_\theta\sum_i[-2x_ig_i + \tfrac12x_i^2g_i^2]
    = \nabla_\theta[u\cdot\nabla_xE]` with :math:`u = -2x + x^2\odot g` held fixed
    (``grad_params_dot_grad_x``); the middle term is
    :math:`-\sum_i\nabla_\theta\,(x_ie_i)^\top\nabla_x^2E\,(x_ie_i)` (``grad_params_hvp``
    with :math:`v = x_ie_i`, one row per coordinate).
    """
    x = _data(x, model.dim)
    if np.any(x < 0):
        raise ValueError(f"x: the non-negative variant needs data in [0, inf), found values such as {x[x < 0][:3].tolist()}")
    n, d = x.shape
    g = model.grad_x(x)
    xr = np.repeat(x, d, axis=0)                                   # row (j, i): x_j
    vr = (xr * np.tile(np.eye(d), (n, 1)))                         # v = x_{j,i} e_i
    # Σ_i x_i² ∂_i²E as d Hessian-vector products (no d×d Hessian is formed)
    diag_term = np.sum(vr * hvp_x(model, xr, vr), axis=1).reshape(n, d).sum(axis=1)
    value = float(np.mean(np.sum(-2.0 * x * g + 0.5 * x * x * g * g, axis=1) - diag_term))
    first = model.grad_params_dot_grad_x(x, -2.0 * x + x * x * g)
    second = model.grad_params_hvp(xr, vr)
    return value, {k: (first[k] - second[k]) / n for k in first}


# ------------------------------------------------------------------ ratio matching
def _flips(x):
    """All one-bit flips: row (j, i) is x_j with bit i flipped; shape (n·d, d)."""
    n, d = x.shape
    xr = np.repeat(x, d, axis=0)
    eye = np.tile(np.eye(d), (n, 1))
    return xr + eye - 2.0 * xr * eye


def ratio_matching_pointwise(model, x) -> np.ndarray:
    r"""Per point :math:`\sum_i g\big(p_\theta(x)/p_\theta(x^{(i)})\big)^2 = \sum_i\sigma(E(x) - E(x^{(i)}))^2`, shape (n,)."""
    x = check_binary(as_batch(x, model.dim, "x"), "x")
    n, d = x.shape
    delta = model.energy(x)[:, None] - model.energy(_flips(x)).reshape(n, d)
    return np.sum(expit(delta) ** 2, axis=1)


def ratio_matching_loss(model, x, weights=None):
    r"""Ratio matching for binary data (Hyvärinen 2007).

    Parameters
    ----------
    model : Energy on {0,1}^d
    x : ndarray, shape (n, d), entries 0 or 1
    weights : ndarray, shape (n,), optional
        Non-negative weights summing to 1 in place of the empirical 1/n (e.g. the exact
        data probabilities over every state, for the population version).

    Returns
    -------
    loss, grads

    Notes
    -----
    With :math:`x^{(i)}` = x with bit i flipped and :math:`g(u) = 1/(1+u)`,

    .. math::

        J = \mathbb E_p\sum_i g\!\left(\frac{p_\theta(x)}{p_\theta(x^{(i)})}\right)^{\!2}
          = \mathbb E_p\sum_i \sigma\big(\delta_i\big)^2,\qquad \delta_i = E(x) - E(x^{(i)}),

    because :math:`p_\theta(x)/p_\theta(x^{(i)}) = e^{-\delta_i}` (Z cancels in the ratio)
    and :math:`1/(1+e^{-\delta}) = \sigma(\delta)`.  Gradient:
    :math:`\partial_{\delta}\sigma(\delta)^2 = 2\sigma^2(1-\sigma)`, so
    :math:`\nabla_\theta J = \frac1n\sum_{j,i} 2\sigma_{ji}^2(1-\sigma_{ji})\,[\nabla_\theta E(x_j) - \nabla_\theta E(x_j^{(i)})]`
    (``grad_params_sum`` at the data and at the flipped points).  The derivation from
    a divergence is :func:`ratio_matching_divergence` → :func:`ratio_matching_by_symmetry`.
    """
    x = check_binary(_data(x, model.dim), "x")
    n, d = x.shape
    if weights is None:
        pw = np.full(n, 1.0 / n)
    else:
        pw = as_float_array(weights, "weights", shape=(n,))
        if not np.all(np.isfinite(pw)) or np.any(pw < 0) or abs(pw.sum() - 1.0) > 1e-10:
            raise ValueError(f"weights: expected {n} finite values >= 0 summing to 1")
    xf = _flips(x)
    delta = model.energy(x)[:, None] - model.energy(xf).reshape(n, d)
    s = expit(delta)
    w = 2.0 * s * s * expit(-delta) * pw[:, None]                  # dσ²/dδ = 2σ²(1−σ), times the point's weight
    value = float(pw @ np.sum(s * s, axis=1))
    at_x = model.grad_params_sum(x, w.sum(axis=1))
    at_flip = model.grad_params_sum(xf, w.reshape(-1))
    return value, {k: at_x[k] - at_flip[k] for k in at_x}


def _binary_table(p_data, model):
    from ..partition import MAX_ENUMERATE_DIM, enumerate_states

    _check_pair(p_data, model)
    d = model.dim
    if d > MAX_ENUMERATE_DIM:
        raise ValueError(f"model: enumeration of 2^{d} states is refused (at most 2^{MAX_ENUMERATE_DIM})")
    X = enumerate_states(d)
    Ed = p_data.energy(X)
    pd = np.exp(-(Ed - Ed.min()))
    pd /= pd.sum()
    flips = _flips(X)
    Edf = p_data.energy(flips).reshape(-1, d)
    gd = expit(Ed[:, None] - Edf)                                  # g(p(x)/p(x^(i)))
    gm = expit(model.energy(X)[:, None] - model.energy(flips).reshape(-1, d))
    pdf = np.exp(-(Edf - Ed.min())) / np.exp(-(Ed - Ed.min())).sum()   # p(x^(i))
    return pd, pdf, gd, gm


def ratio_matching_divergence(p_data, model) -> float:
    r"""Step 1 (enumeration): :math:`D = \sum_x p(x)\sum_i\big[g(\tfrac{p(x)}{p(x^{(i)})}) - g(\tfrac{p_\theta(x)}{p_\theta(x^{(i)})})\big]^2`."""
    pd, _, gd, gm = _binary_table(p_data, model)
    return float(pd @ np.sum((gd - gm) ** 2, axis=1))


def ratio_matching_expanded(p_data, model) -> float:
    r"""Step 2: the square expanded, :math:`\sum_x p\sum_i [g_p^2 - 2g_pg_\theta + g_\theta^2]`."""
    pd, _, gd, gm = _binary_table(p_data, model)
    return float(pd @ np.sum(gd**2, axis=1) - 2.0 * pd @ np.sum(gd * gm, axis=1) + pd @ np.sum(gm**2, axis=1))


def ratio_matching_by_symmetry(p_data, model) -> float:
    r"""Step 3: the cross term does not depend on θ.

    :math:`p(x)\,g(p(x)/p(x^{(i)})) = \frac{p(x)p(x^{(i)})}{p(x)+p(x^{(i)})} =: c_i(x)` is
    symmetric under :math:`x\leftrightarrow x^{(i)}`, and :math:`g(u) + g(1/u) = 1`, so
    pairing x with :math:`x^{(i)}`:
    :math:`\sum_x c_i(x)\,g_\theta(x, i) = \tfrac12\sum_x c_i(x)`.  Hence
    :math:`D = \mathbb E_p\sum_i g_\theta^2 + \big[\mathbb E_p\sum_i g_p^2 - \sum_x\sum_i c_i(x)\big]`.
    """
    pd, pdf, gd, gm = _binary_table(p_data, model)
    c = pd[:, None] * pdf / (pd[:, None] + pdf)
    const = float(pd @ np.sum(gd**2, axis=1) - np.sum(c))
    return float(pd @ np.sum(gm**2, axis=1)) + const


def ratio_matching_expectation(p_data, model) -> float:
    r"""Step 4: :math:`\mathbb E_p[\,\sum_i\sigma(E(x)-E(x^{(i)}))^2\,]` by enumeration (what the loss estimates)."""
    from ..partition import enumerate_states

    pd, _, _, _ = _binary_table(p_data, model)
    return float(pd @ ratio_matching_pointwise(model, enumerate_states(model.dim)))


def objective(kind: str = "exact", **kwargs):
    """A loss in the form ``fit`` takes, ``f(model, x, rng) -> (loss, grads)``.

    ``kind`` is 'exact' (:func:`loss`), 'sliced', 'denoising', 'multiscale',
    'nonnegative' or 'ratio'; ``kwargs`` go to that loss (e.g. ``sigma=0.1``).
    """
    table = {
        "exact": lambda m, x, r: loss(m, x, **kwargs),
        "sliced": lambda m, x, r: sliced_loss(m, x, rng=r, **kwargs),
        "denoising": lambda m, x, r: denoising_loss(m, x, rng=r, **kwargs),
        "multiscale": lambda m, x, r: multiscale_denoising_loss(m, x, rng=r, **kwargs),
        "nonnegative": lambda m, x, r: nonnegative_loss(m, x, **kwargs),
        "ratio": lambda m, x, r: ratio_matching_loss(m, x, **kwargs),
    }
    if kind not in table:
        raise ValueError(f"kind: expected one of {list(table)}, got {kind!r}")
    return table[kind]


# ------------------------------------------------ score networks (no energy)
def score_network_loss(net, x, sigmas, rng=None, weights=None, noise=None):
    r"""Denoising score matching at several noise levels for a network that outputs the score.

    Parameters
    ----------
    net : ebm_ref.models.ScoreNetwork
        :math:`s_\theta(x, \sigma)`, noise-conditional, with no energy behind it.
    x : ndarray, shape (n, d)
        Clean data.
    sigmas : sequence of float
        Noise levels :math:`\sigma_1 > \dots > \sigma_L > 0`.
    rng : Generator or int
        Draws :math:`\varepsilon\sim\mathcal N(0, I)` for every point at every level.
    weights : sequence of float, optional
        :math:`\lambda_l`, default :math:`\sigma_l^2` (every level's term of order one).
    noise : ndarray, shape (L, n, d), optional
        Fixed standard-normal draws, for reproducible checks.

    Returns
    -------
    loss, grads

    Notes
    -----
    .. math::

        L(\theta) = \frac1L\sum_l \lambda_l\,\frac1n\sum_i
        \tfrac12\big\|s_\theta(x_i + \sigma_l\varepsilon_{li}, \sigma_l) + \varepsilon_{li}/\sigma_l\big\|^2 .

    The same loss as :func:`multiscale_denoising_loss` with :math:`-\nabla_xE_l` replaced by
    :math:`s_\theta(\cdot, \sigma_l)`: its expectation is, level by level, the Fisher divergence
    between :math:`s_\theta(\cdot,\sigma_l)` and :math:`\nabla\log q_{\sigma_l}` plus a constant
    (Vincent 2011; the argument never uses that s is a gradient).  Gradient: with
    :math:`r = s_\theta(\tilde x) + \varepsilon/\sigma` held fixed, :math:`\nabla_\theta\tfrac12\|r\|^2 =
    \nabla_\theta(r\cdot s_\theta)`, one backward pass (``net.vjp_params``).
    """
    x = as_batch(x, net.dim, "x")
    sig = as_float_array(sigmas, "sigmas")
    if sig.ndim != 1 or sig.size == 0 or not np.all(np.isfinite(sig)) or np.any(sig <= 0):
        raise ValueError(f"sigmas: expected a non-empty 1-D array of values > 0, got {np.asarray(sigmas).tolist()}")
    L, n = sig.size, x.shape[0]
    lam = sig**2 if weights is None else as_float_array(weights, "weights", shape=(L,))
    if not np.all(np.isfinite(lam)) or np.any(lam < 0):
        raise ValueError(f"weights: expected {L} finite values >= 0, got {lam.tolist()}")
    if noise is None:
        eps = as_generator(rng).standard_normal((L,) + x.shape)
    else:
        eps = as_float_array(noise, "noise", shape=(L,) + x.shape)
    total, grads = 0.0, {k: np.zeros(np.shape(v)) for k, v in net.params.items()}
    for l in range(L):
        xt = x + sig[l] * eps[l]
        r = net.score(xt, sig[l]) + eps[l] / sig[l]
        total += lam[l] * float(np.mean(0.5 * np.sum(r * r, axis=1))) / L
        for k, v in net.vjp_params(xt, sig[l], r * (lam[l] / (n * L))).items():
            grads[k] += v
    return float(total), grads


def score_network_expectation(p_data, net, sigma, n_nodes: int = 40) -> float:
    r"""Exact :math:`\mathbb E_{x\sim p}\mathbb E_\varepsilon\tfrac12\|s_\theta(x+\sigma\varepsilon,\sigma)+\varepsilon/\sigma\|^2`
    for Gaussian data, by tensor Gauss–Hermite quadrature over :math:`(x, \varepsilon)` (2d axes).

    ``p_data`` is a ``Gaussian``; ``n_nodes`` probabilists' Hermite nodes per axis (d <= 2).
    """
    from ..models.gaussian import Gaussian

    if not isinstance(p_data, Gaussian) or p_data.dim != net.dim or net.dim > 2:
        raise ValueError("p_data: expected a Gaussian of the network's dimension (d <= 2)")
    sigma = check_positive(sigma, "sigma")
    t, w = gauss_hermite(n_nodes)
    d = net.dim
    grids = np.meshgrid(*([t] * (2 * d)), indexing="ij")
    z = np.stack([g.ravel() for g in grids], axis=1)                      # (m, 2d) standard normals
    wz = np.prod(np.stack(np.meshgrid(*([w] * (2 * d)), indexing="ij"), 0).reshape(2 * d, -1), axis=0)
    chol = np.linalg.cholesky(p_data.covariance)
    x = p_data.mean + z[:, :d] @ chol.T
    eps = z[:, d:]
    r = net.score(x + sigma * eps, sigma) + eps / sigma
    return float(np.sum(wz * 0.5 * np.sum(r * r, axis=1)))


def score_field_fisher(p_data, field, n_nodes: int = 60) -> float:
    r""":math:`\tfrac12\mathbb E_{p}\|f(x) - \nabla\log p(x)\|^2` for Gaussian ``p_data`` and any vector
    field ``f(x) -> (n, d)`` (a score network at a fixed σ, say), by Gauss–Hermite quadrature (d <= 2)."""
    from ..models.gaussian import Gaussian

    if not isinstance(p_data, Gaussian) or p_data.dim > 2:
        raise ValueError("p_data: expected a Gaussian with d <= 2")
    t, w = gauss_hermite(n_nodes)
    d = p_data.dim
    z = np.stack([g.ravel() for g in np.meshgrid(*([t] * d), indexing="ij")], axis=1)
    wz = np.prod(np.stack(np.meshgrid(*([w] * d), indexing="ij"), 0).reshape(d, -1), axis=0)
    x = p_data.mean + z @ np.linalg.cholesky(p_data.covariance).T
    r = field(x) - p_data.score(x)
    return float(np.sum(wz * 0.5 * np.sum(r * r, axis=1)))


# ------------------------------------------------------------------ cost of the score-matching term
def tangent_multiply_adds(sizes, n_tangents: int) -> int:
    r"""Multiply–adds per point of the matrix products in a forward pass that carries m tangents.

    For an MLP with layer sizes :math:`n_0 = d, n_1, \dots, n_L = 1` each layer multiplies the
    activations and each of the m tangent vectors by its weight matrix:
    :math:`(1 + m)\sum_l n_l n_{l+1}`.  The exact score-matching term (the Laplacian
    :math:`\mathrm{tr}\,\nabla_x^2 E`) pushes m = d tangents (the columns of I), the sliced
    term :math:`v^\top \nabla_x^2 E\, v` pushes m = M (one per projection); m = 0 is the
    forward pass alone.  Elementwise work (activations and their derivatives) is left out.
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1 or int(n_tangents) < 0:
        raise ValueError(f"sizes: expected >= 2 positive layer sizes and n_tangents >= 0, got {sizes}, {n_tangents}")
    return (1 + int(n_tangents)) * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
