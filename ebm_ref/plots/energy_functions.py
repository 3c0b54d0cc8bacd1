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
from ._style import plt, save


def _grid(lo, hi, m):
    t = np.linspace(lo, hi, m)
    X, Y = np.meshgrid(t, t)
    return X, Y, np.column_stack([X.ravel(), Y.ravel()])


@figure("mlp_landscape")
def make_mlp_landscape(out_dir, rng, small=False):
    """A random tanh MLP energy on the plane with its score field, alone and times a Gaussian."""
    m = 50 if small else 160
    mlp = MLPEnergy.init([2, 32, 32], rng, activation="tanh", bias_scale=0.5)
    mlp = mlp.replace(W3=3.0 * mlp.params["W3"])                  # deeper wells, same shape
    confined = ProductOfExperts([mlp, Gaussian(np.zeros(2), np.eye(2) / 4.0)])
    X, Y, pts = _grid(-4, 4, m)
    Xq, Yq, q = _grid(-4, 4, 13 if small else 19)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4))
    for ax, model, title in ((axes[0], mlp, "MLP energy E(x) (tanh, 2→32→32→1)"),
                             (axes[1], confined, "E(x) + ‖x‖²/8: a Gaussian expert confines it")):
        E = model.energy(pts).reshape(X.shape)
        cs = ax.contourf(X, Y, E, levels=30, cmap="viridis")
        ax.contour(X, Y, E, levels=15, colors="k", linewidths=0.3, alpha=0.5)
        s = model.score(q)
        ax.quiver(Xq.ravel(), Yq.ravel(), s[:, 0], s[:, 1], color="w", alpha=0.85, width=0.003)
        fig.colorbar(cs, ax=ax, shrink=0.85, label="E")
        ax.set_title(title)
        ax.set_aspect("equal")
    # local minima of the confined energy, found by L-BFGS from a grid of starts
    starts = _grid(-3.5, 3.5, 5 if small else 9)[2]
    res = minimize_energy(confined, starts, method="lbfgs", gtol=1e-8)
    minima = np.unique(np.round(res.x, 3), axis=0)
    axes[1].plot(minima[:, 0], minima[:, 1], "r*", ms=11, label="local minima (L-BFGS)")
    axes[1].legend(loc="lower left", fontsize=7)
    fig.suptitle("Score s(x) = −∇E(x) as arrows: they point downhill in energy, towards higher density")
    return save(fig, out_dir, "mlp_landscape")


@figure("product_vs_mixture_experts")
def make_product_vs_mixture(out_dir, rng, small=False):
    """Two elongated Gaussian experts: their product (intersection) against their mixture (union)."""
    m = 60 if small else 220
    a = Gaussian([0.0, 0.6], np.diag([1 / 6.0, 1 / 0.2]))          # a horizontal band
    b = Gaussian([1.0, 0.0], np.diag([1 / 0.2, 1 / 6.0]))          # a vertical band
    poe = ProductOfExperts([a, b])
    mix = Mixture([0.5, 0.5], [a, b])
    X, Y, pts = _grid(-5, 5, m)
    dens = {
        "expert A and expert B (contours)": None,
        r"product $p \propto e^{-(E_A + E_B)}$: the intersection": np.exp(-poe.energy(pts) - poe.log_partition()),
        r"mixture $\frac{1}{2}p_A + \frac{1}{2}p_B$: the union": np.exp(-mix.energy(pts)),
    }
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    pa, pb = np.exp(a.log_prob(pts)).reshape(X.shape), np.exp(b.log_prob(pts)).reshape(X.shape)
    axes[0].contour(X, Y, pa, levels=6, colors="tab:blue")
    axes[0].contour(X, Y, pb, levels=6, colors="tab:orange")
    for ax, (title, d) in zip(axes, dens.items()):
        if d is not None:
            ax.imshow(d.reshape(X.shape), origin="lower", extent=(-5, 5, -5, 5), cmap="magma")
        ax.set_title(title)
        ax.set_aspect("equal")
    g, c = poe.as_gaussian()
    axes[1].text(-4.8, -4.6, f"log Z = {poe.log_partition():.3f} (exact; cross term c = {c:.3f})", color="w", fontsize=7)
    axes[2].text(-4.8, -4.6, "log Z = 0", color="w", fontsize=7)
    fig.suptitle("Product of experts: likely only where every expert agrees.  Mixture: likely where any one does.")
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
    X, Y, pts = _grid(-box, box, m)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    axes[0].scatter(x[:, 0], x[:, 1], s=3, c="k")
    axes[0].set_title("data: a noisy circle of radius 1.5")
    E_rec = ae.energy(pts).reshape(X.shape)
    cs = axes[1].contourf(X, Y, np.log10(E_rec + 1e-3), levels=30, cmap="viridis")
    fig.colorbar(cs, ax=axes[1], shrink=0.85, label="log₁₀(E + 10⁻³)")
    curve = ae.decode(np.linspace(ae.encode(x).min(), ae.encode(x).max(), 400)[:, None])
    axes[1].plot(curve[:, 0], curve[:, 1], "r-", lw=1.2, label="decoder image g(h) of the codes")
    axes[1].scatter(x[:, 0], x[:, 1], s=1, c="w", alpha=0.5)
    axes[1].legend(loc="lower left", fontsize=7)
    axes[1].set_title(f"reconstruction E = ‖x − g(h(x))‖²\n1-D code, {steps} Adam steps")
    E_dis = -disc.logit(pts).reshape(X.shape)
    cs = axes[2].contourf(X, Y, E_dis, levels=30, cmap="viridis")
    fig.colorbar(cs, ax=axes[2], shrink=0.85, label="E = −logit D")
    axes[2].scatter(x[:, 0], x[:, 1], s=1, c="w", alpha=0.5)
    axes[2].set_title(f"discriminator E = −logit D(x)\ndata vs uniform noise, {steps} Adam steps")
    for ax in axes:
        ax.set_xlim(-box, box)
        ax.set_ylim(-box, box)
        ax.set_aspect("equal")
    return save(fig, out_dir, "reconstruction_vs_discriminator")
