"""Figure of note 02: the eight exponential families, a few parameter settings each."""
from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D

from ..models.expfam import Bernoulli, Beta, Categorical, Dirichlet, Exponential, Gamma, Normal, Poisson
from . import figure
from ._style import DENSITY_CMAP, colorbar, save, subplots

COLORS = ("#0072B2", "#E69F00", "#009E73")


def _continuous(ax, fams, labels, grid, rng, n_hist):
    """Densities exp(log_prob) on ``grid``; a histogram of exact samples behind the first."""
    x = grid[:, None]
    h = fams[0].sample(n_hist, rng)[:, 0]
    h = h[(h >= grid[0]) & (h <= grid[-1])]
    ax.hist(h, bins=40, range=(grid[0], grid[-1]), density=True, color=COLORS[0], alpha=0.18,
            label="samples of the first")
    for fam, lab, c in zip(fams, labels, COLORS):
        ax.plot(grid, np.exp(fam.log_prob(x)), color=c, label=lab)
    ax.set_xlabel(r"$x$")
    ax.set_ylabel(r"density $p(x)$")


def _discrete(ax, fams, labels, support):
    x = support[:, None]
    w = 0.8 / len(fams)
    for i, (fam, lab, c) in enumerate(zip(fams, labels, COLORS)):
        ax.bar(support + (i - (len(fams) - 1) / 2) * w, np.exp(fam.log_prob(x)), width=w, color=c, label=lab)
    ax.set_xlabel(r"$x$")
    ax.set_ylabel(r"pmf $p(x)$")


def _simplex_xy(x):
    """Barycentric (x1, x2, x3) → plane: vertices (0, 0), (1, 0), (½, √3/2)."""
    return x[:, 1] + 0.5 * x[:, 2], np.sqrt(3) / 2 * x[:, 2]


def _dirichlet(ax, fams, labels, n):
    u = np.linspace(0, 1, n)
    X, Y = np.meshgrid(u, u * np.sqrt(3) / 2)
    x3 = Y.ravel() / (np.sqrt(3) / 2)
    x2 = X.ravel() - 0.5 * x3
    x1 = 1.0 - x2 - x3
    bary = np.stack([x1, x2, x3], axis=1)
    inside = np.all(bary > 1e-9, axis=1)
    handles = []
    for i, (fam, lab, c) in enumerate(zip(fams, labels, COLORS)):
        P = np.full(bary.shape[0], np.nan)
        P[inside] = np.exp(fam.log_prob(bary[inside] / bary[inside].sum(axis=1, keepdims=True)))
        P = P.reshape(X.shape)
        if i == 0:
            cs = ax.contourf(X, Y, P, levels=12, cmap=DENSITY_CMAP)
            colorbar(ax.figure, cs, ax, f"density, {lab}")
        else:
            ax.contour(X, Y, P, levels=6, colors=c, linewidths=0.9)
            handles.append(Line2D([], [], color=c, label=lab + " (lines)"))
    ax.plot([0, 1, 0.5, 0], [0, 0, np.sqrt(3) / 2, 0], color="k", lw=0.8)
    ax.annotate(r"$x_1{=}1$", (0, 0), xytext=(0, -3), textcoords="offset points", ha="center", va="top")
    ax.annotate(r"$x_2{=}1$", (1, 0), xytext=(0, -3), textcoords="offset points", ha="center", va="top")
    ax.annotate(r"$x_3{=}1$", (0.5, np.sqrt(3) / 2), xytext=(6, -2), textcoords="offset points", ha="left", va="top")
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_ylim(-0.12, np.sqrt(3) / 2 + 0.02)
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0))


@figure("families")
def make(out_dir, rng, small=False):
    """2×4 grid: Normal, Exponential, Beta, Gamma (densities), Poisson, Bernoulli, Categorical (pmfs), Dirichlet (K = 3)."""
    n_grid = 200 if small else 800
    n_hist = 500 if small else 5000
    fig, axes = subplots(4, 2, height=8.6)
    a = axes.ravel()

    fams = [Normal(0.0, 1.0), Normal(1.5, 0.5), Normal(-1.0, 2.0)]
    _continuous(a[0], fams, [r"$\mu=0, \sigma=1$", r"$\mu=1.5, \sigma=0.5$", r"$\mu=-1, \sigma=2$"], np.linspace(-6, 5, n_grid), rng, n_hist)
    a[0].set_title(r"Normal: $\eta = (\mu/\sigma^2, -1/2\sigma^2)$, $T = (x, x^2)$")

    fams = [Exponential(1.0), Exponential(0.5), Exponential(2.5)]
    _continuous(a[1], fams, [r"$\lambda=1$", r"$\lambda=0.5$", r"$\lambda=2.5$"], np.linspace(1e-3, 5, n_grid), rng, n_hist)
    a[1].set_title(r"Exponential: $\eta = -\lambda$, $T = x$")

    fams = [Beta(2.0, 5.0), Beta(0.5, 0.5), Beta(5.0, 1.5)]
    _continuous(a[2], fams, [r"$\alpha=2, \beta=5$", r"$\alpha=\beta=0.5$", r"$\alpha=5, \beta=1.5$"], np.linspace(2e-3, 1 - 2e-3, n_grid), rng, n_hist)
    a[2].set_ylim(0, 4)
    a[2].set_title(r"Beta: $\eta = (\alpha, \beta)$, $T = (\log x, \log(1-x))$")

    fams = [Gamma(2.0, 1.0), Gamma(0.8, 1.0), Gamma(9.0, 2.0)]
    _continuous(a[3], fams, [r"$a=2, b=1$", r"$a=0.8, b=1$", r"$a=9, b=2$"], np.linspace(1e-2, 10, n_grid), rng, n_hist)
    a[3].set_ylim(0, 1.0)
    a[3].set_title(r"Gamma: $\eta = (a, -b)$, $T = (\log x, x)$")

    fams = [Poisson(1.0), Poisson(4.0), Poisson(9.0)]
    _discrete(a[4], fams, [r"$\lambda=1$", r"$\lambda=4$", r"$\lambda=9$"], np.arange(0, 19, dtype=float))
    a[4].set_title(r"Poisson: $\eta = \log\lambda$, $T = x$, $h = 1/x!$")

    fams = [Bernoulli(0.2), Bernoulli(0.5), Bernoulli(0.85)]
    _discrete(a[5], fams, [r"$p=0.2$", r"$p=0.5$", r"$p=0.85$"], np.array([0.0, 1.0]))
    a[5].set_xticks([0, 1])
    a[5].set_title(r"Bernoulli: $\eta = \log\frac{p}{1-p}$, $T = x$")

    fams = [Categorical([0.1, 0.2, 0.3, 0.4]), Categorical([0.4, 0.1, 0.1, 0.4]), Categorical([0.25] * 4)]
    _discrete(a[6], fams, [r"$p=(.1,.2,.3,.4)$", r"$p=(.4,.1,.1,.4)$", "uniform"], np.arange(4, dtype=float))
    a[6].set_xticks(range(4))
    a[6].set_title(r"Categorical: $\eta_k = \log(p_k/p_K)$, $T$ = one-hot")

    fams = [Dirichlet([2.0, 3.0, 5.0]), Dirichlet([8.0, 8.0, 8.0])]
    _dirichlet(a[7], fams, [r"$\alpha=(2,3,5)$", r"$\alpha=(8,8,8)$"], 120 if small else 400)
    a[7].set_title(r"Dirichlet ($K = 3$): $\eta = \alpha$, $T = \log x$")

    a[2].set_ylim(0, 4.0)
    for ax in (a[0], a[1], a[2], a[4], a[5], a[6]):
        ax.set_ylim(0, 1.5 * ax.get_ylim()[1])                # room for the legend above the curves
    for ax in a[:7]:
        ax.legend(loc="best")
    fig.suptitle(r"Exponential families $p(x) = h(x)\,\exp(\eta^\top T(x) - A(\eta))$")
    return save(fig, out_dir, "families")
