r"""Identities of note 09: how denoising autoencoders, GAN discriminators, InfoNCE and
diffusion/score models are energy-based models in disguise.

The small computations the note names live here as public functions:

* :func:`optimal_denoiser_quadrature` — :math:`D(\tilde x) = \mathbb E[x\mid\tilde x]` by quadrature (1-D);
* :func:`mixture_posterior_mean` — :math:`\mathbb E[x\mid\tilde x]` for a mixture prior, component by component;
* :func:`infonce_loss_enumerated` — the InfoNCE loss and its gradient in a critic table, by enumeration;
* :func:`mutual_information` — :math:`I(X;C)` of a discrete joint.
"""
from __future__ import annotations

import itertools

import numpy as np
from scipy.special import logsumexp

from .._validate import check_positive, check_positive_int
from ..models import Gaussian, GaussianMixture
from ..numerics.optimize import minimize_lbfgs
from ..objectives import nce
from ..objectives.score_matching import smoothed
from ..numerics.quadrature import gauss_legendre_grid as quadrature_grid
from .registry import identity

__all__ = ["optimal_denoiser_quadrature", "mixture_posterior_mean",
           "infonce_loss_enumerated", "mutual_information", "ula_stationary_variance"]


# -------------------------------------------------- denoising and diffusion
def optimal_denoiser_quadrature(logpdf, x_noisy, sigma: float, bounds=(-15.0, 15.0), n_nodes: int = 800):
    r"""1-D optimal denoiser :math:`D(\tilde x) = \int x\,p(x)\mathcal N(\tilde x;x,\sigma^2)dx \big/ \int p(x)\mathcal N(\tilde x;x,\sigma^2)dx`.

    It minimizes :math:`\mathbb E\lVert D(x + \sigma\epsilon) - x\rVert^2` (the denoising
    autoencoder's loss) over all functions D.  Gauss–Legendre quadrature, log-domain weights.
    """
    sigma = check_positive(sigma, "sigma")
    pts, w = quadrature_grid([bounds], n_nodes)
    x = pts[:, 0]
    xt = np.asarray(x_noisy, dtype=np.float64).reshape(-1)
    la = np.log(w)[None, :] + np.asarray(logpdf(pts), dtype=np.float64)[None, :] \
        - 0.5 * ((xt[:, None] - x[None, :]) / sigma) ** 2
    post = np.exp(la - logsumexp(la, axis=1, keepdims=True))
    return post @ x


def mixture_posterior_mean(mix: GaussianMixture, x_noisy, sigma: float) -> np.ndarray:
    r""":math:`\mathbb E[x\mid\tilde x]` for :math:`x\sim\sum_k w_k\mathcal N(\mu_k,\Sigma_k)`, :math:`\tilde x = x + \sigma\epsilon`.

    Component posterior :math:`r_k \propto w_k\mathcal N(\tilde x;\mu_k,\Sigma_k+\sigma^2I)` and
    mean :math:`\mu_k + \Sigma_k(\Sigma_k+\sigma^2 I)^{-1}(\tilde x-\mu_k)` (Gaussian conditioning),
    combined as :math:`\sum_k r_k m_k`.  No derivative of :math:`p_\sigma` is taken.
    """
    sigma = check_positive(sigma, "sigma")
    p = mix.params
    d = p["means"].shape[1]
    xt = np.asarray(x_noisy, dtype=np.float64)
    if xt.ndim != 2 or xt.shape[1] != d:
        raise ValueError(f"x_noisy: expected shape (n, {d}), got {xt.shape}")
    logr, means = [], []
    for wk, mu, S in zip(p["weights"], p["means"], p["covariances"]):
        C = S + sigma**2 * np.eye(d)
        comp = Gaussian(mu, np.linalg.inv(C))
        logr.append(np.log(wk) + comp.log_prob(xt))
        means.append(mu + (xt - mu) @ np.linalg.solve(C, S))   # (S C⁻¹ r)ᵀ = rᵀ C⁻¹ S
    logr = np.array(logr)
    r = np.exp(logr - logsumexp(logr, axis=0))
    return np.einsum("kn,knd->nd", r, np.array(means))


def ula_stationary_variance(s2: float, h: float) -> float:
    r"""Stationary variance of the unadjusted Langevin chain on :math:`\mathcal N(0, s^2)`.

    :math:`x' = x + h\,\nabla\log p(x) + \sqrt{2h}\,\xi = (1 - h/s^2)x + \sqrt{2h}\xi`, so
    :math:`v = (1-h/s^2)^2 v + 2h`, :math:`v = s^2/(1 - h/(2s^2))` (for :math:`0 < h < 2s^2`).
    """
    s2, h = check_positive(s2, "s2"), check_positive(h, "h")
    if h >= 2.0 * s2:
        raise ValueError(f"h: the chain is stable only for h < 2 s² = {2 * s2:g}, got {h:g}")
    return s2 / (1.0 - h / (2.0 * s2))


# ------------------------------------------------------------------- InfoNCE
def _check_joint(p_joint):
    p = np.asarray(p_joint, dtype=np.float64)
    if p.ndim != 2 or not np.all(p > 0) or abs(p.sum() - 1.0) > 1e-10:
        raise ValueError("p_joint: expected a 2-D table of positive probabilities summing to 1")
    return p


def mutual_information(p_joint) -> float:
    r""":math:`I(X;C) = \sum_{x,c} p(x,c)\log\frac{p(x,c)}{p(x)p(c)}`, ``p_joint`` of shape (|X|, |C|)."""
    p = _check_joint(p_joint)
    px, pc = p.sum(axis=1, keepdims=True), p.sum(axis=0, keepdims=True)
    return float(np.sum(p * (np.log(p) - np.log(px) - np.log(pc))))


def infonce_loss_enumerated(p_joint, f, K: int):
    r"""InfoNCE loss and its gradient in the critic table f, by enumerating every tuple.

    A context :math:`c\sim p(c)`, a positive :math:`x_1\sim p(x\mid c)`, negatives
    :math:`x_2..x_K\sim p(x)`; the critic (a negative energy :math:`f = -E(x, c)`) scores each:

    .. math::

        L(f) = -\mathbb E\Big[f(x_1,c) - \log\sum_{k=1}^K e^{f(x_k, c)}\Big],\qquad
        \frac{\partial L}{\partial f(x, c)} = -\mathbb E\Big[\mathbb 1\{x_1 = x\} - \sum_k \operatorname{softmax}_k\mathbb 1\{x_k = x\}\Big]\ (\text{at that } c).

    Returns ``(L, grad)`` with ``grad`` of the shape of f, (|X|, |C|).
    """
    p = _check_joint(p_joint)
    f = np.asarray(f, dtype=np.float64)
    if f.shape != p.shape:
        raise ValueError(f"f: expected the shape of p_joint {p.shape}, got {f.shape}")
    K = check_positive_int(K, "K", 2)
    nx, nc = p.shape
    pc = p.sum(axis=0)
    px = p.sum(axis=1)
    idx = np.array(list(itertools.product(range(nx), repeat=K)))           # (M, K)
    w_neg = np.prod(px[idx[:, 1:]], axis=1)                                  # Π_{k≥2} p(x_k)
    L, grad = 0.0, np.zeros_like(f)
    for c in range(nc):
        w = pc[c] * (p[idx[:, 0], c] / pc[c]) * w_neg                        # p(c) p(x₁|c) Π p(x_k)
        logits = f[idx, c]
        lse = logsumexp(logits, axis=1)
        L -= np.sum(w * (logits[:, 0] - lse))
        soft = np.exp(logits - lse[:, None])
        np.add.at(grad[:, c], idx[:, 0], -w)
        for k in range(K):
            np.add.at(grad[:, c], idx[:, k], w * soft[:, k])
    return float(L), grad


def _random_joint(rng, nx=4, nc=3):
    p = rng.dirichlet(np.ones(nx * nc)).reshape(nx, nc)
    return p


def _optimal_critic(p):
    return np.log(p) - np.log(p.sum(axis=0, keepdims=True)) - np.log(p.sum(axis=1, keepdims=True))


# ------------------------------------------------------------------ identities
MIX_1D = GaussianMixture([0.3, 0.7], [[-1.5], [1.0]], [[[0.4]], [[0.8]]])
MIX_2D = GaussianMixture([0.2, 0.5, 0.3], [[-2.0, 0.0], [1.5, 1.0], [0.0, -2.0]],
                         [0.5 * np.eye(2), [[1.0, 0.6], [0.6, 1.0]], 0.3 * np.eye(2)])


@identity("connections: Tweedie - denoiser residual / sigma^2 = score of p_sigma",
          step="E[x | x̃] = x̃ + σ² ∇log p_σ(x̃): the optimal denoising autoencoder's residual is the smoothed score",
          case="1-D two-component mixture data, σ = 0.5, 25 points; left by quadrature of the posterior mean, "
               "right = score of the closed-form smoothed mixture",
          tol=1e-10, reason="800-node Gauss–Legendre of a smooth posterior on [-15, 15] (~1e-13), divided by σ²")
def _(rng):
    sigma = 0.5
    xt = 3.0 * rng.standard_normal((25, 1))
    D = optimal_denoiser_quadrature(MIX_1D.log_prob, xt, sigma)
    return (D - xt[:, 0]) / sigma**2, smoothed(MIX_1D, sigma).score(xt)[:, 0]


@identity("connections: diffusion - smoothed score = E[DSM target | x_noisy]",
          step="∇log p_σ(x̃) = E_{x|x̃}[∇_x̃ log N(x̃; x, σ²I)] = E[(x − x̃)/σ² | x̃]",
          case="2-D three-component mixture, σ = 0.7, 30 points; left by Gaussian conditioning per component, "
               "right = derivative of the smoothed mixture's log-density",
          tol=1e-12, reason="closed forms; O(1) numbers")
def _(rng):
    sigma = 0.7
    xt = 2.0 * rng.standard_normal((30, 2))
    left = (mixture_posterior_mean(MIX_2D, xt, sigma) - xt) / sigma**2
    return left, smoothed(MIX_2D, sigma).score(xt)


@identity("connections: Langevin - ULA on a Gaussian has variance s^2/(1 - h/2s^2)",
          step="x' = x + h∇log p + √(2h)ξ: stationary but biased by the step; the bias → 0 as h → 0",
          case="s² = 1.7, h = 0.05, 0.3, 1.0; left: the variance recursion v ← (1 − h/s²)² v + 2h iterated to its fixed point",
          tol=1e-12, reason="geometric convergence of the recursion, 5000 iterations")
def _(rng):
    s2 = 1.7
    left, right = [], []
    for h in (0.05, 0.3, 1.0):
        v = 0.0
        for _ in range(5000):
            v = (1.0 - h / s2) ** 2 * v + 2.0 * h
        left.append(v)
        right.append(ula_stationary_variance(s2, h))
    return np.array(left), np.array(right)


@identity("connections: GAN - optimal discriminator logit = log p_d - log p_g",
          step="D* = argmax_D E_d log D + E_g log(1 − D) = p_d/(p_d + p_g); its logit is an energy difference",
          case="p_d a 2-D mixture, p_g a Gaussian; 40 points; D* from nce.bayes_optimal_classifier with ν = 1",
          tol=1e-10, reason="log(D/(1−D)) of probabilities near 0 or 1 loses a few digits")
def _(rng):
    pg = Gaussian([0.0, 0.0], 0.25 * np.eye(2))
    x = 1.5 * rng.standard_normal((40, 2))
    D = nce.bayes_optimal_classifier(MIX_2D.log_prob, pg.log_prob, x, 1.0)
    return np.log(D) - np.log1p(-D), -MIX_2D.energy(x) + pg.energy(x) + pg.log_partition()


@identity("connections: GAN - D* is a stationary point of the pointwise value",
          step="∂/∂D [p_d log D + p_g log(1 − D)] = p_d/D − p_g/(1 − D) = 0 at D*",
          case="same densities, 40 points; left = (p_d/D* − p_g/(1 − D*)) / (p_d + p_g)",
          tol=1e-12, reason="a relative residual of O(1) quantities")
def _(rng):
    pg = Gaussian([0.0, 0.0], 0.25 * np.eye(2))
    x = 1.5 * rng.standard_normal((40, 2))
    D = nce.bayes_optimal_classifier(MIX_2D.log_prob, pg.log_prob, x, 1.0)
    pd, pgx = np.exp(MIX_2D.log_prob(x)), np.exp(pg.log_prob(x))
    return (pd / D - pgx / (1 - D)) / (pd + pgx), np.zeros(40)


@identity("connections: GAN - p_g exp(logit D*) is normalized (discriminator as energy)",
          step="E(x) = −log p_g(x) − logit D*(x) defines p_d: log ∫ p_g e^{logit D*} dx = 0",
          case="same densities; 2-D Gauss–Legendre quadrature on [-12, 12]², 300 nodes per axis",
          tol=1e-9, reason="tensor quadrature of a smooth mixture density (~1e-12)")
def _(rng):
    pg = Gaussian([0.0, 0.0], 0.25 * np.eye(2))
    pts, w = quadrature_grid([(-12, 12), (-12, 12)], 300)
    G = nce.bayes_optimal_logit(MIX_2D.log_prob, pg.log_prob, pts, 1.0)
    return float(logsumexp(np.log(w) + pg.log_prob(pts) + G)), 0.0


@identity("connections: InfoNCE - critic log p(x|c)/p(x) is stationary (enumeration)",
          step="softmax_k f*(x_k, c) is the Bayes posterior of the positive's index ⇒ ∇_f L(f*) = 0",
          case="random 4×3 joint p(x, c), K = 3 (192 tuples enumerated)",
          tol=1e-14, reason="sums of 192 products of probabilities; the gradient is a difference of O(0.1) terms")
def _(rng):
    p = _random_joint(rng)
    _, g = infonce_loss_enumerated(p, _optimal_critic(p), 3)
    return g, np.zeros_like(g)


@identity("connections: InfoNCE - minimizing the loss recovers log p(x|c)/p(x) up to a(c)",
          step="argmin_f L(f) = log p(x|c)/p(x) + a(c)",
          case="random 4×3 joint, K = 3; L-BFGS (minimize_lbfgs) from f = 0 with the enumerated gradient to "
               "max |∂L| ≤ 1e-12; both sides centred over x",
          tol=1e-5, reason="L-BFGS stopped at gradient norm ≤ √12·1e-12 on a strictly convex loss (in the centred f)")
def _(rng):
    p = _random_joint(rng)
    shape = p.shape

    def fun(v):
        L, g = infonce_loss_enumerated(p, v.reshape(shape), 3)
        return L, g.ravel()

    res = minimize_lbfgs(fun, np.zeros(p.size), max_iter=2000, gtol=1e-12)
    f_hat = res.x.reshape(shape)
    f_star = _optimal_critic(p)
    return f_hat - f_hat.mean(axis=0), f_star - f_star.mean(axis=0)


@identity("connections: InfoNCE - bound I(X;C) >= log K - L(f*)",
          step="L(f) ≥ log K − I(X; C) for every critic; left = max(0, log K − L(f*) − I)",
          case="random 4×3 joints, K = 2, 3, 4",
          tol=1e-14, reason="an inequality: any violation beyond rounding fails")
def _(rng):
    worst = 0.0
    for K in (2, 3, 4):
        p = _random_joint(rng)
        L, _ = infonce_loss_enumerated(p, _optimal_critic(p), K)
        worst = max(worst, np.log(K) - L - mutual_information(p))
    return worst, 0.0
