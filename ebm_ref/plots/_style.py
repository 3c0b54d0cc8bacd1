"""House style of the figures: one look, designed at the width it prints at.

Every figure of the notes is drawn at its final size (``WIDTH`` = 6.5 in, the text width of
a note; a slide shows the same picture scaled up), with 10 pt text and no per-call font
sizes, and saved as PNG (``DPI`` = 200) **and** PDF.  One sequential colormap for densities
and energies (``DENSITY_CMAP``), one diverging colormap for signed quantities
(``DIVERGING_CMAP``), and one colour per method (:func:`color`), used the same way in every
figure.  Every density or energy image carries a labelled colorbar; panels that are to be
compared share one colour scale (:func:`shared_norm`).

Helpers for what the 2-D figures repeat: :func:`grid` (a box sampled on a mesh),
:func:`density_panel` (an image of a density or energy on a box), :func:`score_field`
(arrows of a score), :func:`set_box` (limits, equal aspect, axis labels x₁, x₂).
:func:`save` returns the written paths together with the figure, so that tests can read
the figure object (:func:`figure_data` collects the arrays behind it).
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["plt", "save", "Saved", "subplots", "WIDTH", "DPI", "DENSITY_CMAP", "DIVERGING_CMAP", "color",
           "METHOD_COLORS", "grid", "density_panel", "compared_densities", "shared_norm", "colorbar", "score_field", "set_box",
           "scatter_points", "figure_data"]

#: width of a note figure in inches (the text width of the printed notes)
WIDTH = 6.5
#: resolution of the PNG files
DPI = 200
#: sequential colormap: densities, energies, probabilities
DENSITY_CMAP = "viridis"
#: diverging colormap: signed quantities (weights, biases, differences), centred at 0
DIVERGING_CMAP = "RdBu_r"

plt.rcParams.update({
    "figure.dpi": 100,
    "savefig.dpi": DPI,
    "figure.constrained_layout.use": True,
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "figure.titlesize": 11,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "axes.grid": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "image.cmap": DENSITY_CMAP,
    "lines.linewidth": 1.3,
    "pdf.fonttype": 42,
    "mathtext.fontset": "dejavusans",
})

#: one colour per method, the same in every figure (Okabe–Ito palette, colour-blind safe)
METHOD_COLORS = {
    "data": "#000000",
    "exact": "#000000",
    # MCMC
    "MH": "#E69F00",
    "ULA": "#56B4E9",
    "MALA": "#009E73",
    "HMC": "#D55E00",
    "Gibbs": "#000000",
    "tempering": "#0072B2",
    # training objectives
    "exact gradient": "#000000",
    "CD": "#E69F00",
    "CD-10": "#CC79A7",
    "PCD": "#0072B2",
    "exact SM": "#D55E00",
    "sliced SM": "#0072B2",
    "denoising SM": "#009E73",
    "NCE": "#0072B2",
    "FCE": "#009E73",
    "noise": "#999999",
    # estimators
    "AIS": "#0072B2",
    "reverse AIS": "#D55E00",
    "model": "#0072B2",
}


def color(method: str) -> str:
    """The colour of ``method`` (a key of :data:`METHOD_COLORS`)."""
    try:
        return METHOD_COLORS[method]
    except KeyError:
        raise ValueError(f"no house colour for method {method!r}; known: {sorted(METHOD_COLORS)}") from None


def subplots(nrows: int = 1, ncols: int = 1, *, height: float, width: float = WIDTH, **kw):
    """``plt.subplots`` at the final size (``width`` × ``height`` inches, constrained layout)."""
    return plt.subplots(nrows, ncols, figsize=(width, height), **kw)


def grid(box, n: int):
    """A mesh on ``box`` = ((x_lo, x_hi), (y_lo, y_hi)) or a half-width ``L`` (the box [−L, L]²).

    Returns ``X, Y`` of shape (n, n) and the points ``pts`` of shape (n², 2), row-major, so that
    ``f(pts).reshape(X.shape)`` is the image of f on the mesh.
    """
    (x0, x1), (y0, y1) = _box(box)
    X, Y = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    return X, Y, np.column_stack([X.ravel(), Y.ravel()])


def _box(box):
    if np.isscalar(box):
        return (-float(box), float(box)), (-float(box), float(box))
    (x0, x1), (y0, y1) = box
    return (float(x0), float(x1)), (float(y0), float(y1))


def shared_norm(*images, log: bool = False, decades: float = 3.0, vmin=None, vmax=None):
    """One colour scale for images to be compared: [0, max] (linear) or [max·10^−decades, max] (log)."""
    top = max(float(np.nanmax(z)) for z in images) if vmax is None else float(vmax)
    if log:
        return mcolors.LogNorm(vmin=top * 10.0 ** (-decades) if vmin is None else vmin, vmax=top, clip=True)
    return mcolors.Normalize(vmin=0.0 if vmin is None else vmin, vmax=top)


def colorbar(fig, mappable, ax, label: str, shrink: float = 0.9):
    """A labelled colorbar for ``mappable`` beside ``ax`` (an axes or a list of axes sharing it)."""
    axes = list(np.ravel(ax)) if isinstance(ax, (list, tuple, np.ndarray)) else ax
    cb = fig.colorbar(mappable, ax=axes, shrink=shrink, pad=0.02, aspect=20)
    cb.set_label(label)
    return cb


def density_panel(ax, X, Y, Z, *, norm=None, cmap=DENSITY_CMAP, label=None, fig=None, shrink=0.9):
    """Draw the image Z on the mesh (X, Y) of :func:`grid`; a labelled colorbar when ``label`` is given.

    Pass one ``norm`` (from :func:`shared_norm`) to every panel that is to be compared and
    a ``label`` to one of them (its colorbar then serves them all).
    """
    Z = np.asarray(Z, dtype=float).reshape(X.shape)
    if norm is None:
        norm = shared_norm(Z)
    im = ax.imshow(Z, origin="lower", extent=(X[0, 0], X[0, -1], Y[0, 0], Y[-1, 0]), norm=norm, cmap=cmap,
                   interpolation="bilinear", aspect="equal")
    if label is not None:
        colorbar(fig or ax.figure, im, ax, label, shrink=shrink)
    return im


def compared_densities(axes, X, Y, panels, *, log: bool = False, decades: float = 3.0):
    """Draw each ``(title, Z)`` of ``panels`` on its axis, all on one colour scale (:func:`shared_norm`);
    returns the last image, for the one colour bar the panels share."""
    norm = shared_norm(*[Z for _, Z in panels], log=log, decades=decades)
    for ax, (title, Z) in zip(axes, panels):
        im = density_panel(ax, X, Y, Z, norm=norm)
        ax.set_title(title)
    return im


def score_field(ax, score, box, n: int = 15, color: str = "w"):
    r"""Arrows of the score :math:`s(x) = -\nabla_x E(x)` on an n × n mesh of ``box``."""
    X, Y, pts = grid(box, n)
    s = np.asarray(score(pts), dtype=float)
    return ax.quiver(X.ravel(), Y.ravel(), s[:, 0], s[:, 1], color=color, alpha=0.85, width=0.004,
                     angles="xy")


def set_box(ax, box, xlabel=r"$x_1$", ylabel=r"$x_2$"):
    """Limits of ``box``, equal aspect, axis labels (x₁, x₂ unless told)."""
    (x0, x1), (y0, y1) = _box(box)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


def scatter_points(ax, x, method: str = "data", on_image: bool = False, **kw):
    """Points of a sample: black on white, white over a density image (``on_image``)."""
    c = "w" if on_image else color(method)
    kw = {"s": 1.5, "alpha": 0.5, "linewidths": 0, "rasterized": True, **kw}
    return ax.scatter(x[:, 0], x[:, 1], c=c, **kw)


class Saved(list):
    """The written paths (a list, as every ``make`` returns) with the :class:`Figure` they hold."""

    def __init__(self, paths, figure):
        super().__init__(paths)
        self.figure = figure


def save(fig, out_dir, name: str) -> Saved:
    """Save ``fig`` at its own size as ``out_dir/name.png`` (``DPI``) and ``out_dir/name.pdf``; close it.

    No ``bbox_inches="tight"``: the file has the size the figure was designed at.
    """
    out = Path(out_dir)
    paths = [out / f"{name}.png", out / f"{name}.pdf"]
    meta = {"png": {"Software": None}, "pdf": {"Creator": None, "Producer": None, "CreationDate": None}}
    for p in paths:
        fig.savefig(p, metadata=meta[p.suffix[1:]])
    plt.close(fig)
    return Saved(paths, fig)


def figure_data(fig) -> list:
    """The arrays and strings behind a figure, in drawing order: what two runs must agree on.

    Lines (x, y), collections (offsets and colour arrays), images (their arrays), quivers,
    and every text string, axes by axes.
    """
    out = []
    for ax in fig.axes:
        for ln in ax.lines:
            out.append(np.asarray(ln.get_xydata(), dtype=float))
        for col in ax.collections:
            out.append(np.asarray(col.get_offsets(), dtype=float))
            arr = col.get_array()
            if arr is not None:
                out.append(np.ma.filled(np.asarray(arr, dtype=float), np.nan))
        for im in ax.images:
            out.append(np.ma.filled(np.asarray(im.get_array(), dtype=float), np.nan))
        for p in ax.patches:                     # in data coordinates (a bar's path alone is the unit square)
            out.append(np.asarray(p.get_patch_transform().transform(p.get_path().vertices), dtype=float))
        out.extend(t.get_text() for t in ax.texts)
        out.extend([ax.get_title(), ax.get_xlabel(), ax.get_ylabel()])
    out.extend(t.get_text() for t in fig.texts)
    return out
