"""Figures of note 01: what Z does; product vs mixture of two Gaussians."""
from __future__ import annotations

import numpy as np

from ..models import Gaussian, GaussianMixture
from ..partition import log_partition_quadrature
from . import figure
from ._style import plt, save


def _double_well(x):
    """E(x) = (x² − 1)² · 2 + 0.4x: a tilted double well (1-D, no closed-form Z)."""
    t = x[:, 0]
    return 2.0 * (t * t - 1.0) ** 2 + 0.4 * t


@figure("energy_and_normalization")
def make_energy(out_dir, rng, small=False):
    """Energy E, unnormalized density exp(−E) and normalized p = exp(−E)/Z side by side."""
    n = 300 if small else 1200
    x = np.linspace(-2.2, 2.2, n)[:, None]
    E = _double_well(x)
    log_z, err = log_partition_quadrature(_double_well, [(-np.inf, np.inf)])
    fig, ax = plt.subplots(1, 3, figsize=(10, 2.8))
    ax[0].plot(x[:, 0], E, color="C3")
    ax[0].set_title("energy E(x)")
    ax[0].set_ylim(-1, 8)
    ax[1].plot(x[:, 0], np.exp(-E), color="C0")
    ax[1].fill_between(x[:, 0], np.exp(-E), alpha=0.2, color="C0")
    ax[1].set_title(f"unnormalized exp(−E(x)): area Z = {np.exp(log_z):.4f}")
    p = np.exp(-E - log_z)
    ax[2].plot(x[:, 0], p, color="C2")
    ax[2].fill_between(x[:, 0], p, alpha=0.2, color="C2")
    ax[2].set_title("density p(x) = exp(−E(x)) / Z: area 1")
    for a in ax:
        a.set_xlabel("x")
    fig.suptitle("E(x) = 2(x² − 1)² + 0.4x; Z by quadrature (error estimate on log Z: %.1e)" % err, y=1.04)
    return save(fig, out_dir, "energy_and_normalization")


@figure("gaussian_product_vs_mixture")
def make_product_mixture(out_dir, rng, small=False):
    """Product (energies add: intersection) vs mixture (densities add: union) of two 2-D Gaussians."""
    g1 = Gaussian([-1.0, 0.0], np.linalg.inv([[1.0, 0.8], [0.8, 1.0]]))
    g2 = Gaussian([1.0, 0.0], np.linalg.inv([[1.0, -0.8], [-0.8, 1.0]]))
    P = g1.precision + g2.precision
    prod = Gaussian(np.linalg.solve(P, g1.precision @ g1.mean + g2.precision @ g2.mean), P)
    mix = GaussianMixture([0.5, 0.5], [g1.mean, g2.mean], [g1.covariance, g2.covariance])
    n = 80 if small else 250
    t = np.linspace(-3.5, 3.5, n)
    X, Y = np.meshgrid(t, t)
    pts = np.column_stack([X.ravel(), Y.ravel()])
    fig, ax = plt.subplots(1, 3, figsize=(10, 3.3))
    for g, colour in ((g1, "C0"), (g2, "C3")):
        ax[0].contour(X, Y, np.exp(g.log_prob(pts)).reshape(X.shape), levels=6, colors=colour)
    ax[0].set_title("experts p₁ (blue), p₂ (red)")
    ax[0].set_aspect("equal")
    panels = [
        ("product p₁p₂/Z (E₁ + E₂): intersection", np.exp(prod.log_prob(pts))),
        ("mixture ½p₁ + ½p₂: union", np.exp(mix.log_prob(pts))),
    ]
    for a, (title, dens) in zip(ax[1:], panels):
        a.contourf(X, Y, dens.reshape(X.shape), levels=14, cmap="viridis")
        a.set_title(title)
        a.set_aspect("equal")
    return save(fig, out_dir, "gaussian_product_vs_mixture")
