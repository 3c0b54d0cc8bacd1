"""The numbers the figures assert, each checked against an exact answer (closed form, enumeration,
or a hand count), and the statistical claims of the figures at their small size."""
import math

import numpy as np
import pytest

from ebm_ref.models import BernoulliRBM, Gaussian
from ebm_ref.objectives.adversarial import kl_gaussians
from ebm_ref.diagnostics import count_crossings, mode_indicator
from ebm_ref.objectives.contrastive_divergence import cd_bias_curve
from ebm_ref.objectives.score_matching import kl_divergence_1d, tangent_multiply_adds
from ebm_ref.partition import sandwich_violations
from ebm_ref.plots.mcmc import landscape


# ------------------------------------------------------------------ mcmc_trajectories
@pytest.mark.exact
def test_count_crossings_hand_counted():
    # cores visited: 0 0 | 1 1 | 1 | 2 | 0  -> moves 0→1, 1→2, 2→0
    assert count_crossings([0, 0, -1, 1, 1, -1, 1, 2, -1, 0]) == 3
    assert count_crossings([0, -1, 0, -1, 0]) == 0           # leaving and coming back is no crossing
    assert count_crossings([-1, -1]) == 0
    assert count_crossings([2, 1, 2, 1]) == 3


@pytest.mark.exact
def test_mode_indicator_at_means_and_between():
    m = landscape()
    means = m.params["means"]
    assert mode_indicator(m, means).tolist() == [0, 1, 2]
    # the midpoint of modes 0 and 1 is far (in Mahalanobis distance) from every mode's core
    assert mode_indicator(m, 0.5 * (means[0] + means[1])[None]).tolist() == [-1]
    # a point at Mahalanobis distance just under / over r = 2 from mode 1 (covariance 0.25 I: sd 0.5)
    assert mode_indicator(m, (means[1] + [0.999, 0.0])[None]).tolist() == [1]
    assert mode_indicator(m, (means[1] + [1.001, 0.0])[None]).tolist() == [-1]


@pytest.mark.exact
@pytest.mark.xdist_group("figure:mcmc_trajectories")
def test_trajectory_figure_reports_the_counts_of_count_crossings(rendered):
    saved, counts = rendered("mcmc_trajectories")
    assert set(counts) == {"MH", "ULA", "MALA", "HMC"}
    legend = [t.get_text() for t in saved.figure.axes[-1].get_legend().get_texts()]
    for name, c in counts.items():
        assert any(t.startswith(name) and f": {c} crossings" in t for t in legend), (name, legend)


# ------------------------------------------------------------------ score matching
@pytest.mark.exact
def test_tangent_multiply_adds_hand_counted():
    # [2, 3, 3, 1]: 2·3 + 3·3 + 3·1 = 18 per pass; forward + 2 tangents = 54
    assert tangent_multiply_adds([2, 3, 3, 1], 2) == 54
    assert tangent_multiply_adds([2, 3, 3, 1], 0) == 18
    with pytest.raises(ValueError):
        tangent_multiply_adds([2], 1)


@pytest.mark.exact
def test_kl_divergence_1d_against_closed_form():
    p, q = Gaussian([0.3], [[1 / 0.8]]), Gaussian([-0.5], [[1 / 1.7]])
    exact = kl_gaussians(np.array([0.3]), np.array([[0.8]]), np.array([-0.5]), np.array([[1.7]]))
    # quadrature tolerance: epsrel 1e-10 on a smooth integrand; 1e-8 leaves room for the tails cut at ±12
    assert kl_divergence_1d(p, q, [(-12.0, 12.0)]) == pytest.approx(exact, rel=1e-8)


@pytest.mark.exact
@pytest.mark.xdist_group("figure:score_matching_blind_weights")
def test_blind_weights_fisher_far_below_kl(rendered):
    """The figure's message: for separated modes the Fisher divergence is orders of magnitude below KL."""
    _, results = rendered("score_matching_blind_weights")
    for mu, (ws, F, KL) in results.items():
        assert np.all(F < KL), mu
        if mu >= 3.0:
            assert np.all(F < 1e-2 * KL), mu


# ------------------------------------------------------------------ contrastive divergence
@pytest.mark.exact
def test_cd_bias_below_its_chi_square_bound_and_chi_square_decreasing(rng):
    """Exact theorems: |b_k| ≤ √χ²(p_k‖p)·sd_p(∇F) (Cauchy–Schwarz) and χ²(p_k‖p) non-increasing
    in k (a Markov kernel with stationary p contracts χ²); the bias vanishes as k grows."""
    for scale in (0.5, 1.5, 3.0):
        rbm = BernoulliRBM(scale * rng.standard_normal((5, 3)), 0.3 * rng.standard_normal(5), 0.3 * rng.standard_normal(3))
        data = (rng.random((15, 5)) < 0.4).astype(float)
        r = cd_bias_curve(rbm, data, range(1, 16))
        assert np.all(r["bias"] <= r["bound"] * (1 + 1e-9) + 1e-13)
        assert np.all(np.diff(r["chi2"]) <= 1e-13)
        assert 0.0 <= r["lambda2"] < 1.0


@pytest.mark.exact
@pytest.mark.xdist_group("figure:cd_k_bias")
def test_cd_k_bias_decreases_in_k_in_the_figure(rendered):
    _, results = rendered("cd_k_bias")
    for scale, r in results.items():
        rel = r["bias"] / r["grad"]
        seen = rel[rel > 1e-12]                                        # above float64 round-off
        assert np.all(np.diff(seen) < 0), scale


# ------------------------------------------------------------------ AIS sandwich
@pytest.mark.exact
def test_sandwich_violations_hand_cases():
    bad, crossed = sandwich_violations([-1.0, 0.5, 0.01], [1.0, 2.0, -0.01], [0.1, 0.1, 0.1], [0.1, 0.1, 0.1], z=3.0)
    assert bad == [1]                      # lower 0.5 above log Z by 5 SE
    assert crossed == [2]                  # lower above upper, within their errors


@pytest.mark.statistical
@pytest.mark.xdist_group("figure:ais_sandwich")
def test_ais_sandwich_ordering_within_error_bars(rendered):
    """Mean lower bound ≤ log Z ≤ mean upper bound within 3.5 SE at every schedule length.

    False-positive rate: one-sided normal tail at 3.5 SE is 2.3e-4 per point, 12 points → < 0.3 %
    (if the delta-method standard errors are right)."""
    _, results = rendered("ais_sandwich")
    for title, r in results.items():
        assert r["violations"] == [], (title, r)


# ------------------------------------------------------------------ variational bound
@pytest.mark.exact
@pytest.mark.xdist_group("figure:variational_bound")
def test_variational_bound_gap_equals_kl_by_quadrature(rendered):
    """The plotted gap log Z − (E_q[−E] + H(q)) (closed form) is KL(q‖p) by adaptive quadrature,
    an independent computation.  Tolerance: quadrature at epsrel 1e-10 over ±12, plus an absolute
    1e-9 for the gap near 0 (where the closed form cancels O(1) terms)."""
    from ebm_ref.plots.nce import BOUND_P

    saved, r = rendered("variational_bound")
    plotted = {ln.get_linestyle(): ln.get_ydata() for ln in saved.figure.axes[1].lines}
    for s, ls in zip(r["gap"], ("-", "--")):
        np.testing.assert_array_equal(plotted[ls], r["gap"][s])
        kl = [kl_divergence_1d(Gaussian([m], [[1.0 / s**2]]), BOUND_P, [(-12.0, 12.0)]) for m in r["m"][::4]]
        np.testing.assert_allclose(r["gap"][s][::4], kl, rtol=1e-8, atol=1e-9)
    assert np.all(np.diff(r["ascent_gap"][:5]) < 0)                 # the ascent starts by climbing


# ------------------------------------------------------------------ langevin_paths
@pytest.mark.exact
@pytest.mark.xdist_group("figure:langevin_paths")
def test_langevin_paths_score_field_is_minus_grad_energy_by_hand(rendered):
    """The arrows drawn are s(x) = −∇E(x) = Σ_k r_k(x) Σ_k⁻¹(μ_k − x), r_k ∝ w_k N(x; μ_k, Σ_k),
    computed here from the mixture's parameters with scipy (no call to the model).
    Tolerance 1e-10: O(1)–O(10) numbers from two float64 routes."""
    from matplotlib.quiver import Quiver
    from scipy.stats import multivariate_normal

    from ebm_ref.plots.mcmc import langevin_target

    saved = rendered("langevin_paths")[0]
    (q,) = [c for c in saved.figure.axes[0].collections if isinstance(c, Quiver)]
    x = np.asarray(q.get_offsets(), dtype=float)
    p = langevin_target().params
    dens = np.stack([w * multivariate_normal(m, S).pdf(x) for w, m, S in
                     zip(p["weights"], p["means"], p["covariances"])], axis=1)
    r = dens / dens.sum(axis=1, keepdims=True)
    s = sum(r[:, [k]] * np.linalg.solve(S, (m - x).T).T for k, (m, S) in enumerate(zip(p["means"], p["covariances"])))
    assert x.shape == (15 * 15, 2)
    np.testing.assert_allclose(np.column_stack([q.U, q.V]), s, rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------------ diffusion_tweedie
@pytest.mark.exact
@pytest.mark.xdist_group("figure:diffusion_tweedie")
def test_diffusion_tweedie_denoiser_is_the_posterior_mean_by_hand(rendered):
    """The plotted x̃ + σ²∇log p_σ(x̃) equals E[x | x̃] by Gaussian conditioning component by
    component (no derivative taken): r_k ∝ w_k N(x̃; μ_k, v_k + σ²), E[x | x̃, k] = μ_k + v_k/(v_k + σ²)(x̃ − μ_k).
    Tolerance 1e-10: O(1) numbers from two float64 routes."""
    from scipy.stats import norm

    from ebm_ref.plots.score_matching import TWEEDIE_SIGMAS, tweedie_mixture

    saved = rendered("diffusion_tweedie")[0]
    lines = saved.figure.axes[2].lines[:len(TWEEDIE_SIGMAS)]
    p = tweedie_mixture().params
    w, mu, v = p["weights"], p["means"][:, 0], p["covariances"][:, 0, 0]
    for s, ln in zip(TWEEDIE_SIGMAS, lines):
        xt = np.asarray(ln.get_xdata(), dtype=float)
        r = w * norm.pdf(xt[:, None], mu, np.sqrt(v + s**2))
        r /= r.sum(axis=1, keepdims=True)
        post = np.sum(r * (mu + v / (v + s**2) * (xt[:, None] - mu)), axis=1)
        np.testing.assert_allclose(ln.get_ydata(), post, rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------------ importance sampling against dimension
@pytest.mark.exact
def test_is_weight_chi_square_against_quadrature():
    """χ²(p‖q) = ∫ p²/q − 1 by adaptive quadrature at d = 1 and d = 2 (the product rule), for
    N(0, I) from N(s·1, σ² I), the densities written as scalar functions (quad calls them one point
    at a time).  Tolerance: quad/dblquad at epsabs 1e-12 over ±15 (the integrand's
    tails beyond are below 1e-20); the 2-D integral also checks Var log w by quadrature."""
    from scipy import integrate

    from ebm_ref.partition import is_chi_square_gaussian, is_log_weight_variance_gaussian

    def log_n(sq, var, d):          # log N(x; m, var I_d) from sq = ‖x − m‖², in scalar float arithmetic
        return -0.5 * sq / var - 0.5 * d * math.log(2.0 * math.pi * var)

    for sc, sh in ((1.5, 0.3), (0.9, 0.0), (2.0, -1.0)):
        p, q = Gaussian([0.0], [[1.0]]), Gaussian([sh], [[1.0 / sc**2]])
        x0 = np.array([[0.37]])                 # the densities below are the models' (checked at a point)
        assert log_n((0.37 - sh) ** 2, sc**2, 1) == pytest.approx(q.log_prob(x0)[0], rel=1e-13)
        assert log_n(0.37**2, 1.0, 1) == pytest.approx(p.log_prob(x0)[0], rel=1e-13)
        f = lambda x: math.exp(2 * log_n(x * x, 1.0, 1) - log_n((x - sh) ** 2, sc**2, 1))
        rho = integrate.quad(f, -15, 15, epsabs=1e-12, epsrel=1e-12)[0]
        assert is_chi_square_gaussian(1, sc, sh) == pytest.approx(rho - 1.0, rel=1e-9)
        g = lambda y, x: math.exp(2 * log_n(x * x + y * y, 1.0, 2) - log_n((x - sh) ** 2 + (y - sh) ** 2, sc**2, 2))
        rho2 = integrate.dblquad(g, -15, 15, -15, 15, epsabs=1e-12, epsrel=1e-10)[0]
        assert is_chi_square_gaussian(2, sc, sh) == pytest.approx(rho2 - 1.0, rel=1e-8)
        # Var log w, 1-D, by quadrature of (ℓ − E ℓ)² under q; ℓ = log p − log q up to log Z
        lw = lambda x: log_n(x * x, 1.0, 1) - log_n((x - sh) ** 2, sc**2, 1)
        qd = lambda x: math.exp(log_n((x - sh) ** 2, sc**2, 1))
        m = integrate.quad(lambda x: qd(x) * lw(x), -30, 30, epsabs=1e-12)[0]
        v = integrate.quad(lambda x: qd(x) * (lw(x) - m) ** 2, -30, 30, epsabs=1e-12)[0]
        assert is_log_weight_variance_gaussian(3, sc, sh) == pytest.approx(3 * v, rel=1e-8)
    with pytest.raises(ValueError):
        is_chi_square_gaussian(1, 0.7)                      # σ² < 1/2: infinite variance


@pytest.mark.exact
@pytest.mark.xdist_group("figure:importance_sampling_dimension")
def test_is_figure_plots_the_closed_form(rendered):
    from ebm_ref.partition import is_chi_square_gaussian
    from ebm_ref.plots.partition import IS_SCALE, IS_SHIFT

    saved, r = rendered("importance_sampling_dimension")
    line = saved.figure.axes[0].lines[0]
    np.testing.assert_array_equal(line.get_xdata(), r["d"])
    np.testing.assert_array_equal(line.get_ydata(), [is_chi_square_gaussian(d, IS_SCALE, IS_SHIFT) for d in r["d"]])


# ------------------------------------------------------------------ the push of one CD update
@pytest.mark.exact
@pytest.mark.xdist_group("figure:cd_energy_push")
def test_cd_energy_push_is_minus_eta_phase_difference_dot_grad(rendered):
    """The plotted ΔE is −η ∇θE(x)·(pos − neg) over the trained (MLP) parameters, computed here
    from model.grad_params and phases directly (float64 round-off: rtol 1e-12); the negatives rise
    above the data, on average, by exactly η‖pos − neg‖² > 0; the exact E_θ' − E_θ agrees to O(η²)."""
    from ebm_ref.objectives.contrastive_divergence import phases

    saved, r = rendered("cd_energy_push")
    model, xd, xn, eta, keys = r["model"], r["x_data"], r["x_neg"], r["lr"], r["keys"]
    pos, neg = phases(model, xd, xn)
    diff = np.concatenate([(pos[k] - neg[k]).ravel() for k in keys])

    def dE(x):
        g = model.grad_params(x)
        return -eta * np.column_stack([np.asarray(g[k]).reshape(len(x), -1) for k in keys]) @ diff

    plotted = saved.figure.axes[1].lines[1].get_ydata()
    np.testing.assert_allclose(plotted, dE(r["x"]), rtol=1e-12, atol=1e-14)
    gap = dE(xn).mean() - dE(xd).mean()
    assert gap == pytest.approx(eta * diff @ diff, rel=1e-12) and gap > 0
    assert r["gap"] == pytest.approx(gap, rel=1e-12)
    # second order: |exact − linear| is far below the change itself
    assert np.max(np.abs(r["dE_exact"] - r["dE"])) < 0.1 * np.max(np.abs(r["dE"]))
