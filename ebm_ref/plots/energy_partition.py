"""Figures of note 01: what Z does; product vs mixture of two Gaussians."""
from __future__ import annotations

import numpy as np

from ..models import Gaussian, GaussianMixture
from ..partition import log_partition_quadrature
from . import figure
from ._style import color, colorbar, density_panel, grid, save, set_box, shared_norm, subplots


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
    fig, ax = subplots(1, 3, height=2.5, sharex=True)
    ax[0].plot(x[:, 0], E, color=color("exact"))
    ax[0].set_ylim(-1, 8)
    ax[0].set_ylabel(r"$E(x)$")
    ax[0].set_title("energy")
    ax[1].plot(x[:, 0], np.exp(-E), color=color("model"))
    ax[1].fill_between(x[:, 0], np.exp(-E), alpha=0.2, color=color("model"))
    ax[1].set_ylabel(r"$e^{-E(x)}$")
    ax[1].set_title(f"area $Z$ = {np.exp(log_z):.4f}")
    p = np.exp(-E - log_z)
    ax[2].plot(x[:, 0], p, color=color("model"))
    ax[2].fill_between(x[:, 0], p, alpha=0.2, color=color("model"))
    ax[2].set_ylabel(r"$p(x) = e^{-E(x)}/Z$")
    ax[2].set_title("area 1")
    for a in ax:
        a.set_xlabel(r"$x$")
    fig.suptitle(r"$E(x) = 2(x^2 - 1)^2 + 0.4x$; $Z$ by quadrature (error on $\log Z$: %.0e)" % err)
    return save(fig, out_dir, "energy_and_normalization")


@figure("gaussian_product_vs_mixture")
def make_product_mixture(out_dir, rng, small=False):
    """Product (energies add: intersection) vs mixture (densities add: union) of two 2-D Gaussians."""
    g1 = Gaussian([-1.0, 0.0], np.linalg.inv([[1.0, 0.8], [0.8, 1.0]]))
    g2 = Gaussian([1.0, 0.0], np.linalg.inv([[1.0, -0.8], [-0.8, 1.0]]))
    P = g1.precision + g2.precision
    prod = Gaussian(np.linalg.solve(P, g1.precision @ g1.mean + g2.precision @ g2.mean), P)
    mix = GaussianMixture([0.5, 0.5], [g1.mean, g2.mean], [g1.covariance, g2.covariance])
    box = 3.5
    X, Y, pts = grid(box, 80 if small else 250)
    fig, ax = subplots(1, 3, height=2.6, sharey=True)
    for g, colour in ((g1, "#0072B2"), (g2, "#D55E00")):
        ax[0].contour(X, Y, np.exp(g.log_prob(pts)).reshape(X.shape), levels=5, colors=colour, linewidths=1)
    ax[0].set_title(r"experts $p_1$ (blue), $p_2$ (red)")
    dens = [np.exp(prod.log_prob(pts)), np.exp(mix.log_prob(pts))]
    norm = shared_norm(*dens)
    titles = [r"product $p_1 p_2 / Z$", r"mixture $\frac{1}{2}p_1 + \frac{1}{2}p_2$"]
    for a, d, t in zip(ax[1:], dens, titles):
        im = density_panel(a, X, Y, d, norm=norm)
        a.set_title(t)
    colorbar(fig, im, list(ax[1:]), r"density $p(x)$")
    for a in ax:
        set_box(a, box, ylabel=r"$x_2$" if a is ax[0] else "")
    return save(fig, out_dir, "gaussian_product_vs_mixture")
