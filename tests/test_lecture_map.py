"""notes/00-lecture-map.md: every result has a line, every name on it exists, every identity passes,
and the counts it states are the counts of its lines."""
import importlib.util
import re
from pathlib import Path

import pytest

from ebm_ref import verify

ROOT = Path(__file__).resolve().parent.parent
MAP = ROOT / "notes" / "00-lecture-map.md"
N_RESULTS = 78
LINE = re.compile(r"^- \*\*#(\d+)\*\* · (.+)$")
IDENT = re.compile(r"\[identity:\s*((?:[^\[\]]|\[[^\[\]]*\])+?)\s*\]")
TEST = re.compile(r"(tests/test_\w+\.py)::(\w+)")


def _rows():
    rows = {}
    for line in MAP.read_text(encoding="utf8").splitlines():
        m = LINE.match(line)
        if m:
            number = int(m.group(1))
            assert number not in rows, f"result #{number} has two lines"
            checked = m.group(2).split("**checked by**")[1].split("**derived in**")[0]
            rows[number] = {"identities": IDENT.findall(checked), "tests": TEST.findall(checked),
                            "derived": m.group(2).split("**derived in**")[1].strip()}
    return rows


ROWS = _rows()
NAMED = sorted({name for row in ROWS.values() for name in row["identities"]})
REGISTRY = {i.name: i for i in verify.registry()}


def test_every_result_has_one_line_with_a_check_and_a_derivation():
    assert sorted(ROWS) == list(range(1, N_RESULTS + 1))
    for n, row in ROWS.items():
        assert row["derived"], f"#{n}: no note section"
        if not (row["identities"] or row["tests"]):
            line = next(l for l in MAP.read_text(encoding="utf8").splitlines() if l.startswith(f"- **#{n}** "))
            assert "**checked by** (not checked)" in line, f"#{n}: neither an identity nor a test, nor marked (not checked)"


def test_named_identities_exist():
    missing = [name for name in NAMED if name not in REGISTRY]
    assert not missing, f"the map names identities that are not registered: {missing}"


def test_named_tests_exist():
    named = sorted({t for row in ROWS.values() for t in row["tests"]})
    assert named
    modules = {}
    missing = []
    for path, name in named:
        if not (ROOT / path).exists():
            missing.append(f"{path} (no such file)")
            continue
        if path not in modules:
            spec = importlib.util.spec_from_file_location(f"_map_{Path(path).stem}", ROOT / path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            modules[path] = module
        if not callable(getattr(modules[path], name, None)) or not name.startswith("test_"):
            missing.append(f"{path}::{name}")
    assert not missing, f"the map names tests that do not exist: {missing}"


@pytest.mark.exact
@pytest.mark.parametrize("name", NAMED, ids=NAMED)
def test_named_identity_passes(name, evaluated):
    if name not in REGISTRY:
        pytest.fail(f"{name!r} is not registered")
    r = evaluated(REGISTRY[name])
    assert r.passed, f"{name}: error {r.error:.3g} > tol {REGISTRY[name].tol:.1g} {r.failure}"


def test_stated_counts_are_the_counts_of_the_lines():
    by_identity = sum(bool(r["identities"]) for r in ROWS.values())
    by_test = sum(bool(r["tests"]) and not r["identities"] for r in ROWS.values())
    unchecked = N_RESULTS - by_identity - by_test
    text = MAP.read_text(encoding="utf8")
    m = re.search(r"checked by an identity: \*\*(\d+)\*\*; by a test only: \*\*(\d+)\*\*; not checked yet: \*\*(\d+)\*\*",
                  text)
    assert m, "the map's Counts paragraph is missing or reworded"
    assert tuple(int(g) for g in m.groups()) == (by_identity, by_test, unchecked)
