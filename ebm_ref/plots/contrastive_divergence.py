"""Figures of note 06: exact log-likelihood curves on bars-and-stripes; CD/PCD energies on a 2-D toy."""
from __future__ import annotations

import numpy as np

from ..objectives.contrastive_divergence import cd_bias_curve, cd_energy_change
from . import figure
from ._style import color, grid, save, scatter_points, subplots


def bas_curves(rng, methods, n_steps=1500, n_hidden=8, lr=0.2, decay_steps=None, momentum=0.0, every=25):
    """Exact mean log-likelihood of a 9×n_hidden RBM on 3×3 bars-and-stripes along training.

    ``methods`` names the gradients to compare: "exact gradient", "CD-k" or "PCD-k" (100
    persistent chains).  Full-batch SGD with learning rate ``lr`` (decaying as lr·τ/(τ + t)
    when ``decay_steps`` = τ is given: ``train.SGD``'s ``lr_decay``) and heavy-ball
    ``momentum``.  Returns ``{name: (steps, ll)}`` and the ceiling −log 14.
    """
    from ..datasets import bars_and_stripes
    from ..models.rbm import BernoulliRBM
    from ..objectives import contrastive_divergence as cd, mle
    from ..train import SGD, fit

    x = bars_and_stripes(3)
    rbm0 = BernoulliRBM(0.1 * rng.standard_normal((9, n_hidden)), np.zeros(9), np.zeros(n_hidden))
    curves = {}
    for name in methods:
        if name == "exact gradient":
            obj = mle.objective()
        elif name.startswith("PCD-"):
            obj = cd.pcd_objective(int(name[4:]), 100, rng, x)
        elif name.startswith("CD-"):
            obj = cd.cd_objective(int(name[3:]))
        else:
            raise ValueError(f"unknown method {name!r}")
        _, hist = fit(rbm0, x, obj, SGD(lr, momentum=momentum, lr_decay=decay_steps), n_steps, rng,
                      exact_log_likelihood=lambda m, d: m.log_likelihood(d), ll_every=every, log=lambda s: None)
        curves[name] = (np.array(hist.ll_steps), np.array(hist.log_likelihood))
    return curves, -np.log(len(x))


#: the standard setting: plain SGD, learning rate η_t = η_0 τ/(τ + t)
BAS_SCHEDULE = {"lr": 0.4, "decay_steps": 500.0, "momentum": 0.0}
#: the pitfall: a constant learning rate with momentum, too large for persistent chains
BAS_PITFALL = {"lr": 0.2, "decay_steps": None, "momentum": 0.5}


@figure("cd_bars_and_stripes")
def make_bas(out_dir, rng, small=False):
    """Exact log-likelihood during training on 3×3 bars-and-stripes.  Top: exact gradient, CD-1,
    CD-10 and PCD-1 with a decaying learning rate (the standard result: PCD beats CD-1).
    Bottom, a pitfall: PCD-1 and CD-1 at a constant learning rate with momentum."""
    n_steps = 100 if small else 2000
    every = 10 if small else 25
    std, best = bas_curves(rng, ["exact gradient", "CD-1", "CD-10", "PCD-1"], n_steps=n_steps, every=every,
                           **BAS_SCHEDULE)
    pit, _ = bas_curves(rng, ["CD-1", "PCD-1"], n_steps=n_steps, every=every, **BAS_PITFALL)
    cols = {"exact gradient": color("exact gradient"), "CD-1": color("CD"), "CD-10": color("CD-10"), "PCD-1": color("PCD")}
    fig, axes = subplots(2, 1, height=5.4, sharex=True, sharey=True)
    for ax, curves, cfg in ((axes[0], std, BAS_SCHEDULE), (axes[1], pit, BAS_PITFALL)):
        for name, (steps, ll) in curves.items():
            tail = ll[len(ll) // 2:]
            ax.plot(steps, ll, color=cols[name], label=f"{name}: second half mean {tail.mean():.2f}")
        ax.axhline(best, color="k", ls="--", lw=1, label=f"ceiling $-\\log 14$ = {best:.2f}")
        ax.set_ylabel("exact mean log-lik.")
        ax.legend(loc="lower center")
        lr = (f"$\\eta_t = {cfg['lr']:g}\\cdot{cfg['decay_steps']:g}/({cfg['decay_steps']:g} + t)$"
              if cfg["decay_steps"] else f"constant $\\eta$ = {cfg['lr']:g}")
        ax.set_title(f"{lr}, momentum {cfg['momentum']:g}")
    axes[0].set_ylim(best - 6.0, best + 0.3)
    axes[1].set_xlabel("SGD step (full batch)")
    fig.suptitle("RBM 9×8 on 3×3 bars-and-stripes, $\\log Z$ exact; PCD-1: 100 persistent chains")
    make_bas.last_results = {k: float(v[1][-1]) for k, v in std.items()}
    return save(fig, out_dir, "cd_bars_and_stripes")


def train_2d_pcd(x, rng, n_steps, k=20, step_size=0.01, n_chains=256, lr=2e-3, persistent=True):
    """Fit a confined MLP energy to 2-D data by PCD (or CD) with k ULA steps per update."""
    from .. import train
    from ..objectives import contrastive_divergence as cd
    from .score_matching import _confined_mlp, _frozen

    model = _confined_mlp(rng)
    if persistent:
        obj = cd.pcd_objective(k, n_chains, rng, x, sampler="ula", step_size=step_size)
    else:
        obj = cd.cd_objective(k, sampler="ula", step_size=step_size)
    return train.fit(model, x, _frozen(obj), train.Adam(lr), n_steps, rng,
                     batch_size=min(n_chains, x.shape[0]), log=lambda s: None)


@figure("cd_2d")
def make_2d(out_dir, rng, small=False):
    """The density learned by CD-k and PCD-k (ULA negatives) on two moons, with test log-likelihoods."""
    from ..datasets import two_moons
    from .score_matching import BOX, fitted_density, fitted_density_row

    n_train, n_test = (400, 200) if small else (4000, 1000)
    n_steps = 20 if small else 1000
    n_shown = min(n_train, 1500)
    x, x_test = two_moons(n_train, rng), two_moons(n_test, rng)
    k, n_chains, step = (5, 64, 0.01) if small else (20, 256, 0.01)
    runs = [(f"CD-{k} (from the data)", False), (f"PCD-{k} ({n_chains} chains)", True)]
    X, Y, pts = grid(BOX, 150)
    results, dens = [], []
    for title, persistent in runs:
        model, _ = train_2d_pcd(x, rng, n_steps, k=k, step_size=step, n_chains=n_chains, persistent=persistent)
        ll, ks, d = fitted_density(model, x_test, pts)
        results.append((title, ll, ks))
        dens.append(d)
    fig, axes = subplots(1, 3, height=2.4, sharey=True)
    scatter_points(axes[0], x[:n_shown])
    axes[0].set_title(f"two moons\n({n_shown} of {n_train} points)" if n_shown < n_train else f"two moons\n({n_train} points)")
    panels = [(f"{title}\n$\\ell$ = {ll:.2f}, KSD² = {ks:.2g}", d) for (title, ll, ks), d in zip(results, dens)]
    fitted_density_row(fig, axes, X, Y, panels, BOX, decades=3)
    fig.suptitle(f"{n_steps} Adam steps, {k} ULA steps of size {step:g} per update;\n"
                 "$\\ell$: test log-likelihood ($\\log Z$ by quadrature)")
    make_2d.last_results = {r[0]: (r[1], r[2]) for r in results}
    return save(fig, out_dir, "cd_2d")


# ------------------------------------------------------------ the exact CD-k bias
#: relative size below which the exact bias is float64 round-off (not drawn)
ROUND_OFF = 1e-12


@figure("cd_k_bias")
def make_cd_k_bias(out_dir, rng, small=False):
    """The exact bias of CD-k against k on 6×4 RBMs of growing weight scale, with the bound √χ²·sd."""
    from ..models.rbm import BernoulliRBM

    V, H = 6, 4
    ks = np.arange(1, 21 if small else 41)
    data = (rng.random((20, V)) < 0.4).astype(float)
    scales = [0.5, 1.5, 3.0]
    cols = ["#009E73", "#0072B2", "#D55E00"]
    fig, ax = subplots(height=3.6)
    results = {}
    for scale, col in zip(scales, cols):
        rbm = BernoulliRBM(scale * rng.standard_normal((V, H)), 0.3 * rng.standard_normal(V), 0.3 * rng.standard_normal(H))
        r = cd_bias_curve(rbm, data, ks)
        results[scale] = r
        rel = r["bias"] / r["grad"]
        rel = np.where(rel > ROUND_OFF, rel, np.nan)                 # below it, float64 round-off
        ax.semilogy(ks, rel, "o-", ms=2.5, color=col,
                    label=f"$W \\sim N(0, {scale:g}^2)$: $|\\lambda_2|$ = {r['lambda2']:.2f}")
        bound = r["bound"] / r["grad"]
        ax.semilogy(ks, np.where(bound > ROUND_OFF, bound, np.nan), ":", color=col)
    ax.set_xlabel("Gibbs sweeps $k$")
    ax.set_ylabel(r"$\|E[\mathrm{CD}_k] - \nabla\ell\| \;/\; \|\nabla\ell\|$")
    ax.set_title(f"RBM {V}×{H}, 20 data points, exact by enumeration;\n"
                 r"dotted: the bound $\sqrt{\chi^2(p_k\|p)}\,\mathrm{sd}_p(\nabla_\theta F)$")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2)   # three in a row reach the edges
    make_cd_k_bias.last_results = results
    return save(fig, out_dir, "cd_k_bias")


# ------------------------------------------------------------ the push of one CD update
#: the data of ``cd_energy_push``: two clusters on the line (means, sd)
PUSH_DATA = ((-2.0, 0.3), (2.0, 0.3))


def _push_model(rng, width=48):
    """A tanh MLP energy with units whose kinks are spread over [−4, 4], times a fixed standard Gaussian."""
    from ..models import Gaussian
    from ..models.compose import ProductOfExperts
    from ..models.mlp import MLPEnergy

    W1 = 2.5 * rng.standard_normal((width, 1))
    b1 = -W1[:, 0] * rng.uniform(-4.0, 4.0, width)                   # unit j bends at x = −b_j / w_j
    mlp = MLPEnergy(W1=W1, b1=b1, W2=0.3 * rng.standard_normal((1, width)) / np.sqrt(width), b2=np.zeros(1))
    return ProductOfExperts([mlp, Gaussian(np.zeros(1), np.eye(1))])


@figure("cd_energy_push")
def make_cd_energy_push(out_dir, rng, small=False):
    """One CD update on a 1-D energy (an MLP times a fixed Gaussian): the data's energy goes down,
    the negative samples' energy goes up.  (a) E_θ before and after a few updates; (b) ΔE of the
    first update, first order (−η ∇θE·(pos − neg)) and exact, at the data and at the negatives."""
    from .. import params as _params
    from ..objectives.contrastive_divergence import cd_k

    n = 40 if small else 60
    k, step, lr, n_updates = 200, 0.05, 0.1, (5 if small else 20)
    comps = np.arange(n) % len(PUSH_DATA)                                  # equal clusters
    x_data = np.array([PUSH_DATA[c][0] + PUSH_DATA[c][1] * rng.standard_normal() for c in comps])[:, None]
    model = _push_model(rng)
    xs = np.linspace(-4.0, 4.0, 400)[:, None]
    trained = [key for key in model.params if key.startswith("0.")]        # the MLP; the Gaussian stays fixed
    frozen = lambda g: {key: (v if key in trained else np.zeros_like(v)) for key, v in g.items()}

    _, grads, x_neg = cd_k(model, x_data, k, rng, sampler="mala", step_size=step)
    first = model.with_params(_params.add(model.params, frozen(grads), -lr))
    dE_lin = cd_energy_change(model, x_data, x_neg, xs, lr, trained)
    dE_exact = first.energy(xs) - model.energy(xs)
    after = first
    for _ in range(n_updates - 1):
        _, g, _ = cd_k(after, x_data, k, rng, sampler="mala", step_size=step)
        after = after.with_params(_params.add(after.params, frozen(g), -lr))
    E0, E1 = model.energy(xs), after.energy(xs)

    fig, axes = subplots(2, 1, height=4.8, sharex=True)
    ax = axes[0]
    ax.plot(xs[:, 0], E0, color=color("model"), label=r"$E_\theta$ before")
    ax.plot(xs[:, 0], E1, "--", color=color("model"), label=f"after {n_updates} updates")
    lo = min(E0.min(), E1.min())
    ax.plot(x_data[:, 0], np.full(n, lo - 0.4), "|", ms=9, color=color("data"), label="data")
    ax.plot(x_neg[:, 0], np.full(n, lo - 0.9), "|", ms=9, color=color("CD"), label=f"negatives (CD-{k})")
    ax.set_ylabel(r"$E_\theta(x)$")
    ax.legend(loc="upper center", ncols=2)
    ax.set_title(f"(a) CD-{k} (MALA, step {step:g}) from {n} data points, $\\eta$ = {lr:g}")
    ax = axes[1]
    ax.axhline(0.0, color="k", lw=0.8, ls=":")
    ax.plot(xs[:, 0], dE_lin, color=color("exact"), label=r"$-\eta\,\nabla_\theta E(x)\cdot(\mathrm{pos} - \mathrm{neg})$")
    ax.plot(xs[:, 0], dE_exact, ":", color=color("model"), lw=2, label=r"exact $E_{\theta'} - E_\theta$")
    dE_data = cd_energy_change(model, x_data, x_neg, x_data, lr, trained)
    dE_neg = cd_energy_change(model, x_data, x_neg, x_neg, lr, trained)
    ax.plot(x_data[:, 0], dE_data, "o", ms=3.5, color=color("data"), label="at the data")
    ax.plot(x_neg[:, 0], dE_neg, "^", ms=3.5, mfc="none", color=color("CD"), label="at the negatives")
    ax.axhline(dE_data.mean(), color=color("data"), lw=1, ls="--", label="mean at the data")
    ax.axhline(dE_neg.mean(), color=color("CD"), lw=1, ls="--", label="mean at the negatives")
    gap = float(dE_neg.mean() - dE_data.mean())
    ax.set_title(r"(b) one update: the negatives rise $\eta\,\|\mathrm{pos} - \mathrm{neg}\|^2$"
                 f" = {gap:.3f} above the data")
    ax.set_xlabel("$x$")
    ax.set_ylabel(r"$\Delta E(x)$, first update")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=3)
    make_cd_energy_push.last_results = {"model": model, "x_data": x_data, "x_neg": x_neg, "lr": lr, "keys": trained, "x": xs,
                                        "dE": dE_lin, "dE_exact": dE_exact, "gap": gap}
    return save(fig, out_dir, "cd_energy_push")
