"""Every figure runs (small version) through the public registry, as ``ebm-ref figures --small`` does."""
import pytest

from ebm_ref.plots import all_figures, make_figures

FIGURES = list(all_figures())


@pytest.mark.parametrize("name", FIGURES)
def test_figure_runs_small(name, tmp_path):
    paths = make_figures(tmp_path, only=[name], small=True, log=lambda s: None)
    assert paths, f"{name} produced no file"
    for p in paths:
        assert p.exists() and p.stat().st_size > 1000


def test_unknown_figure_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown figure"):
        make_figures(tmp_path, only=["no-such-figure"])
