"""ebm_ref.identities: the identities evaluated on a fixed quadrature grid are converged.

Each identity converted from adaptive ``dblquad`` to a tensor Gauss–Legendre grid takes
``n_nodes``; evaluated again on the doubled grid its value must not move by more than a
hundredth of its tolerance, so the grid's error cannot be what makes it pass.
"""
import numpy as np
import pytest

from ebm_ref.identities.registry import REGISTRY, load_all

load_all()

#: every identity whose function takes ``n_nodes`` (a fixed grid instead of adaptivity)
GRID_IDENTITIES = [
    "energy: a shifted energy E + c leaves p unchanged",
    "energy: a convex mixture of normalized densities integrates to 1",
    "energy: product of two Gaussian energies is Gaussian with summed precision",
    "compose: product of Gaussian experts log Z closed form = quadrature",
    "compose: tempered density ratio p(x)/p(x') = exp((E(x') - E(x))/T)",
    "compose: tempered Gaussian log Z = log Z + (d/2) log T",
    "rbm: Gaussian-Bernoulli log Z closed form = quadrature (d=2)",
    "partition: exact 2-D Gaussian log Z = quadrature",
    "partition: exact banana (WarpedGaussian) log Z = quadrature",
    "partition: exact GaussianMixture log Z = 0 = quadrature",
    "expfam: Dirichlet: energy view log Z = quadrature",
]


@pytest.mark.exact
@pytest.mark.parametrize("name", GRID_IDENTITIES)
def test_grid_identity_is_unchanged_when_the_grid_is_doubled(name):
    ident = REGISTRY[name]
    n = ident.fn.__defaults__[-1]
    left, right = (np.asarray(v, dtype=np.float64) for v in ident.fn(np.random.default_rng(ident.seed), n_nodes=n))
    left2, right2 = (np.asarray(v, dtype=np.float64) for v in ident.fn(np.random.default_rng(ident.seed), n_nodes=2 * n))
    scale = float(np.max(np.abs(right))) if ident.kind == "rel" else 1.0
    moved = max(float(np.max(np.abs(left2 - left))), float(np.max(np.abs(right2 - right)))) / scale
    assert moved <= ident.tol / 100, f"{name}: doubling the grid to {2 * n} moved the value by {moved:.2e}"
    err = float(np.max(np.abs(left - right))) / scale
    assert err <= ident.tol, f"{name}: error {err:.2e} > tol {ident.tol:.0e}"


def test_every_identity_taking_n_nodes_is_checked_here():
    takes = {i.name for i in REGISTRY.values() if "n_nodes" in i.fn.__code__.co_varnames[:i.fn.__code__.co_argcount]}
    assert takes == set(GRID_IDENTITIES)
