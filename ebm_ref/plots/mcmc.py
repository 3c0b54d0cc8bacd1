"""Figures of notes/05a-mcmc-continuous.md (continuous samplers)."""
from __future__ import annotations

import numpy as np

from .. import diagnostics, samplers
from ..diagnostics import count_crossings, mode_indicator
from ..models.gaussian import Gaussian, GaussianMixture
from ..objectives.score_matching import smoothed
from . import figure
from ._style import (WIDTH, color, colorbar, plt, density_panel, grid, save, score_field, set_box, shared_norm,
                     subplots)

__all__ = ["landscape", "evaluations_per_step", "SAMPLERS",
           "langevin_target", "LANGEVIN_PATHS", "make_trajectories", "make_langevin_paths", "make_autocorrelation_ess", "make_annealed_langevin", "make_ula_bias"]


def landscape() -> GaussianMixture:
    """The 2-D multimodal target of the figures: three Gaussian modes."""
    covs = np.stack([np.array([[0.35, 0.15], [0.15, 0.3]]), 0.25 * np.eye(2), np.array([[0.4, -0.15], [-0.15, 0.25]])])
    return GaussianMixture(np.array([0.35, 0.4, 0.25]), np.array([[-2.0, -1.0], [2.0, -0.5], [0.0, 2.0]]), covs)


#: the four samplers of the figures and their settings (the labels are built from these)
SAMPLERS = {
    "MH": ("metropolis", {"step_size": 0.8}),
    "ULA": ("ula", {"step_size": 0.05}),
    "MALA": ("mala", {"step_size": 0.15}),
    "HMC": ("hmc", {"step_size": 0.25, "n_leapfrog": 8}),
}


def evaluations_per_step(name: str, settings: dict) -> int:
    """Model evaluations per step: one energy (MH) or one gradient (ULA, MALA; MALA's energy comes
    with it), L gradients for HMC's L leapfrog steps."""
    return int(settings.get("n_leapfrog", 1)) if name == "HMC" else 1


def _label(name, settings):
    sym = {"step_size": "h", "n_leapfrog": "L"}
    return name + " (" + ", ".join(f"${sym[k]}$ = {v:g}" for k, v in settings.items()) + ")"


def _run(name, model, x0, n_steps, rng):
    fn, kw = SAMPLERS[name]
    return getattr(samplers, fn)(model, x0, n_steps=n_steps, rng=rng, **kw)


@figure("mcmc_trajectories")
def make_trajectories(out_dir, rng, small=False):
    """Top: 25-step paths of MH, ULA, MALA and HMC from one start (the character of each move).
    Bottom: the mode a chain is in against model evaluations, at an equal budget (how often it crosses)."""
    model = landscape()
    box = 4.0
    X, Y, pts = grid(box, 60 if small else 160)
    dens = np.exp(-model.energy(pts))
    norm = shared_norm(dens)
    n_short = 25
    budget = 400 if small else 4000
    x0 = np.array([[-2.0, -1.0]])
    n_chains = 4 if small else 10
    fig = plt.figure(figsize=(WIDTH, 6.2))
    gs = fig.add_gridspec(2, 4, height_ratios=[1.0, 1.25])
    top = [fig.add_subplot(gs[0, 0])]
    top += [fig.add_subplot(gs[0, j], sharey=top[0]) for j in range(1, 4)]
    crossings = {}
    for j, (ax, name) in enumerate(zip(top, SAMPLERS)):
        im = density_panel(ax, X, Y, dens, norm=norm)
        ch = _run(name, model, x0, n_short, rng)
        path = np.vstack([x0, ch.samples[:, 0]])
        ax.plot(path[:, 0], path[:, 1], "-", color="w", lw=0.8)
        ax.plot(path[:, 0], path[:, 1], "o", color=color(name), ms=2.5)
        ax.set_title(name)
        for letter, m in zip("ABC", model.params["means"]):
            ax.annotate(letter, m, xytext=(0, 9), textcoords="offset points", color="w", ha="center")
        set_box(ax, box, ylabel=r"$x_2$" if j == 0 else "")
        if j:
            ax.tick_params(labelleft=False)
    colorbar(fig, im, top, r"$p(x)$", shrink=0.8)
    ax = fig.add_subplot(gs[1, :])
    for j, name in enumerate(SAMPLERS):
        per = evaluations_per_step(name, SAMPLERS[name][1])
        ch = _run(name, model, np.repeat(x0, n_chains, axis=0), budget // per, rng)
        modes = mode_indicator(model, ch.samples)                    # (steps, chains)
        crossings[name] = sum(count_crossings(modes[:, c]) for c in range(n_chains))
        evals = per * np.arange(1, modes.shape[0] + 1)
        shown = np.where(modes[:, 0] >= 0, modes[:, 0], np.nan)
        acc = "" if name == "ULA" else f", acc. {ch.accept_rate.mean():.2f}"
        ax.plot(evals, shown + 4 * (3 - j), drawstyle="steps-post", color=color(name),
                label=f"{_label(name, SAMPLERS[name][1])}: {crossings[name]} crossings{acc}")
    ax.set_yticks([4 * (3 - j) + k for j in range(4) for k in range(3)])
    ax.set_yticklabels(["A", "B", "C"] * 4)
    ax.set_ylim(-1, 4 * 3 + 10)                                     # room for the legend
    ax.set_xlabel("model evaluations (energy for MH, gradient otherwise)")
    ax.set_ylabel("mode of chain 1 (gaps: between modes)")
    ax.legend(loc="upper left", ncols=1)
    fig.suptitle(f"Top: {n_short} steps from mode A.  Bottom: {budget} evaluations per chain;\n"
                 f"crossings between the modes' 2σ ellipses, summed over {n_chains} chains from A")
    make_trajectories.last_results = crossings
    return save(fig, out_dir, "mcmc_trajectories")


@figure("mcmc_autocorrelation_ess")
def make_autocorrelation_ess(out_dir, rng, small=False):
    """Autocorrelation of x₁ (left) and effective sample size per 1000 model evaluations (right)."""
    rho_true = 0.8
    target = Gaussian(np.zeros(2), np.linalg.inv(np.array([[1.0, rho_true], [rho_true, 1.0]])))
    n_chains, n_steps = (20, 300) if small else (100, 3000)
    x0 = target.sample(n_chains, rng)
    settings = {"MH": ("metropolis", {"step_size": 0.8}), "ULA": ("ula", {"step_size": 0.1}),
                "MALA": ("mala", {"step_size": 0.2}), "HMC": ("hmc", {"step_size": 0.3, "n_leapfrog": 5})}
    fig, (a1, a2) = subplots(1, 2, height=2.9)
    names, per_k, ess_raw = [], [], []
    for name, (fn, kw) in settings.items():
        ch = getattr(samplers, fn)(target, x0, n_steps=n_steps, rng=rng, **kw)
        rho = diagnostics.autocorrelation(ch.samples[:, :, 0])
        lags = np.arange(min(60, rho.size))
        a1.plot(lags, rho[lags], color=color(name), label=_label(name, kw))
        e = float(np.min(diagnostics.ess(ch.samples)))
        evals = n_chains * n_steps * evaluations_per_step(name, kw)
        names.append(name)
        per_k.append(1000.0 * e / evals)
        ess_raw.append(e)
    a1.axhline(0, color="k", lw=0.5)
    a1.set_xlabel("lag (steps)")
    a1.set_ylabel(r"autocorrelation of $x_1$")
    a1.set_title(rf"2-D Gaussian, $\rho$ = {rho_true}")
    a1.legend(loc="upper right")
    bars = a2.bar(names, per_k, color=[color(n) for n in names])
    for b, e in zip(bars, ess_raw):
        a2.annotate(f"{e:.0f}", (b.get_x() + b.get_width() / 2, b.get_height()), ha="center", va="bottom")
    a2.set_ylim(0, 1.15 * max(per_k))
    a2.set_xlabel("sampler (bar label: ESS)")
    a2.set_ylabel("ESS per 1000 evaluations")
    a2.set_title(f"{n_chains} chains × {n_steps} steps\n(ULA: ESS of a biased chain)")
    return save(fig, out_dir, "mcmc_autocorrelation_ess")


@figure("annealed_langevin")
def make_annealed_langevin(out_dir, rng, small=False):
    """Annealed Langevin with the exact score of the smoothed mixture, across noise levels."""
    model = landscape()
    sigmas = np.geomspace(4.0, 0.05, 10)
    n = 300 if small else 2000
    box = 5.0
    x0 = rng.uniform(-box, box, size=(n, 2))
    n_each, eps = (20 if small else 100), 5e-4
    ch = samplers.annealed_langevin(lambda x, s: smoothed(model, s).score(x), x0, sigmas=sigmas,
                                    n_steps_each=n_each, step_lr=eps, rng=rng)
    X, Y, pts = grid(box, 60 if small else 160)
    show = [0, 4, 9]
    fig, axes = subplots(2, 2, height=5.6, sharex=True, sharey=True)
    for ax, i in zip(axes.ravel(), show):
        d = np.exp(-smoothed(model, sigmas[i]).energy(pts))
        density_panel(ax, X, Y, d, norm=shared_norm(d), label=rf"$p_\sigma(x)$, $\sigma$ = {sigmas[i]:.2f}")
        ax.plot(ch.samples[i, :, 0], ch.samples[i, :, 1], ".", ms=1.5, color="w", alpha=0.5, rasterized=True)
        ax.set_title(f"after level {i + 1} of {sigmas.size}")
    exact = model.sample(n, rng)
    ax = axes[1, 1]
    d = np.exp(-model.energy(pts))
    density_panel(ax, X, Y, d, norm=shared_norm(d), label=r"$p(x)$")
    ax.plot(exact[:, 0], exact[:, 1], ".", ms=1.5, color="w", alpha=0.5, rasterized=True)
    _, p = diagnostics.mmd_test(ch.last[:500], exact[:500], rng, n_perm=200)
    ax.set_title(f"exact samples of $p$ (MMD test\nagainst the last level: p-value {p:.2f})")
    for a in axes.ravel():
        set_box(a, box, xlabel=r"$x_1$" if a in axes[1] else "", ylabel=r"$x_2$" if a in axes[:, 0] else "")
    fig.suptitle(rf"{n_each} steps per level, $h_i = \epsilon\,\sigma_i^2/\sigma_L^2$, $\epsilon$ = {eps:g}; "
                 r"exact score of $p_\sigma$")
    return save(fig, out_dir, "annealed_langevin")


@figure("ula_bias")
def make_ula_bias(out_dir, rng, small=False):
    r"""ULA's stationary variance against its step size h, next to MALA's, on a correlated 2-D Gaussian.

    Line: the closed form :math:`\Sigma_h = (P(I - hP/2))^{-1}` (``samplers.ula_gaussian_covariance``);
    points: the sample variance of x₁ over chains and steps, ± 2 Monte Carlo standard errors.
    """
    rho = 0.8
    S = np.array([[1.0, rho], [rho, 1.0]])
    P = np.linalg.inv(S)
    target = Gaussian(np.zeros(2), P)
    h_max = 2.0 / np.linalg.eigvalsh(P).max()
    hs = np.array([0.02, 0.1, 0.2, 0.3] if small else [0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35])
    n_chains, n_steps, burn = (50, 400, 100) if small else (200, 4000, 500)
    x0 = target.sample(n_chains, rng)
    fig, ax = subplots(height=3.0)
    grid_h = np.linspace(1e-3, 0.95 * h_max, 200)
    ax.plot(grid_h, [samplers.ula_gaussian_covariance(P, h)[0, 0] for h in grid_h], color=color("ULA"),
            label=r"ULA, closed form $[(P(I - hP/2))^{-1}]_{11}$")
    ax.axhline(S[0, 0], color="k", ls="--", lw=1, label=r"target $\Sigma_{11}$ = 1 (MALA's stationary value)")
    results = {}
    for name in ("ULA", "MALA"):
        est, se = [], []
        for h in hs:
            ch = getattr(samplers, name.lower())(target, x0, n_steps=n_steps, step_size=float(h), rng=rng, burn_in=burn)
            x2 = ch.samples[:, :, :1] ** 2
            est.append(float(x2.mean()))
            se.append(float(x2.std() / np.sqrt(diagnostics.ess(x2)[0])))
        est, se = np.array(est), np.array(se)
        results[name] = (hs, est, se)
        ax.errorbar(hs, est, yerr=2 * se, fmt="o" if name == "ULA" else "s", ms=3.5, capsize=2, color=color(name),
                    label=f"{name}: sample variance of $x_1$ (± 2 MCSE)")
    ax.set_xlabel("step size $h$")
    ax.set_ylabel(r"stationary variance of $x_1$")
    ax.set_title(f"2-D Gaussian, $\\rho$ = {rho:g}; {n_chains} chains × {n_steps} steps; "
                 f"ULA stable for $h$ < {h_max:.2f}")
    ax.legend(loc="upper left")
    make_ula_bias.last_results = results
    return save(fig, out_dir, "ula_bias")


def langevin_target() -> GaussianMixture:
    """The 2-D density of ``langevin_paths``: two Gaussian modes, one of them tilted."""
    covs = np.stack([0.4 * np.eye(2), np.array([[0.6, 0.25], [0.25, 0.35]])])
    return GaussianMixture(np.array([0.45, 0.55]), np.array([[-1.5, 1.0], [1.5, -0.6]]), covs)


#: sampler and settings of ``langevin_paths`` (the title is built from these)
LANGEVIN_PATHS = ("MALA", {"step_size": 0.03})


@figure("langevin_paths")
def make_langevin_paths(out_dir, rng, small=False):
    r"""The score :math:`s(x) = -\nabla E(x)` of a two-mode mixture over its density (left), and
    Langevin paths, every step kept, drifting from low density up into the modes (right)."""
    model = langevin_target()
    box = 4.0
    X, Y, pts = grid(box, 60 if small else 160)
    dens = np.exp(-model.energy(pts))
    norm = shared_norm(dens)
    name, kw = LANGEVIN_PATHS
    n_steps = 20 if small else 40
    x0 = np.array([[-3.0, -3.0], [3.0, 3.0], [-3.0, 3.0], [3.0, -3.0]])
    fig, axes = subplots(1, 2, height=3.8, sharey=True)
    im = density_panel(axes[0], X, Y, dens, norm=norm)
    score_field(axes[0], model.score, box, n=15)
    axes[0].set_title(r"score $s(x) = -\nabla E(x)$ (arrows)")
    density_panel(axes[1], X, Y, dens, norm=norm)
    ch = getattr(samplers, name.lower())(model, x0, n_steps=n_steps, rng=rng, **kw)
    paths = np.concatenate([x0[None], ch.samples], axis=0)                # (steps + 1, chains, 2)
    for c in range(x0.shape[0]):
        axes[1].plot(paths[:, c, 0], paths[:, c, 1], "-", color="w", lw=1.8)
        axes[1].plot(paths[:, c, 0], paths[:, c, 1], "-", color=color(name), lw=0.9)
        axes[1].plot(*x0[c], "o", color="w", mec="k", ms=4.5)
        axes[1].plot(*paths[-1, c], "s", color=color(name), mec="w", ms=4.5)
    axes[1].set_title(f"{x0.shape[0]} {name} paths of {n_steps} steps\n(circle: start, square: end)")
    set_box(axes[0], box)
    set_box(axes[1], box, ylabel="")
    colorbar(fig, im, list(axes), r"$p(x)$", shrink=0.85)
    fig.suptitle(rf"Langevin proposal $x' = x + h\,s(x) + \sqrt{{2h}}\,\xi$, then MALA's accept/reject;"
                 f"\n{_label(name, kw)}, acceptance rate {ch.accept_rate.mean():.2f}")
    make_langevin_paths.last_results = paths
    return save(fig, out_dir, "langevin_paths")
