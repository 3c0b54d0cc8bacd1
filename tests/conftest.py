import os
import zlib

# One BLAS thread per test process, set before NumPy loads OpenBLAS (a caller's own setting wins).
# Under ``-n auto`` every core already runs a pytest-xdist worker; OpenBLAS's threads on top (it
# splits a product such as the 2^16-state enumeration of an RBM over all cores) take a core from
# the other worker and spin on it: the exact RBM gradient then costs twice its CPU time for no
# gain in wall time.  (numba's threads: see ``pytest_configure``.)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

os.environ.setdefault("MPLBACKEND", "Agg")

#: the node id a test had at collection, before pytest-xdist's ``--dist loadgroup`` appends "@group"
#: to the ids of grouped tests: the ``rng`` seed must not depend on how the suite is run.
_SEED_ID = pytest.StashKey[str]()


def _group(item):
    """The pytest-xdist group of a test that shares a per-process cached result, or None.

    * a figure's tests share its one render (``rendered``): tests/test_figures.py, parametrized by
      ``name``, and the tests of tests/test_figure_numbers.py, marked ``xdist_group("figure:<name>")``;
    * the tests that read an identity's result through the ``evaluated`` fixture share one
      evaluation of it (tests/test_verify.py, test_notes.py, test_lecture_map.py).
    Under ``--dist loadgroup`` each group runs on one worker, so nothing is computed twice;
    without xdist the marker does nothing.
    """
    params = getattr(getattr(item, "callspec", None), "params", {})
    if item.path.name == "test_figures.py" and "name" in params:
        return f"figure:{params['name']}"
    if "evaluated" in item.fixturenames:
        ident = params.get("ident", params.get("name"))
        return f"identity:{getattr(ident, 'name', ident)}"
    return None


def pytest_configure(config):
    """The tests run numba on one thread (each pytest-xdist worker, or the one process).

    The fused samplers take their ``parallel=True`` wrapper only with more than one numba thread
    (``samplers._common.run_chunk_segment``), and the chains are the same either way.  With one
    thread no test compiles a wrapper by the size of its run alone (several seconds each on a
    cold cache, while the other xdist worker already keeps the second core busy); the tests of
    the wrappers set two threads themselves (``test_same_chains_on_one_and_two_threads*``, the
    fresh-process cache tests, the benchmark's test).
    """
    import numba

    numba.set_num_threads(1)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        item.stash[_SEED_ID] = item.nodeid
        group = _group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture
def rng(request):
    """A Generator seeded from the test's node id: fixed per test, never tuned by hand."""
    return np.random.default_rng(zlib.crc32(request.node.stash.get(_SEED_ID, request.node.nodeid).encode()))


@pytest.fixture(scope="session")
def evaluated():
    """``verify.evaluate`` with each identity evaluated once per test session (per xdist worker).

    An identity's evaluation is deterministic (its Generator is seeded by the identity), so the
    registry tests, the notes tests and the lecture-map tests share one result per identity
    instead of evaluating the slow ones three times; under ``--dist loadgroup`` the tests of one
    identity run on one worker (see ``_group``), so each is still evaluated once.
    """
    from ebm_ref import verify

    cache = {}

    def get(ident):
        if ident.name not in cache:
            cache[ident.name] = verify.evaluate(ident)
        return cache[ident.name]

    return get


@pytest.fixture(scope="session")
def rendered(tmp_path_factory):
    """``rendered(name) -> (Saved, last_results)``: figure ``name`` made once per session (per xdist
    worker), small, with the Generator ``make_figures`` gives it, its PNG and PDF written.

    The figure tests read the figure and the number tests read ``make.last_results`` (the
    numbers the figure plots); a figure's tests share one xdist group (see ``_group``).
    """
    from ebm_ref.plots import all_figures, figure_rng

    out_dir = tmp_path_factory.mktemp("figures")
    cache = {}

    def get(name):
        if name not in cache:
            make = all_figures()[name]
            saved = make(out_dir, figure_rng(name), small=True)
            cache[name] = (saved, getattr(make, "last_results", None))
        return cache[name]

    return get
