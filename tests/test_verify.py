"""The test suite evaluates the same registry as ``ebm-ref verify``, so the two cannot drift."""
import io

import numpy as np
import pytest

from ebm_ref import verify
from ebm_ref.identities import registry

IDENTITIES = verify.registry()


@pytest.mark.exact
@pytest.mark.parametrize("ident", IDENTITIES, ids=[i.name for i in IDENTITIES])
def test_identity(ident):
    r = verify.evaluate(ident)
    assert r.passed, f"{ident.name}: error {r.error:.3g} > tol {ident.tol:.1g} {r.failure}"


def test_registry_entries_are_complete():
    assert len(IDENTITIES) >= 5
    for ident in IDENTITIES:
        assert ident.step and ident.case and ident.reason, ident.name
        assert ident.tol > 0


def test_a_false_identity_fails_and_is_reported():
    @registry.identity("test: deliberately false", step="1 = 2", case="none", tol=1e-12, reason="test")
    def _(rng):
        return 1.0, 2.0

    try:
        ident = registry.REGISTRY["test: deliberately false"]
        assert not verify.evaluate(ident).passed
        out = io.StringIO()
        assert verify.run(only="test: deliberately", out=out) == 1
        assert "FAIL" in out.getvalue() and "1 = 2" in out.getvalue()
    finally:
        del registry.REGISTRY["test: deliberately false"]


def test_exceptions_and_nan_are_failures():
    def boom(rng):
        raise RuntimeError("broken")

    def nan(rng):
        return np.nan, 1.0

    for fn in (boom, nan):
        ident = registry.Identity("x", "s", "c", fn, 1.0, "r", "abs", "t")
        assert not verify.evaluate(ident).passed


def test_bad_registration():
    with pytest.raises(ValueError, match="kind"):
        registry.identity("x", step="s", case="c", tol=1.0, reason="r", kind="weird")
    with pytest.raises(ValueError, match="tol"):
        registry.identity("x", step="s", case="c", tol=0.0, reason="r")
