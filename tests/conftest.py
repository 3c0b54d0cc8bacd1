import os

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def rng(request):
    """A Generator seeded from the test's node id: fixed per test, never tuned by hand."""
    import zlib

    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))
