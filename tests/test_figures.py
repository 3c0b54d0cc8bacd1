"""Every figure runs (small version) through the public registry, as ``ebm-ref figures --small`` does,
and meets the house style of ``ebm_ref.plots._style`` — checked on the figure object itself."""
import re
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import QuadMesh
from matplotlib.contour import ContourSet
from matplotlib.figure import Figure
from matplotlib.text import Text

from ebm_ref.plots import _style, all_figures, figure_rng, make_figures

FIGURES = list(all_figures())
PLOTS = Path(_style.__file__).parent
#: smallest text at the printed size (a note's text width), in points
MIN_PT = 8.0
#: slack in pixels for "inside the canvas" (anti-aliasing of a glyph's edge)
EDGE_PX = 1.0


def _fig(name, rendered):
    """The figure of ``name`` (small), rendered once per session by the ``rendered`` fixture (conftest)."""
    saved = rendered(name)[0]
    assert isinstance(saved, _style.Saved), f"{name}: make must return _style.save(...)"
    return saved.figure


@pytest.mark.parametrize("name", FIGURES)
def test_figure_writes_png_and_pdf(name, rendered):
    saved = rendered(name)[0]
    suffixes = sorted(p.suffix for p in saved)
    assert suffixes == [".pdf", ".png"], f"{name} wrote {suffixes}"
    for p in saved:
        assert p.exists() and p.stat().st_size > 1000


def _not_written(fig, fname, **kwargs):
    """Stands in for ``Figure.savefig`` in a second run: neither draws nor writes.

    ``_style.figure_data`` reads the artists' data and the strings set by the figure's code
    (titles, labels, texts), none of which a draw changes, so the second run skips the draw;
    the first run's files and drawn layout are checked by the other tests.
    """


@pytest.mark.parametrize("name", FIGURES)
def test_same_seed_same_figure(name, rendered, tmp_path, monkeypatch):
    """Two runs with the same seed draw the same arrays and strings (not the same bytes).

    The second run neither draws nor writes its figure (drawing and encoding PNG and PDF are
    most of a figure's time; ``test_figure_writes_png_and_pdf`` checks the files of the first run)."""
    a = _style.figure_data(_fig(name, rendered))
    monkeypatch.setattr(Figure, "savefig", _not_written)
    b = _style.figure_data(all_figures()[name](tmp_path, figure_rng(name), small=True).figure)
    assert len(a) == len(b), f"{name}: {len(a)} vs {len(b)} artists"
    for i, (u, v) in enumerate(zip(a, b)):
        if isinstance(u, str) or u is None:
            assert u == v, f"{name}: text {i} differs: {u!r} vs {v!r}"
        else:
            assert u.shape == v.shape and np.array_equal(u, v, equal_nan=True), f"{name}: array {i} differs"


@pytest.mark.parametrize("name", FIGURES)
def test_figure_is_note_width(name, rendered):
    w, h = _fig(name, rendered).get_size_inches()
    assert w <= _style.WIDTH + 1e-9, f"{name} is {w:.2f} in wide; a note figure is {_style.WIDTH} in"


def _texts(fig):
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


@pytest.mark.parametrize("name", FIGURES)
def test_no_text_below_8pt(name, rendered):
    fig = _fig(name, rendered)
    small = [(t.get_text()[:30], t.get_fontsize()) for t in _texts(fig) if t.get_fontsize() < MIN_PT]
    assert not small, f"{name}: text below {MIN_PT} pt: {small[:5]}"


@pytest.mark.parametrize("name", FIGURES)
def test_no_text_outside_canvas(name, rendered):
    fig = _fig(name, rendered)
    FigureCanvasAgg(fig)                       # a closed figure has lost its canvas: draw it again
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    W, H = fig.bbox.width, fig.bbox.height
    boxes = [(f"axes {i} ({ax.get_title()[:30]!r})", ax.get_tightbbox(r)) for i, ax in enumerate(fig.axes)]
    boxes += [(t.get_text()[:30], t.get_window_extent(r)) for t in fig.texts if t.get_visible() and t.get_text()]
    boxes += [("figure legend", lg.get_window_extent(r)) for lg in fig.legends]
    out = [(what, tuple(np.round(b.extents))) for what, b in boxes if b is not None and
           (b.x0 < -EDGE_PX or b.y0 < -EDGE_PX or b.x1 > W + EDGE_PX or b.y1 > H + EDGE_PX)]
    assert not out, f"{name}: outside the {W:.0f}×{H:.0f} px canvas: {out}"


def _colorbars(fig):
    cbs = {}
    for ax in fig.axes:
        for m in list(ax.images) + list(ax.collections):
            cb = getattr(m, "colorbar", None)
            if cb is not None:
                cbs[id(cb)] = cb
    return list(cbs.values())


def _image_mappables(ax):
    ims = list(ax.images)
    ims += [c for c in ax.collections if isinstance(c, QuadMesh) or (isinstance(c, ContourSet) and c.filled)]
    return ims


@pytest.mark.parametrize("name", FIGURES)
def test_image_panels_have_labelled_colorbars(name, rendered):
    fig = _fig(name, rendered)
    cbs = _colorbars(fig)
    cb_axes = {id(cb.ax) for cb in cbs}
    missing = []
    for i, ax in enumerate(fig.axes):
        if id(ax) in cb_axes:
            continue
        for m in _image_mappables(ax):
            ok = [cb for cb in cbs if cb.mappable is m or cb.mappable.norm is m.norm]
            if not any(cb.ax.get_ylabel() or cb.ax.get_xlabel() for cb in ok):
                missing.append(f"axes {i} ({ax.get_title()[:40]!r})")
    assert not missing, f"{name}: image/contour panels without a labelled colorbar: {missing}"


def _label(ax, which):
    get = (lambda a: a.get_xlabel()) if which == "x" else (lambda a: a.get_ylabel())
    if get(ax):
        return True
    shared = ax.get_shared_x_axes() if which == "x" else ax.get_shared_y_axes()
    return any(get(s) for s in shared.get_siblings(ax))


@pytest.mark.parametrize("name", FIGURES)
def test_axis_labels_present(name, rendered):
    fig = _fig(name, rendered)
    cb_axes = {id(cb.ax) for cb in _colorbars(fig)}
    bare = [f"axes {i} ({ax.get_title()[:40]!r}): {w}" for i, ax in enumerate(fig.axes)
            if ax.axison and id(ax) not in cb_axes for w in "xy" if not _label(ax, w)]
    assert not bare, f"{name}: axes without a label: {bare}"


def test_no_per_call_font_sizes():
    """Text sizes come from the house style only."""
    hits = [f"{p.name}:{i + 1}" for p in sorted(PLOTS.glob("*.py")) if p.name != "_style.py"
            for i, line in enumerate(p.read_text(encoding="utf8").splitlines()) if re.search(r"fontsize\s*=", line)]
    assert not hits, f"per-call font sizes: {hits}"


def test_make_figures_writes_png_and_pdf(tmp_path):
    """The command's entry point writes both formats for every figure it is asked for."""
    paths = make_figures(tmp_path, only=["energy_and_normalization"], small=True, log=lambda s: None)
    assert sorted(p.name for p in paths) == ["energy_and_normalization.pdf", "energy_and_normalization.png"]


def test_readme_lists_every_figure():
    readme = (PLOTS.parent.parent / "figures" / "README.md").read_text(encoding="utf8")
    rows = set(re.findall(r"^\| `([a-z0-9_]+)` \|", readme, flags=re.M))
    assert rows == set(FIGURES), f"figures/README.md: missing {set(FIGURES) - rows}, extra {rows - set(FIGURES)}"


def test_unknown_figure_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown figure"):
        make_figures(tmp_path, only=["no-such-figure"])
