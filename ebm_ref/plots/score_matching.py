"""Figures of note 07 (score matching).

* ``score_matching_cost`` — the work of the exact score-matching term (the Laplacian:
  d tangent directions pushed through the network) against the sliced one (one direction),
  counted in multiply–adds for an MLP energy as the dimension grows (the measured times are
  ``ebm-ref bench``'s job).
* ``score_matching_2d`` — energies learned on two moons, eight Gaussians and rings by
  exact, sliced and denoising score matching, beside the data, each with its exact held-out log-likelihood
  (log Z by 2-D quadrature) and kernel Stein discrepancy.
* ``score_matching_annealed`` — one energy per noise level trained by multi-level
  denoising score matching, sampled by annealed Langevin, against plain Langevin at the
  smallest level and against the exact smoothed scores, on a two-mode mixture with
  unequal weights.
"""
from __future__ import annotations

import numpy as np

from ..datasets import two_mode_mixture
from ..objectives.score_matching import kl_divergence_1d, tangent_multiply_adds
from . import figure
from ._style import DENSITY_CMAP, color, colorbar, compared_densities, grid, save, scatter_points, set_box, subplots

__all__ = ["make_diffusion_tweedie", "tweedie_mixture", "TWEEDIE_SIGMAS", "make_cost", "make_2d", "make_annealed", "train_2d", "train_noise_conditional", "log_partition_quadrature", "log_likelihood_quadrature",
           "make_blind_weights", "CONFINE_PRECISION"]

#: precision of the fixed Gaussian expert that confines the bounded tanh MLP, so that
#: exp(−E) is integrable; its scale (σ = 2.2) is wide against the data (|x| ≲ 2).
CONFINE_PRECISION = 0.2


@figure("score_matching_cost")
def make_cost(out_dir, rng, small=False):
    """Multiply–adds per point: the Laplacian (d tangents) against one slice (1 tangent), MLP [d, w, w, 1]."""
    width = 64
    dims = np.array([2, 8, 32] if small else [2, 4, 8, 16, 32, 64, 128, 256])
    exact = np.array([tangent_multiply_adds([d, width, width, 1], d) for d in dims])
    sliced = np.array([tangent_multiply_adds([d, width, width, 1], 1) for d in dims])
    forward = np.array([tangent_multiply_adds([d, width, width, 1], 0) for d in dims])
    fig, ax = subplots(height=3.0)
    ax.loglog(dims, exact, "o-", color=color("exact SM"), ms=3, label=r"exact SM: $\mathrm{tr}\,\nabla_x^2 E$ ($d$ tangents)")
    ax.loglog(dims, sliced, "s-", color=color("sliced SM"), ms=3, label=r"sliced SM: $v^\top \nabla_x^2 E\, v$ (1 tangent)")
    ax.loglog(dims, forward, ":", color="k", label=r"forward pass $E(x)$")
    ax.set_xticks(dims)
    ax.set_xticklabels([str(d) for d in dims])
    ax.minorticks_off()
    ax.set_xlabel(r"dimension $d$")
    ax.set_ylabel("multiply–adds per point")
    ax.set_title(f"MLP energy [$d$, {width}, {width}, 1]: at $d$ = {dims[-1]} the exact term costs "
                 f"{exact[-1] / sliced[-1]:.0f}× the sliced one")
    ax.legend(loc="upper left")
    make_cost.last_table = (dims, exact, sliced)
    return save(fig, out_dir, "score_matching_cost")


# --------------------------------------------------------------- 2-D toy energies
def _confined_mlp(rng, width=64):
    from ..models import Gaussian
    from ..models.compose import ProductOfExperts
    from ..models.mlp import MLPEnergy

    mlp = MLPEnergy.init([2, width, width], rng, activation="tanh")
    return ProductOfExperts([mlp, Gaussian(np.zeros(2), CONFINE_PRECISION * np.eye(2))])


def _frozen(objective):
    """Train the MLP expert only; the confining Gaussian (keys '1.*') stays fixed."""
    def f(model, x, rng):
        val, g = objective(model, x, rng)
        return val, {k: (np.zeros_like(v) if k.startswith("1.") else v) for k, v in g.items()}
    return f


BOX = [(-2.5, 3.5), (-2.0, 2.5)]
#: plotted (and finely integrated) box per toy dataset
BOXES = {"two moons": BOX, "eight Gaussians": [(-3.2, 3.2), (-3.2, 3.2)], "rings": [(-3.6, 3.6), (-3.6, 3.6)]}


#: outer limit of the quadrature for log Z: beyond it the confining Gaussian leaves
#: a relative mass below exp(−0.1·12²) ≈ 6e-7.
OUTER = 12.0


def log_partition_quadrature(model, n_inner=200, n_outer=200, box=BOX):
    """log Z on [−12, 12]²: a fine Gauss–Legendre grid on ``box`` (where the data and the
    sharp features are) and coarser grids on the four rectangles around it."""
    from ..objectives.mle import quadrature_grid

    (a0, a1), (b0, b1) = box
    R = OUTER
    pieces = [(box, n_inner), ([(-R, a0), (-R, R)], n_outer), ([(a1, R), (-R, R)], n_outer),
              ([(a0, a1), (-R, b0)], n_outer), ([(a0, a1), (b1, R)], n_outer)]
    logs = []
    for bounds, n in pieces:
        pts, w = quadrature_grid(bounds, n)
        logs.append(-model.energy(pts) + np.log(w))
    a = np.concatenate(logs)
    m = np.max(a)
    return float(m + np.log(np.sum(np.exp(a - m))))


def log_likelihood_quadrature(model, x, n_inner=200, n_outer=200, box=BOX):
    """Mean log p(x) with log Z from :func:`log_partition_quadrature`."""
    return float(np.mean(-model.energy(x)) - log_partition_quadrature(model, n_inner, n_outer, box))


def train_2d(kind, x, rng, n_steps, batch_size=256, lr=2e-3, sigma=0.1, n_projections=1, width=64):
    """Fit a confined MLP energy to 2-D data by 'exact', 'sliced' or 'denoising' score matching."""
    from .. import train
    from ..objectives import score_matching as sm

    model = _confined_mlp(rng, width)
    kw = {"exact": {}, "sliced": {"n_projections": n_projections}, "denoising": {"sigma": sigma}}[kind]
    obj = _frozen(sm.objective(kind, **kw))
    return train.fit(model, x, obj, train.Adam(lr), n_steps, rng, batch_size=min(batch_size, x.shape[0]))


KINDS = [("exact", "exact SM"), ("sliced", "sliced SM"), ("denoising", "denoising SM")]


def fitted_density(model, x_test, pts, n_inner=200, n_outer=200, box=BOX):
    """How a trained 2-D model fits: its test log-likelihood ℓ (log Z by :func:`log_partition_quadrature`),
    the unbiased KSD² on (at most) 500 test points, and the normalized density at ``pts``."""
    from ..diagnostics import ksd

    lz = log_partition_quadrature(model, n_inner, n_outer, box)
    ll = float(np.mean(-model.energy(x_test))) - lz
    return ll, ksd(x_test[:500], model), np.exp(-model.energy(pts) - lz)


def fitted_density_row(fig, axes, X, Y, panels, box, decades):
    """``panels`` of fitted densities on ``axes[1:]`` (one log colour scale and one colour bar for the
    row), every axis of the row set to ``box``; ``axes[0]`` holds the data."""
    im = compared_densities(axes[1:], X, Y, panels, log=True, decades=decades)
    colorbar(fig, im, list(axes), r"$p_\theta(x)$ (log scale)", shrink=0.85)
    for ax in axes:
        set_box(ax, box, ylabel=r"$x_2$" if ax is axes[0] else "")


@figure("score_matching_2d")
def make_2d(out_dir, rng, small=False):
    from ..datasets import eight_gaussians, eight_gaussians_mixture, rings, two_moons
    from ..diagnostics import ksd
    from ..models import Gaussian
    from ..objectives import mle

    n_train, n_test = (300, 100) if small else (4000, 1000)
    n_steps = 30 if small else 3000
    n_inner, n_outer = (40, 40) if small else (300, 200)
    sets = [("two moons", two_moons, None), ("eight Gaussians", eight_gaussians, eight_gaussians_mixture()),
            ("rings", rings, None)]
    if small:
        sets = sets[:1]
    fig, axes = subplots(len(sets), 4, height=2.3 * len(sets) + 0.6, squeeze=False, sharey="row")
    summary = {}
    for row, (name, sampler, truth) in zip(axes, sets):
        box = BOXES[name]
        x = sampler(n_train, rng)
        x_test = sampler(n_test, rng)
        g = Gaussian(x.mean(axis=0), np.linalg.inv(np.cov(x.T, bias=True)))
        summary[(name, "gaussian")] = (mle.log_likelihood(g, x_test), np.nan)
        ref = f"Gaussian: $\\ell$ = {summary[(name, 'gaussian')][0]:.2f}"
        if truth is not None:
            ll_true = float(np.mean(truth.log_prob(x_test)))
            summary[(name, "true density")] = (ll_true, ksd(x_test[:500], truth))
            ref += f"\ntrue: $\\ell$ = {ll_true:.2f}"
        scatter_points(row[0], x[:1500])
        row[0].set_title(f"{name}\n{ref}")
        X, Y, pts = grid(box, 150)
        dens = []
        for kind, title in KINDS:
            model, hist = train_2d(kind, x, rng, n_steps, batch_size=64 if small else 256, width=16 if small else 64)
            ll, k, d = fitted_density(model, x_test, pts, n_inner, n_outer, box)
            summary[(name, kind)] = (ll, k)
            dens.append((title, d, ll, k))
        panels = [(f"{title}\n$\\ell$ = {ll:.2f}\nKSD² = {k:.2f}", d) for title, d, ll, k in dens]
        fitted_density_row(fig, row, X, Y, panels, box, decades=4)
    fig.suptitle(r"$p_\theta \propto e^{-E}$, MLP energy, $\log Z$ by quadrature; $\ell$: test log-likelihood;"
                 "\nKSD²: unbiased estimate (may fall below 0 when the true value is near 0)")
    make_2d.last_results = summary
    return save(fig, out_dir, "score_matching_2d")


# ------------------------------------------------ several noise levels, annealed Langevin
def _two_modes():
    """Song & Ermon's example: weights 0.2 / 0.8 on two well separated Gaussians."""
    from ..models import GaussianMixture

    return GaussianMixture([0.2, 0.8], [[-3.0, -3.0], [3.0, 3.0]], np.tile(0.5**2 * np.eye(2), (2, 1, 1)))


ANNEAL_SIGMAS = np.array([5.0, 2.5, 1.2, 0.6, 0.3, 0.15])


def train_noise_conditional(x, rng, n_steps, width=32, batch_size=256, lr=3e-3, sigmas=ANNEAL_SIGMAS):
    """One MLP energy per noise level, trained jointly by multi-level denoising score matching."""
    from .. import train
    from ..models.mlp import MLPEnergy
    from ..objectives import score_matching as sm

    nc = sm.NoiseConditional([MLPEnergy.init([2, width, width], rng) for _ in sigmas], sigmas)
    return train.fit(nc, x, sm.objective("multiscale"), train.Adam(lr), n_steps, rng,
                     batch_size=min(batch_size, x.shape[0]))


@figure("score_matching_annealed")
def make_annealed(out_dir, rng, small=False):
    from ..diagnostics import mmd
    from ..objectives import score_matching as sm
    from ..samplers import annealed_langevin

    p = _two_modes()
    n_train = 500 if small else 4000
    n_chains = 300 if small else 2000
    n_steps = 40 if small else 3000
    T = 10 if small else 100
    x = p.sample(n_train, rng)
    nc, hist = train_noise_conditional(x, rng, n_steps, width=8 if small else 32)
    exact = sm.NoiseConditional([sm.smoothed(p, s) for s in ANNEAL_SIGMAS], ANNEAL_SIGMAS)
    x0 = rng.uniform(-8.0, 8.0, size=(n_chains, 2))
    eps = 0.005
    runs = {
        "Langevin at σ_L only (learned score)": annealed_langevin(nc.score_at_sigma, x0, T * len(ANNEAL_SIGMAS), rng, sigmas=ANNEAL_SIGMAS[-1:], step_lr=eps),
        "annealed Langevin (learned scores)": annealed_langevin(nc.score_at_sigma, x0, T, rng, sigmas=ANNEAL_SIGMAS, step_lr=eps),
        "annealed Langevin (exact smoothed scores)": annealed_langevin(exact.score_at_sigma, x0, T, rng, sigmas=ANNEAL_SIGMAS, step_lr=eps),
    }
    ref = p.sample(n_chains, rng)
    fig, axes = subplots(2, 2, height=6.0, sharex=True, sharey=True)
    axes = axes.ravel()
    scatter_points(axes[0], ref)
    axes[0].set_title("exact samples: weights 0.2 (lower)\nand 0.8 (upper)")
    results = {}
    short = ["Langevin at $\\sigma_L$ only\n(learned score)", "annealed Langevin\n(learned scores)",
             "annealed Langevin\n(exact smoothed scores)"]
    for ax, (name, ch), title in zip(axes[1:], runs.items(), short):
        s = ch.samples[-1]
        frac = float(np.mean(s[:, 0] + s[:, 1] < 0))
        m2 = mmd(s, ref)
        results[name] = (frac, m2)
        scatter_points(ax, s, method="model")
        ax.set_title(f"{title}: lower mode {frac:.2f}")
    for ax in axes:
        set_box(ax, 7.0, xlabel=r"$x_1$" if ax in axes[2:] else "", ylabel=r"$x_2$" if ax in axes[::2] else "")
    fig.suptitle(f"{len(ANNEAL_SIGMAS)} noise levels $\\sigma$ from {ANNEAL_SIGMAS[0]:g} to {ANNEAL_SIGMAS[-1]:g}, "
                 f"{T} steps each,\n$\\epsilon$ = {eps}; {n_chains} chains from $U[-8, 8]^2$ (true lower-mode weight 0.2)")
    make_annealed.last_results = results
    return save(fig, out_dir, "score_matching_annealed")


# ------------------------------------------- score matching is blind to the weights of separated modes
@figure("score_matching_blind_weights")
def make_blind_weights(out_dir, rng, small=False):
    """Two mixtures that differ only in their weights have almost the same score wherever they have
    mass: the Fisher divergence between them is tiny while the KL divergence is not."""
    from ..objectives.score_matching import fisher_divergence

    s, mu_show, w_show = 0.7, 3.0, 0.1
    bounds = [(-12.0, 12.0)]
    x = np.linspace(-6, 6, 400 if small else 1200)[:, None]
    p, q = two_mode_mixture(w_show, mu_show, s), two_mode_mixture(0.5, mu_show, s)
    fig, ax = subplots(1, 3, height=3.1)
    for m, w, ls in ((p, w_show, "-"), (q, 0.5, "--")):
        lab = f"$w$ = {w:g}"
        ax[0].plot(x[:, 0], np.exp(m.log_prob(x)), ls, color="k", label=lab)
        ax[1].plot(x[:, 0], m.score(x)[:, 0], ls, color="k", label=lab)
    ax[0].set_title(f"$p_w$, modes at $\\pm${mu_show:g}")
    ax[0].set_xlabel("$x$")
    ax[0].set_ylabel("density $p_w(x)$")
    ax[0].legend(loc="upper left")
    ax[0].set_ylim(0, 0.75)
    ax[1].set_title("scores $\\nabla_x \\log p_w$")
    ax[1].set_xlabel("$x$")
    ax[1].set_ylabel("score")
    ws = np.array([0.05, 0.1, 0.2, 0.3, 0.4] if small else [0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45])
    results = {}
    for mu, col in ((2.0, "#009E73"), (3.0, "#0072B2"), (4.0, "#D55E00")):
        q = two_mode_mixture(0.5, mu, s)
        F = np.array([fisher_divergence(two_mode_mixture(w, mu, s), q, bounds) for w in ws])
        KL = np.array([kl_divergence_1d(two_mode_mixture(w, mu, s), q, bounds) for w in ws])
        results[mu] = (ws, F, KL)
        ax[2].semilogy(ws, F, "o-", ms=2.5, color=col, label=f"$F$, $\\mu$ = {mu:g}")
        ax[2].semilogy(ws, KL, ":", color="k", label="KL (same for all $\\mu$)" if mu == 4.0 else None)
    ax[2].set_xlabel("left-mode weight $w$")
    ax[2].set_ylabel(r"divergence from $p_{1/2}$")
    ax[2].set_title("Fisher vs KL")
    fig.legend(*ax[2].get_legend_handles_labels(), loc="outside lower center", ncols=4)
    fig.suptitle(f"$w\\,N(-\\mu, s^2) + (1 - w)\\,N(\\mu, s^2)$, $s$ = {s:g}: score matching cannot see $w$")
    make_blind_weights.last_results = results
    return save(fig, out_dir, "score_matching_blind_weights")


# ------------------------------------------- diffusion: noised densities, their scores, Tweedie's denoiser
def tweedie_mixture():
    """The 1-D density of ``diffusion_tweedie``: 0.3 N(−2, 0.2) + 0.7 N(1.5, 0.5)."""
    from ..models import GaussianMixture

    return GaussianMixture([0.3, 0.7], [[-2.0], [1.5]], [[[0.2]], [[0.5]]])


#: noise levels of ``diffusion_tweedie``
TWEEDIE_SIGMAS = (0.3, 0.8, 2.0)


@figure("diffusion_tweedie")
def make_diffusion_tweedie(out_dir, rng, small=False):
    r"""The noised densities :math:`p_\sigma = p * \mathcal N(0, \sigma^2)` of a 1-D mixture at several σ
    (exact: each component's variance grows by σ²), their scores, and Tweedie's denoiser
    :math:`\mathbb E[x\mid\tilde x] = \tilde x + \sigma^2\nabla\log p_\sigma(\tilde x)` against x̃."""
    from matplotlib import colormaps

    from ..objectives.score_matching import smoothed

    p = tweedie_mixture()
    xt = np.linspace(-6.0, 6.0, 200 if small else 1201)[:, None]
    cmap = colormaps[DENSITY_CMAP]
    cols = [cmap(t) for t in np.linspace(0.25, 0.85, len(TWEEDIE_SIGMAS))]
    fig, ax = subplots(1, 3, height=3.0)
    ax[0].plot(xt[:, 0], np.exp(p.log_prob(xt)), color=color("data"), label=r"$p$ ($\sigma$ = 0)")
    ax[1].plot(xt[:, 0], p.score(xt)[:, 0], color=color("data"))
    results = {}
    for s, c in zip(TWEEDIE_SIGMAS, cols):
        ps = smoothed(p, s)
        score = ps.score(xt)[:, 0]
        denoised = xt[:, 0] + s**2 * score
        results[s] = (xt[:, 0], denoised)
        ax[0].plot(xt[:, 0], np.exp(ps.log_prob(xt)), color=c, label=rf"$p_\sigma$, $\sigma$ = {s:g}")
        ax[1].plot(xt[:, 0], score, color=c)
        ax[2].plot(xt[:, 0], denoised, color=c)
    ax[2].plot(xt[:, 0], xt[:, 0], ":", color="k", lw=0.8)
    for m in p.params["means"][:, 0]:
        ax[2].axhline(m, color="0.6", ls="--", lw=0.8)
    ax[0].set_xlabel(r"$\tilde x$")
    ax[0].set_ylabel(r"density $p_\sigma(\tilde x)$")
    ax[0].set_title("noised densities")
    ax[1].set_xlabel(r"$\tilde x$")
    ax[1].set_ylabel(r"score $\nabla\log p_\sigma(\tilde x)$")
    ax[1].set_ylim(-8, 8)
    ax[1].axhline(0, color="k", lw=0.5)
    ax[1].set_title(r"scores $\nabla\log p_\sigma$")
    ax[2].set_xlabel(r"noisy $\tilde x$")
    ax[2].set_ylabel(r"$\mathbb{E}[x\mid\tilde x]$")
    ax[2].set_ylim(-4, 4)
    ax[2].set_title("Tweedie's denoiser\n(dashed: $\\mu_k$; dotted: $\\tilde x$)")
    fig.legend(*ax[0].get_legend_handles_labels(), loc="outside lower center", ncols=4)
    w, mu, var = p.params["weights"], p.params["means"][:, 0], p.params["covariances"][:, 0, 0]
    fig.suptitle(rf"$p = {w[0]:g}\,\mathcal{{N}}({mu[0]:g}, {var[0]:g}) + {w[1]:g}\,\mathcal{{N}}({mu[1]:g}, {var[1]:g})$, "
                 r"$p_\sigma = p * \mathcal{N}(0, \sigma^2)$ (exact: variances $+\,\sigma^2$);"
                 "\n" r"Tweedie: $\mathbb{E}[x\mid\tilde x] = \tilde x + \sigma^2\nabla\log p_\sigma(\tilde x)$")
    make_diffusion_tweedie.last_results = results
    return save(fig, out_dir, "diffusion_tweedie")
