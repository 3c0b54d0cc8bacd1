import os

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def rng(request):
    """A Generator seeded from the test's node id: fixed per test, never tuned by hand."""
    import zlib

    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


@pytest.fixture(scope="session")
def evaluated():
    """``verify.evaluate`` with each identity evaluated once per test session.

    An identity's evaluation is deterministic (its Generator is seeded by the identity), so the
    registry tests, the notes tests and the lecture-map tests share one result per identity
    instead of evaluating the slow ones three times.
    """
    from ebm_ref import verify

    cache = {}

    def get(ident):
        if ident.name not in cache:
            cache[ident.name] = verify.evaluate(ident)
        return cache[ident.name]

    return get
