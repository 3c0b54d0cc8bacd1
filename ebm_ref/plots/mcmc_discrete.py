"""Figures of notes/05b-mcmc-discrete.md: parallel tempering against plain Gibbs on a bimodal RBM."""
from __future__ import annotations

import numpy as np

from ..models.rbm import BernoulliRBM
from ..partition import enumerate_states
from .. import samplers
from . import figure
from ._style import WIDTH, color, plt, save


def bimodal_rbm(n_visible: int = 16, a: float = 3.0, weight_on: float = 0.7) -> BernoulliRBM:
    r"""An RBM with one hidden unit whose p(v) has two far-apart modes, all-off and all-on.

    W_i = 2a, b_i = −a, c = −a·V + log(w/(1−w)).  Given h = 0 every visible unit is on
    with probability σ(−a); given h = 1 with σ(a).  Summing e^{−E} over v,
    p(h=1)/p(h=0) = e^{c}(1+e^{a})^V / (1+e^{−a})^V = e^{c + aV}, so the "on" mode has
    weight w exactly.  Plain Gibbs must pass through h = 1 from a state with few units
    on, which needs σ(2ak − aV + …) to be non-negligible: about V/2 units on first.
    """
    W = np.full((n_visible, 1), 2.0 * a)
    b = np.full(n_visible, -a)
    c = np.array([-a * n_visible + np.log(weight_on / (1.0 - weight_on))])
    return BernoulliRBM(W, b, c)


@figure("tempering_vs_gibbs")
def make(out_dir, rng, small: bool = False):
    V = 16
    a = 3.0
    model = bimodal_rbm(V, a=a)
    X = enumerate_states(V)
    negF = -model.energy(X)
    p = np.exp(negF - negF.max())
    p /= p.sum()
    exact_on = float(p[X.mean(axis=1) > 0.5].sum())          # exact weight of the "on" mode

    n_chains, n_steps = (20, 150) if small else (100, 1500)
    betas = np.geomspace(0.1, 1.0, 10)
    x0 = np.zeros((n_chains, V))                             # every chain starts in the "off" mode
    g = samplers.gibbs(model, x0, n_steps=n_steps, rng=rng)
    pt = samplers.tempering(model, x0, betas=betas, n_steps=n_steps, rng=rng)
    ind_g = g.samples.mean(axis=2)                           # mode indicator: fraction of units on
    ind_pt = pt.samples.mean(axis=2)
    t = np.arange(1, n_steps + 1)

    fig = plt.figure(figsize=(WIDTH, 5.4))
    gs = fig.add_gridspec(2, 2, height_ratios=[1.0, 1.1])
    axes = [fig.add_subplot(gs[0, :]), fig.add_subplot(gs[1, 0]), fig.add_subplot(gs[1, 1])]
    ax = axes[0]
    shown = min(n_steps, 300)
    ax.plot(t[:shown], ind_pt[:shown, 0], lw=0.8, color=color("tempering"), label=r"parallel tempering, $\beta = 1$ replica")
    ax.plot(t[:shown], ind_g[:shown, 0], lw=1.4, color=color("Gibbs"), label="plain block Gibbs")
    ax.set_ylim(-0.05, 1.35)
    ax.set_xlabel("sweep")
    ax.set_ylabel("fraction of $v_i$ on")
    ax.set_title(f"mode indicator of one chain, first {shown} sweeps")
    ax.legend(loc="upper right", ncols=2)

    ax = axes[1]
    ax.plot(t, (ind_pt > 0.5).mean(axis=1), lw=1, color=color("tempering"), label="tempering")
    ax.plot(t, (ind_g > 0.5).mean(axis=1), lw=1.5, color=color("Gibbs"), label="plain Gibbs")
    ax.axhline(exact_on, ls="--", color="#D55E00", label=f"exact {exact_on:.3f}")
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("sweep")
    ax.set_ylabel(f"fraction of {n_chains} chains\nin the on mode")
    late = (ind_pt[n_steps // 2:] > 0.5).mean()
    ax.set_title(f"tempering, second half: {late:.3f}")
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 0.06))

    ax = axes[2]
    mid = np.sqrt(betas[:-1] * betas[1:])
    ax.plot(mid, pt.extras["swap_rate"], "o-", ms=3, color=color("tempering"))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel(r"$\beta$ of the pair (geometric mean)")
    ax.set_ylabel("swap acceptance rate")
    ax.set_title(f"{betas.size} temperatures, $\\beta$ from {betas[0]:g} to 1")
    fig.suptitle(f"Bimodal RBM ({V} visible, 1 hidden, $a$ = {a:g}), all chains start off:\n"
                 "plain Gibbs stays in its starting mode; replica exchange crosses")
    return save(fig, out_dir, "tempering_vs_gibbs")
