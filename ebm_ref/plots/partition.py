"""Figures of note 10 (partition functions): importance sampling against dimension, AIS against the number
of temperatures, and the sandwich."""
from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D

from .. import partition as P
from ..models import BernoulliRBM, Gaussian, GaussianBernoulliRBM
from ..objectives.adversarial import kl_gaussians
from ..partition import is_chi_square_gaussian, is_log_weight_variance_gaussian, sandwich_violations
from . import figure
from ._style import color, save, subplots

__all__ = ["make_ais_vs_temperatures", "make_ais_sandwich", "make_importance_sampling_dimension"]


def _cases(rng):
    """A Gaussian–Bernoulli RBM (20 visible, 12 hidden) and a binary RBM (100 visible, 15 hidden)."""
    gb = GaussianBernoulliRBM(0.6 * rng.standard_normal((20, 12)), 0.5 * rng.standard_normal(20),
                              0.2 * rng.standard_normal(12), np.ones(20))
    gb_base = Gaussian(gb.params["b"], np.diag(gb.params["sigma"] ** -2.0))
    bb = BernoulliRBM(rng.standard_normal((100, 15)), 0.1 * rng.standard_normal(100), 0.1 * rng.standard_normal(15))
    return [
        ("Gaussian–Bernoulli RBM 20×12\nHMC, Gaussian base", gb, gb_base, dict(transition="hmc", step_size=0.2, n_leapfrog=3)),
        ("binary RBM 100×15, $W \\sim N(0, 1)$\nGibbs, uniform base", bb, None, dict(transition="gibbs")),
    ]


def _sizes(small):
    """Chains per run, runs per K, and the numbers of temperatures K of both AIS figures."""
    if small:
        return 20, 2, [3, 10, 30]
    return 100, 5, [3, 10, 30, 100, 300, 1000, 3000, 10000]


def _log_ticks(ax, Ks):
    ax.set_xscale("log")
    ax.set_xticks(Ks)
    ax.set_xticklabels([f"{k:g}" if k < 1000 else f"$10^{{{int(np.log10(k))}}}$" if np.log10(k) % 1 == 0 else f"{k / 1000:g}k"
                        for k in Ks])
    ax.minorticks_off()


@figure("ais_vs_temperatures")
def make_ais_vs_temperatures(out_dir, rng, small=False):
    n_chains, n_runs, Ks = _sizes(small)
    fig, axes = subplots(1, 2, height=3.0)
    for ax, (title, model, base, kw) in zip(axes, _cases(rng)):
        lz = model.log_partition()
        runs = [[P.ais(model, base, P.linear_schedule(K), n_chains, rng, **kw) for _ in range(n_runs)] for K in Ks]
        for r in range(n_runs):
            xs = np.array(Ks) * 1.08 ** (r - (n_runs - 1) / 2)        # spread the runs sideways
            ax.errorbar(xs, [run[r].log_z for run in runs], yerr=[run[r].stderr for run in runs], fmt="o", ms=2.5,
                        capsize=1.5, color=color("AIS"), alpha=0.6, label=f"runs, {n_chains} chains (± 1 SE)" if r == 0 else None)
        ax.plot(Ks, [np.median([e.log_z for e in run]) for run in runs], "-", color=color("AIS"), lw=1, label="median of runs")
        ax.axhline(lz, color="k", lw=1, ls="--", label=r"exact $\log Z$")
        _log_ticks(ax, Ks)
        ax.set_xlabel("temperatures $K$ (linear schedule)")
        ax.set_ylabel(r"$\log \hat Z$")
        ax.set_title(title)
        ax.legend(loc="lower right")
    return save(fig, out_dir, "ais_vs_temperatures")


@figure("ais_sandwich")
def make_ais_sandwich(out_dir, rng, small=False):
    n_chains, n_runs, Ks = _sizes(small)
    fig, axes = subplots(1, 2, height=3.9)
    results = {}
    for ax, (title, model, base, kw) in zip(axes, _cases(rng)):
        lz = model.log_partition()
        lo, up = np.empty((len(Ks), n_runs)), np.empty((len(Ks), n_runs))
        lo_se, up_se = np.empty((len(Ks), n_runs)), np.empty((len(Ks), n_runs))
        for i, K in enumerate(Ks):
            for r in range(n_runs):
                s = P.bidirectional(model, base, P.linear_schedule(K), n_chains, rng,
                                    exact_samples=model.sample(n_chains, rng), **kw)
                lo[i, r], up[i, r] = s.lower - lz, s.upper - lz
                lo_se[i, r], up_se[i, r] = s.forward.stderr, s.reverse.stderr
        # the bounds hold in expectation: plot the mean over runs ± its standard error (delta method per run)
        lm, um = lo.mean(1), up.mean(1)
        lse, use = np.sqrt((lo_se**2).sum(1)) / n_runs, np.sqrt((up_se**2).sum(1)) / n_runs
        bad, crossed = sandwich_violations(lm, um, lse, use)
        results[title] = {"K": Ks, "lower": lm, "upper": um, "lower_se": lse, "upper_se": use,
                          "violations": bad, "crossed": crossed}
        ax.fill_between(Ks, lm, um, color=color("AIS"), alpha=0.15, label="sandwich")
        ax.errorbar(Ks, lm, yerr=lse, fmt="o-", ms=3, capsize=2, color=color("AIS"), label="forward AIS (lower)")
        ax.errorbar(Ks, um, yerr=use, fmt="s-", ms=3, capsize=2, color=color("reverse AIS"), label="reverse AIS (upper)")
        ax.axhline(0.0, color="k", lw=1, ls="--", label=r"exact $\log Z$")
        if crossed:
            ax.plot(np.asarray(Ks)[crossed], lm[crossed], "o", ms=10, mfc="none", mec="k", mew=1.0)
        _log_ticks(ax, Ks)
        ax.set_yscale("symlog", linthresh=0.3)
        ax.set_xlabel("temperatures $K$ (linear schedule)")
        ax.set_ylabel(r"bound $- \log Z$ (nats)")
        ax.set_title(title)
    handles, labels = axes[0].get_legend_handles_labels()
    handles.append(Line2D([], [], ls="none", marker="o", ms=10, mfc="none", mec="k", mew=1.0))
    labels.append("mean lower > mean upper")
    fig.legend(handles, labels, loc="outside lower center", ncols=3)
    fig.suptitle(f"Mean of {n_runs} runs of {n_chains} chains each way, ± 1 SE")
    make_ais_sandwich.last_results = results
    return save(fig, out_dir, "ais_sandwich")


# ------------------------------------------------------------------ importance sampling against dimension
#: proposal of ``importance_sampling_dimension``: N(shift, scale² I) for the target N(0, I)
IS_SCALE, IS_SHIFT = 1.5, 0.3


@figure("importance_sampling_dimension")
def make_importance_sampling_dimension(out_dir, rng, small=False):
    """Importance sampling of log Z for N(0, I_d) from N(s, σ² I_d) against d: (a) the weights' relative
    variance χ²(p‖q) and the log-weights' variance, closed form and Monte Carlo; (b) log Ẑ − log Z over
    repeats with the delta-method bias −χ²/2n and sd √(χ²/n), and the limit −KL(q‖p) for large d."""
    dims = [1, 2, 4, 8, 16, 32] if small else [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64]
    n = 100
    n_rep = 30 if small else 400
    sc, sh = IS_SCALE, IS_SHIFT
    chi2 = np.array([is_chi_square_gaussian(d, sc, sh) for d in dims])
    var_l = np.array([is_log_weight_variance_gaussian(d, sc, sh) for d in dims])
    kl = np.array([kl_gaussians(np.full(d, sh), sc**2 * np.eye(d), np.zeros(d), np.eye(d)) for d in dims])
    err, mc_chi2, mc_var_l = [], [], []
    for d in dims:
        target = Gaussian(np.zeros(d), np.eye(d))
        proposal = Gaussian(np.full(d, sh), np.eye(d) / sc**2)
        lz = target.log_partition()
        ests = [P.importance_sampling(target, proposal, n, rng) for _ in range(n_rep)]
        err.append([e.log_z - lz for e in ests])
        lw = np.concatenate([e.log_weights for e in ests]) - lz          # log(w/Z), all repeats pooled
        mc_chi2.append(np.var(np.exp(lw)))
        mc_var_l.append(np.var(lw))
    err = np.array(err)
    fig, axes = subplots(1, 2, height=3.1)
    ax = axes[0]
    ax.plot(dims, chi2, "-", color=color("exact"), label=r"$\chi^2(p\|q) = \rho^d - 1$")
    ax.plot(dims, mc_chi2, "o", ms=4, color=color("model"), label=r"sample $\mathrm{Var}(w/Z)$")
    ax.plot(dims, var_l, "--", color=color("exact"), label=r"$\mathrm{Var}\,\log w$ (closed form)")
    ax.plot(dims, mc_var_l, "s", ms=4, mfc="none", color=color("model"), label=r"sample $\mathrm{Var}\,\log w$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("dimension $d$")
    ax.set_ylabel("variance")
    ax.set_title(f"(a) weights, {n_rep}×{n} draws pooled")
    ax.legend(loc="upper left")
    ax = axes[1]
    ax.axhline(0.0, color="k", lw=0.8, ls=":")
    ax.errorbar(dims, err.mean(1), yerr=err.std(1), fmt="o", ms=4, capsize=2, color=color("model"),
                label=r"$\log\hat Z - \log Z$: mean ± sd")
    dd = np.geomspace(dims[0], dims[-1], 200)
    c = np.expm1(dd * np.log1p(is_chi_square_gaussian(1, sc, sh)))       # ρ^d − 1 at real d, for a smooth line
    ok = c / n < 1.0                                                       # the delta method holds while χ²/n < 1
    ax.plot(dd[ok], -c[ok] / (2 * n), "-", color=color("exact"), label=r"delta method: $-\chi^2/2n$")
    ax.fill_between(dd[ok], -c[ok] / (2 * n) - np.sqrt(c[ok] / n), -c[ok] / (2 * n) + np.sqrt(c[ok] / n),
                    color=color("exact"), alpha=0.12, lw=0, label=r"$\pm\sqrt{\chi^2/n}$")
    ax.plot(dims, -kl, "--", color=color("exact"), label=r"$n = 1$ floor: $-\mathrm{KL}(q\|p)$")
    ax.set_xscale("log")
    ax.set_xlabel("dimension $d$")
    ax.set_ylabel(r"$\log\hat Z - \log Z$ (nats)")
    ax.set_ylim(min(np.min(err.mean(1) - err.std(1)) - 1.5, -2.0), 0.8)
    ax.set_title(f"(b) $n$ = {n} draws, {n_rep} repeats")
    ax.legend(loc="lower left")
    for a in axes:
        a.set_xticks(dims if small else [1, 2, 4, 8, 16, 32, 64])
        a.set_xticklabels([f"{d:g}" for d in a.get_xticks()])
        a.minorticks_off()
    fig.suptitle(rf"Target $N(0, I_d)$, proposal $N({sh:g}\cdot\mathbf{{1}}, {sc:g}^2 I_d)$")
    make_importance_sampling_dimension.last_results = {
        "d": np.array(dims), "n": n, "chi2": chi2, "var_log_w": var_l, "kl": kl, "mc_chi2": np.array(mc_chi2),
        "mc_var_log_w": np.array(mc_var_l), "error": err}
    return save(fig, out_dir, "importance_sampling_dimension")
