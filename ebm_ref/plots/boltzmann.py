"""Figures of note 03 (Boltzmann machines)."""
from __future__ import annotations

import numpy as np

from ..datasets import bars_and_stripes
from ..models import BernoulliRBM
from . import figure
from ._style import plt, save


def train_rbm_exact(data, n_hidden: int, rng, n_steps: int, learning_rate: float = 0.5,
                    init_scale: float = 0.1):
    """Plain gradient ascent on the exact mean log-likelihood (small models only).

    Each step computes ``BernoulliRBM.exact_grad_log_likelihood`` (positive phase
    minus the enumerated negative phase) and moves every parameter by
    ``learning_rate`` times it.  Returns the model and the log-likelihood per step.
    """
    V = data.shape[1]
    rbm = BernoulliRBM(init_scale * rng.standard_normal((V, n_hidden)), np.zeros(V), np.zeros(n_hidden))
    curve = []
    for _ in range(n_steps):
        g = rbm.exact_grad_log_likelihood(data)
        rbm = rbm.replace(**{k: rbm.params[k] + learning_rate * g[k] for k in g})
        curve.append(rbm.log_likelihood(data))
    return rbm, np.array(curve)


def _tiles(ax, images, side, ncols, cmap="gray_r", vmax=None, frames=None):
    n = len(images)
    nrows = int(np.ceil(n / ncols))
    pad = 1
    canvas = np.full((nrows * (side + pad) + pad, ncols * (side + pad) + pad), np.nan)
    for k, img in enumerate(images):
        r, c = divmod(k, ncols)
        canvas[pad + r * (side + pad): pad + r * (side + pad) + side,
               pad + c * (side + pad): pad + c * (side + pad) + side] = img.reshape(side, side)
    cm = plt.get_cmap(cmap).with_extremes(bad="0.6")   # grey gaps between tiles
    lo, hi = (0.0, 1.0) if vmax is None else (-vmax, vmax)
    ax.imshow(np.ma.masked_invalid(canvas), cmap=cm, vmin=lo, vmax=hi, interpolation="nearest")
    if frames is not None:
        for k, bad in enumerate(frames):
            if bad:
                r, c = divmod(k, ncols)
                ax.add_patch(plt.Rectangle((pad + c * (side + pad) - 1.0, pad + r * (side + pad) - 1.0),
                                           side + 1.0, side + 1.0, fill=False, ec="crimson", lw=1.5))
    ax.set_xticks([])
    ax.set_yticks([])


@figure("rbm_bars_and_stripes")
def make(out_dir, rng, small=False):
    """A Bernoulli RBM trained on 4×4 bars-and-stripes with the exact likelihood gradient.

    Panels: the 30 data patterns; the learned filters W[:, j]; 30 exact samples from the
    model (framed red if not a bars-and-stripes pattern); the exact mean log-likelihood
    per step against its ceiling −log 30 (all mass spread evenly on the data).
    """
    side, n_hidden = 4, 10
    n_steps = 60 if small else 1500
    learning_rate = 0.3                                # 0.5 starts to zig-zag late in training
    data = bars_and_stripes(side)
    rbm, curve = train_rbm_exact(data, n_hidden, rng, n_steps, learning_rate)
    samples = rbm.sample(30, rng)
    valid = {tuple(p) for p in data}
    invalid = [tuple(s) not in valid for s in samples]
    mass = float(np.exp(rbm.log_prob(data)).sum())

    fig = plt.figure(figsize=(11, 6.2))
    gs = fig.add_gridspec(2, 3, height_ratios=[1, 1.0], width_ratios=[1.25, 0.8, 1.25])
    ax = fig.add_subplot(gs[0, 0])
    _tiles(ax, data, side, 10)
    ax.set_title(f"data: all {len(data)} 4×4 bars-and-stripes")
    ax = fig.add_subplot(gs[0, 1])
    W = rbm.params["W"]
    _tiles(ax, W.T, side, 5, cmap="RdBu_r", vmax=float(np.max(np.abs(W))))
    ax.set_title(f"filters W[:, j], j = 1..{n_hidden}\n(red > 0, blue < 0)")
    ax = fig.add_subplot(gs[0, 2])
    _tiles(ax, samples, side, 10, frames=invalid)
    ax.set_title(f"30 exact samples of the model\n({sum(invalid)} outside the data, framed red)")
    ax = fig.add_subplot(gs[1, :])
    steps = np.arange(1, n_steps + 1)
    ax.plot(steps, curve, color="k", lw=1.2, label="exact mean log-likelihood (1/n) Σ log p(v_n)")
    ax.axhline(-np.log(len(data)), color="crimson", ls="--", lw=1,
               label=f"ceiling −log {len(data)} (p uniform on the data)")
    ax.set_xlabel("gradient-ascent step (exact gradient: positive phase − enumerated negative phase)")
    ax.set_ylabel("mean log-likelihood")
    ax.set_title(f"training: V = {side * side}, H = {n_hidden}, learning rate {learning_rate}; "
                 f"final model mass on the {len(data)} patterns = {mass:.3f}")
    ax.legend(loc="lower right", frameon=False)
    fig.tight_layout()
    return save(fig, out_dir, "rbm_bars_and_stripes")
