"""Figure of notes 03 and 06: RBMs on 8×8 digits with exact log-likelihoods, AIS against exact log Z."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import figure
from ._style import plt

#: Slide-ready: full text width, 10 pt text, PNG at 200 dpi beside a PDF.
WIDTH_IN, FONT_PT, DPI = 6.5, 10, 200
COLORS = {"exact": "k", "cd1": "tab:orange", "cd10": "tab:blue", "pcd": "tab:green"}
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
    """The figure from the results of ``experiments.digits_rbm.run``; returns the PNG and PDF paths."""
    from ..experiments import digits_rbm as D

    n_show = 8

    short = {m: D.METHOD_LABELS[m].replace("exact gradient", "exact") for m in runs}
    with plt.rc_context({"font.size": FONT_PT, "axes.titlesize": FONT_PT, "axes.labelsize": FONT_PT,
                         "xtick.labelsize": FONT_PT, "ytick.labelsize": FONT_PT, "legend.fontsize": FONT_PT,
                         "figure.titlesize": FONT_PT + 1}):
        fig = plt.figure(figsize=(WIDTH_IN, 6.4), layout="constrained")
        top, bottom = fig.subfigures(2, 1, height_ratios=[1.25, 1.0])
        ax_ll, ax_ais = top.subplots(1, 2, width_ratios=[1.35, 1.0])
        for m, r in runs.items():
            lab = f"{short[m]} {r.ll_held_out[-1]:.2f}"
            ax_ll.plot(r.steps, r.ll_held_out, color=COLORS[m], lw=1.8, label=lab)
            ax_ll.plot(r.steps, r.ll_train, color=COLORS[m], lw=1.0, ls=":")
        lo = min(min(r.ll_held_out[-1], r.ll_train[-1]) for r in runs.values())
        hi = max(max(r.ll_held_out.max(), r.ll_train.max()) for r in runs.values())
        ax_ll.set_ylim(lo - 2.5, hi + 0.6)
        ax_ll.set_xlabel("SGD step")
        ax_ll.set_ylabel("mean log p(v), nats")
        ax_ll.yaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax_ll.set_title("(a) exact: held-out (solid), training (dotted)")
        ax_ll.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncols=2, frameon=False,
                     title="final held-out log-likelihood", title_fontsize=FONT_PT, handlelength=1.2,
                     columnspacing=0.8, handletextpad=0.4, borderaxespad=0.0)

        methods = list(runs)
        for i, m in enumerate(methods):
            c = checks[m]
            for j, (base, direction) in enumerate([(b, d) for b in ("uniform", "base_rate") for d in ("forward", "reverse")]):
                e = c.estimates[base, direction]
                x = i + (j - 1.5) * 0.17
                ax_ais.errorbar(x, e.log_z - c.log_z, yerr=3 * e.stderr, fmt=BASE_MARKERS[base], ms=5,
                                color=COLORS[m], mfc=COLORS[m] if direction == "forward" else "white", capsize=2)
        ax_ais.axhspan(-0.1, 0.1, color="0.9", zorder=0)
        ax_ais.axhline(0.0, color="0.4", lw=0.8)
        ax_ais.set_xticks(range(len(methods)), [short[m] for m in methods])
        ax_ais.set_ylabel("AIS log Ẑ − exact log Z")
        ax_ais.set_title("(b) AIS ± 3 se; band ± 0.1 nats")
        handles = [plt.Line2D([], [], ls="", marker="o", color="0.3", label="uniform base"),
                   plt.Line2D([], [], ls="", marker="s", color="0.3", label="base-rate base"),
                   plt.Line2D([], [], ls="", marker="o", color="0.3", mfc="0.3", label="filled: forward"),
                   plt.Line2D([], [], ls="", marker="o", color="0.3", mfc="white", label="open: reverse")]
        ax_ais.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncols=2, frameon=False,
                      handletextpad=0.1, columnspacing=0.6, borderaxespad=0.0)
        lim = max(0.15, max(abs(c.error(b, d)) + 3 * c.estimates[b, d].stderr
                            for c in checks.values() for b in ("uniform", "base_rate") for d in ("forward", "reverse")))
        ax_ais.set_ylim(-1.15 * lim, 1.15 * lim)

        ax_s, ax_f = bottom.subplots(1, 2, width_ratios=[1.35, 1.0])
        rows = []
        for m in methods:
            # exact samples: h from its marginal (enumerated), then the mean image E[v | h]
            model = runs[m].model
            v = model.sample(n_show, rng)
            h = model.sample_h_given_v(v, rng)
            rows.append(model.prob_v_given_h(h))
        ax_s.imshow(_tile(np.concatenate(rows), len(methods), n_show), cmap="gray_r", vmin=0, vmax=1,
                    interpolation="nearest")
        ax_s.set_yticks([4 + 9 * i for i in range(len(methods))], [short[m] for m in methods])
        ax_s.set_xticks([])
        ax_s.set_title("(c) exact samples, as p(v = 1 | h)")
        W = runs[methods[0]].model.params["W"]
        filt = W.T / np.max(np.abs(W))
        side = int(np.ceil(np.sqrt(filt.shape[0])))
        ax_f.imshow(_tile(0.5 + 0.5 * filt, side, side), cmap="RdBu_r", vmin=0, vmax=1, interpolation="nearest")
        ax_f.set_axis_off()
        ax_f.set_title(f"(d) filters W[:, j] ({short[methods[0]]})")
        fig.suptitle(f"RBM 64×{settings.n_hidden} on binarised 8×8 digits: "
                     f"{data.train.shape[0]} training, {data.held_out.shape[0]} held-out images")
        out = Path(out_dir)
        paths = [out / "digits_rbm.png", out / "digits_rbm.pdf"]
        fig.savefig(paths[0], dpi=DPI, metadata={"Software": None})
        fig.savefig(paths[1], metadata={"Creator": None, "Producer": None, "CreationDate": None})
        plt.close(fig)
    return paths
