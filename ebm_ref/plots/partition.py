"""Figures of note 10 (partition functions): AIS against the number of temperatures, and the sandwich."""
from __future__ import annotations

import numpy as np

from .. import partition as P
from ..models import BernoulliRBM, Gaussian, GaussianBernoulliRBM
from . import figure
from ._style import plt, save


def _cases(rng):
    """A Gaussian–Bernoulli RBM (20 visible, 12 hidden) and a binary RBM (100 visible, 15 hidden)."""
    gb = GaussianBernoulliRBM(0.6 * rng.standard_normal((20, 12)), 0.5 * rng.standard_normal(20),
                              0.2 * rng.standard_normal(12), np.ones(20))
    gb_base = Gaussian(gb.params["b"], np.diag(gb.params["sigma"] ** -2.0))
    bb = BernoulliRBM(rng.standard_normal((100, 15)), 0.1 * rng.standard_normal(100), 0.1 * rng.standard_normal(15))
    return [
        ("Gaussian–Bernoulli RBM 20×12 (HMC, Gaussian base)", gb, gb_base, dict(transition="hmc", step_size=0.2, n_leapfrog=3)),
        ("binary RBM 100×15, W ~ N(0,1) (Gibbs, uniform base)", bb, None, dict(transition="gibbs")),
    ]


def _temperatures(small):
    return [3, 10, 30] if small else [3, 10, 30, 100, 300, 1000, 3000, 10000]


def _log_ticks(ax, Ks):
    ax.set_xscale("log")
    ax.set_xticks(Ks)
    ax.set_xticklabels([f"{k:,}" for k in Ks])
    ax.minorticks_off()


@figure("ais_vs_temperatures")
def make_ais_vs_temperatures(out_dir, rng, small=False):
    n_chains = 20 if small else 100
    n_runs = 2 if small else 5
    Ks = _temperatures(small)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for ax, (title, model, base, kw) in zip(axes, _cases(rng)):
        lz = model.log_partition()
        runs = [[P.ais(model, base, P.linear_schedule(K), n_chains, rng, **kw) for _ in range(n_runs)] for K in Ks]
        for r in range(n_runs):
            xs = np.array(Ks) * 1.08 ** (r - (n_runs - 1) / 2)        # spread the runs sideways
            ax.errorbar(xs, [run[r].log_z for run in runs], yerr=[run[r].stderr for run in runs], fmt="o", ms=2.5,
                        capsize=1.5, color="C0", alpha=0.6, label=f"AIS runs, {n_chains} chains (±1 se)" if r == 0 else None)
        ax.plot(Ks, [np.median([e.log_z for e in run]) for run in runs], "-", color="C0", lw=1, label="median of runs")
        ax.axhline(lz, color="k", lw=1, ls="--", label="exact log Z (enumeration)")
        _log_ticks(ax, Ks)
        ax.set_xlabel("number of temperatures (linear schedule)")
        ax.set_ylabel("log Ẑ")
        ax.set_title(title)
        ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    return save(fig, out_dir, "ais_vs_temperatures")


@figure("ais_sandwich")
def make_ais_sandwich(out_dir, rng, small=False):
    n_chains = 20 if small else 100
    n_runs = 2 if small else 5
    Ks = _temperatures(small)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for ax, (title, model, base, kw) in zip(axes, _cases(rng)):
        lz = model.log_partition()
        lo, up = np.empty((len(Ks), n_runs)), np.empty((len(Ks), n_runs))
        for i, K in enumerate(Ks):
            for r in range(n_runs):
                s = P.bidirectional(model, base, P.linear_schedule(K), n_chains, rng,
                                    exact_samples=model.sample(n_chains, rng), **kw)
                lo[i, r], up[i, r] = s.lower - lz, s.upper - lz
        # the bounds hold in expectation: plot the mean over runs, ± its standard error
        se = np.sqrt(n_runs)
        ax.fill_between(Ks, lo.mean(1), up.mean(1), color="C0", alpha=0.15, label="sandwich (means)")
        ax.errorbar(Ks, lo.mean(1), yerr=lo.std(1, ddof=1) / se, fmt="o-", ms=3, capsize=2, label="forward AIS (lower)")
        ax.errorbar(Ks, up.mean(1), yerr=up.std(1, ddof=1) / se, fmt="s-", ms=3, capsize=2, label="reverse AIS (upper)")
        ax.axhline(0.0, color="k", lw=1, ls="--", label="exact log Z")
        _log_ticks(ax, Ks)
        ax.set_yscale("symlog", linthresh=0.3)
        ax.set_xlabel("number of temperatures (linear schedule)")
        ax.set_ylabel("bound − exact log Z  (nats)")
        ax.set_title(f"{title}\nmean of {n_runs} runs of {n_chains} chains each way")
        ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    return save(fig, out_dir, "ais_sandwich")
