"""Figures of note 07 (score matching).

* ``score_matching_cost`` — measured time of the exact score-matching terms (the
  Laplacian, O(d) tangent passes) against the sliced ones (one Hessian-vector product)
  for an MLP energy as the dimension grows.
* ``score_matching_2d`` — energies learned on two moons, eight Gaussians and rings by
  exact, sliced and denoising score matching, beside the data, each with its exact held-out log-likelihood
  (log Z by 2-D quadrature) and kernel Stein discrepancy.
* ``score_matching_annealed`` — one energy per noise level trained by multi-level
  denoising score matching, sampled by annealed Langevin, against plain Langevin at the
  smallest level and against the exact smoothed scores, on a two-mode mixture with
  unequal weights.
"""
from __future__ import annotations

import time

import numpy as np

from . import figure
from ._style import plt, save

__all__ = ["make_cost", "make_2d", "make_annealed", "train_2d", "train_noise_conditional", "log_partition_quadrature", "log_likelihood_quadrature",
           "cost_table", "CONFINE_PRECISION"]

#: precision of the fixed Gaussian expert that confines the bounded tanh MLP, so that
#: exp(−E) is integrable; its scale (σ = 2.2) is wide against the data (|x| ≲ 2).
CONFINE_PRECISION = 0.2


def _best(fn, repeat):
    """Best of ``repeat`` CPU times of one call (process time: robust to a loaded machine;
    run with one BLAS thread, OPENBLAS_NUM_THREADS=1, so that CPU time is the work done)."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def cost_table(dims, n=128, width=64, repeat=9, rng=0):
    """Seconds per call, best of ``repeat``, for an MLP energy [d, width, width] on n points.

    Columns: energy + grad_x; grad_x + laplacian_x (exact SM value); grad_x + one
    Hessian-vector product (sliced SM value); ``score_matching.loss`` and
    ``score_matching.sliced_loss`` (value and parameter gradients).
    """
    from ..models.mlp import MLPEnergy
    from ..objectives import score_matching as sm
    from .._validate import as_generator

    rng = as_generator(rng)
    rows = []
    for d in dims:
        m = MLPEnergy.init([d, width, width], rng)
        x = rng.standard_normal((n, d))
        v = rng.standard_normal((n, d))
        rows.append([
            _best(lambda: (m.energy(x), m.grad_x(x)), repeat),
            _best(lambda: (m.grad_x(x), m.laplacian_x(x)), repeat),
            _best(lambda: (m.grad_x(x), sm.hvp_x(m, x, v)), repeat),
            _best(lambda: sm.loss(m, x), repeat),
            _best(lambda: sm.sliced_loss(m, x, rng=0), repeat),
        ])
    return np.array(rows)


@figure("score_matching_cost")
def make_cost(out_dir, rng, small=False):
    dims = [2, 8, 32] if small else [2, 4, 8, 16, 32, 64, 128, 256]
    T = cost_table(dims, n=64 if small else 128, repeat=3 if small else 15, rng=rng) * 1e3
    make_cost.last_table = (dims, T)
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.4))
    ax = axes[0]
    ax.loglog(dims, T[:, 0], "k:o", ms=3, label="energy + ∇ₓE")
    ax.loglog(dims, T[:, 1], "C3-o", ms=3, label="∇ₓE + tr∇²ₓE (exact SM)")
    ax.loglog(dims, T[:, 2], "C0-o", ms=3, label="∇ₓE + vᵀ∇²ₓE v (sliced SM)")
    ax.set_xlabel("dimension d")
    ax.set_ylabel("CPU ms per batch (best of repeats)")
    ax.set_title("loss value: MLP [d, 64, 64], 128 points")
    ax.legend(fontsize=7)
    ax = axes[1]
    ax.loglog(dims, T[:, 3], "C3-s", ms=3, label="score_matching.loss")
    ax.loglog(dims, T[:, 4], "C0-s", ms=3, label="score_matching.sliced_loss (1 projection)")
    ax.set_xlabel("dimension d")
    ax.set_title("loss and parameter gradients")
    ax.legend(fontsize=7)
    for a in axes:
        a.grid(True, which="both", alpha=0.2)
        a.set_xticks(dims)
        a.set_xticklabels([str(d) for d in dims])
        a.minorticks_off()
    fig.suptitle(f"exact / sliced at d = {dims[-1]}: value {T[-1, 1] / T[-1, 2]:.1f}×, "
                 f"with gradients {T[-1, 3] / T[-1, 4]:.1f}×", fontsize=9)
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


KINDS = [("exact", "exact SM (Hyvärinen)"), ("sliced", "sliced SM (1 Gaussian v)"), ("denoising", "denoising SM, σ = 0.1")]


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
    fig, axes = plt.subplots(len(sets), 4, figsize=(13.0, 3.3 * len(sets)), squeeze=False)
    summary = {}
    for row, (name, sampler, truth) in zip(axes, sets):
        box = BOXES[name]
        x = sampler(n_train, rng)
        x_test = sampler(n_test, rng)
        g = Gaussian(x.mean(axis=0), np.linalg.inv(np.cov(x.T, bias=True)))
        ref = f"Gaussian MLE test log-lik {mle.log_likelihood(g, x_test):.3f}"
        summary[(name, "gaussian")] = (mle.log_likelihood(g, x_test), np.nan)
        if truth is not None:
            ll_true = float(np.mean(truth.log_prob(x_test)))
            summary[(name, "true density")] = (ll_true, ksd(x_test[:500], truth))
            ref += f"\ntrue density {ll_true:.3f}"
        row[0].scatter(x[:1500, 0], x[:1500, 1], s=1.5, c="k", alpha=0.5)
        row[0].set_title(f"{name} ({n_train} points)\n{ref}", fontsize=8)
        gx = np.linspace(box[0][0], box[0][1], 150)
        gy = np.linspace(box[1][0], box[1][1], 150)
        X, Y = np.meshgrid(gx, gy)
        pts = np.column_stack([X.ravel(), Y.ravel()])
        for ax, (kind, title) in zip(row[1:], KINDS):
            model, hist = train_2d(kind, x, rng, n_steps, batch_size=64 if small else 256, width=16 if small else 64)
            ll = log_likelihood_quadrature(model, x_test, n_inner, n_outer, box)
            k = ksd(x_test[:500], model)
            summary[(name, kind)] = (ll, k)
            E = model.energy(pts).reshape(X.shape)
            ax.contourf(X, Y, np.exp(-(E - E.min())), levels=20, cmap="viridis")
            ax.scatter(x_test[:300, 0], x_test[:300, 1], s=0.8, c="w", alpha=0.6)
            ax.set_title(f"{title}\ntest log-lik {ll:.3f}, KSD² {k:.2g}", fontsize=8)
        for ax in row:
            ax.set_xlim(*box[0])
            ax.set_ylim(*box[1])
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle("exp(−E) of an MLP energy (tanh, 64×64, × a fixed wide Gaussian) trained by score matching; "
                 "exact log-likelihood with log Z by Gauss–Legendre quadrature on [−12, 12]²", fontsize=8)
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
    fig, axes = plt.subplots(1, 4, figsize=(14.5, 3.5))
    axes[0].scatter(ref[:, 0], ref[:, 1], s=1.5, c="k", alpha=0.5)
    axes[0].set_title("data: 0.2·N((−3,−3), 0.5²I)\n+ 0.8·N((3,3), 0.5²I)", fontsize=8)
    results = {}
    for ax, (name, ch) in zip(axes[1:], runs.items()):
        s = ch.samples[-1]
        frac = float(np.mean(s[:, 0] + s[:, 1] < 0))
        m2 = mmd(s, ref)
        results[name] = (frac, m2)
        ax.scatter(s[:, 0], s[:, 1], s=1.5, c="C0", alpha=0.5)
        ax.set_title(f"{name}\nsmall-mode fraction {frac:.3f} (true 0.2), MMD² {m2:.2g}", fontsize=7)
    for ax in axes:
        ax.set_xlim(-7, 7)
        ax.set_ylim(-7, 7)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{len(ANNEAL_SIGMAS)} noise levels σ = {', '.join(f'{s:g}' for s in ANNEAL_SIGMAS)}; "
                 f"{T} steps per level, step ε·σ²/σ_L² with ε = {eps}; {n_chains} chains from U[−8, 8]²", fontsize=8)
    make_annealed.last_results = results
    return save(fig, out_dir, "score_matching_annealed")
