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


@figure("rbm_gaussian_bernoulli")
def make_gaussian_bernoulli(out_dir, rng, small=False):
    """A 2-D Gaussian–Bernoulli RBM is a mixture of 2^H Gaussians with shared covariance.

    Left: the exact density exp(−F(v) − log Z) on a grid, with the 2^H component means
    b + Wh drawn as discs whose area is p(h).  Right: exact samples (h from its
    marginal, then v | h), coloured by the hidden state they came from.
    """
    from ..models import GaussianBernoulliRBM
    from ..partition import enumerate_states

    # three hidden units pulling v along directions 120° apart, |w_j| = 2, σ = 0.5.
    # With b = 0, log p(h) = cᵀh + ‖Wh‖²/(2σ²) + const; c_j = −|w_j|²/(2σ²) + 1.5/σ²
    # cancels each unit's own pull, so one unit on is favoured (+6), two on less (+4,
    # since w_j·w_k = −2), none on is rare (0) and all three on rarer still (−6).
    ang = np.deg2rad([90.0, 210.0, 330.0])
    W = 2.0 * np.stack([np.cos(ang), np.sin(ang)])
    sigma = np.array([0.5, 0.5])
    c = -np.sum(W**2, axis=0) / (2 * sigma[0] ** 2) + 1.5 / sigma[0] ** 2
    gb = GaussianBernoulliRBM(W, b=np.zeros(2), c=c, sigma=sigma)
    n_grid = 80 if small else 300
    n_samples = 400 if small else 3000
    states, p_h = gb.hidden_marginal()
    mu = gb.params["b"] + states @ W.T
    lo, hi = mu.min(axis=0) - 1.5, mu.max(axis=0) + 1.5
    xs, ys = np.linspace(lo[0], hi[0], n_grid), np.linspace(lo[1], hi[1], n_grid)
    X, Y = np.meshgrid(xs, ys)
    grid = np.stack([X.ravel(), Y.ravel()], axis=1)
    dens = np.exp(gb.log_prob(grid)).reshape(X.shape)

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4), sharex=True, sharey=True)
    ax = axes[0]
    ax.contourf(X, Y, dens, levels=30, cmap="viridis")
    ax.scatter(mu[:, 0], mu[:, 1], s=3000 * p_h, facecolors="none", edgecolors="w", lw=1.2)
    labels: dict = {}                                  # states whose means coincide share a label
    for s_, m in zip(states, mu):
        labels.setdefault(tuple(np.round(m, 9)), []).append("".join(str(int(t)) for t in s_))
    for m, names in labels.items():
        ax.annotate(", ".join(names), m, color="w", fontsize=7, xytext=(4, 4), textcoords="offset points")
    ax.set_title("p(v) = exp(−F(v) − log Z), exact log Z by 2^3 Gaussian integrals\n"
                 "circles: means b + Wh, area ∝ p(h); label: h")
    ax = axes[1]
    n_states = enumerate_states(gb.n_hidden).shape[0]
    h_idx = rng.choice(n_states, size=n_samples, p=p_h / p_h.sum())
    v = gb.sample_v_given_h(states[h_idx], rng)
    ax.scatter(v[:, 0], v[:, 1], c=h_idx, cmap="tab10", vmin=0, vmax=9, s=4, alpha=0.7)
    ax.set_title(f"{n_samples} exact samples: h ~ p(h), then v | h ~ N(b + Wh, diag σ²)\n"
                 "colour: the hidden state h")
    for a in axes:
        a.set_xlabel("v₁")
        a.set_aspect("equal")
    axes[0].set_ylabel("v₂")
    fig.tight_layout()
    return save(fig, out_dir, "rbm_gaussian_bernoulli")
