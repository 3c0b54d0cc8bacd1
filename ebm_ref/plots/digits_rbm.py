"""Figure of notes 03 and 06: RBMs on 8×8 digits with exact log-likelihoods, AIS against exact log Z."""
from __future__ import annotations

import numpy as np

from . import figure
from ._style import DIVERGING_CMAP, WIDTH, color, colorbar, plt, save, shared_norm

#: the house colour of each training method (the same as in cd_bars_and_stripes)
COLORS = {"exact": color("exact gradient"), "cd1": color("CD"), "cd10": color("CD-10"), "pcd": color("PCD")}
BASE_MARKERS = {"uniform": "o", "base_rate": "s"}


def _tile(images, rows, cols, side=8, pad=1):
    """Images (n, side²) in [0, 1] as one (rows·(side+pad), cols·(side+pad)) mosaic, NaN between tiles."""
    out = np.full((rows * (side + pad) - pad, cols * (side + pad) - pad), np.nan)
    for k, im in enumerate(images[: rows * cols]):
        r, c = divmod(k, cols)
        out[r * (side + pad): r * (side + pad) + side, c * (side + pad): c * (side + pad) + side] = im.reshape(side, side)
    return out


@figure("digits_rbm")
def make(out_dir, rng, small=False):
    """Exact log-likelihood curves of four training methods, AIS errors, samples and filters."""
    from ..experiments import digits_rbm as D

    settings = D.SMALL if small else D.DEFAULT
    data, runs, checks = D.run(rng, settings)
    paths = draw(out_dir, rng, settings, data, runs, checks)
    make.last_results = {
        "held_out": {m: float(r.ll_held_out[-1]) for m, r in runs.items()},
        "train": {m: float(r.ll_train[-1]) for m, r in runs.items()},
        "log_z": {m: float(r.log_z) for m, r in runs.items()},
        "ais": {m: {f"{b}/{d}": (float(e.log_z), float(e.stderr)) for (b, d), e in c.estimates.items()}
                for m, c in checks.items()},
    }
    return paths


def draw(out_dir, rng, settings, data, runs, checks):
    """The figure from the results of ``experiments.digits_rbm.run``; returns :func:`_style.save`'s Saved."""
    from ..experiments import digits_rbm as D

    n_show = 8
    methods = list(runs)
    short = {m: D.METHOD_LABELS[m].replace("exact gradient", "exact") for m in methods}
    fig = plt.figure(figsize=(WIDTH, 6.0))
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.3, 1.0])
    ax_ll, ax_ais = top.subplots(1, 2, width_ratios=[1.3, 1.0])

    # (a) exact log-likelihood curves
    for m, r in runs.items():
        ax_ll.plot(r.steps, r.ll_held_out, color=COLORS[m], lw=1.8, label=f"{short[m]}: {r.ll_held_out[-1]:.2f}")
        ax_ll.plot(r.steps, r.ll_train, color=COLORS[m], lw=1.0, ls=":")
    lo = min(min(r.ll_held_out[-1], r.ll_train[-1]) for r in runs.values())
    hi = max(max(r.ll_held_out.max(), r.ll_train.max()) for r in runs.values())
    ax_ll.set_ylim(lo - 2.5, hi + 0.6)
    ax_ll.set_xlabel("SGD step")
    ax_ll.set_ylabel(r"mean $\log p(\mathbf{v})$ (nats)")
    ax_ll.set_title("(a) exact log-lik.: held-out —, train ···")
    ax_ll.legend(loc="lower right", title="final held-out", handlelength=1.2)

    # (b) AIS minus exact log Z, forward (filled) and reverse (open), two bases
    runs_ais = [(b, d) for b in ("uniform", "base_rate") for d in ("forward", "reverse")]
    for i, m in enumerate(methods):
        c = checks[m]
        for j, (base, direction) in enumerate(runs_ais):
            e = c.estimates[base, direction]
            ax_ais.errorbar(i + (j - 1.5) * 0.17, e.log_z - c.log_z, yerr=3 * e.stderr, fmt=BASE_MARKERS[base],
                            ms=5, color=COLORS[m], mfc=COLORS[m] if direction == "forward" else "white", capsize=2)
    ax_ais.axhspan(-0.1, 0.1, color="0.9", zorder=0)
    ax_ais.axhline(0.0, color="0.4", lw=0.8)
    ax_ais.set_xticks(range(len(methods)), [short[m] for m in methods])
    ax_ais.set_xlabel("trained by")
    ax_ais.set_ylabel(r"$\log \hat Z_{\mathrm{AIS}} - \log Z$ (nats)")
    ax_ais.set_title(r"(b) AIS $\pm 3$ s.e.; band $\pm 0.1$")
    gray = "0.3"
    handles = [plt.Line2D([], [], ls="", marker="o", color=gray, label="uniform base"),
               plt.Line2D([], [], ls="", marker="s", color=gray, label="base-rate base"),
               plt.Line2D([], [], ls="", marker="o", color=gray, mfc=gray, label="forward (lower)"),
               plt.Line2D([], [], ls="", marker="o", color=gray, mfc="white", label="reverse (upper)")]
    lim = max(0.15, max(abs(c.error(b, d)) + 3 * c.estimates[b, d].stderr for c in checks.values() for b, d in runs_ais))
    ax_ais.set_ylim(-1.15 * lim, 1.85 * lim)                      # room above the data for the key
    ax_ais.set_yticks([t for t in ax_ais.get_yticks() if abs(t) <= 1.15 * lim])
    ax_ais.spines["left"].set_bounds(-1.15 * lim, 1.15 * lim)
    ax_ais.legend(handles=handles, loc="upper center", ncols=2, handletextpad=0.1, columnspacing=0.6,
                  borderaxespad=0.2)

    # (c) exact samples shown as p(v = 1 | h); (d) the filters of the exact-gradient model
    ax_s, ax_f = bottom.subplots(1, 2, width_ratios=[1.3, 1.0])
    rows = []
    for m in methods:
        # exact samples: (v, h) from the enumerated joint, shown as the mean image E[v | h] = p(v = 1 | h)
        model = runs[m].model
        v = model.sample(n_show, rng)
        h = model.sample_h_given_v(v, rng)
        rows.append(model.prob_v_given_h(h))
    im = ax_s.imshow(_tile(np.concatenate(rows), len(methods), n_show), cmap="gray_r",
                     norm=shared_norm(vmin=0.0, vmax=1.0), interpolation="nearest")
    colorbar(fig, im, ax_s, r"$p(v_i = 1 \mid \mathbf{h})$", shrink=0.62)
    ax_s.set_yticks([4 + 9 * i for i in range(len(methods))], [short[m] for m in methods])
    ax_s.set_xticks([4 + 9 * i for i in range(n_show)], [str(i + 1) for i in range(n_show)])
    ax_s.tick_params(length=0)
    ax_s.set_xlabel("exact sample")
    ax_s.set_ylabel("trained by")
    ax_s.set_title("(c) exact samples")
    ref = methods[0]
    W = runs[ref].model.params["W"]
    side = int(np.ceil(np.sqrt(W.shape[1])))
    w_max = float(np.max(np.abs(W)))
    im = ax_f.imshow(_tile(W.T, side, side), cmap=DIVERGING_CMAP, norm=shared_norm(vmin=-w_max, vmax=w_max),
                     interpolation="nearest")
    colorbar(fig, im, ax_f, r"weight $W_{ij}$", shrink=0.8)
    ax_f.set_axis_off()
    ax_f.set_title(f"(d) filters $W_{{:,j}}$ ({short[ref]})")
    fig.suptitle(f"RBM {W.shape[0]}×{W.shape[1]} on binarised 8×8 digits: "
                 f"{data.train.shape[0]} train, {data.held_out.shape[0]} held-out images")
    return save(fig, out_dir, "digits_rbm")
