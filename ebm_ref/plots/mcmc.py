"""Figures of notes/05-mcmc.md (continuous samplers)."""
from __future__ import annotations

import time

import numpy as np

from .. import diagnostics, samplers
from ..models.gaussian import Gaussian, GaussianMixture
from . import figure
from ._style import plt, save


def landscape() -> GaussianMixture:
    """The 2-D multimodal target of the figures: three Gaussian modes."""
    covs = np.stack([np.array([[0.35, 0.15], [0.15, 0.3]]), 0.25 * np.eye(2), np.array([[0.4, -0.15], [-0.15, 0.25]])])
    return GaussianMixture(np.array([0.35, 0.4, 0.25]), np.array([[-2.0, -1.0], [2.0, -0.5], [0.0, 2.0]]), covs)


def _contour(ax, model, lim=4.0, n=160):
    g = np.linspace(-lim, lim, n)
    X, Y = np.meshgrid(g, g)
    E = model.energy(np.column_stack([X.ravel(), Y.ravel()])).reshape(X.shape)
    ax.contourf(X, Y, np.exp(-E), levels=12, cmap="Greys")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def _runs(model, x0, n_steps, rng):
    return {
        "random-walk MH (h=0.8)": samplers.metropolis(model, x0, n_steps, rng, step_size=0.8),
        "ULA (h=0.05)": samplers.ula(model, x0, n_steps, rng, step_size=0.05),
        "MALA (h=0.15)": samplers.mala(model, x0, n_steps, rng, step_size=0.15),
        "HMC (eps=0.25, L=8)": samplers.hmc(model, x0, n_steps, rng, step_size=0.25, n_leapfrog=8),
    }


@figure("mcmc_trajectories")
def make_trajectories(out_dir, rng, small=False):
    """MH, ULA, MALA and HMC trajectories from the same start on a three-mode landscape."""
    model = landscape()
    n_steps = 60 if small else 400
    x0 = np.array([[-2.0, -1.0], [2.0, -0.5]])
    runs = _runs(model, x0, n_steps, rng)
    fig, axes = plt.subplots(1, 4, figsize=(12, 3.3))
    for ax, (name, ch) in zip(axes, runs.items()):
        _contour(ax, model)
        for c, col in zip(range(ch.n_chains), ("tab:red", "tab:blue")):
            path = np.vstack([x0[c], ch.samples[:, c]])
            ax.plot(path[:, 0], path[:, 1], "-", color=col, lw=0.6, alpha=0.8)
            ax.plot(path[:, 0], path[:, 1], ".", color=col, ms=2)
        ax.set_title(f"{name}\nacceptance {ch.accept_rate.mean():.2f}, {n_steps} steps")
    fig.suptitle("Trajectories of two chains on a three-mode Gaussian mixture (shading: $e^{-E}$)")
    return save(fig, out_dir, "mcmc_trajectories")


@figure("mcmc_autocorrelation_ess")
def make_autocorrelation_ess(out_dir, rng, small=False):
    """Autocorrelation of x₀ (left) and ESS per second (right) for the four samplers."""
    target = Gaussian(np.zeros(2), np.linalg.inv(np.array([[1.0, 0.8], [0.8, 1.0]])))
    n_chains, n_steps = (20, 300) if small else (100, 3000)
    x0 = target.sample(n_chains, rng)
    calls = {
        "MH": lambda: samplers.metropolis(target, x0, n_steps, rng, step_size=0.8),
        "ULA": lambda: samplers.ula(target, x0, n_steps, rng, step_size=0.1),
        "MALA": lambda: samplers.mala(target, x0, n_steps, rng, step_size=0.2),
        "HMC": lambda: samplers.hmc(target, x0, n_steps, rng, step_size=0.3, n_leapfrog=5),
    }
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"wspace": 0.35})
    names, ess_ps, ess_raw = [], [], []
    for name, call in calls.items():
        call()                                           # load the kernel before timing
        t0 = time.perf_counter()
        ch = call()
        dt = time.perf_counter() - t0
        rho = diagnostics.autocorrelation(ch.samples[:, :, 0])
        lags = np.arange(min(60, rho.size))
        a1.plot(lags, rho[lags], label=name)
        e = float(np.min(diagnostics.ess(ch.samples)))
        names.append(name)
        ess_ps.append(e / dt)
        ess_raw.append(e)
    a1.axhline(0, color="k", lw=0.5)
    a1.set_xlabel("lag")
    a1.set_ylabel("autocorrelation of x₀ (pooled over chains)")
    a1.set_title("Correlated 2-D Gaussian (ρ = 0.8)")
    a1.legend()
    bars = a2.bar(names, ess_ps, color=["tab:blue", "tab:orange", "tab:green", "tab:red"])
    for b, e in zip(bars, ess_raw):
        a2.annotate(f"ESS {e:.0f}", (b.get_x() + b.get_width() / 2, b.get_height()), ha="center", va="bottom",
                    fontsize=8)
    a2.set_ylabel("ESS per second (min over coordinates)")
    a2.set_title(f"{n_chains} chains × {n_steps} steps, jitted kernels\n(ULA's ESS is that of a biased chain)")
    return save(fig, out_dir, "mcmc_autocorrelation_ess")


def smoothed(model: GaussianMixture, sigma: float) -> GaussianMixture:
    """The mixture convolved with N(0, σ²I): covariances Σ_k + σ²I (exact smoothed density)."""
    p = model.params
    return GaussianMixture(p["weights"], p["means"], p["covariances"] + sigma**2 * np.eye(model.dim))


@figure("annealed_langevin")
def make_annealed_langevin(out_dir, rng, small=False):
    """Annealed Langevin with the exact score of the smoothed mixture, across noise levels."""
    model = landscape()
    sigmas = np.geomspace(4.0, 0.05, 10)
    n = 300 if small else 2000
    x0 = rng.uniform(-4, 4, size=(n, 2))
    ch = samplers.annealed_langevin(lambda x, s: smoothed(model, s).score(x), x0, 20 if small else 100, rng,
                                    sigmas=sigmas, step_lr=5e-4)
    show = [0, 3, 6, 9]
    fig, axes = plt.subplots(1, len(show) + 1, figsize=(14, 3.2))
    for ax, i in zip(axes, show):
        _contour(ax, smoothed(model, sigmas[i]), lim=5)
        ax.plot(ch.samples[i, :, 0], ch.samples[i, :, 1], ".", ms=1.5, color="tab:red", alpha=0.5)
        ax.set_title(f"after level {i + 1}: σ = {sigmas[i]:.2f}\n(shading: p_σ)")
    exact = model.sample(n, rng)
    ax = axes[-1]
    _contour(ax, model, lim=5)
    ax.plot(exact[:, 0], exact[:, 1], ".", ms=1.5, color="tab:blue", alpha=0.5)
    _, p = diagnostics.mmd_test(ch.last[:500], exact[:500], rng, n_perm=200)
    ax.set_title(f"exact samples of p\n(MMD test vs final: p = {p:.2f})")
    fig.suptitle("Annealed Langevin: step h_i = ε σ_i²/σ_L², exact score of p_σ = mixture with Σ_k + σ²I")
    return save(fig, out_dir, "annealed_langevin")
