r"""Noise-contrastive estimation (NCE), written as its derivation.

Energy convention: :math:`p_\theta(x) = e^{-E_\theta(x)}/Z(\theta)`.  NCE replaces
density estimation by classification: tell data :math:`x\sim p_d` from noise
:math:`y\sim p_n`, a *normalized* distribution we can both sample and evaluate, with
:math:`\nu` noise points per data point (prior odds noise : data = ν : 1).

1. **Bayes-optimal classifier** (:func:`bayes_optimal_classifier`).  The posterior
   probability that a point came from the data is

   .. math:: D^*(x) = \frac{p_d(x)}{p_d(x) + \nu\,p_n(x)},\qquad
             \operatorname{logit} D^*(x) = \log p_d(x) - \log\nu - \log p_n(x).

2. **Parameterized discriminator** (:func:`discriminator`, :func:`logit`).  Put the
   model in place of :math:`p_d`, with the unknown :math:`\log Z` replaced by a free
   scalar c: :math:`\log p_{\theta,c}(x) = -E_\theta(x) - c`, so

   .. math:: D_{\theta,c}(x) = \frac{p_{\theta,c}(x)}{p_{\theta,c}(x) + \nu p_n(x)} = \sigma(G(x)),\qquad
             G(x) = -E_\theta(x) - c - \log\nu - \log p_n(x).

3. **Logistic loss** (:func:`classification_log_likelihood` in the lecture's logsumexp
   form, :func:`loss_probability_form` with D itself, :func:`loss` with softplus).
   The mean cross-entropy over the pooled sample, normalized by :math:`1+\nu`:

   .. math::

       J(\theta, c) = \frac{1}{1+\nu}\Big(\mathbb E_{p_d}[-\log D(x)] + \nu\,\mathbb E_{p_n}[-\log(1-D(y))]\Big)
                    = \frac{1}{1+\nu}\Big(\mathbb E_{p_d}[\operatorname{softplus}(-G(x))]
                      + \nu\,\mathbb E_{p_n}[\operatorname{softplus}(G(y))]\Big),

   using :math:`-\log\sigma(a) = \operatorname{softplus}(-a)` and
   :math:`-\log(1-\sigma(a)) = \operatorname{softplus}(a)`.  Expectations are sample means
   over the ``n_d`` data and ``n_n`` noise points given (``n_n = ν n_d`` is the usual
   choice, any counts are allowed: each mean estimates its expectation).

4. **Gradients** (:func:`loss`).  With :math:`\partial G/\partial\theta = -\nabla_\theta E`
   and :math:`\partial G/\partial c = -1`:

   .. math::

       \nabla_\theta J = \frac{1}{1+\nu}\Big(\mathbb E_{p_d}[\sigma(-G)\nabla_\theta E]
          - \nu\,\mathbb E_{p_n}[\sigma(G)\nabla_\theta E]\Big),\qquad
       \frac{\partial J}{\partial c} = \frac{1}{1+\nu}\Big(\mathbb E_{p_d}[\sigma(-G)] - \nu\,\mathbb E_{p_n}[\sigma(G)]\Big).

5. **Why c ends up at log Z.**  J is minimized over *all* functions G by the Bayes
   classifier, :math:`G^* = \log p_d - \log\nu p_n`.  If the model family contains
   :math:`p_d = e^{-E_{\theta^*}}/Z(\theta^*)`, then :math:`G = G^*` exactly when
   :math:`-E_\theta - c = \log p_d`, i.e. at :math:`\theta=\theta^*` *and*
   :math:`c = \log Z(\theta^*)` (for p_n > 0 wherever p_d > 0).  Nothing forces
   normalization except the classification itself: a c that is too small makes the model
   claim too much mass and the noise points get misclassified.

``loss(model, log_z, x_data, x_noise, noise=..., nu=...)`` returns ``(J, grads)`` with
``grads`` a dict holding every key of ``model.params`` plus ``"log_z"`` (:math:`\partial J/\partial c`).
:func:`fit` trains (θ, c) and returns the estimate of log Z with a standard error from the
asymptotic (sandwich) covariance of the NCE estimator (:func:`asymptotic_covariance`).

References
----------
M. Gutmann and A. Hyvärinen, "Noise-contrastive estimation of unnormalized statistical
models, with applications to natural image statistics", JMLR 13 (2012).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, logsumexp

from .. import params as _params
from .._validate import as_batch, as_float_array, as_generator, check_positive, check_positive_int
from ..numerics.optimize import LBFGSNotConverged, minimize_lbfgs
from ..numerics.quadrature import gauss_legendre
from ..energy import require_normalized
from ..numerics.special import softplus

__all__ = [
    "bayes_optimal_classifier", "bayes_optimal_logit", "model_log_prob", "logit",
    "discriminator", "classification_log_likelihood", "loss_probability_form", "loss",
    "bayes_optimal_loss", "population_loss_quadrature", "asymptotic_covariance",
    "asymptotic_covariance_population", "fit", "NCEResult",
    "objective", "check_noise",
]


# ------------------------------------------------------------- input checks
def check_noise(noise, dim: int | None = None):
    """A noise model must be normalized with ``log_prob`` and ``sample``; check and return it."""
    require_normalized(noise, "noise")
    nd = getattr(noise, "dim", None)
    if dim is not None and nd is not None and int(nd) != dim:
        raise ValueError(f"noise: has dimension {nd}, the model has dimension {dim}")
    return noise


def _check_nu(nu) -> float:
    return check_positive(nu, "nu")


def _log_z(log_z) -> float:
    c = np.asarray(log_z, dtype=np.float64)
    if c.shape != () or not np.isfinite(c):
        raise ValueError(f"log_z: expected a finite scalar c (the free parameter standing for log Z), got {log_z!r}")
    return float(c)


def _noise_log_prob(noise, x):
    lp = np.asarray(noise.log_prob(x), dtype=np.float64)
    if lp.shape != (x.shape[0],):
        raise ValueError(f"noise.log_prob: expected shape ({x.shape[0]},), got {lp.shape}")
    if np.any(np.isnan(lp)) or np.any(lp == np.inf):
        raise ValueError("noise.log_prob: returned NaN or +inf")
    return lp


# --------------------------------------------------- step 1: Bayes classifier
def _bayes_inputs(p_data_logpdf, p_noise_logpdf, x, nu):
    """(ν, log p_d(x), log p_n(x)), checked: ν > 0 and both log-densities of shape (n,)."""
    nu = _check_nu(nu)
    x = as_batch(x, None, "x")
    ld = np.asarray(p_data_logpdf(x), dtype=np.float64)
    ln = np.asarray(p_noise_logpdf(x), dtype=np.float64)
    if ld.shape != (x.shape[0],) or ln.shape != (x.shape[0],):
        raise ValueError(f"p_data_logpdf, p_noise_logpdf: must return shape ({x.shape[0]},), "
                         f"got {ld.shape} and {ln.shape}")
    return nu, ld, ln


def bayes_optimal_logit(p_data_logpdf, p_noise_logpdf, x, nu) -> np.ndarray:
    r"""logit of the Bayes classifier: :math:`\log p_d(x) - \log\nu - \log p_n(x)`, shape (n,)."""
    nu, ld, ln = _bayes_inputs(p_data_logpdf, p_noise_logpdf, x, nu)
    return ld - np.log(nu) - ln


def bayes_optimal_classifier(p_data_logpdf, p_noise_logpdf, x, nu) -> np.ndarray:
    r"""Posterior probability of "data": :math:`D^*(x) = p_d/(p_d + \nu p_n)`, shape (n,).

    Computed as :math:`\exp(\log p_d - \operatorname{logaddexp}(\log p_d, \log\nu + \log p_n))`,
    which is exact where the densities underflow.
    """
    nu, ld, ln = _bayes_inputs(p_data_logpdf, p_noise_logpdf, x, nu)
    return np.exp(ld - np.logaddexp(ld, np.log(nu) + ln))


# -------------------------------------------- step 2: the parameterization
def model_log_prob(model, log_z, x) -> np.ndarray:
    r""":math:`\log p_{\theta,c}(x) = -E_\theta(x) - c` (c free; equals log p only when c = log Z)."""
    return -model.energy(x) - _log_z(log_z)


def logit(model, log_z, x, noise, nu) -> np.ndarray:
    r""":math:`G(x) = -E_\theta(x) - c - \log\nu - \log p_n(x)`, shape (n,)."""
    nu = _check_nu(nu)
    check_noise(noise, model.dim)
    x = as_batch(x, model.dim, "x")
    return model_log_prob(model, log_z, x) - np.log(nu) - _noise_log_prob(noise, x)


def discriminator(model, log_z, x, noise, nu) -> np.ndarray:
    r""":math:`D_{\theta,c}(x) = p_{\theta,c}/(p_{\theta,c} + \nu p_n) = \sigma(G(x))`."""
    return expit(logit(model, log_z, x, noise, nu))


# ------------------------------------------------------- step 3: the loss
def _pair(model, x_data, x_noise):
    x_data = as_batch(x_data, model.dim, "x_data")
    x_noise = as_batch(x_noise, model.dim, "x_noise")
    if x_data.shape[0] == 0 or x_noise.shape[0] == 0:
        raise ValueError(f"x_data, x_noise: need at least one point each, got {x_data.shape[0]} and {x_noise.shape[0]}")
    return x_data, x_noise


def classification_log_likelihood(model, log_z, x_data, x_noise, noise, nu=1.0) -> float:
    r"""The lecture's form, to be *maximized*: with :math:`f = -E`,

    .. math::

        \frac1{n_d}\sum_i\big[f(x_i) - \operatorname{lse}(f(x_i),\ c + \log\nu p_n(x_i))\big]
        + \frac{\nu}{n_n}\sum_j\big[c + \log\nu p_n(y_j) - \operatorname{lse}(f(y_j),\ c + \log\nu p_n(y_j))\big],

    i.e. :math:`\mathbb E_d\log D + \nu\mathbb E_n\log(1-D)`.  (The lecture's ν = 1 version
    writes :math:`+\log Z + p_{noise}(y)`; the second term must be :math:`\log p_{noise}(y)`.)
    Equals :math:`-(1+\nu)\,J`.
    """
    nu = _check_nu(nu)
    check_noise(noise, model.dim)
    x_data, x_noise = _pair(model, x_data, x_noise)
    c = _log_z(log_z)
    fx, fy = -model.energy(x_data), -model.energy(x_noise)
    nx = c + np.log(nu) + _noise_log_prob(noise, x_data)
    ny = c + np.log(nu) + _noise_log_prob(noise, x_noise)
    lse_x = logsumexp(np.stack([fx, nx]), axis=0)
    lse_y = logsumexp(np.stack([fy, ny]), axis=0)
    return float(np.mean(fx - lse_x) + nu * np.mean(ny - lse_y))


def loss_probability_form(model, log_z, x_data, x_noise, noise, nu=1.0) -> float:
    r"""J computed from D itself: :math:`-\frac1{1+\nu}(\overline{\log D(x)} + \nu\,\overline{\log(1-D(y))})`.

    The naive form: it loses precision (and gives inf) once D rounds to 0 or 1; kept as a
    derivation step, checked against :func:`loss` on moderate cases.
    """
    nu = _check_nu(nu)
    x_data, x_noise = _pair(model, x_data, x_noise)
    Dx = discriminator(model, log_z, x_data, noise, nu)
    Dy = discriminator(model, log_z, x_noise, noise, nu)
    return float(-(np.mean(np.log(Dx)) + nu * np.mean(np.log1p(-Dy))) / (1.0 + nu))


def loss(model, log_z, x_data, x_noise, noise=None, nu=1.0):
    r"""NCE loss J (softplus form) and its gradient in (θ, c).

    Parameters
    ----------
    model : Energy
        :math:`E_\theta`.
    log_z : float
        c, the free parameter standing for :math:`\log Z(\theta)`.
    x_data : ndarray, shape (n_d, d)
    x_noise : ndarray, shape (n_n, d)
        Samples of the noise.
    noise : object with ``log_prob(x)`` and ``sample(n, rng)``
        The normalized noise density :math:`p_n` (Gaussian, GaussianMixture, Flow, ...).
    nu : float
        :math:`\nu > 0`, the prior odds noise : data in the classifier.

    Returns
    -------
    J : float
        :math:`\frac{1}{1+\nu}(\overline{\operatorname{softplus}(-G(x))} + \nu\,\overline{\operatorname{softplus}(G(y))})`.
    grads : dict
        ``model.params`` keys: :math:`\nabla_\theta J`; ``"log_z"``: :math:`\partial J/\partial c` (0-d array).

    Raises
    ------
    ValueError
        ν ≤ 0, a noise model without ``log_prob``/``sample``, shapes that do not match the
        model's dimension, a non-finite c.
    """
    if noise is None:
        raise ValueError("noise: required, a normalized model with log_prob(x) and sample(n, rng)")
    nu = _check_nu(nu)
    check_noise(noise, model.dim)
    x_data, x_noise = _pair(model, x_data, x_noise)
    J, wx, wy = _loss_and_point_weights(model, log_z, x_data, x_noise, noise, nu)
    return J, _grads_from_point_weights(model, x_data, x_noise, wx, wy)


def _loss_and_point_weights(model, log_z, x_data, x_noise, noise, nu):
    r"""J and how it moves with each point's logit: :math:`w_{x,i} = -\partial J/\partial G(x_i)`,
    :math:`w_{y,j} = \partial J/\partial G(y_j)` (validated inputs).

    .. math:: w_{x,i} = \frac{\sigma(-G(x_i))}{n_d(1+\nu)},\qquad w_{y,j} = \frac{\nu\,\sigma(G(y_j))}{n_n(1+\nu)}.
    """
    Gx = logit(model, log_z, x_data, noise, nu)
    Gy = logit(model, log_z, x_noise, noise, nu)
    nd, nn = x_data.shape[0], x_noise.shape[0]
    J = (np.mean(softplus(-Gx)) + nu * np.mean(softplus(Gy))) / (1.0 + nu)
    wx = expit(-Gx) / (nd * (1.0 + nu))
    wy = nu * expit(Gy) / (nn * (1.0 + nu))
    return float(J), wx, wy


def _grads_from_point_weights(model, x_data, x_noise, wx, wy) -> dict:
    r""":math:`\nabla_{\theta, c}J` from the point weights of :func:`_loss_and_point_weights`: since
    :math:`\partial G/\partial\theta = -\nabla_\theta E` and :math:`\partial G/\partial c = -1`,
    :math:`\nabla_\theta J = \sum_i w_{x,i}\nabla_\theta E(x_i) - \sum_j w_{y,j}\nabla_\theta E(y_j)`
    and :math:`\partial J/\partial c = \sum_i w_{x,i} - \sum_j w_{y,j}`."""
    gx = model.grad_params_sum(x_data, wx)
    gy = model.grad_params_sum(x_noise, wy)
    grads = {k: gx[k] - gy[k] for k in gx}
    if "log_z" in grads:
        raise ValueError("model: has a parameter named 'log_z', which clashes with NCE's c")
    grads["log_z"] = np.asarray(np.sum(wx) - np.sum(wy))
    return grads


# ---------------------------------------------- the optimum, in closed form
def bayes_optimal_loss(p_data_logpdf, p_noise_logpdf, x_data, x_noise, nu) -> float:
    r"""J at the Bayes classifier, as sample means: :math:`\frac1{1+\nu}(\overline{-\log D^*(x)} + \nu\overline{-\log(1-D^*(y))})`.

    In expectation this is :math:`H_b(\tfrac1{1+\nu}) - \mathrm{JS}_\pi(p_d, p_n)` with
    :math:`H_b` the binary entropy of the prior :math:`\pi = 1/(1+\nu)` and
    :math:`\mathrm{JS}_\pi = \pi\,\mathrm{KL}(p_d\Vert m) + (1-\pi)\mathrm{KL}(p_n\Vert m)`,
    :math:`m = \pi p_d + (1-\pi) p_n`.  When :math:`p_n = p_d` the logit is :math:`-\log\nu`
    at every point and J equals :math:`H_b(\tfrac1{1+\nu})` exactly, sample by sample.
    """
    Gx = bayes_optimal_logit(p_data_logpdf, p_noise_logpdf, x_data, nu)
    Gy = bayes_optimal_logit(p_data_logpdf, p_noise_logpdf, x_noise, nu)
    return float((np.mean(softplus(-Gx)) + nu * np.mean(softplus(Gy))) / (1.0 + nu))


def _population_nodes(model, log_z, p_data_logpdf, noise, nu, bounds, n_nodes, caller):
    """Gauss–Legendre nodes x and weights w on ``bounds`` for a 1-D model, with G, p_d, p_n there, and ν checked."""
    nu = _check_nu(nu)
    if model.dim != 1:
        raise ValueError(f"model: {caller} is 1-D only, got dimension {model.dim}")
    a, b = (float(t) for t in bounds)
    if not b > a:
        raise ValueError(f"bounds: expected (a, b) with b > a, got {bounds}")
    n_nodes = check_positive_int(n_nodes, "n_nodes", 2)
    x, w = gauss_legendre(n_nodes, a, b)
    x = x[:, None]
    G = logit(model, log_z, x, noise, nu)
    pd = np.exp(np.asarray(p_data_logpdf(x), dtype=np.float64))
    pn = np.exp(_noise_log_prob(noise, x))
    return x, w, G, pd, pn, nu


def population_loss_quadrature(model, log_z, p_data_logpdf, noise, nu, bounds, n_nodes: int = 400) -> float:
    r"""Population J for 1-D models: :math:`\int [p_d\,\operatorname{softplus}(-G) + \nu p_n\,\operatorname{softplus}(G)]\,dx/(1+\nu)`
    by Gauss–Legendre quadrature on ``bounds = (a, b)``."""
    x, w, G, pd, pn, nu = _population_nodes(model, log_z, p_data_logpdf, noise, nu, bounds, n_nodes,
                                            "population_loss_quadrature")
    return float(np.sum(w * (pd * softplus(-G) + nu * pn * softplus(G))) / (1.0 + nu))


# ------------------------------------------------- standard errors of (θ, c)
def _features(model, x) -> np.ndarray:
    r""":math:`\varphi(x) = \nabla_\alpha(E_\theta(x) + c) = (\nabla_\theta E(x), 1)`, one row per point,
    over ``params.flatten(model.params)`` followed by c."""
    g = model.grad_params(x)
    return np.concatenate([np.reshape(v, (x.shape[0], -1)) for v in g.values()] + [np.ones((x.shape[0], 1))], axis=1)


def _sandwich(H, V) -> np.ndarray:
    """:math:`H^+ V H^+`, the pseudo-inverse so that duplicated coordinates of a symmetric parameter do no harm."""
    Hp = np.linalg.pinv(H, rcond=1e-12, hermitian=True)
    return Hp @ V @ Hp


def asymptotic_covariance(model, log_z, x_data, x_noise, noise, nu=1.0):
    r"""Sandwich covariance of the NCE estimate :math:`\hat\alpha = (\hat\theta, \hat c)`.

    With :math:`\varphi(x) = \nabla_\alpha (E_\theta(x) + c) = (\nabla_\theta E, 1)`,
    per-point score contributions :math:`a_i = \sigma(-G(x_i))\varphi(x_i)` (data) and
    :math:`b_j = -\sigma(G(y_j))\varphi(y_j)` (noise), and the expected Hessian at the
    optimum (the second-derivative terms of E cancel there when the model is correct)

    .. math::

        H = \tfrac1{1+\nu}\big(\overline{\sigma(G)\sigma(-G)\varphi\varphi^\top}_{d}
            + \nu\,\overline{\sigma(G)\sigma(-G)\varphi\varphi^\top}_{n}\big),\qquad
        V = \tfrac1{(1+\nu)^2}\big(\operatorname{Cov}(a)/n_d + \nu^2\operatorname{Cov}(b)/n_n\big),

    :math:`\operatorname{Cov}\hat\alpha \approx H^{+} V H^{+}` (pseudo-inverse, so that
    duplicated coordinates of a symmetric matrix parameter do no harm).  Asymptotically
    this equals the covariance of Gutmann & Hyvärinen (2012, Theorem 3).

    Returns
    -------
    cov : ndarray, shape (p + 1, p + 1)
        Over ``params.flatten(model.params)`` followed by c.
    stderr : dict
        Standard errors shaped like ``model.params`` plus ``"log_z"``.
    """
    nu = _check_nu(nu)
    x_data, x_noise = _pair(model, x_data, x_noise)
    Gx = logit(model, log_z, x_data, noise, nu)
    Gy = logit(model, log_z, x_noise, noise, nu)

    px, py = _features(model, x_data), _features(model, x_noise)
    sx, sy = expit(Gx) * expit(-Gx), expit(Gy) * expit(-Gy)
    H = ((px * sx[:, None]).T @ px / len(px) + nu * (py * sy[:, None]).T @ py / len(py)) / (1.0 + nu)
    a = expit(-Gx)[:, None] * px
    b = -expit(Gy)[:, None] * py
    V = (np.cov(a, rowvar=False, ddof=1) / len(a) + nu**2 * np.cov(b, rowvar=False, ddof=1) / len(b)) / (1.0 + nu) ** 2
    cov = _sandwich(H, V)
    se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    stderr = _params.unflatten(se[:-1], model.params)
    stderr["log_z"] = np.asarray(se[-1])
    return cov, stderr


# --------------------------------------------------------------- training
class _WithLogZ:
    """(θ, c) as one parameter dict, so that ``ebm_ref.train.fit`` can optimize both."""

    def __init__(self, model, log_z):
        if "log_z" in model.params:
            raise ValueError("model: has a parameter named 'log_z', which clashes with NCE's c")
        self.model = model
        self.log_z = float(log_z)

    @property
    def params(self):
        p = dict(self.model.params)
        p["log_z"] = np.asarray(self.log_z)
        return p

    def with_params(self, p):
        rest = {k: v for k, v in p.items() if k != "log_z"}
        return _WithLogZ(self.model.with_params(rest), float(np.asarray(p["log_z"])))


def objective(x_noise, noise, nu=1.0):
    """NCE in the form ``ebm_ref.train.fit`` takes, over the augmented parameters (θ, c).

    The batch of data comes from ``fit``; a batch of noise of ν times its size is drawn
    (without replacement) from the fixed ``x_noise`` — or all of it when the data batch
    is the full data set, recognized by ``len(x_noise) == ν · len(batch)``.
    """
    nu = _check_nu(nu)
    x_noise = as_float_array(x_noise, "x_noise")

    def f(aug, xb, rng):
        m = int(round(nu * xb.shape[0]))
        if m >= x_noise.shape[0]:
            yb = x_noise
        else:
            yb = x_noise[rng.choice(x_noise.shape[0], size=max(m, 1), replace=False)]
        return loss(aug.model, aug.log_z, xb, yb, noise=noise, nu=nu)

    return f


@dataclass
class NCEResult:
    """What :func:`fit` returns.

    Attributes
    ----------
    model : Energy
        The fitted :math:`E_{\\hat\\theta}`.
    log_z : float
        :math:`\\hat c`, the NCE estimate of :math:`\\log Z(\\hat\\theta)`.
    log_z_stderr : float
        Its standard error from :func:`asymptotic_covariance` (sandwich, at the estimate).
    stderr : dict
        Standard errors of every parameter (and ``"log_z"``).
    loss : ndarray
        J at each step.
    log_z_trace : ndarray
        c after each step.
    x_noise : ndarray
        The noise sample used (fixed during the fit).
    """

    model: object
    log_z: float
    log_z_stderr: float
    stderr: dict
    loss: np.ndarray
    log_z_trace: np.ndarray
    x_noise: np.ndarray


def fit(model, data, noise, nu=1.0, rng=0, *, log_z0: float = 0.0, n_steps: int = 3000, lr: float = 0.05,
        lr_final: float = 1e-4, batch_size: int | None = None, n_noise: int | None = None,
        callbacks=(), log_every=None, stderr: bool = True, method: str = "adam",
        gtol: float = 1e-9) -> NCEResult:
    r"""Fit (θ, c) by minimizing the NCE loss with Adam (``ebm_ref.train``) or full-batch L-BFGS.

    Parameters
    ----------
    model : Energy
        Starting model; any Energy with ``grad_params``.
    data : ndarray, shape (N, d)
    noise : normalized model with ``log_prob`` and ``sample``
    nu : float
        ν > 0; ``n_noise = round(ν N)`` noise points are drawn once, with ``rng``.
    rng : Generator or int
    log_z0 : float
        Starting c.
    n_steps, lr, lr_final : int, float, float
        Adam steps; the step size decays geometrically from ``lr`` to ``lr_final`` so the
        last iterates settle at the empirical minimizer (optimization error far below the
        statistical one).  With ``method="lbfgs"``, ``n_steps`` bounds the L-BFGS iterations
        and ``lr``, ``lr_final`` are not used.
    batch_size : int or None
        None: full batch (the estimator whose standard error is reported).  ``method="lbfgs"``
        is full batch only.
    n_noise : int or None
        Override the number of noise points.
    stderr : bool
        Compute the sandwich standard errors (costs O(N p² + p³) for p parameters; for an
        over-parameterized energy such as an MLP they are not meaningful — the parameters are
        not identifiable — and ``False`` skips them, leaving NaN).
    method : {"adam", "lbfgs"}
        ``"adam"``: the stochastic-optimizer path above (mini-batches allowed, callbacks run by
        ``ebm_ref.train.fit``).  ``"lbfgs"``: deterministic full-batch L-BFGS
        (:func:`ebm_ref.numerics.optimize.minimize_lbfgs`: a backtracking line search that treats a
        parameter the model refuses as a failed trial, and accepts a step whose decrease is below J's
        rounding) on J and its analytic gradient (:func:`loss`) over the flattened (θ, c), symmetric
        parameters (``model.symmetric_params``) kept symmetric.  Both minimize the same full-batch J,
        so at convergence they return the same estimator — the minimizer — and the same standard error;
        for an exponential family J is convex in (θ, c) and L-BFGS reaches it in tens of evaluations
        instead of thousands of steps.
        Callbacks are called as ``cb(iteration, model, loss)`` after every L-BFGS iteration.
    gtol : float
        ``method="lbfgs"`` only: stop when every component of ∇J is ≤ ``gtol`` in absolute value;
        a run that ends with a larger gradient (``n_steps`` iterations exhausted, line search stalled)
        raises ``RuntimeError`` rather than return an unconverged estimate.

    Returns
    -------
    NCEResult
        ``model``, ``log_z`` (:math:`\hat c`), ``log_z_stderr`` (sandwich standard error,
        :func:`asymptotic_covariance`), ``stderr`` for every parameter, the loss and c traces
        (one entry per Adam step or per L-BFGS iteration).
    """
    from ..train import Adam, fit as _fit

    nu = _check_nu(nu)
    check_noise(noise, model.dim)
    data = as_batch(data, model.dim, "data")
    rng = as_generator(rng)
    lr = check_positive(lr, "lr")
    lr_final = check_positive(lr_final, "lr_final")
    n_steps = check_positive_int(n_steps, "n_steps")
    m = int(round(nu * data.shape[0])) if n_noise is None else check_positive_int(n_noise, "n_noise")
    m = max(m, 1)
    if method not in ("adam", "lbfgs"):
        raise ValueError(f"method: expected 'adam' or 'lbfgs', got {method!r}")
    if method == "lbfgs" and batch_size is not None:
        raise ValueError(f"batch_size: method='lbfgs' is full batch only, got batch_size={batch_size}")
    x_noise = as_batch(noise.sample(m, rng), model.dim, "noise.sample(...)")
    start = _WithLogZ(model, _log_z(log_z0))
    if method == "lbfgs":
        aug, losses, trace = _fit_lbfgs(start, data, x_noise, noise, nu, n_steps,
                                        check_positive(gtol, "gtol"), tuple(callbacks))
    else:
        opt = Adam(lr=lr)
        decay = (lr_final / lr) ** (1.0 / max(n_steps - 1, 1))
        trace = []

        def schedule(step, aug, value):
            opt.lr = lr * decay**step
            trace.append(aug.log_z)

        aug, hist = _fit(start, data, objective(x_noise, noise, nu), opt, n_steps, rng,
                         batch_size=batch_size, callbacks=(schedule, *callbacks), log_every=log_every)
        losses = hist.loss
    if stderr:
        _, se = asymptotic_covariance(aug.model, aug.log_z, data, x_noise, noise, nu)
    else:
        se = {k: np.full(np.shape(v), np.nan) for k, v in aug.params.items()}
    return NCEResult(aug.model, aug.log_z, float(se["log_z"]), se, losses, np.array(trace), x_noise)


def _fit_lbfgs(start: _WithLogZ, data, x_noise, noise, nu, max_iter, gtol, callbacks):
    r"""Minimize the full-batch J(θ, c) of :func:`loss` by L-BFGS; returns (the fit, J and c per iteration).

    The vector is ``params.flatten`` of (θ, c); a symmetric parameter is symmetrized on the way in
    (its gradient is symmetric, so this only removes rounding).  A point the model's constructor
    refuses (a precision that is not positive definite, say) is a failed trial of the line search,
    which halves the step (:func:`ebm_ref.numerics.optimize.minimize_lbfgs`).
    """
    template = start.params
    symmetric = tuple(start.model.symmetric_params)

    def unpack(v):
        p = _params.unflatten(v, template)
        for k in symmetric:
            p[k] = 0.5 * (p[k] + np.swapaxes(p[k], -1, -2))
        return start.with_params(p)

    def J(v):
        try:
            aug = unpack(v)
        except ValueError:
            return None
        value, grads = loss(aug.model, aug.log_z, data, x_noise, noise=noise, nu=nu)
        return value, _params.flatten({k: grads[k] for k in template})

    losses, trace = [], []

    def on_iteration(v, value):
        aug = unpack(v)
        losses.append(value)
        trace.append(aug.log_z)
        return any(cb(len(losses), aug, value) is True for cb in callbacks)

    try:
        res = minimize_lbfgs(J, _params.flatten(template), max_iter=max_iter, gtol=gtol, on_iteration=on_iteration)
    except LBFGSNotConverged as err:
        raise RuntimeError(f"nce.fit(method='lbfgs'), f = J(θ, c): {err} (max_iter is fit's n_steps)") from err
    return unpack(res.x), np.array(losses), trace


# -------------------------------- the population covariance (no samples)
def asymptotic_covariance_population(model, log_z, p_data_logpdf, noise, nu, bounds, n_nodes: int = 400):
    r"""Population limit of :func:`asymptotic_covariance` for 1-D models: :math:`n_d\operatorname{Cov}\hat\alpha`.

    With :math:`\varphi = (\nabla_\theta E, 1)`, :math:`G` the logit and :math:`n_n = \nu n_d`
    noise points, every sample mean of :func:`asymptotic_covariance` becomes an integral
    (Gauss–Legendre on ``bounds = (a, b)``):

    .. math::

        H = \tfrac1{1+\nu}\int \sigma(G)\sigma(-G)\,\varphi\varphi^\top\,(p_d + \nu p_n)\,dx,\qquad
        n_dV = \tfrac1{(1+\nu)^2}\big(\operatorname{Cov}_{p_d}[\sigma(-G)\varphi]
               + \nu\operatorname{Cov}_{p_n}[\sigma(G)\varphi]\big),

    and :math:`n_d\operatorname{Cov}\hat\alpha = H^+ (n_dV) H^+`.  At the truth with
    :math:`p_n = p_d` and ν = 1 this is :math:`2M^{-1}\operatorname{Cov}(\varphi)M^{-1}`,
    :math:`M = \mathbb E\varphi\varphi^\top`.  Returns the matrix over
    ``params.flatten(model.params)`` followed by c.
    """
    x, w, G, pd, pn, nu = _population_nodes(model, log_z, p_data_logpdf, noise, nu, bounds, n_nodes,
                                            "asymptotic_covariance_population")
    pd, pn = w * pd, w * pn
    phi = _features(model, x)
    s = expit(G) * expit(-G)
    H = (phi * (s * (pd + nu * pn))[:, None]).T @ phi / (1.0 + nu)

    def cov(weights, f):
        mean = weights @ f
        return (f * weights[:, None]).T @ f - np.outer(mean, mean)

    V = (cov(pd, expit(-G)[:, None] * phi) + nu * cov(pn, expit(G)[:, None] * phi)) / (1.0 + nu) ** 2
    return _sandwich(H, V)
