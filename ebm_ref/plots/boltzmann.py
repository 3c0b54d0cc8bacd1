"""Figures of note 03 (Boltzmann machines)."""
from __future__ import annotations

import numpy as np

from ..datasets import bars_and_stripes
from ..models import BernoulliRBM
from . import figure
from ._style import DIVERGING_CMAP, colorbar, density_panel, grid, plt, save, set_box, shared_norm, subplots


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


def _tiles(ax, images, side, ncols, cmap="gray_r", vmax=None, frames=None, label=None, norm=None):
    """Images as a grid of side × side tiles on grey gaps; a labelled colorbar when ``label`` is given."""
    n = len(images)
    nrows = int(np.ceil(n / ncols))
    pad = 1
    canvas = np.full((nrows * (side + pad) + pad, ncols * (side + pad) + pad), np.nan)
    for k, img in enumerate(images):
        r, c = divmod(k, ncols)
        canvas[pad + r * (side + pad): pad + r * (side + pad) + side,
               pad + c * (side + pad): pad + c * (side + pad) + side] = img.reshape(side, side)
    cm = plt.get_cmap(cmap).with_extremes(bad="0.6")   # grey gaps between tiles
    if norm is None:
        norm = shared_norm(vmin=0.0, vmax=1.0) if vmax is None else shared_norm(vmin=-vmax, vmax=vmax)
    im = ax.imshow(np.ma.masked_invalid(canvas), cmap=cm, norm=norm, interpolation="nearest")
    if label is not None:
        cb = colorbar(ax.figure, im, ax, label)
        if vmax is None:
            cb.set_ticks([0, 1])
    if frames is not None:
        for k, bad in enumerate(frames):
            if bad:
                r, c = divmod(k, ncols)
                ax.add_patch(plt.Rectangle((pad + c * (side + pad) - 1.0, pad + r * (side + pad) - 1.0),
                                           side + 1.0, side + 1.0, fill=False, ec="crimson", lw=1.5))
    ax.set_axis_off()


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

    fig = plt.figure(figsize=(6.5, 5.6))
    gs = fig.add_gridspec(3, 2, height_ratios=[1.0, 1.0, 1.25])
    ax = fig.add_subplot(gs[0, 0])
    pixels = shared_norm(vmin=0.0, vmax=1.0)            # one scale for data and samples
    _tiles(ax, data, side, 10, norm=pixels)
    ax.set_title(f"data: all {len(data)} {side}×{side} patterns")
    ax = fig.add_subplot(gs[0, 1])
    _tiles(ax, samples, side, 10, frames=invalid, label=r"pixel $v_i$", norm=pixels)
    ax.set_title(f"{len(samples)} exact model samples\n({sum(invalid)} not in the data, framed red)")
    ax = fig.add_subplot(gs[1, :])
    W = rbm.params["W"]
    _tiles(ax, W.T, side, n_hidden, cmap=DIVERGING_CMAP, vmax=float(np.max(np.abs(W))), label=r"weight $W_{ij}$")
    ax.set_title(f"filters $W_{{:,j}}$ of the {n_hidden} hidden units")
    ax = fig.add_subplot(gs[2, :])
    steps = np.arange(1, n_steps + 1)
    ax.plot(steps, curve, color="k", label=r"exact $\frac{1}{n}\sum_n \log p(v_n)$")
    ax.axhline(-np.log(len(data)), color="#D55E00", ls="--", lw=1,
               label=f"ceiling $-\\log {len(data)}$ (uniform on the data)")
    ax.set_xlabel("gradient-ascent step (exact gradient)")
    ax.set_ylabel("mean log-likelihood")
    ax.set_title(f"$V$ = {side * side}, $H$ = {n_hidden}, learning rate {learning_rate}; "
                 f"final mass on the data {mass:.3f}")
    ax.legend(loc="lower right")
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
    half = float(np.max(np.abs(np.concatenate([lo, hi]))))
    box = [(-half, half), (-half, half)]                 # one square box for both panels: no blank strips
    X, Y, pts = grid(box, n_grid)
    dens = np.exp(gb.log_prob(pts))

    n_states = enumerate_states(gb.n_hidden).shape[0]
    names = ["".join(str(int(t)) for t in s_) for s_ in states]
    palette = ["#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"]
    fig, axes = subplots(1, 2, height=3.3, sharey=True)
    ax = axes[0]
    density_panel(ax, X, Y, dens, norm=shared_norm(dens), label=r"density $p(v)$", shrink=0.75)
    ax.scatter(mu[:, 0], mu[:, 1], s=600 * p_h, facecolors="none", edgecolors="w", lw=1.2)
    labels: dict = {}                                  # states whose means coincide share a label
    for nm, m in zip(names, mu):
        labels.setdefault(tuple(np.round(m, 9)), []).append(nm)
    for m, nms in labels.items():
        ax.annotate(", ".join(nms), m, color="w", xytext=(4, 4), textcoords="offset points")
    ax.set_title("exact $p(v)$; circles: means $b + Wh$,\n"
                 "area $\\propto p(h)$, labelled by $h$")
    ax = axes[1]
    h_idx = rng.choice(n_states, size=n_samples, p=p_h / p_h.sum())
    v = gb.sample_v_given_h(states[h_idx], rng)
    for k in range(n_states):
        sel = h_idx == k
        ax.scatter(v[sel, 0], v[sel, 1], color=palette[k % len(palette)], s=3, alpha=0.7, linewidths=0,
                   rasterized=True, label=f"$h$ = {names[k]}")
    ax.legend(title="hidden state", loc="upper left", bbox_to_anchor=(1.0, 1.0), markerscale=4)
    ax.set_title(f"{n_samples} exact samples: $h \\sim p(h)$,\nthen $v \\mid h \\sim N(b + Wh, \\sigma^2 I)$")
    fig.suptitle(f"A 2-D Gaussian–Bernoulli RBM is a mixture of $2^{{{gb.n_hidden}}}$ Gaussians")
    for a in axes:
        set_box(a, box, xlabel=r"$v_1$", ylabel=r"$v_2$" if a is axes[0] else "")
    return save(fig, out_dir, "rbm_gaussian_bernoulli")
