"""Toy data sets: exact pattern counts, exact geometry at zero noise, moments against exact densities."""
import numpy as np
import pytest
from scipy import stats

from ebm_ref import datasets

# statistical tests below reject at this level: false-positive rate 1e-3 per test.
ALPHA = 1e-3
# noise-free points lie on their curves up to rounding of cos/sin and a few additions.
TOL_GEOM = 1e-12


@pytest.mark.exact
@pytest.mark.parametrize("side", [1, 2, 3, 4, 5])
def test_bars_and_stripes_count_and_shape(side):
    x = datasets.bars_and_stripes(side)
    assert x.shape == (2 ** (side + 1) - 2, side * side)
    assert x.dtype == np.float64
    assert set(np.unique(x)) <= {0.0, 1.0}
    assert np.unique(x, axis=0).shape[0] == x.shape[0]          # all distinct


@pytest.mark.exact
@pytest.mark.parametrize("side", [2, 3, 4])
def test_bars_and_stripes_are_exactly_the_constant_row_or_column_images(side):
    x = datasets.bars_and_stripes(side)
    imgs = x.reshape(-1, side, side)
    rows_const = np.all(imgs == imgs[:, :, :1], axis=(1, 2))
    cols_const = np.all(imgs == imgs[:, :1, :], axis=(1, 2))
    assert np.all(rows_const | cols_const)
    # independent count: brute force over all 2^(side²) images
    if side <= 3:
        k = np.arange(2 ** (side * side))
        allimg = ((k[:, None] >> np.arange(side * side)) & 1).reshape(-1, side, side)
        ok = np.all(allimg == allimg[:, :, :1], axis=(1, 2)) | np.all(allimg == allimg[:, :1, :], axis=(1, 2))
        assert ok.sum() == x.shape[0]


def test_bars_and_stripes_bad_input():
    for bad in (0, -1, 2.5, True, 13):
        with pytest.raises(ValueError, match="side"):
            datasets.bars_and_stripes(bad)


@pytest.mark.exact
def test_noise_free_geometry(rng):
    m = datasets.two_moons(500, rng, noise=0.0)
    lower_centre = np.array([1.0, 0.5])
    r_up = np.hypot(*m.T)
    r_lo = np.hypot(*(m - lower_centre).T)
    # each point lies on one of the two unit half circles
    assert np.all(np.minimum(np.abs(r_up - 1), np.abs(r_lo - 1)) < TOL_GEOM)
    r = datasets.rings(500, rng, radii=(1.0, 2.5), noise=0.0)
    rad = np.hypot(*r.T)
    assert np.all(np.minimum(np.abs(rad - 1.0), np.abs(rad - 2.5)) < TOL_GEOM)


@pytest.mark.exact
def test_checkerboard_support(rng):
    x = datasets.checkerboard(2000, rng, n_cells=4, half_width=2.0)
    assert x.shape == (2000, 2)
    assert np.all(np.abs(x) <= 2.0)
    cells = np.floor((x + 2.0) / 1.0).astype(int)
    assert np.all((cells.sum(axis=1) % 2) == 0)


@pytest.mark.statistical
def test_checkerboard_cells_uniform(rng):
    # chi-square over the 8 dark cells; false-positive rate ALPHA.
    x = datasets.checkerboard(4000, rng)
    cells = np.floor(x + 2.0).astype(int)
    idx = cells[:, 0] * 4 + cells[:, 1]
    counts = np.bincount(idx, minlength=16)
    dark = counts[[i * 4 + j for i in range(4) for j in range(4) if (i + j) % 2 == 0]]
    assert dark.sum() == 4000
    assert stats.chisquare(dark).pvalue > ALPHA


@pytest.mark.statistical
def test_eight_gaussians_moments_match_exact_mixture(rng):
    # mean and second moment of each coordinate against the exact mixture moments,
    # z-test with Bonferroni over 4 statistics; false-positive rate ALPHA.
    n, radius, std = 20000, 2.0, 0.3
    x = datasets.eight_gaussians(n, rng, radius=radius, std=std)
    mix = datasets.eight_gaussians_mixture(radius, std)
    means = mix.params["means"]
    exact_mean = means.mean(axis=0)
    exact_sq = (means**2).mean(axis=0) + std**2
    stats_ = np.concatenate([x, x**2], axis=1)
    exact = np.concatenate([exact_mean, exact_sq])
    z = (stats_.mean(axis=0) - exact) / (stats_.std(axis=0, ddof=1) / np.sqrt(n))
    assert np.max(np.abs(z)) < stats.norm.isf(ALPHA / 8)
    # the mixture's log density is normalized: its energy integrates to log Z = 0
    assert mix.log_partition() == 0.0


def test_same_seed_same_data():
    for fn in (datasets.two_moons, datasets.eight_gaussians, datasets.rings, datasets.checkerboard):
        a, b = fn(50, 7), fn(50, np.random.default_rng(7))
        np.testing.assert_array_equal(a, b)
        assert a.shape == (50, 2)


def test_toy_densities_bad_input():
    with pytest.raises(ValueError, match="n"):
        datasets.two_moons(-1, 0)
    with pytest.raises(ValueError, match="rng"):
        datasets.two_moons(10, None)
    with pytest.raises(ValueError, match="noise"):
        datasets.two_moons(10, 0, noise=-0.1)
    with pytest.raises(ValueError, match="std"):
        datasets.eight_gaussians(10, 0, std=0.0)
    with pytest.raises(ValueError, match="radius"):
        datasets.eight_gaussians(10, 0, radius=-1.0)
    with pytest.raises(ValueError, match="radius"):
        datasets.eight_gaussians_mixture(radius=0.0)
    with pytest.raises(ValueError, match="radii"):
        datasets.rings(10, 0, radii=(1.0, -2.0))
    with pytest.raises(ValueError, match="radii"):
        datasets.rings(10, 0, radii=())
    with pytest.raises(ValueError, match="noise"):
        datasets.rings(10, 0, noise=np.nan)
    with pytest.raises(ValueError, match="n_cells"):
        datasets.checkerboard(10, 0, n_cells=0)
    with pytest.raises(ValueError, match="half_width"):
        datasets.checkerboard(10, 0, half_width=-2.0)


# ------------------------------------------------------------------ digits
# SHA-256 of the uint8 arrays as converted from the source file (see
# ebm_ref/data/DIGITS_LICENSE.txt): a fixture of the data, it detects any change to the file.
DIGITS_IMAGES_SHA256 = "8f26b2bd9d135c256808f68f14fdabddde6d9c7f869ae419704b051f0f14b3b3"
DIGITS_LABELS_SHA256 = "8ba4f891220f5e4c9c819638d1602d74b83618f167043c6da52a2a247841ddf0"
# per-class counts of the UCI test part (optdigits.tes), as documented by UCI (optdigits.names)
DIGITS_CLASS_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


@pytest.mark.exact
def test_digits_shape_range_labels_and_checksum():
    import hashlib

    x, y = datasets.digits()
    assert x.shape == (1797, 64) and x.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert np.all(x == np.round(x)) and x.min() == 0 and x.max() == 16
    assert np.bincount(y, minlength=10).tolist() == DIGITS_CLASS_COUNTS
    assert hashlib.sha256(x.astype(np.uint8).tobytes()).hexdigest() == DIGITS_IMAGES_SHA256
    assert hashlib.sha256(y.astype(np.uint8).tobytes()).hexdigest() == DIGITS_LABELS_SHA256


def test_digits_licence_ships_beside_the_data():
    from importlib import resources

    text = resources.files("ebm_ref").joinpath("data", "DIGITS_LICENSE.txt").read_text(encoding="utf-8")
    for must in ("CC BY 4.0", "Alpaydin", "Kaynak", "creativecommons.org/licenses/by/4.0", DIGITS_IMAGES_SHA256):
        assert must in text


@pytest.mark.exact
@pytest.mark.parametrize("t", [1, 4.5, 8, 16])
def test_binarized_digits_is_the_direct_comparison(t):
    x, y = datasets.digits()
    v, y2 = datasets.binarized_digits(t)
    assert v.dtype == np.float64 and v.shape == x.shape
    np.testing.assert_array_equal(y2, y)
    # independent: pixel by pixel in plain Python on a few images
    for n in (0, 1, 900, 1796):
        assert [1.0 if g >= t else 0.0 for g in x[n].tolist()] == v[n].tolist()
    np.testing.assert_array_equal(v, np.where(x >= t, 1.0, 0.0))


def test_binarized_digits_threshold_extremes():
    v1, _ = datasets.binarized_digits(1e-9)          # every non-zero pixel is on
    x, _ = datasets.digits()
    np.testing.assert_array_equal(v1, (x > 0).astype(float))
    v16, _ = datasets.binarized_digits(16)            # only saturated pixels
    np.testing.assert_array_equal(v16, (x == 16).astype(float))


@pytest.mark.parametrize("bad", [0, -1, 16.5, 17, np.nan, np.inf, True, "8", None, [8]])
def test_binarized_digits_bad_threshold(bad):
    with pytest.raises(ValueError, match="threshold"):
        datasets.binarized_digits(bad)


# ------------------------------------------------------------ the two-mode 1-D mixture
@pytest.mark.exact
def test_two_mode_mixture_density_closed_form():
    w, mu, s = 0.2, 3.0, 0.7
    m = datasets.two_mode_mixture(w, mu, s)
    x = np.linspace(-6.0, 6.0, 25)[:, None]
    want = w * stats.norm.pdf(x[:, 0], -mu, s) + (1 - w) * stats.norm.pdf(x[:, 0], mu, s)
    np.testing.assert_allclose(np.exp(m.log_prob(x)), want, rtol=1e-12)     # float64 log-sum-exp round-off


@pytest.mark.parametrize("w, mu, s", [(0.0, 1.0, 1.0), (1.0, 1.0, 1.0), (0.5, np.inf, 1.0), (0.5, 1.0, 0.0)])
def test_two_mode_mixture_refuses_bad_input(w, mu, s):
    with pytest.raises(ValueError):
        datasets.two_mode_mixture(w, mu, s)
