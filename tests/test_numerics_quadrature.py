"""ebm_ref.numerics.quadrature: every rule against closed forms, and its refusals.

Expected values are closed forms (antiderivatives of polynomials, Gaussian moments, Beta
functions); each tolerance says what limits it.
"""
import numpy as np
import pytest
from numpy.polynomial import Polynomial
from scipy import special as sps

from ebm_ref.numerics import quadrature as Q

pytestmark = pytest.mark.exact

#: sums of ~n products of O(1) numbers in float64: rounding only
ROUND_TOL = 1e-12


# ------------------------------------------------------------------ Gauss–Legendre
@pytest.mark.parametrize("n", [2, 3, 5, 10])
def test_gauss_legendre_is_exact_to_degree_2n_minus_1_and_not_beyond(n, rng):
    a, b = -0.7, 2.3
    x, w = Q.gauss_legendre(n, a, b)
    p = Polynomial(rng.standard_normal(2 * n))                 # degree 2n − 1
    P = p.integ()
    exact = P(b) - P(a)
    np.testing.assert_allclose(np.sum(w * p(x)), exact, rtol=ROUND_TOL, atol=ROUND_TOL)
    # degree 2n is not exact: the error of x^{2n} is the closed form of the remainder,
    # (b − a)^{2n+1} (n!)^4 / ((2n + 1) ((2n)!)^2); rtol 1e-5 covers rounding in the
    # O(10^7) terms whose difference it is
    m = Polynomial([0.0] * (2 * n) + [1.0]).integ()
    remainder = (b - a) ** (2 * n + 1) * sps.factorial(n) ** 4 / ((2 * n + 1) * sps.factorial(2 * n) ** 2)
    np.testing.assert_allclose((m(b) - m(a)) - np.sum(w * x ** (2 * n)), remainder, rtol=1e-5)


def test_gauss_legendre_cached_nodes_are_not_mutated_by_callers():
    x, w = Q.gauss_legendre(7)
    x[:] = 0.0
    w[:] = 0.0
    x2, w2 = Q.gauss_legendre(7)
    np.testing.assert_allclose(w2.sum(), 2.0, rtol=ROUND_TOL)   # ∫_{-1}^{1} 1 = 2
    assert np.all(np.diff(x2) > 0)


def test_gauss_legendre_grid_integrates_a_monomial_on_a_box():
    # ∫_0^1 ∫_{-1}^{2} x^3 y^4 dy dx = (1/4) (2^5 + 1)/5, exact for n ≥ 3 per axis
    pts, w = Q.gauss_legendre_grid([(0.0, 1.0), (-1.0, 2.0)], 4)
    assert pts.shape == (16, 2) and w.shape == (16,)
    np.testing.assert_allclose(np.sum(w * pts[:, 0] ** 3 * pts[:, 1] ** 4), 0.25 * 33 / 5, rtol=ROUND_TOL)
    pts1, w1 = Q.gauss_legendre_grid([(0.0, 2.0)], 5)
    assert pts1.shape == (5, 1)
    np.testing.assert_allclose(np.sum(w1 * pts1[:, 0] ** 9), 2.0**10 / 10, rtol=ROUND_TOL)


def test_grid_log_integral_of_a_gaussian_in_the_log_domain():
    # log ∫∫ exp(-(x² + 2y²)/2 - 800) = log(2π/√2) - 800 over ±12 (outside mass < e^-70):
    # e^-800 underflows, so only a log-domain sum gets it
    g = lambda p: -0.5 * (p[:, 0] ** 2 + 2.0 * p[:, 1] ** 2) - 800.0
    val = Q.grid_log_integral(g, [(-12.0, 12.0), (-12.0, 12.0)], 96)
    np.testing.assert_allclose(val, np.log(2 * np.pi / np.sqrt(2.0)) - 800.0, rtol=1e-14)
    # f = 0 (log f = -inf) on part of the box is allowed: ∫_0^2 x dx over [-1, 2] with f = 0 below 0
    h = lambda p: np.where(p[:, 0] > 0, np.log(np.abs(p[:, 0])), -np.inf)
    assert np.isfinite(Q.grid_log_integral(h, [(-1.0, 2.0)], 8))


@pytest.mark.parametrize("log_f, err", [
    (lambda p: np.full(len(p), np.nan), FloatingPointError),
    (lambda p: np.full(len(p), np.inf), FloatingPointError),
    (lambda p: np.full(len(p), -np.inf), ValueError),
    (lambda p: np.zeros((len(p), 1)), ValueError),
])
def test_grid_log_integral_refuses_nan_inf_empty_and_wrong_shapes(log_f, err):
    with pytest.raises(err):
        Q.grid_log_integral(log_f, [(0.0, 1.0), (0.0, 1.0)], 4)


# ------------------------------------------------------------------ Gauss–Hermite
def test_gauss_hermite_reproduces_standard_normal_moments():
    n = 8
    t, w = Q.gauss_hermite(n)
    np.testing.assert_allclose(w.sum(), 1.0, rtol=ROUND_TOL)
    for k in range(1, n):                                      # degree 2k ≤ 2n − 2: exact
        np.testing.assert_allclose(np.sum(w * t ** (2 * k)), sps.factorial2(2 * k - 1), rtol=1e-11)
        assert abs(np.sum(w * t ** (2 * k - 1))) < 1e-10 * sps.factorial2(2 * k - 1)
    # a smooth non-polynomial: E[cos(σ ε + μ)] = cos(μ) e^{−σ²/2}; 40 nodes converge to rounding
    t, w = Q.gauss_hermite(40)
    np.testing.assert_allclose(np.sum(w * np.cos(0.3 + 1.5 * t)), np.cos(0.3) * np.exp(-1.125), rtol=1e-12)


# ---------------------------------------------------------------- composite Simpson
def test_composite_simpson_is_exact_for_cubics_and_fourth_order():
    x, w = Q.composite_simpson(-1.0, 2.0, 4)                   # 4 → 5 nodes (even panels)
    assert x.size == 5
    p = Polynomial([0.3, -1.0, 2.0, 0.7])
    P = p.integ()
    np.testing.assert_allclose(np.sum(w * p(x)), P(2.0) - P(-1.0), rtol=ROUND_TOL)
    # error O(h^4): halving h divides the error of ∫_0^1 e^x by ≈ 16
    errs = []
    for n in (9, 17):
        x, w = Q.composite_simpson(0.0, 1.0, n)
        errs.append(abs(np.sum(w * np.exp(x)) - (np.e - 1.0)))
    assert 15.0 < errs[0] / errs[1] < 17.0


# ------------------------------------------------------------------------ tanh–sinh
@pytest.mark.parametrize("a, b", [(0.5, 0.5), (0.3, 2.5), (2.0, 0.8)])
def test_tanh_sinh_integrates_beta_functions_with_endpoint_singularities(a, b):
    # ∫_0^1 x^{a−1}(1−x)^{b−1} dx = B(a, b), and with log x: B(a, b)(ψ(a) − ψ(a + b)).
    # The refinement stops at TANH_SINH_TOL; the finer rule is then good to ~1e-12.
    def rule(h):
        u, uc, w = Q.tanh_sinh(h)
        f = u ** (a - 1) * uc ** (b - 1)
        return np.array([np.sum(w * f), np.sum(w * f * np.log(u))])

    val = Q.tanh_sinh_refine(rule, "Beta integral", 1.0 / 1024)
    B = sps.beta(a, b)
    np.testing.assert_allclose(val, [B, B * (sps.digamma(a) - sps.digamma(a + b))], rtol=1e-10)


def test_tanh_sinh_nodes_and_complement_are_formed_without_cancellation():
    u, uc, w = Q.tanh_sinh(1.0 / 8)
    assert np.all((u > 0) & (uc > 0))
    assert uc[-1] < 1e-50 and u[0] < 1e-50                     # both ends resolved far below eps
    np.testing.assert_allclose(np.sum(w), 1.0, rtol=ROUND_TOL)  # ∫_0^1 1 = 1


def test_tanh_sinh_refine_refuses_when_it_does_not_converge():
    with pytest.raises(ValueError, match="did not converge"):
        Q.tanh_sinh_refine(lambda h: np.array([1.0 / h]), "a divergent sequence", 1.0 / 64)


# ------------------------------------------------------------------------ adaptive
def test_adaptive_quad_gaussian_integral_and_its_error_estimate():
    val, err = Q.adaptive_quad(lambda t: np.exp(-0.5 * t * t), -np.inf, np.inf, epsrel=1e-12)
    np.testing.assert_allclose(val, np.sqrt(2 * np.pi), rtol=1e-12)
    assert 0.0 <= err < 1e-9


def test_adaptive_quad_vec_sums_the_pieces():
    val, err = Q.adaptive_quad_vec(lambda t: np.array([np.sin(t), np.cos(t), t]), 0.0, np.pi,
                                   points=(1.0, 2.0))
    np.testing.assert_allclose(val, [2.0, 0.0, 0.5 * np.pi**2], rtol=1e-12, atol=1e-13)
    assert err >= 0.0


def test_adaptive_dblquad_takes_f_of_x_then_y():
    # ∫_0^1 ∫_0^2 x y² dy dx = (1/2)(8/3); with the arguments swapped it would be ∫∫ y x² = 2/3
    val, _ = Q.adaptive_dblquad(lambda x, y: x * y * y, (0.0, 1.0), (0.0, 2.0))
    np.testing.assert_allclose(val, 4.0 / 3.0, rtol=1e-12)


# ---------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("call", [
    lambda: Q.gauss_legendre(1),
    lambda: Q.gauss_legendre(2.5),
    lambda: Q.gauss_legendre(4, 1.0, 1.0),
    lambda: Q.gauss_legendre(4, 0.0, np.inf),
    lambda: Q.gauss_legendre_grid([(0, 1), (0, 1), (0, 1)], 4),
    lambda: Q.gauss_legendre_grid([(1, 0)], 4),
    lambda: Q.gauss_legendre_grid([(0, np.inf)], 4),
    lambda: Q.gauss_hermite(0),
    lambda: Q.composite_simpson(0.0, 1.0, 2),
    lambda: Q.composite_simpson(1.0, 0.0, 5),
    lambda: Q.tanh_sinh(0.0),
    lambda: Q.tanh_sinh(0.1, -1.0),
    lambda: Q.adaptive_quad(np.exp, 1.0, 0.0),
    lambda: Q.adaptive_quad(np.exp, np.nan, 1.0),
    lambda: Q.adaptive_quad_vec(np.exp, 0.0, 1.0, points=(0.7, 0.3)),
    lambda: Q.adaptive_dblquad(lambda x, y: 1.0, (0.0, np.inf), (0.0, 1.0)),
])
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()
