"""The test suite evaluates the same registry as ``ebm-ref verify``, so the two cannot drift."""
import io

import numpy as np
import pytest

from ebm_ref import verify
from ebm_ref.identities import registry

IDENTITIES = verify.registry()


@pytest.mark.exact
@pytest.mark.parametrize("ident", IDENTITIES, ids=[i.name for i in IDENTITIES])
def test_identity(ident, evaluated):
    r = evaluated(ident)
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


def test_an_identity_runs_with_one_numba_thread_and_the_count_is_restored():
    """verify runs each identity with one numba thread, so no parallel wrapper is compiled; the
    caller's thread count is restored afterwards, also when the identity raises."""
    import numba
    from numba import get_num_threads, set_num_threads

    seen = []

    def record(rng):
        seen.append(get_num_threads())
        return 1.0, 1.0

    def boom(rng):
        seen.append(get_num_threads())
        raise RuntimeError("broken")

    old = get_num_threads()
    set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))      # a caller on two threads (the suite runs on one)
    try:
        before = get_num_threads()
        for fn in (record, boom):
            verify.evaluate(registry.Identity("x", "s", "c", fn, 1.0, "r", "abs", "t"))
            assert get_num_threads() == before
    finally:
        set_num_threads(old)
    assert seen == [1, 1]


def test_bad_registration():
    with pytest.raises(ValueError, match="kind"):
        registry.identity("x", step="s", case="c", tol=1.0, reason="r", kind="weird")
    with pytest.raises(ValueError, match="tol"):
        registry.identity("x", step="s", case="c", tol=0.0, reason="r")


# ===================== issue 11, defect 5: verify reports instead of aborting, and reads well
def _temp_identity(name, fn, **kw):
    opts = dict(step="s", case="c", tol=1e-12, reason="test")
    opts.update(kw)
    registry.identity(name, **opts)(fn)
    return name


def test_a_raising_identity_is_a_named_fail_and_the_others_still_run():
    def boom(rng):
        raise ValueError("tol: must be > 0, got nan")

    names = [_temp_identity("test: zz raises", boom),
             _temp_identity("test: zz fine", lambda rng: (1.0, 1.0))]
    try:
        out = io.StringIO()
        assert verify.run(only="test: zz", out=out, progress=io.StringIO()) == 1
        text = out.getvalue()
        assert "FAIL test: zz raises" in text and "ValueError: tol: must be > 0, got nan" in text
        assert "pass test: zz fine" in text
        assert "1 passed, 1 failed of 2 identities" in text and "FAILED:\n  test: zz raises" in text
    finally:
        for n in names:
            del registry.REGISTRY[n]


def test_every_identity_module_imports():
    # a module that failed to import would be a FAIL row in `ebm-ref verify`; here it fails the suite
    assert verify.load_errors() == []


def test_a_module_that_fails_to_import_is_a_named_fail(monkeypatch, tmp_path):
    import importlib
    import sys

    from ebm_ref import identities

    (tmp_path / "zz_broken.py").write_text("raise ValueError('tol: must be > 0, got nan')\n")
    monkeypatch.setattr(identities, "__path__", list(identities.__path__) + [str(tmp_path)])
    try:
        broken = verify.load_errors()
        assert [b.name for b in broken] == ["import ebm_ref.identities.zz_broken"]
        r = verify.evaluate(broken[0])
        assert not r.passed and "tol: must be > 0, got nan" in r.failure
    finally:
        sys.modules.pop("ebm_ref.identities.zz_broken", None)
        importlib.invalidate_caches()


def test_names_are_wrapped_never_cut():
    long = ("test: zz a deliberately long identity name whose words must all appear whole in the table, "
            "stationary (discrete)")
    _temp_identity(long, lambda rng: (1.0, 1.0))
    try:
        out = io.StringIO()
        verify.run(only="test: zz a deliberately", out=out, progress=io.StringIO())
        lines = out.getvalue().splitlines()
        start = next(i for i, l in enumerate(lines) if l.startswith("pass test: zz"))
        words = []
        for l in lines[start:]:
            if not (l.startswith("pass ") or l.startswith("     ")) or not l.strip():
                break
            words += l[5:5 + verify.NAME_WIDTH].split()
        assert " ".join(words) == long
    finally:
        del registry.REGISTRY[long]


def test_statistical_row_is_stated_as_a_z_score():
    _temp_identity("test: zz statistical", lambda rng: (2.78, 0.0), tol=4.0, kind="z")
    try:
        out = io.StringIO()
        verify.run(only="test: zz statistical", out=out, progress=io.StringIO())
        row = next(l for l in out.getvalue().splitlines() if l.startswith("pass test: zz statistical"))
        # two-sided N(0, 1) rate of |z| > 4: erfc(4/√2) = 6.3e-5
        assert "z = 2.78" in row and "|z| ≤ 4, false-alarm rate 6.3e-05" in row
    finally:
        del registry.REGISTRY["test: zz statistical"]
    with pytest.raises(ValueError, match="false_alarm"):
        registry.identity("x", step="s", case="c", tol=1.0, reason="r", false_alarm=0.1)


def test_summary_and_json():
    import json

    names = [_temp_identity("test: zz a", lambda rng: (1.0, 1.0 + 5e-13)),
             _temp_identity("test: zz b", lambda rng: (1.0, 2.0))]
    try:
        out = io.StringIO()
        verify.run(only="test: zz", out=out, progress=io.StringIO())
        text = out.getvalue()
        assert "by topic (passed/total): test_verify 1/2" in text
        assert 'largest error relative to its tolerance: 1e+12 (error 1, tol 1e-12) in "test: zz b"' in text
        out = io.StringIO()
        assert verify.run(only="test: zz", out=out, as_json=True, progress=io.StringIO()) == 1
        doc = json.loads(out.getvalue())
        assert [r["status"] for r in doc["results"]] == ["pass", "FAIL"]
        assert doc["summary"]["failed_names"] == ["test: zz b"] and doc["summary"]["by_topic"] == {
            "test_verify": {"passed": 1, "failed": 1}}
        assert doc["results"][0]["error"] == pytest.approx(5e-13, rel=1e-3)
    finally:
        for n in names:
            del registry.REGISTRY[n]


def test_cli_json_and_progress_line(capsys):
    from ebm_ref import cli

    assert cli.main(["verify", "--only", "partition: exact 1-D", "--json"]) == 0
    io_ = capsys.readouterr()
    import json

    doc = json.loads(io_.out)
    assert doc["summary"]["passed"] == 1
    assert io_.err.count("\n") == 1 and "loading the identities" in io_.err


def _mutated_copy(tmp_path):
    """A scratch copy of the package with the sign of ½ log det P flipped in the Gaussian's log Z."""
    import shutil
    from pathlib import Path

    import ebm_ref

    src = Path(ebm_ref.__file__).resolve().parent
    dst = tmp_path / "ebm_ref"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.pyc"))
    g = dst / "models" / "gaussian.py"
    text = g.read_text(encoding="utf-8")
    good = "return 0.5 * self.dim * LOG_2PI - 0.5 * logdet"
    assert text.count(good) == 1
    g.write_text(text.replace(good, "return 0.5 * self.dim * LOG_2PI + 0.5 * logdet"), encoding="utf-8")
    return tmp_path


def _run_verify(root, *args):
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=str(root), OPENBLAS_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "ebm_ref", "verify", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=1200)


def test_mutation_broken_gaussian_log_z_is_named(tmp_path):
    # issue 11, defect 5: with the Gaussian's log Z sign flipped, verify aborted at import with
    # "ebm-ref: error: tol: must be > 0, got nan", naming no identity
    root = _mutated_copy(tmp_path)
    p = _run_verify(root, "--only", "partition: exact")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "ebm-ref: error" not in p.stderr and "Traceback" not in p.stderr
    failed = p.stdout.split("FAILED:\n", 1)[1].splitlines()
    assert {"  partition: exact 1-D Gaussian log Z = quadrature", "  partition: exact 2-D Gaussian log Z = quadrature",
            "  partition: exact banana (WarpedGaussian) log Z = quadrature"} <= set(failed)
    # the mixture's log Z = 0 does not use the Gaussian's formula: it still passes
    assert "pass partition: exact GaussianMixture log Z = 0 = quadrature" in p.stdout


@pytest.mark.slow
def test_mutation_full_verify_lists_failures_and_exits_1(tmp_path):
    root = _mutated_copy(tmp_path)
    p = _run_verify(root, "--json")
    assert p.returncode == 1, p.stderr
    import json

    s = json.loads(p.stdout)["summary"]
    assert s["failed"] >= 3 and s["passed"] > 50
    assert "partition: exact 1-D Gaussian log Z = quadrature" in s["failed_names"]
