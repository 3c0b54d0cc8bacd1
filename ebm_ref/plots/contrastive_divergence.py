"""Figures of note 06: exact log-likelihood curves on bars-and-stripes; CD/PCD energies on a 2-D toy."""
from __future__ import annotations

import numpy as np

from . import figure
from ._style import plt, save


def bas_curves(rng, n_steps=1500, n_hidden=8, lr=0.2, every=25):
    """Exact mean log-likelihood of a 9×n_hidden RBM on 3×3 bars-and-stripes, per training method."""
    from .. import params as P
    from ..datasets import bars_and_stripes
    from ..models.rbm import BernoulliRBM
    from ..objectives import contrastive_divergence as cd
    from ..train import SGD, fit

    x = bars_and_stripes(3)
    rbm0 = BernoulliRBM(0.1 * rng.standard_normal((9, n_hidden)), np.zeros(9), np.zeros(n_hidden))
    methods = {
        "exact gradient": lambda m, xb, r: (-m.log_likelihood(xb), P.scale(m.exact_grad_log_likelihood(xb), -1.0)),
        "CD-1": cd.cd_objective(1),
        "CD-10": cd.cd_objective(10),
        "PCD-1 (100 chains)": cd.pcd_objective(1, 100, rng, x),
    }
    curves = {}
    for name, obj in methods.items():
        _, hist = fit(rbm0, x, obj, SGD(lr, momentum=0.5), n_steps, rng,
                      exact_log_likelihood=lambda m, d: m.log_likelihood(d), ll_every=every, log=lambda s: None)
        curves[name] = (np.array(hist.ll_steps), np.array(hist.log_likelihood))
    return curves, -np.log(len(x))


@figure("cd_bars_and_stripes")
def make_bas(out_dir, rng, small=False):
    """Exact log-likelihood during training: exact gradient, CD-1, CD-10, PCD; the bound −log 14."""
    curves, best = bas_curves(rng, n_steps=100 if small else 1500)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for name, (steps, ll) in curves.items():
        ax.plot(steps, ll, label=f"{name} (final {ll[-1]:.3f})")
    ax.axhline(best, color="k", ls="--", lw=1, label=f"uniform over the 14 patterns: −log 14 = {best:.3f}")
    ax.set_xlabel("SGD step (full batch, lr 0.2, momentum 0.5)")
    ax.set_ylabel("exact mean log-likelihood (nats)")
    ax.set_title("RBM 9×8 on 3×3 bars-and-stripes; log Z by enumerating the hidden layer")
    ax.legend(fontsize=7)
    make_bas.last_results = {k: float(v[1][-1]) for k, v in curves.items()}
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
    """exp(−E) learned by CD-20 and PCD-20 (ULA negatives) on two moons, with test log-likelihoods."""
    from ..datasets import two_moons
    from ..diagnostics import ksd
    from .score_matching import BOX, log_likelihood_quadrature

    n_train, n_test = (400, 200) if small else (4000, 1000)
    n_steps = 20 if small else 1000
    x, x_test = two_moons(n_train, rng), two_moons(n_test, rng)
    k, n_chains = (5, 64) if small else (20, 256)
    runs = [(f"CD-{k} (ULA from the data)", False), (f"PCD-{k} (ULA, {n_chains} persistent chains)", True)]
    results = []
    for title, persistent in runs:
        model, _ = train_2d_pcd(x, rng, n_steps, k=k, n_chains=n_chains, persistent=persistent)
        results.append((title, model, log_likelihood_quadrature(model, x_test), ksd(x_test[:500], model)))
    gx = np.linspace(BOX[0][0], BOX[0][1], 150)
    gy = np.linspace(BOX[1][0], BOX[1][1], 120)
    X, Y = np.meshgrid(gx, gy)
    pts = np.column_stack([X.ravel(), Y.ravel()])
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.2))
    axes[0].scatter(x[:1500, 0], x[:1500, 1], s=1.5, c="k", alpha=0.5)
    axes[0].set_title(f"two moons ({n_train} points)")
    for ax, (title, model, ll, k) in zip(axes[1:], results):
        E = model.energy(pts).reshape(X.shape)
        ax.contourf(X, Y, np.exp(-(E - E.min())), levels=20, cmap="viridis")
        ax.scatter(x_test[:300, 0], x_test[:300, 1], s=0.8, c="w", alpha=0.6)
        ax.set_title(f"{title}\ntest log-lik {ll:.3f}, KSD² {k:.2g}", fontsize=8)
    for ax in axes:
        ax.set_xlim(*BOX[0])
        ax.set_ylim(*BOX[1])
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    make_2d.last_results = {r[0]: (r[2], r[3]) for r in results}
    return save(fig, out_dir, "cd_2d")
