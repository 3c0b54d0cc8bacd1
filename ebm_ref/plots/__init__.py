"""Figures of the notes, one module per note.

Each figure is a function ``make(out_dir, rng, small=False) -> list[Path]`` (the PNG and the PDF,
returned by ``_style.save`` together with the figure object) registered
with :func:`figure`.  ``ebm-ref figures`` imports every module here and runs them; the
test suite runs each with ``small=True``.  Figures use the public API only.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

from .._submodules import import_all, lazy_getattr

#: figure modules load on first use (``ebm_ref.plots.mcmc``), as ``all_figures`` loads them
__getattr__ = lazy_getattr(__name__)

_FIGURES: dict[str, Callable] = {}

__all__ = ["figure", "all_figures", "make_figures", "figure_rng"]


def figure(name: str):
    """Register ``make(out_dir, rng, small=False)`` under ``name`` (the file stem)."""

    def register(fn):
        if name in _FIGURES and _FIGURES[name] is not fn:
            raise ValueError(f"figure {name!r} registered twice")
        _FIGURES[name] = fn
        return fn

    return register


def all_figures() -> dict[str, Callable]:
    """Import every plot module and return ``{name: make}``."""
    import_all(sys.modules[__name__])
    return dict(sorted(_FIGURES.items()))


def figure_rng(name: str, seed: int = 0):
    """The Generator figure ``name`` is made with: seeded by (seed, crc32(name)), independent of the others."""
    import zlib

    import numpy as np

    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def make_figures(out_dir, only=None, small: bool = False, seed: int = 0, log=print) -> list[Path]:
    """Run every figure (or those named in ``only``), each with its own seeded Generator."""
    figs = all_figures()
    names = list(figs) if not only else list(only)
    unknown = [n for n in names if n not in figs]
    if unknown:
        raise ValueError(f"unknown figure(s) {unknown}; known: {list(figs)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in names:
        rng = figure_rng(n, seed)
        made = figs[n](out, rng, small=small)
        paths.extend(made)
        log(f"{n}: " + ", ".join(str(p) for p in made))
    return paths
