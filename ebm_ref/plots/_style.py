"""Shared matplotlib set-up for the figures (Agg backend, one look)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["plt", "save"]

plt.rcParams.update({
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.grid": False,
})


def save(fig, out_dir, name: str) -> list[Path]:
    """Save ``fig`` as ``out_dir/name.png``, close it, return ``[path]``."""
    path = Path(out_dir) / f"{name}.png"
    fig.savefig(path, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return [path]
