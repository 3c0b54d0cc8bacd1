"""Figures of note 04 (energy functions): an MLP landscape, product vs mixture, two designs."""
from __future__ import annotations

import numpy as np

from .. import datasets
from ..inference import minimize_energy
from ..models import Gaussian, MLPEnergy
from ..models.compose import Mixture, ProductOfExperts
from ..models.designs import DiscriminatorEnergy, ReconstructionEnergy
from ..train import Adam
from . import figure
from ._style import colorbar, density_panel, grid, save, scatter_points, score_field, set_box, shared_norm, subplots


@figure("mlp_landscape")
def make_mlp_landscape(out_dir, rng, small=False):
    """A random tanh MLP energy on the plane with its score field, alone and times a Gaussian."""
    m = 50 if small else 160
    layers = [2, 32, 32]
    mlp = MLPEnergy.init(layers, rng, activation="tanh", bias_scale=0.5)
    mlp = mlp.replace(W3=3.0 * mlp.params["W3"])                  # deeper wells, same shape
    confined = ProductOfExperts([mlp, Gaussian(np.zeros(2), np.eye(2) / 4.0)])
    box = 4.0
    X, Y, pts = grid(box, m)
    sizes = layers + [1]
    fig, axes = subplots(1, 2, height=3.0, sharey=True)
    energies = [model.energy(pts) for model in (mlp, confined)]
    for ax, model, E, title in ((axes[0], mlp, energies[0], "MLP energy $E(x)$, tanh, " + r"$\to$".join(map(str, sizes))),
                                (axes[1], confined, energies[1], r"$E(x) + \|x\|^2/8$: a Gaussian expert confines it")):
        density_panel(ax, X, Y, E - E.min(), norm=shared_norm(E - E.min()), label=r"$E(x) - \min E$")
        ax.contour(X, Y, E.reshape(X.shape), levels=12, colors="k", linewidths=0.3, alpha=0.5)
        score_field(ax, model.score, box, 13 if small else 17)
        ax.set_title(title)
        set_box(ax, box, ylabel=r"$x_2$" if ax is axes[0] else "")
    # local minima of the confined energy, found by L-BFGS from a grid of starts
    starts = grid(3.5, 5 if small else 9)[2]
    res = minimize_energy(confined, starts, method="lbfgs", gtol=1e-8)
    minima = np.unique(np.round(res.x, 3), axis=0)
    axes[1].plot(minima[:, 0], minima[:, 1], "r*", ms=11, label="local minima (L-BFGS)")
    axes[1].legend(loc="lower left", labelcolor="w")
    fig.suptitle(r"Score $s(x) = -\nabla_x E(x)$ (arrows) points downhill in energy")
    return save(fig, out_dir, "mlp_landscape")


@figure("product_vs_mixture_experts")
def make_product_vs_mixture(out_dir, rng, small=False):
    """Two elongated Gaussian experts: their product (intersection) against their mixture (union)."""
    m = 60 if small else 220
    a = Gaussian([0.0, 0.6], np.diag([1 / 6.0, 1 / 0.2]))          # a horizontal band
    b = Gaussian([1.0, 0.0], np.diag([1 / 0.2, 1 / 6.0]))          # a vertical band
    poe = ProductOfExperts([a, b])
    mix = Mixture([0.5, 0.5], [a, b])
    box = 5.0
    X, Y, pts = grid(box, m)
    g, c = poe.as_gaussian()
    dens = {
        r"product $p \propto e^{-(E_A + E_B)}$" + f"\n$\\log Z$ = {poe.log_partition():.3f}": np.exp(-poe.energy(pts) - poe.log_partition()),
        r"mixture $\frac{1}{2}p_A + \frac{1}{2}p_B$" + "\n$\\log Z$ = 0": np.exp(-mix.energy(pts)),
    }
    fig, axes = subplots(1, 3, height=2.7, sharey=True)
    pa, pb = np.exp(a.log_prob(pts)).reshape(X.shape), np.exp(b.log_prob(pts)).reshape(X.shape)
    axes[0].contour(X, Y, pa, levels=5, colors="#0072B2", linewidths=1)
    axes[0].contour(X, Y, pb, levels=5, colors="#E69F00", linewidths=1)
    axes[0].set_title("experts A (blue), B (orange)")
    norm = shared_norm(*dens.values())
    for ax, (title, d) in zip(axes[1:], dens.items()):
        im = density_panel(ax, X, Y, d, norm=norm)
        ax.set_title(title)
    colorbar(fig, im, list(axes[1:]), r"density $p(x)$")
    for ax in axes:
        set_box(ax, box, ylabel=r"$x_2$" if ax is axes[0] else "")
    fig.suptitle("Product: likely where every expert agrees.  Mixture: where any one does.")
    return save(fig, out_dir, "product_vs_mixture_experts")


def _fit_autoencoder(x, rng, steps):
    model = ReconstructionEnergy.init(2, [32], 1, [32], rng, activation="tanh", bias_scale=0.5)
    opt = Adam(lr=1e-2)
    w = np.full(x.shape[0], 1.0 / x.shape[0])
    for _ in range(steps):                                         # minimize the mean reconstruction energy
        model = model.with_params(opt.step(model.params, model.grad_params_sum(x, w)))
    return model


def _fit_discriminator(x, rng, steps, box):
    """Logistic regression of data (label 1) against uniform noise on the box (label 0)."""
    disc = DiscriminatorEnergy.init([2, 32, 32], rng, form="neg_log", activation="tanh", bias_scale=0.5)
    opt = Adam(lr=1e-2)
    n = x.shape[0]
    w = np.full(n, 1.0 / n)
    for _ in range(steps):
        noise = rng.uniform(-box, box, size=(n, 2))
        logit = DiscriminatorEnergy(form="neg_logit", **disc.params)
        # L = mean_data softplus(−s) + mean_noise softplus(s);  ∇θ softplus(s) = D ∇θ s = (−D) ∇θ(−s)
        g = disc.grad_params_sum(x, w)
        gn = logit.grad_params_sum(noise, -w * disc.prob(noise))
        disc = disc.with_params(opt.step(disc.params, {k: g[k] + gn[k] for k in g}))
    return disc


@figure("reconstruction_vs_discriminator")
def make_reconstruction_vs_discriminator(out_dir, rng, small=False):
    """Reconstruction energy of a 1-D-code autoencoder vs −logit D of a data-vs-noise classifier, on a circle."""
    steps = 150 if small else 3000
    m = 50 if small else 160
    box = 3.0
    x = datasets.rings(128 if small else 512, rng, radii=(1.5,), noise=0.05)
    ae = _fit_autoencoder(x, rng, steps)
    disc = _fit_discriminator(x, rng, steps, box)
    X, Y, pts = grid(box, m)
    fig, axes = subplots(1, 2, height=3.1, sharey=True)
    E_rec = ae.energy(pts)
    lg = np.log10(E_rec + 1e-3)
    density_panel(axes[0], X, Y, lg, norm=shared_norm(lg, vmin=lg.min()), label=r"$\log_{10}(E + 10^{-3})$")
    curve = ae.decode(np.linspace(ae.encode(x).min(), ae.encode(x).max(), 400)[:, None])
    axes[0].plot(curve[:, 0], curve[:, 1], "-", color="#D55E00", lw=1.2, label=r"decoder image $g(h)$")
    scatter_points(axes[0], x, on_image=True, s=2)
    axes[0].legend(loc="lower left", labelcolor="w")
    axes[0].set_title(r"reconstruction $E = \|x - g(h(x))\|^2$")
    E_dis = -disc.logit(pts)
    density_panel(axes[1], X, Y, E_dis, norm=shared_norm(E_dis, vmin=E_dis.min()), label=r"$E = -\mathrm{logit}\,D(x)$")
    scatter_points(axes[1], x, on_image=True, s=2)
    axes[1].set_title(r"discriminator $E = -\mathrm{logit}\,D(x)$")
    for ax in axes:
        set_box(ax, box, ylabel=r"$x_2$" if ax is axes[0] else "")
    fig.suptitle(f"Data: a noisy circle of radius 1.5 (white); {steps} Adam steps each")
    return save(fig, out_dir, "reconstruction_vs_discriminator")
