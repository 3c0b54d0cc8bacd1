r"""Identities of note 02 (exponential families).

For each family :math:`p(x\mid\eta) = h(x)\exp(\eta^\top T(x) - A(\eta))`, in the order below:

* :math:`A(\eta) = \log\int h\,e^{\eta^\top T}` — closed form against quadrature/summation;
* :math:`\nabla A(\eta) = \mathbb E[T]` and :math:`\nabla^2 A(\eta) = \operatorname{Cov}[T]` —
  closed forms (digamma, trigamma, ...) against the moments of :math:`h\,e^{\eta^\top T}`
  obtained by quadrature or summation, normalized by their own integral (they never
  touch the closed-form A);
* the MLE is moment matching, :math:`\nabla A(\hat\eta) = \frac1n\sum_i T(x_i)`.

Then, for all families at once and beyond them:

* **the families** — :math:`\log h + \eta^\top T - A` of each of the eight families is the
  textbook log density (scipy.stats) of its usual parameters;
* **maximum entropy** — the distribution of largest entropy under moment constraints is an
  exponential family (a die with a given mean, a grid with given first two moments), and
  strong duality :math:`H(p^*) = \log Z(\eta^*) - \eta^{*\top}\mu`;
* **the energy view** — for the continuous families, log Z of the energy
  :math:`E = -\log h - \eta^\top T` against quadrature of :math:`e^{-E(x)}` through the
  ``Energy`` interface (adaptive in 1-D, a fixed Gauss–Legendre grid on the Dirichlet's
  simplex); and adding two energies of one family multiplies the densities: the product of two
  Betas is a Beta.

Each family is evaluated at one fixed, interior parameter setting (listed in the
case column); quadrature-friendly settings (Beta, Gamma, Dirichlet parameters > 1)
keep the adaptive quadrature free of endpoint singularities.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from .. import maxent
from ..models.expfam import Bernoulli, Beta, Categorical, Dirichlet, Exponential, Gamma, Normal, Poisson
from ..numerics.quadrature import adaptive_quad, grid_log_integral
from ..partition import log_partition_quadrature
from ._grid import N_GRID
from .registry import identity

CASES = {
    "Normal": (lambda: Normal(0.7, 1.3), "Normal(mu=0.7, sigma=1.3)"),
    "Poisson": (lambda: Poisson(3.5), "Poisson(rate=3.5), summed to rate + 40 sqrt(rate) + 60"),
    "Exponential": (lambda: Exponential(2.0), "Exponential(rate=2)"),
    "Bernoulli": (lambda: Bernoulli(0.3), "Bernoulli(p=0.3), sum over {0, 1}"),
    "Categorical": (lambda: Categorical([0.1, 0.2, 0.3, 0.4]), "Categorical(probs=(0.1, 0.2, 0.3, 0.4))"),
    "Beta": (lambda: Beta(2.5, 1.7), "Beta(alpha=2.5, beta=1.7)"),
    "Gamma": (lambda: Gamma(2.2, 0.8), "Gamma(shape=2.2, rate=0.8)"),
    "Dirichlet": (lambda: Dirichlet([2.5, 3.0, 3.5]), "Dirichlet(alpha=(2.5, 3, 3.5)), K = 3"),
}
DISCRETE = ("Poisson", "Bernoulli", "Categorical")
HOW = {name: ("summation" if name in DISCRETE else "quadrature") for name in CASES}

#: quadrature/summation of smooth integrands reaches ~1e-13; 1e-9 (relative) leaves room
#: for the tanh–sinh and tail truncations.
TOL_MOMENTS = 1e-9
#: Newton stops at a residual ≤ 1e-12·max(1, |mean T|); 1e-10 is the contract.
TOL_MLE = 1e-10
N_MLE = 500


#: the three moment identities of every family: (label, step, kind, reason, closed form, by integration)
_MOMENT_IDENTITIES = [
    ("A = log {sum} h e^(ηT)", "A(η) = log ∫ h(x) exp(ηᵀT(x)) dx", "abs",
     "the closed form (gammaln, softplus, ...) against the integral of h·exp(ηᵀT); both ~1e-14",
     lambda fam: fam.log_partition(), lambda fam: fam.log_partition_numerical()),
    ("∇A = E T", "∇A(η) = ∫ T(x) p(x|η) dx", "rel",
     "closed-form ∇A against ∫T·h·e^(ηT) / ∫h·e^(ηT), never using A; agreement ~1e-13",
     lambda fam: fam.grad_A(), lambda fam: fam.moments_numerical()[0]),
    ("∇²A = Cov T", "∇²A(η) = E[(T − E T)(T − E T)ᵀ]", "rel",
     "closed-form ∇²A (trigamma, ...) against the centred second moment by integration",
     lambda fam: fam.hess_A(), lambda fam: fam.moments_numerical()[1]),
]


def _register(name: str) -> None:
    make, case = CASES[name]
    how = HOW[name]
    for label, step, kind, reason, closed, integrated in _MOMENT_IDENTITIES:
        label = label.format(sum="Σ" if name in DISCRETE else "∫")

        def moments(rng, closed=closed, integrated=integrated):
            fam = make()
            return closed(fam), integrated(fam)

        identity(f"expfam: {name}: {label}, {how}", step=step, case=case, tol=TOL_MOMENTS, kind=kind,
                 reason=reason)(moments)

    @identity(f"expfam: {name}: MLE = moment matching", step="∇A(η̂) = (1/n) Σᵢ T(xᵢ)",
              case=f"{case}, fitted to {N_MLE} exact samples", tol=TOL_MLE, kind="rel",
              reason="the fitted model's E T equals the data mean of T; closed form or Newton to 1e-12")
    def _m(rng, make=make, name=name):
        fam = make()
        x = fam.sample(N_MLE, rng)
        opts = {"n_categories": fam.n_categories} if name == "Categorical" else {}
        fit = type(fam).mle(x, **opts)
        return fit.grad_A(), fam.sufficient_statistics(x).mean(axis=0)


for _name in CASES:
    _register(_name)


# ------------------------------------------------------- the families are the textbook densities
_FAMILIES = (
    (Normal(0.7, 1.3), lambda x: stats.norm(0.7, 1.3).logpdf(x[:, 0])),
    (Poisson(3.5), lambda x: stats.poisson(3.5).logpmf(x[:, 0])),
    (Exponential(1.7), lambda x: stats.expon(scale=1 / 1.7).logpdf(x[:, 0])),
    (Bernoulli(0.3), lambda x: stats.bernoulli(0.3).logpmf(x[:, 0])),
    (Categorical([0.2, 0.5, 0.3]), lambda x: np.log(np.array([0.2, 0.5, 0.3]))[x[:, 0].astype(int)]),
    (Beta(2.5, 1.5), lambda x: stats.beta(2.5, 1.5).logpdf(x[:, 0])),
    (Gamma(2.2, 0.8), lambda x: stats.gamma(2.2, scale=1 / 0.8).logpdf(x[:, 0])),
    (Dirichlet([1.5, 2.0, 3.0]), lambda x: stats.dirichlet([1.5, 2.0, 3.0]).logpdf(x.T)),
)


@identity("lecture: h(x)e^{ηᵀT(x) − A(η)} is the textbook density of each of the 8 families",
          step="log h + ηᵀT − A with η, T, h, A of each family = scipy.stats' log density of the usual parameters",
          case="Normal, Poisson, Exponential, Bernoulli, Categorical, Beta, Gamma, Dirichlet at fixed parameters, "
               "20 samples each", tol=1e-12,
          reason="log densities of size ≲ 20 built two ways (gammaln, logs) agree to a few ulp")
def _(rng):
    left, right = [], []
    for fam, ref in _FAMILIES:
        x = fam.sample(20, rng)
        left.append(fam.log_base_measure(x) + fam.sufficient_statistics(x) @ fam.eta - fam.log_partition())
        right.append(ref(x))
    return np.concatenate(left), np.concatenate(right)


# ------------------------------------------------------- maximum entropy
@identity("maxent: max-entropy distribution under a mean constraint = exponential family (die, mean 4.5)",
          step="argmax H(p) s.t. Σ p_k T_k = μ  is  p ∝ exp(ηᵀT) with ∇log Z(η) = μ",
          case="support {1..6}, T(x) = x, μ = 4.5 (Jaynes' die); SLSQP on the simplex vs Newton on the dual",
          tol=1e-7, reason="SLSQP stops at ftol 1e-15 on H, which leaves p accurate to ~1e-8; Newton reaches 1e-14")
def _(rng):
    T = np.arange(1.0, 7.0)
    return maxent.max_entropy_primal(T, [4.5]), maxent.max_entropy_dual(T, [4.5])[1]


@identity("maxent: mean and second moment fixed on a grid give p ∝ exp(η1 x + η2 x^2)",
          step="two constraints → log p affine in (x, x²): a discretized Gaussian",
          case="41 points on [−3, 3], E x = 0.3, E x² = 1.2; SLSQP vs Newton on the dual",
          tol=1e-7, reason="SLSQP stops at ftol 1e-15 on H, which leaves p accurate to ~1e-8")
def _(rng):
    x = np.linspace(-3.0, 3.0, 41)
    T = np.column_stack([x, x**2])
    return maxent.max_entropy_primal(T, [0.3, 1.2]), maxent.max_entropy_dual(T, [0.3, 1.2])[1]


@identity("maxent: strong duality, H(p*) = log Z(eta*) - eta*.mu (Boltzmann, fixed mean energy)",
          step="max H = min_η log Z(η) − ηᵀμ; with T = −E the multiplier is β and p ∝ e^{−βE}",
          case="double-well energy x⁴/4 − x² on 41 grid points, prescribed mean energy −0.6",
          tol=1e-12, reason="the dual is solved by Newton to |E T − μ| < 1e-14; both sides are O(1) sums")
def _(rng):
    x = np.linspace(-3.0, 3.0, 41)
    T = -(x**4 / 4 - x**2)
    eta, p = maxent.max_entropy_dual(T, [0.6])
    a = T * eta[0]
    return maxent.entropy(p), float(np.log(np.sum(np.exp(a))) - eta[0] * 0.6)


# ------------------------------------------------------- energy view: log Z = ∫ e^{-E}
def _bounds_1d(fam) -> list:
    p = fam.params
    if isinstance(fam, Normal):
        return [(p["mu"] - 20 * p["sigma"], p["mu"] + 20 * p["sigma"])]       # mass outside < e^-200
    if isinstance(fam, Exponential):
        return [(0.0, 60.0 / p["rate"])]                                       # mass outside e^-60
    if isinstance(fam, Gamma):
        a, b = p["shape"], p["rate"]
        return [(0.0, (a + 40 * np.sqrt(a) + 40) / b)]                         # mass outside < e^-40
    return [(0.0, 1.0)]


def _register_energy(name: str) -> None:
    make, case = CASES[name]

    @identity(f"expfam: {name}: energy view log Z = quadrature", step="log Z = log ∫ exp(−E(x)) dx = A(η)",
              case=case, tol=TOL_MOMENTS, kind="abs",
              reason="adaptive quadrature (epsrel 1e-11) of exp(−E) through the Energy interface; mass outside the box < e^-40")
    def _z(rng, make=make):
        # 1-D adaptive quadrature: cheap (one dimension), and honest for the Beta and Gamma
        # integrands, whose x^(a-1) endpoint factors a fixed rule resolves only algebraically
        fam = make()
        E = fam.as_energy()
        lz, _ = log_partition_quadrature(E, _bounds_1d(fam))
        return E.log_partition(), lz


for _name in CASES:
    if _name not in DISCRETE and _name != "Dirichlet":
        _register_energy(_name)


#: Gauss–Legendre nodes per axis for the Dirichlet's energy view (see its tolerance reason)
N_DIRICHLET = 2 * N_GRID


@identity("expfam: Dirichlet: energy view log Z = quadrature", step="log Z = log ∫ exp(−E(x)) dx = A(η)",
          case=CASES["Dirichlet"][1], tol=TOL_MOMENTS, kind="abs",
          reason=(f"tensor Gauss–Legendre on the unit square mapped onto the simplex, {N_DIRICHLET}×{N_DIRICHLET} "
                  "nodes in one vectorised call; the endpoint factor u^1.5 (from x1^(α1−1)) limits the rule to "
                  "O(n^-5), ~1e-11 at this n, and doubling n changes log Z by < tol/100 (tests/test_identities.py)"))
def _(rng, n_nodes=N_DIRICHLET):
    E = CASES["Dirichlet"][0]().as_energy()

    # y = (x1, x2) over the triangle 0 < y2 < 1 − y1 (K = 3), mapped from the unit square by
    # y1 = u, y2 = (1 − u) v, Jacobian 1 − u
    def log_f(uv):
        u, v = uv[:, 0], uv[:, 1]
        return -E.energy(np.column_stack([u, (1.0 - u) * v])) + np.log1p(-u)

    return E.log_partition(), grid_log_integral(log_f, [(0.0, 1.0), (0.0, 1.0)], n_nodes)


@identity("expfam: product of two Betas is Beta(a1+a2-1, b1+b2-1) (quadrature)",
          step="h e^{η₁ᵀT}·h e^{η₂ᵀT} ∝ h²e^{(η₁+η₂)ᵀT}, and h² = h·e^{−log x − log(1−x)} for the Beta",
          case="Beta(2, 3)·Beta(1.5, 0.7), normalized by adaptive quadrature, at 7 points in (0, 1)",
          tol=1e-10, reason="adaptive quadrature of a smooth integrable density to ~1e-13")
def _(rng):
    b1, b2 = Beta(2.0, 3.0), Beta(1.5, 0.7)
    x = np.linspace(0.05, 0.95, 7)[:, None]
    unnorm = lambda t: np.exp(b1.log_prob(np.atleast_1d(t)[:, None]) + b2.log_prob(np.atleast_1d(t)[:, None]))  # noqa: E731
    z = adaptive_quad(lambda t: float(unnorm(t)[0]), 0.0, 1.0)[0]
    return np.log(unnorm(x[:, 0])) - np.log(z), Beta(2.5, 2.7).log_prob(x)
