r"""Identities of note 08: noise-contrastive estimation, flow-contrastive estimation, and the
variational (adversarial) view of log Z.

In the order below:

* **NCE, the classifier and its loss** — the Bayes classifier's logit is
  :math:`\log p_d - \log \nu p_n`, and the model's logit equals it at the truth with
  :math:`c = \log Z`; the loss there (a binary entropy minus a generalized Jensen–Shannon
  divergence) is stationary; the lecture's logsumexp form, the probability form and the
  softplus form are one loss; its gradient; a fit whose learned c matches log Z;
* **NCE's efficiency** — the population sandwich covariance of :math:`(\hat\theta, \hat c)`:
  twice the MLE's when the noise is the data, growing as the noise moves away, and for
  :math:`\hat\theta` smallest at a noise wider than the data;
* **a convex loss against a saddle point** — gradient descent on NCE's loss never moves away
  from its optimum; simultaneous descent–ascent on an adversarial objective does;
* **flow-contrastive estimation** — at equilibrium (flow = data, :math:`E = -\log p_d`,
  :math:`c = \log Z`) the loss is log 2 and every gradient vanishes;
* **the variational bound on log Z** — :math:`\mathbb E_q[-E] + H(q) \le \log Z` with gap
  :math:`\mathrm{KL}(q\|p)`, equality (and a zero-variance Monte Carlo integrand) at q = p, and a
  coupling-flow q by sampling against quadrature;
* **adversarial training** — with :math:`q = p_\theta` the negative phase :math:`\mathbb E_q[\nabla E]`
  is exact, and the maximum over q of the variational objective is the negative log-likelihood:
  maximum likelihood is a min–max.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import integrate, stats
from scipy.special import expit

from .. import check
from .. import params as _params
from ..models import Gaussian, GaussianMixture
from ..models.expfam import ExpFamEnergy, Normal
from ..models.flow import AffineFlow, CouplingFlow, Flow
from ..models.mlp import MLPEnergy
from ..objectives import adversarial as adv
from ..objectives import contrastive_divergence as cd
from ..objectives import mle, nce
from ..numerics.quadrature import gauss_legendre_grid as quadrature_grid
from .registry import identity

TRUTH_1D = Gaussian([0.7], [[1.0 / 0.8**2]])
NOISE_1D = Gaussian([0.0], [[1.0 / 1.5**2]])
MODEL_2D = Gaussian([0.5, -1.0], [[2.0, 0.6], [0.6, 1.0]])


def _hb(nu):
    pi = 1.0 / (1.0 + nu)
    return -pi * np.log(pi) - (1.0 - pi) * np.log(1.0 - pi)


@lru_cache(maxsize=8)
def _hermgauss(n):
    # the nodes are an eigenvalue problem of size n: computed once per n
    return np.polynomial.hermite.hermgauss(n)


def _hermite(n, mean, sd):
    """Gauss–Hermite nodes and weights for E over N(mean, sd²)."""
    t, w = _hermgauss(n)
    return mean + sd * np.sqrt(2.0) * t, w / np.sqrt(np.pi)


# ------------------------------------------------------------------- NCE
def _nce_2d_sample(rng):
    """The 2-D case of the loss-form identities: noise N(0, 2I) (precision I/2), 60 data points from N(0, I), 90 noise points."""
    noise = Gaussian([0.0, 0.0], 0.5 * np.eye(2))
    return noise, rng.standard_normal((60, 2)), noise.sample(90, rng)


@identity("nce: logit of the Bayes classifier = log p_d - log nu p_n",
          step="D*(x) = p_d/(p_d + ν p_n)  ⇒  log D*/(1 − D*) = log p_d − log ν − log p_n",
          case="p_d = N(0.7, 0.8²), p_n = N(0, 1.5²), ν = 3, 40 points; scipy.stats log-densities on the right",
          tol=1e-10, reason="log(D/(1−D)) of a probability near 1 loses ~5 digits of 1 − D; both sides O(1)")
def _(rng):
    x = 2.0 * rng.standard_normal((40, 1))
    D = nce.bayes_optimal_classifier(TRUTH_1D.log_prob, NOISE_1D.log_prob, x, 3.0)
    right = stats.norm(0.7, 0.8).logpdf(x[:, 0]) - np.log(3.0) - stats.norm(0, 1.5).logpdf(x[:, 0])
    return np.log(D) - np.log1p(-D), right


@identity("nce: model logit at theta*, c = log Z equals the Bayes logit",
          step="G = −E_θ − c − log ν − log p_n with c = log Z(θ*) is log p_d − log ν p_n",
          case="2-D Gaussian energy, mixture noise, ν = 0.5, 30 points",
          tol=1e-12, reason="a few float64 operations on O(1) numbers")
def _(rng):
    noise = GaussianMixture([0.3, 0.7], [[-1.0, 0.0], [1.0, -1.0]], [np.eye(2), 2.0 * np.eye(2)])
    x = rng.standard_normal((30, 2))
    left = nce.logit(MODEL_2D, MODEL_2D.log_partition(), x, noise, 0.5)
    right = nce.bayes_optimal_logit(MODEL_2D.log_prob, noise.log_prob, x, 0.5)
    return left, right


@identity("nce: Bayes-optimal loss = binary entropy of the prior when p_n = p_d",
          step="p_n = p_d ⇒ D* ≡ 1/(1+ν) ⇒ J* = H_b(1/(1+ν)), sample by sample",
          case="1-D Gaussian, ν = 0.3, 1, 5; 200 data and 150 noise samples; nce.loss at θ*, c = log Z",
          tol=1e-12, reason="sums of O(1) softplus values")
def _(rng):
    nus = [0.3, 1.0, 5.0]
    left = [nce.loss(TRUTH_1D, TRUTH_1D.log_partition(), TRUTH_1D.sample(200, rng), TRUTH_1D.sample(150, rng),
                     noise=TRUTH_1D, nu=nu)[0] for nu in nus]
    return np.array(left), np.array([_hb(nu) for nu in nus])


@identity("nce: population loss at the truth = H_b - generalized JS divergence",
          step="J(θ*, log Z) = H_b(π) − [π KL(p_d‖m) + (1−π) KL(p_n‖m)], π = 1/(1+ν), m = π p_d + (1−π) p_n",
          case="p_d = N(0.7, 0.8²), p_n = N(0, 1.5²), ν = 2; left by Gauss–Legendre on the softplus form, "
               "right by scipy quad on the KLs",
          tol=1e-9, reason="two different quadratures on [-15, 15] of smooth integrands, each ~1e-12")
def _(rng):
    nu = 2.0
    pi = 1.0 / (1.0 + nu)
    pd, pn = stats.norm(0.7, 0.8), stats.norm(0.0, 1.5)

    def m(x):
        return pi * pd.pdf(x) + (1 - pi) * pn.pdf(x)

    kl_d = integrate.quad(lambda x: pd.pdf(x) * np.log(pd.pdf(x) / m(x)), -15, 15, epsabs=1e-13)[0]
    kl_n = integrate.quad(lambda x: pn.pdf(x) * np.log(pn.pdf(x) / m(x)), -15, 15, epsabs=1e-13)[0]
    left = nce.population_loss_quadrature(TRUTH_1D, TRUTH_1D.log_partition(), TRUTH_1D.log_prob, NOISE_1D, nu,
                                          (-15, 15))
    return left, _hb(nu) - pi * kl_d - (1 - pi) * kl_n


@identity("nce: population gradient vanishes at theta*, c = log Z",
          step="J is minimized by the Bayes classifier, reached at θ = θ*, c = log Z(θ*)",
          case="1-D Gaussian data and model, N(0, 1.5²) noise, ν = 2; ∂J/∂(μ, P, c) by Richardson on the quadrature",
          tol=1e-9, reason="Richardson differences of a 400-node quadrature (~1e-13 each) divided by h ~ 1e-2")
def _(rng):
    nu, lz = 2.0, TRUTH_1D.log_partition()

    def J(mu, prec, c):
        return nce.population_loss_quadrature(Gaussian([mu], [[prec]]), c, TRUTH_1D.log_prob, NOISE_1D, nu, (-15, 15))

    mu0, p0 = 0.7, 1.0 / 0.8**2
    d = [check.richardson(lambda t: J(mu0 + float(t), p0, lz), 0.0, 1.0),
         check.richardson(lambda t: J(mu0, p0 + float(t), lz), 0.0, 1.0),
         check.richardson(lambda t: J(mu0, p0, lz + float(t)), 0.0, 1.0)]
    return np.array(d), np.zeros(3)


@identity("nce: lecture's logsumexp form = -(1 + nu) x softplus loss",
          step="E_d[f − lse(f, c + log νp_n)] + ν E_n[c + log νp_n − lse(·)] = −(1+ν) J",
          case="2-D Gaussian energy, Gaussian noise, c = 1.1, ν = 0.5, 1, 3; 60 data, 90 noise points",
          tol=1e-12, reason="sums of O(1) terms")
def _(rng):
    noise, xd, xn = _nce_2d_sample(rng)
    left, right = [], []
    for nu in (0.5, 1.0, 3.0):
        left.append(-nce.classification_log_likelihood(MODEL_2D, 1.1, xd, xn, noise, nu) / (1 + nu))
        right.append(nce.loss(MODEL_2D, 1.1, xd, xn, noise=noise, nu=nu)[0])
    return np.array(left), np.array(right)


@identity("nce: probability form of the loss = softplus form",
          step="−log σ(G) = softplus(−G), −log(1 − σ(G)) = softplus(G)",
          case="same 2-D case as above, ν = 2",
          tol=1e-12, reason="moderate logits: the naive log D is accurate to rounding here")
def _(rng):
    noise, xd, xn = _nce_2d_sample(rng)
    return (nce.loss_probability_form(MODEL_2D, 1.1, xd, xn, noise, 2.0),
            nce.loss(MODEL_2D, 1.1, xd, xn, noise=noise, nu=2.0)[0])


@identity("nce: gradient of J in (theta, c) = finite differences",
          step="∇θJ = (E_d[σ(−G)∇θE] − ν E_n[σ(G)∇θE])/(1+ν), ∂J/∂c = (E_d σ(−G) − ν E_n σ(G))/(1+ν)",
          case="MLP energy [2, 6, 5], GaussianMixture noise, ν = 2, 25 data / 40 noise points",
          tol=1e-7, reason="Richardson central differences (relative error ~1e-10); kind='rel'", kind="rel")
def _(rng):
    model = MLPEnergy.init([2, 6, 5], rng)
    noise = GaussianMixture([0.4, 0.6], [[-1.0, 0.0], [1.0, 0.5]], [np.eye(2), 0.5 * np.eye(2)])
    xd, xn = rng.standard_normal((25, 2)), noise.sample(40, rng)
    tmpl = dict(model.params)
    tmpl["log_z"] = np.asarray(0.4)

    def J(t):
        p = _params.unflatten(t, tmpl)
        c = float(p.pop("log_z"))
        return nce.loss(model.with_params(p), c, xd, xn, noise=noise, nu=2.0)[0]

    num = check.numerical_jacobian(J, _params.flatten(tmpl), method="richardson")
    return _params.flatten(nce.loss(model, 0.4, xd, xn, noise=noise, nu=2.0)[1]), num


@identity("nce: learned c matches exact log Z within 3 standard errors (n = 10^4)",
          step="at the NCE optimum c = log Z(θ̂) → log Z(θ*) as n → ∞; z = (ĉ − log Z)/SE",
          case="2-D Gaussian data n = 10⁴, noise N((0, −0.5), 2I), ν = 1, full-batch L-BFGS to max |∇J| ≤ 1e-9",
          tol=3.0, kind="z", reason="|z| < 3 with z ~ N(0, 1): false-positive rate 0.27% (sandwich SE, checked "
                          "for calibration in tests/test_nce.py)")
def _(rng):
    x = MODEL_2D.sample(10_000, rng)
    noise = Gaussian.from_covariance([0.0, -0.5], 2.0 * np.eye(2))
    r = nce.fit(Gaussian(np.zeros(2), np.eye(2)), x, noise, 1.0, rng, method="lbfgs")
    return (r.log_z - MODEL_2D.log_partition()) / r.log_z_stderr, 0.0


# --------------------------------------------- NCE's efficiency: where to put the noise
_STD_NORMAL = Gaussian([0.0], [[1.0]])
_POP_BOX = (-16.0, 16.0)


def _ncov(noise, nu=1.0):
    """n_d · Cov(μ̂, P̂, ĉ) of NCE at the truth N(0, 1) with the given noise (population, quadrature)."""
    return nce.asymptotic_covariance_population(_STD_NORMAL, _STD_NORMAL.log_partition(), _STD_NORMAL.log_prob,
                                                noise, nu, _POP_BOX)


@identity("lecture: NCE covariance at p_n = p_d, ν = 1 is 2M⁻¹Cov(φ)M⁻¹ (closed form)",
          step="σ(G) = ½ everywhere: H = ¼M, n_dV = Cov(φ)/8 ⇒ n_d Cov = 2M⁻¹Cov(φ)M⁻¹; for N(0,1) with "
               "φ = (−x, x²/2, 1): n_d Var(μ̂) = 2, n_d Var(P̂) = 4, n_d Var(ĉ) = 1, Cov(P̂, ĉ) = −2 (twice the MLE's)",
          case="model = data = noise = N(0, 1), θ = (mean, precision), 400 Gauss–Legendre nodes on [−16, 16]",
          tol=1e-10, reason="the integrands are Gaussian times polynomials: Gauss–Legendre with 400 nodes is exact to rounding")
def _(rng):
    return _ncov(_STD_NORMAL), np.array([[2.0, 0.0, 0.0], [0.0, 4.0, -2.0], [0.0, -2.0, 1.0]])


@identity("lecture: NCE's asymptotic variances grow as the noise moves away from the data, shrink with ν",
          step="n_d Cov(θ̂, ĉ) = H⁺(n_dV)H⁺ (nce.asymptotic_covariance_population) along a family of noises",
          case="data = model = N(0, 1); noise N(δ, 1), δ = 0, 0.5, …, 2.5 (ν = 1) and ν = 0.5, 1, 2, 4, 8 (δ = 1); "
               "left = (number of the 15 consecutive δ-steps where all of Var μ̂, Var P̂, Var ĉ rise; the 12 ν-steps "
               "where they fall)",
          tol=0.5, reason="counts of strict inequalities between exactly computed variances; 0.5 separates integers")
def _(rng):
    by_shift = np.array([np.diag(_ncov(Gaussian([d], [[1.0]]))) for d in np.arange(0.0, 2.51, 0.5)])
    by_nu = np.array([np.diag(_ncov(Gaussian([1.0], [[1.0]]), nu)) for nu in (0.5, 1.0, 2.0, 4.0, 8.0)])
    return (np.array([np.sum(np.diff(by_shift, axis=0) > 0), np.sum(np.diff(by_nu, axis=0) < 0)], dtype=float),
            np.array([15.0, 12.0]))


@identity("lecture: NCE's ĉ is most precise at p_n = p_d, but a wider noise beats p_d for θ̂",
          step="along noises N(0, s²): n_d Var(ĉ) is smallest at s = 1; n_d Var(μ̂) at s = 1.5 is below its value at "
               "s = 1 — 'noise close to the data' is a heuristic, not an optimum (Chehab et al. 2022)",
          case="data = model = N(0, 1), ν = 1, s ∈ {0.5, 0.7, 1.5, 2, 3}; left = (number of s with Var ĉ(s) > Var ĉ(1), "
               "[Var μ̂(1.5) < Var μ̂(1)], [Var P̂(1.5) < Var P̂(1)])",
          tol=0.5, reason="counts and indicators of strict inequalities between exactly computed variances")
def _(rng):
    at = {s: np.diag(_ncov(Gaussian([0.0], [[1.0 / s**2]]))) for s in (0.5, 0.7, 1.0, 1.5, 2.0, 3.0)}
    worse_c = sum(at[s][2] > at[1.0][2] for s in at if s != 1.0)
    return (np.array([worse_c, at[1.5][0] < at[1.0][0], at[1.5][1] < at[1.0][1]], dtype=float),
            np.array([5.0, 1.0, 1.0]))


# --------------------------------------- a convex loss against a saddle point
_MU, _SD = 1.0, 1.0
_WIDE_NOISE = Gaussian([0.0], [[0.25]])


def _nce_population_grad(model, c, nu=1.0):
    r"""∇_{η,c} J = [E_d σ(−G)φ − ν E_n σ(G)φ]/(1+ν), φ = (∇_ηE, 1), by Gauss–Hermite on p_d and p_n.

    300 nodes: the gradient at the truth is then 0 to ~1e-13 (80 nodes leave ~1e-7).
    """
    out = []
    for (x, w), sign, weight in ((_hermite(300, _MU, _SD), 1.0, lambda G: expit(-G)),
                                 (_hermite(300, 0.0, 2.0), -nu, expit)):
        x = x[:, None]
        G = nce.logit(model, c, x, _WIDE_NOISE, nu)
        phi = np.concatenate([model.grad_params(x)["eta"], np.ones((len(x), 1))], axis=1)
        out.append(sign * (w * weight(G)) @ phi)
    return (out[0] + out[1]) / (1.0 + nu)


def _smoothness_bound(nu=1.0):
    """L ≤ ¼ λmax(E_{(p_d + ν p_n)/(1+ν)}[φφᵀ]) since σ(G)σ(−G) ≤ ¼ (φ = (x, x², 1) up to sign)."""
    M = 0.0
    for (x, w), weight in ((_hermite(80, _MU, _SD), 1.0), (_hermite(80, 0.0, 2.0), nu)):
        phi = np.stack([x, x**2, np.ones_like(x)], axis=1)
        M = M + weight * (phi * w[:, None]).T @ phi
    return 0.25 * np.linalg.eigvalsh(M / (1.0 + nu)).max()


@identity("lecture: NCE descends a convex loss (distance to the optimum never rises); the adversarial saddle does not",
          step="NCE: J(η, c) is convex (E linear in η), so gradient descent with step ≤ 1/L never increases ‖α − α*‖. "
               "Adversarial: L(η; q) = E_d E_η − E_q E_η + H(q) is linear in η, so simultaneous descent–ascent from "
               "(η* + δe₁, q*) moves only q: the distance grows by exactly √(1 + lr²)",
          case="data N(1, 1), EBM = Normal in natural parameters η (ExpFamEnergy); NCE noise N(0, 4), ν = 1, 300 steps "
               "from η* + (0.5, 0.2), c* − 0.3; game q = N(m, s²), lr = 0.5, δ = 0.3; left = (number of NCE steps whose "
               "distance to α* rose, the game's one-step distance ratio)",
          tol=1e-9, reason="first entry a count (0 expected exactly, convex L-smooth descent); second: Gauss–Hermite "
                           "is exact for these polynomial moments, rounding ~1e-15")
def _(rng):
    truth = ExpFamEnergy([_MU / _SD**2, -0.5 / _SD**2], family=Normal)
    eta_star, c_star = truth.params["eta"], truth.log_partition()
    alpha_star = np.append(eta_star, c_star)
    lr = 1.0 / _smoothness_bound()
    alpha = alpha_star + np.array([0.5, 0.2, -0.3])
    dist, rises = np.linalg.norm(alpha - alpha_star), 0
    for _ in range(300):
        alpha = alpha - lr * _nce_population_grad(truth.replace(eta=alpha[:2]), alpha[2])
        new = np.linalg.norm(alpha - alpha_star)
        rises += new > dist * (1 + 1e-12)
        dist = new
    # the game, one simultaneous step of descent in η and ascent in q = (m, s)
    lr_game, delta = 0.5, 0.3
    eta = eta_star + np.array([delta, 0.0])
    m, s = _MU, _SD
    model = truth.replace(eta=eta)
    xd, wd = _hermite(20, _MU, _SD)
    xq, wq = _hermite(20, m, s)
    g_eta = wd @ model.grad_params(xd[:, None])["eta"] - wq @ model.grad_params(xq[:, None])["eta"]
    z = (xq - m) / s
    g_m = -(wq @ model.grad_x(xq[:, None])[:, 0])
    g_s = -(wq @ (model.grad_x(xq[:, None])[:, 0] * z)) + 1.0 / s      # ∂H/∂s = 1/s
    new_eta, new_m, new_s = eta - lr_game * g_eta, m + lr_game * g_m, s + lr_game * g_s
    ratio = np.linalg.norm(np.concatenate([new_eta - eta_star, [new_m - _MU, new_s - _SD]])) / delta
    return np.array([float(rises), ratio]), np.array([0.0, np.sqrt(1 + lr_game**2)])


# ------------------------------------------- flow-contrastive estimation at equilibrium
@identity("lecture: FCE at equilibrium (flow = data, E = −log p_d, c = log Z): J = log 2, ∇_{θ,c}J = 0, ∇_φJ = 0",
          step="G = −E − c − log q_φ = 0 everywhere ⇒ D = ½, J = log 2 pointwise; the gradients are "
               "½[E_d ∇(E+c) − E_q ∇(E+c)]/2 = 0 and the flow's (density and pathwise) terms cancel in expectation",
          case="1-D, data N(0.7, 0.8²) = Gaussian model = affine flow; population gradients as Gauss–Hermite sums of "
               "adversarial.fce_grads over one (x_i, z_i) node pair each; left = (J, every gradient entry)",
          tol=1e-12, reason="the integrands are polynomials of degree ≤ 4: 12-node Gauss–Hermite is exact; rounding ~1e-15")
def _(rng):
    mu, sd = 0.7, 0.8
    model = Gaussian([mu], [[1.0 / sd**2]])
    flow = Flow([AffineFlow.from_mean_cov(np.array([mu]), np.array([[sd**2]]))])
    xs, w = _hermite(12, mu, sd)
    zs = (xs - mu) / sd
    J, g_ebm, g_flow = 0.0, None, None
    for x, z, wi in zip(xs, zs, w):
        Ji, ge, gf = adv.fce_grads(model, model.log_partition(), flow, np.array([[x]]), np.array([[z]]), nu=1.0)
        J += wi * Ji
        g_ebm = {k: wi * np.asarray(v) + (0 if g_ebm is None else g_ebm[k]) for k, v in ge.items()}
        g_flow = {k: wi * np.asarray(v) + (0 if g_flow is None else g_flow[k]) for k, v in gf.items()}
    grads = np.concatenate([np.ravel(v) for v in list(g_ebm.values()) + list(g_flow.values())])
    return np.append(J, grads), np.append(np.log(2.0), np.zeros_like(grads))


# ------------------------------------------------------------ variational
def _random_q(rng):
    A = rng.standard_normal((2, 2))
    return rng.standard_normal(2), A @ A.T + 0.2 * np.eye(2)


@identity("variational: bound <= log Z for every Gaussian q (closed form)",
          step="log Z ≥ E_q[−E] + H(q) (Jensen)",
          case="50 random Gaussian q against a 2-D Gaussian energy; left = max(0, max_q(bound − log Z))",
          tol=1e-12, reason="an inequality: any violation beyond rounding fails")
def _(rng):
    lz = MODEL_2D.log_partition()
    worst = max(adv.variational_bound_exact(MODEL_2D, Gaussian.from_covariance(*_random_q(rng))) - lz
                for _ in range(50))
    return max(0.0, worst), 0.0


@identity("variational: log Z - bound = KL(q || p) (closed form)",
          step="log Z − (E_q[−E] + H(q)) = E_q[log q − log p] = KL(q‖p)",
          case="10 random Gaussian q (as affine flows); KL by the Gaussian KL formula",
          tol=1e-12, reason="closed forms of 2×2 traces and log-determinants", kind="abs")
def _(rng):
    left, right = [], []
    for _ in range(10):
        m, S = _random_q(rng)
        q = Flow([AffineFlow.from_mean_cov(m, S)])
        left.append(MODEL_2D.log_partition() - adv.variational_bound_exact(MODEL_2D, q))
        right.append(adv.kl_gaussians(m, S, MODEL_2D.mean, MODEL_2D.covariance))
    return np.array(left), np.array(right)


@identity("variational: bound = log Z when q = p (closed form)",
          step="KL(p‖p) = 0",
          case="q = the model itself (models.Gaussian) and as an affine flow",
          tol=1e-12, reason="closed forms on O(1) numbers")
def _(rng):
    q1 = Gaussian(MODEL_2D.mean, MODEL_2D.precision)
    q2 = Flow([AffineFlow.from_mean_cov(MODEL_2D.mean, MODEL_2D.covariance)])
    lz = MODEL_2D.log_partition()
    return np.array([adv.variational_bound_exact(MODEL_2D, q1), adv.variational_bound_exact(MODEL_2D, q2)]), \
        np.array([lz, lz])


@identity("variational: Monte Carlo integrand is constant (= log Z) when q = p",
          step="q = p ⇒ −E(x) − log q(x) = log Z for every x: zero variance",
          case="1000 samples of q = p (affine flow); left = the sample standard deviation",
          tol=1e-12, reason="each w is log Z up to rounding of O(1) sums")
def _(rng):
    q = Flow([AffineFlow.from_mean_cov(MODEL_2D.mean, MODEL_2D.covariance)])
    _, w = adv.bound_terms(MODEL_2D, q, 1000, rng)
    return float(np.std(w)), 0.0


@identity("variational: Monte Carlo bound with a coupling-flow q = quadrature bound",
          step="E_q[−E − log q] by sampling q vs ∫ q(−E − log q) dx (≤ log Z)",
          case="2-D Gaussian energy, RealNVP-style q (affine + 2 coupling layers, hand-set), 20000 samples; z-score",
          tol=4.0, kind="z", reason="|z| < 4 for z ~ N(0, 1): false-positive rate 6e-5")
def _(rng):
    m0, m1 = np.array([True, False]), np.array([False, True])
    W1 = np.array([[0.8, -0.5, 0.3]])
    Ws, Wt = np.array([[0.2], [-0.15], [0.1]]), np.array([[0.7], [0.4], [-0.6]])
    q = Flow([AffineFlow.from_mean_cov([0.3, -0.8], [[0.6, 0.2], [0.2, 1.1]]),
              CouplingFlow(W1, [0.1, 0.0, -0.2], Ws, [0.05], Wt, [0.3], m0),
              CouplingFlow(-W1, [0.0, 0.2, 0.1], -Ws, [-0.1], 0.5 * Wt, [-0.2], m1)])
    pts, w = quadrature_grid([(-16, 16), (-16, 16)], 400)
    lq = q.log_prob(pts)
    exact = float(np.sum(w * np.exp(lq) * (-MODEL_2D.energy(pts) - lq)))
    v, se = adv.variational_bound(MODEL_2D, q, 20_000, rng)
    return (v - exact) / se, 0.0


# ----------------------------------------- adversarial training: q as the negative phase
_ADV_DATA = Gaussian([0.4, -0.3], [[1.5, 0.4], [0.4, 0.8]])
_ADV_MODEL = Gaussian([0.0, 0.2], [[1.0, 0.2], [0.2, 1.3]])


def _flat(d):
    return np.concatenate([np.ravel(v) for v in d.values()])


def _gauss_expect(grad_fn, q, n=10):
    """E_q[grad_fn(x)] for a Gaussian q = N(m, S) by a tensor Gauss–Hermite rule (exact for polynomials of degree < 2n)."""
    t, w = _hermgauss(n)
    d = q.dim
    grid = np.stack(np.meshgrid(*[t] * d, indexing="ij"), axis=-1).reshape(-1, d)
    wts = np.prod(np.stack(np.meshgrid(*[w] * d, indexing="ij"), axis=-1).reshape(-1, d), axis=1) / np.pi ** (d / 2)
    x = q.mean + np.sqrt(2.0) * grid @ np.linalg.cholesky(q.covariance).T
    return {k: np.tensordot(wts, v, axes=(0, 0)) for k, v in grad_fn(x).items()}


@identity("lecture: with q = p_θ the adversarial negative phase is exact: ⟨∇E⟩_data − E_q[∇E] = ∇ NLL",
          step="∇θ[E_d E_θ − E_q E_θ + H(q)] = E_d∇E − E_q∇E, and E_{p_θ}[∇E] = −∇log Z, so at q = p_θ it is the "
               "likelihood gradient; at any other q it is off by E_{p_θ}∇E − E_q∇E",
          case="2-D Gaussian model and data (60 points); E_q by Gauss–Hermite (exact: ∇θE is quadratic in x); "
               "right = mle.loss's gradient (closed-form log Z)", tol=1e-12,
          reason="both sides exact; gradient entries of size ~1 agree to rounding")
def _(rng):
    x = _ADV_DATA.sample(60, rng)
    pos = cd.phases(_ADV_MODEL, x, x)[0]
    neg = _gauss_expect(_ADV_MODEL.grad_params, _ADV_MODEL)
    _, nll_grad = mle.loss(_ADV_MODEL, x)
    return _flat({k: pos[k] - neg[k] for k in pos}), _flat(nll_grad)


@identity("lecture: NLL(θ) = max_q [E_d E_θ − E_q E_θ + H(q)], attained at q = p_θ with zero q-gradient",
          step="E_q[−E] + H(q) ≤ log Z with equality at q = p_θ (Jensen), so E_d E_θ + max_q[…] = E_d E_θ + log Z = NLL; "
               "maximum likelihood is min_θ max_q",
          case="2-D Gaussian model and data (60 points); adversarial.variational_bound_exact at q = p_θ; its gradient in "
               "(m, S) by central differences; left = (value, 5 gradient entries), right = (mle.loss, 0)",
          tol=1e-8, reason="closed forms; central differences with step 1e-5 at a maximum: truncation ~1e-10")
def _(rng):
    x = _ADV_DATA.sample(60, rng)
    value = float(np.mean(_ADV_MODEL.energy(x))) + adv.variational_bound_exact(_ADV_MODEL, _ADV_MODEL)
    nll, _ = mle.loss(_ADV_MODEL, x)
    m0, S0 = _ADV_MODEL.mean, _ADV_MODEL.covariance
    grads = []
    for dm, dS in [(e, np.zeros((2, 2))) for e in np.eye(2)] + \
                  [(np.zeros(2), E) for E in (np.diag([1.0, 0.0]), np.diag([0.0, 1.0]), np.array([[0, 1.0], [1.0, 0]]))]:
        f = lambda s: adv.variational_bound_exact(_ADV_MODEL, Gaussian(m0 + s * dm, np.linalg.inv(S0 + s * dS)))
        grads.append((f(1e-5) - f(-1e-5)) / 2e-5)
    return np.append(value, grads), np.append(nll, np.zeros(len(grads)))
