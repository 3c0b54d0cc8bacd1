r"""Data sets: toy ones (bars-and-stripes, 2-D densities) and one real one (8×8 digits).

Every random generator takes ``rng`` (a ``numpy.random.Generator`` or an int seed) and
returns float64 arrays of shape ``(n, d)``.

* :func:`digits`, :func:`binarized_digits` — the 1,797 8×8 handwritten digits of the UCI
  "Optical Recognition of Handwritten Digits" set (Alpaydin & Kaynak 1998, CC BY 4.0),
  shipped with the package in ``ebm_ref/data/digits.npz``; source, licence and how the
  file was made are in ``ebm_ref/data/DIGITS_LICENSE.txt``.

* :func:`bars_and_stripes` — every distinct side×side binary image whose rows are all
  constant (bars) or whose columns are all constant (stripes):
  :math:`2^{s} + 2^{s} - 2 = 2^{s+1} - 2` patterns (the all-off and all-on images are
  both bars and stripes, counted once).
* :func:`two_moons`, :func:`eight_gaussians`, :func:`rings`, :func:`checkerboard` —
  the usual 2-D test densities; :func:`eight_gaussians_mixture` gives the exact density
  of :func:`eight_gaussians` as a :class:`~ebm_ref.models.GaussianMixture`.
"""
from __future__ import annotations

import numpy as np

from importlib import resources

from ._validate import as_float_array, as_generator, check_positive, check_positive_int

__all__ = [
    "digits",
    "binarized_digits",
    "bars_and_stripes",
    "two_moons",
    "eight_gaussians",
    "eight_gaussians_mixture",
    "two_mode_mixture",
    "rings",
    "checkerboard",
]

#: Digits: images, side of an image, and the grey levels 0..DIGITS_MAX_GREY.
DIGITS_N, DIGITS_SIDE, DIGITS_MAX_GREY = 1797, 8, 16

#: 2^(side+1) - 2 patterns of side² pixels: side 12 is already 8190 × 144.
MAX_BARS_SIDE = 12


def bars_and_stripes(side: int) -> np.ndarray:
    """All distinct bars-and-stripes patterns, shape (2^(side+1) − 2, side²), 0/1 floats.

    Row-major flattening: pixel (r, c) is column ``r * side + c``.  Order: the 2^side
    bar images (row r on where bit r of the index is set, most significant bit first),
    then the stripe images other than all-off and all-on.
    """
    side = check_positive_int(side, "side", 1)
    if side > MAX_BARS_SIDE:
        raise ValueError(f"side: at most {MAX_BARS_SIDE} (2^(side+1) - 2 patterns), got {side}")
    k = np.arange(2**side)
    bits = ((k[:, None] >> np.arange(side - 1, -1, -1)) & 1).astype(np.float64)   # (2^s, s)
    bars = np.repeat(bits[:, :, None], side, axis=2)                                # rows constant
    stripes = np.repeat(bits[:, None, :], side, axis=1)[1:-1]                       # columns constant
    return np.concatenate([bars, stripes]).reshape(-1, side * side)


def _n(n):
    return check_positive_int(n, "n", 0)


def two_moons(n: int, rng, noise: float = 0.1) -> np.ndarray:
    r"""Two interleaved half circles, shape (n, 2).

    Upper moon :math:`(\cos t, \sin t)`, lower moon :math:`(1 - \cos t, \tfrac12 - \sin t)`,
    t ~ U[0, π], each point on either moon with probability ½, plus N(0, noise²) jitter.
    """
    n = _n(n)
    rng = as_generator(rng)
    noise = check_positive(noise, "noise", strict=False)
    t = rng.uniform(0.0, np.pi, n)
    lower = rng.random(n) < 0.5
    x = np.where(lower, 1.0 - np.cos(t), np.cos(t))
    y = np.where(lower, 0.5 - np.sin(t), np.sin(t))
    return np.stack([x, y], axis=1) + noise * rng.standard_normal((n, 2))


def _eight_centres(radius):
    ang = 2.0 * np.pi * np.arange(8) / 8.0
    return radius * np.stack([np.cos(ang), np.sin(ang)], axis=1)


def eight_gaussians(n: int, rng, radius: float = 2.0, std: float = 0.2) -> np.ndarray:
    """Equal mixture of 8 isotropic Gaussians (s.d. ``std``) on a circle of ``radius``, shape (n, 2)."""
    n = _n(n)
    rng = as_generator(rng)
    radius = check_positive(radius, "radius")
    std = check_positive(std, "std")
    k = rng.integers(0, 8, n)
    return _eight_centres(radius)[k] + std * rng.standard_normal((n, 2))


def eight_gaussians_mixture(radius: float = 2.0, std: float = 0.2):
    """The exact density of :func:`eight_gaussians`, as a ``GaussianMixture``."""
    from .models.gaussian import GaussianMixture

    radius = check_positive(radius, "radius")
    std = check_positive(std, "std")
    return GaussianMixture(np.full(8, 1.0 / 8.0), _eight_centres(radius), np.tile(std**2 * np.eye(2), (8, 1, 1)))


def two_mode_mixture(w: float, mu: float, s: float):
    r"""The 1-D mixture :math:`w\,\mathcal N(-\mu, s^2) + (1 - w)\,\mathcal N(\mu, s^2)`, as a ``GaussianMixture``.

    Two modes at ±μ of equal width s and weights w, 1 − w: for μ ≫ s their scores agree
    wherever either has mass, whatever w (score matching's blind spot, note 07).
    """
    from .models.gaussian import GaussianMixture

    w = float(w)
    if not (0.0 < w < 1.0):
        raise ValueError(f"w: expected a weight in (0, 1), got {w!r}")
    mu = float(mu)
    if not np.isfinite(mu):
        raise ValueError(f"mu: expected a finite mode position, got {mu!r}")
    s = check_positive(s, "s")
    return GaussianMixture([w, 1.0 - w], [[-mu], [mu]], np.tile(s**2 * np.eye(1), (2, 1, 1)))


def rings(n: int, rng, radii=(1.0, 2.0, 3.0), noise: float = 0.05) -> np.ndarray:
    r"""Concentric circles, shape (n, 2).

    A ring is chosen with probability proportional to its radius (so points are
    uniform along the total arc length), the angle is uniform, and N(0, noise²)
    jitter is added to each coordinate.
    """
    n = _n(n)
    rng = as_generator(rng)
    r = as_float_array(radii, "radii")
    if r.ndim != 1 or r.size == 0 or not np.all(np.isfinite(r)) or np.any(r <= 0):
        raise ValueError(f"radii: expected a non-empty 1-D sequence of positive radii, got {radii!r}")
    noise = check_positive(noise, "noise", strict=False)
    k = rng.choice(r.size, size=n, p=r / r.sum())
    theta = rng.uniform(0.0, 2.0 * np.pi, n)
    pts = r[k, None] * np.stack([np.cos(theta), np.sin(theta)], axis=1)
    return pts + noise * rng.standard_normal((n, 2))


def checkerboard(n: int, rng, n_cells: int = 4, half_width: float = 2.0) -> np.ndarray:
    r"""Uniform on the dark squares of an ``n_cells`` × ``n_cells`` board on [−L, L]², shape (n, 2).

    Cell (i, j) (column i, row j, counted from −L) is dark when i + j is even; a dark
    cell is chosen uniformly, then a point uniformly inside it.  The density is
    :math:`2/(2L)^2` on dark cells (for even ``n_cells``) and 0 elsewhere.
    """
    n = _n(n)
    rng = as_generator(rng)
    n_cells = check_positive_int(n_cells, "n_cells", 1)
    L = check_positive(half_width, "half_width")
    ij = np.array([(i, j) for i in range(n_cells) for j in range(n_cells) if (i + j) % 2 == 0], dtype=np.float64)
    cell = ij[rng.integers(0, ij.shape[0], n)]
    w = 2.0 * L / n_cells
    return -L + w * (cell + rng.random((n, 2)))


# ---------------------------------------------------------------- real data
def digits() -> tuple[np.ndarray, np.ndarray]:
    """The 8×8 UCI handwritten digits: grey levels and labels.

    Returns
    -------
    x : ndarray, shape (1797, 64), float64
        Grey levels, integers 0..16 (the number of "on" pixels in a 4×4 block of a
        32×32 bitmap).  Row-major flattening: pixel (r, c) is column ``8 * r + c``.
    y : ndarray, shape (1797,), int64
        The digit, 0..9.

    Notes
    -----
    The 1,797 images are the test part of the UCI "Optical Recognition of Handwritten
    Digits" set (E. Alpaydin and C. Kaynak, 1998; UCI Machine Learning Repository,
    https://doi.org/10.24432/C50P49), licensed CC BY 4.0.  The file ships inside the
    package (``ebm_ref/data/digits.npz``, uint8 arrays), so this works offline; it is
    read afresh at every call (45 kB).  Attribution, licence and the conversion are in
    ``ebm_ref/data/DIGITS_LICENSE.txt``.
    """
    with resources.files(__package__).joinpath("data", "digits.npz").open("rb") as f:
        with np.load(f) as z:
            images, labels = z["images"], z["labels"]
    return images.astype(np.float64), labels.astype(np.int64)


def binarized_digits(threshold: float = 8.0) -> tuple[np.ndarray, np.ndarray]:
    r"""The digits of :func:`digits` as 0/1 images: a pixel is on when its grey level reaches ``threshold``.

    .. math:: v_{ni} = \mathbb 1[x_{ni} \ge t],\qquad x_{ni}\in\{0,\dots,16\}

    Parameters
    ----------
    threshold : float
        :math:`t`, with :math:`0 < t \le 16` (t ≤ 0 would turn every pixel on, t > 16
        every pixel off).  The default 8 is half the grey scale.

    Returns
    -------
    v : ndarray, shape (1797, 64), float64 of 0/1
    y : ndarray, shape (1797,), int64
    """
    if isinstance(threshold, (bool, np.bool_)) or not isinstance(threshold, (int, float, np.integer, np.floating)):
        raise ValueError(f"threshold: expected a number in (0, {DIGITS_MAX_GREY}], got {threshold!r}")
    t = float(threshold)
    if not (0.0 < t <= DIGITS_MAX_GREY):
        raise ValueError(f"threshold: must be in (0, {DIGITS_MAX_GREY}] (grey levels run 0..{DIGITS_MAX_GREY}), got {threshold!r}")
    x, y = digits()
    return (x >= t).astype(np.float64), y
