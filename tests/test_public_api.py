"""The public faces: what README and notes name resolves, each package lists what it defines,
and the package keeps no pattern that decides a model's kind by anything but its type."""
import importlib
import importlib.util
import inspect
import pkgutil
import re
from pathlib import Path

import numpy as np
import pytest

import ebm_ref
from ebm_ref.energy import Energy, Normalized, Trainable, has_capability, require_normalized

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "ebm_ref"


# ------------------------------------------------------- a. documented names resolve
def _documented_names() -> list[str]:
    """Every dotted ``ebm_ref.xxx.yyy`` inside backticks in README.md and notes/*.md."""
    names = set()
    for path in [ROOT / "README.md", *sorted((ROOT / "notes").glob("*.md"))]:
        for code in re.findall(r"`([^`\n]+)`", path.read_text(encoding="utf-8")):
            names.update(re.findall(r"\bebm_ref(?:\.[A-Za-z_][A-Za-z0-9_]*)+", code))
    return sorted(names)


def _is_module_path(dotted: str) -> bool:
    try:
        return importlib.util.find_spec(dotted) is not None
    except (ModuleNotFoundError, ValueError):      # the parent is not a package
        return False


DOCUMENTED = _documented_names()


def test_the_docs_name_something():
    assert len(DOCUMENTED) > 50   # the regex finds the names (a broken regex would pass everything below)


@pytest.mark.parametrize("dotted", DOCUMENTED)
def test_documented_name_resolves_by_attribute_access(dotted):
    obj = ebm_ref
    parts = dotted.split(".")
    for i, part in enumerate(parts[1:], start=2):
        prefix = ".".join(parts[:i])
        assert hasattr(obj, part), f"{dotted}: {'.'.join(parts[:i - 1])} has no attribute {part!r}"
        obj = getattr(obj, part)
        if _is_module_path(prefix):
            # a module of that path exists: attribute access must give that very module
            assert obj is importlib.import_module(prefix), \
                f"{dotted}: {prefix} is a module, but attribute access gives {type(obj).__name__} {obj!r}"


# ------------------------------------------------------- b. __all__ lists what a package defines
def _modules(pkg):
    """The package and its public modules (a leading underscore marks a private one)."""
    out = [pkg]
    for m in pkgutil.iter_modules(getattr(pkg, "__path__", [])):   # a plain module has no __path__
        if not m.name.startswith("_"):
            out.append(importlib.import_module(f"{pkg.__name__}.{m.name}"))
    return out


def _defined_public(pkg) -> set:
    names = set()
    for mod in _modules(pkg):
        for name, obj in vars(mod).items():
            if (not name.startswith("_") and (inspect.isclass(obj) or inspect.isfunction(obj))
                    and obj.__module__ == mod.__name__):
                names.add(name)
    return names


FLAT = ["models", "samplers", "partition", "numerics", "golden"]


@pytest.mark.parametrize("name", FLAT)
def test_star_import_gives_every_public_class_and_function(name):
    pkg = importlib.import_module(f"ebm_ref.{name}")
    exported = set(pkg.__all__)
    assert len(pkg.__all__) == len(exported), f"ebm_ref.{name}.__all__ lists a name twice"
    missing = _defined_public(pkg) - exported
    assert not missing, f"ebm_ref.{name}.__all__ omits {sorted(missing)}"
    ns = {}
    exec(f"from ebm_ref.{name} import *", ns)
    assert exported <= set(ns), f"from ebm_ref.{name} import * lacks {sorted(exported - set(ns))}"


def test_objectives_are_reached_through_their_modules():
    # the methods share function names (loss, fit, objective): the package exports its modules
    import ebm_ref.objectives as obj

    modules = {m.name for m in pkgutil.iter_modules(obj.__path__) if not m.name.startswith("_")}
    assert set(obj.__all__) == modules
    ns = {}
    exec("from ebm_ref.objectives import *", ns)
    for m in modules:
        assert inspect.ismodule(ns[m]) and ns[m] is importlib.import_module(f"ebm_ref.objectives.{m}")


def test_top_level_all_is_what_the_package_serves():
    assert len(ebm_ref.__all__) == len(set(ebm_ref.__all__))
    for name in ebm_ref.__all__:
        getattr(ebm_ref, name)
    # every public subpackage/module is served and listed
    public = {m.name for m in pkgutil.iter_modules(ebm_ref.__path__) if not m.name.startswith("_")}
    assert public <= set(ebm_ref.__all__), sorted(public - set(ebm_ref.__all__))
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        ebm_ref.nonexistent


# ------------------------------------------------------- c. forbidden patterns
#: (regex, what it catches).  Each is a way of deciding a model's kind by something other
#: than its type, or a public face assembled piecemeal.
FORBIDDEN = [
    (r"set\(\s*[\w.]+\s*\)\s*==\s*\{", "a model recognised by its parameter keys"),
    (r"[\"'][A-Za-z_]\w*[\"']\s+(?:not\s+)?in\s+(?:p|params|[\w.]*\.params|self\._params)\b",
     "a branch on a parameter key"),
    (r"\.__name__\s*(?:==|!=|in\b|not\s+in\b)(?!\s*[\"']__main__[\"'])", "a kind decided by a class-name string"),
    (r"\bhasattr\(", "a capability found by hasattr (use ebm_ref.energy.has_capability or isinstance)"),
    (r"\bobject\.__new__\(", "a constructor bypassed by hand (use Energy._from_checked)"),
    (r"__all__\s*\+=", "__all__ built in pieces"),
    (r"import_module\(\s*f?[\"'](?:ebm_ref)?\.?samplers\.", "a sampler module reached by importlib"),
]

#: (file, text on the line, why it is allowed)
ALLOWED = [
    ("ebm_ref/check.py", "hasattr(",
     "check_energy duck-types on purpose: it must work on other people's objects, not only on Energy"),
    ("ebm_ref/train.py", "hasattr(optimizer",
     "an optimizer, not a model: fit accepts any object with step(params, grads)"),
    ("ebm_ref/objectives/nce.py", "\"log_z\" in model.params",
     "refuses a model whose parameter name clashes with NCE's c; decides no kind"),
]


def _violations():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            code = line.split("#", 1)[0]
            for pattern, what in FORBIDDEN:
                if re.search(pattern, code) and not any(rel == f and t in code for f, t, _ in ALLOWED):
                    found.append(f"{rel}:{lineno}: {what}: {line.strip()}")
    return found


def test_the_patterns_catch_what_they_are_meant_to():
    bad = ['if set(p) == {"W", "b", "c"}:', 'if "W" in model.params:', 'type(m).__name__ in ("BernoulliRBM",)',
           'hasattr(model, "grad_log_partition")', "obj = object.__new__(cls)", "__all__ += ['x']",
           'importlib.import_module("ebm_ref.samplers.gibbs")']
    good = ['if __name__ == "__main__":', "isinstance(model, BernoulliRBM)", "name = type(x).__name__",
            "has_capability(model, 'sample')", "__all__ = ['x']", 'f"{type(q).__name__} has no"']
    for line in bad:
        assert any(re.search(p, line) for p, _ in FORBIDDEN), line
    for line in good:
        assert not any(re.search(p, line) for p, _ in FORBIDDEN), line


def test_no_forbidden_pattern_in_the_package():
    found = _violations()
    assert not found, "\n".join(found)


# ------------------------------------------------------- the contract's helpers
class _OnlyLogProb:
    def log_prob(self, x):
        return np.zeros(len(x))


class _BothMethods(_OnlyLogProb):
    def sample(self, n, rng):
        return np.zeros((n, 1))


def test_require_normalized_names_the_argument_and_the_missing_method():
    from ebm_ref.models import Gaussian, MLPEnergy

    with pytest.raises(ValueError, match=r"noise: .*_OnlyLogProb has no sample\(\)"):
        require_normalized(_OnlyLogProb(), "noise")
    with pytest.raises(ValueError, match=r"proposal: .*has no log_prob\(\)"):
        require_normalized(object(), "proposal")
    # an Energy has the attribute `sample` (a raising default): only an override counts
    mlp = MLPEnergy.init([2, 4], rng=0)
    with pytest.raises(ValueError, match=r"q: .*MLPEnergy has no log_prob\(\)"):
        require_normalized(mlp, "q")
    g = Gaussian(np.zeros(2), np.eye(2))
    assert require_normalized(g, "q") is g
    b = _BothMethods()
    assert require_normalized(b, "noise") is b
    assert isinstance(b, Normalized) and isinstance(g, Normalized)


def test_has_capability_looks_at_the_class_not_at_the_attribute():
    from ebm_ref.models import Gaussian, MLPEnergy, Tempered

    mlp = MLPEnergy.init([2, 4], rng=0)
    g = Gaussian(np.zeros(2), np.eye(2))
    for name in ("grad_log_partition", "sample", "log_partition", "log_prob"):
        assert has_capability(g, name), name
        assert not has_capability(mlp, name), name
    assert has_capability(Tempered(g, 2.0), "log_partition") and not has_capability(Tempered(g, 2.0), "sample")
    with pytest.raises(ValueError, match="name: expected one of"):
        has_capability(g, "energy")


def test_the_raising_defaults_say_who_has_the_capability():
    from ebm_ref.models import MLPEnergy

    mlp = MLPEnergy.init([2, 4], rng=0)
    with pytest.raises(NotImplementedError, match="MLPEnergy cannot draw exact samples.*samplers"):
        mlp.sample(3, 0)
    with pytest.raises(NotImplementedError, match="MLPEnergy has no closed-form grad_log_partition.*Gaussian"):
        mlp.grad_log_partition()


def test_default_hvp_x_is_the_hessian_times_v(rng):
    from ebm_ref.models import GaussianMixture, MLPEnergy

    # complex-step default (analytic energies): exact to rounding, so 1e-12 relative
    mlp = MLPEnergy.init([3, 5, 5], rng=rng)
    gm = GaussianMixture([0.3, 0.7], rng.standard_normal((2, 3)), np.stack([np.eye(3), 2 * np.eye(3)]))
    x, v = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    for m in (mlp, gm):
        np.testing.assert_allclose(m.hvp_x(x, v), np.einsum("nij,nj->ni", m.hessian_x(x), v), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="v: expected shape"):
        mlp.hvp_x(x, v[:2])


def test_from_checked_runs_the_derived_quantities_once():
    from ebm_ref.models import BoltzmannMachine, GaussianMixture

    gm = GaussianMixture([0.4, 0.6], np.zeros((2, 1)), np.array([[[1.0]], [[4.0]]]))
    moved = gm.replace(weights=np.array([0.5, 0.6]))    # off the simplex: the constructor refuses it
    assert type(moved) is GaussianMixture
    np.testing.assert_allclose(moved._const, 0.5 * np.log(2 * np.pi * np.array([1.0, 4.0])) - np.log([0.5, 0.6]))
    with pytest.raises(ValueError, match="weights: must sum to 1"):
        GaussianMixture([0.5, 0.6], np.zeros((2, 1)), np.array([[[1.0]], [[4.0]]]))
    bm = BoltzmannMachine(np.array([[0.0, 0.5], [0.5, 0.0]]), np.zeros(2))
    assert bm.replace(J=np.array([[0.3, 0.5], [0.5, 0.0]])).params["J"][0, 0] == 0.3
    assert bm.as_relaxed().relaxed and not bm.relaxed
    with pytest.raises(ValueError, match="h: contains NaN"):
        bm.replace(h=np.array([np.nan, 0.0]))


def test_trainable_protocol():
    from ebm_ref.models import Gaussian

    g = Gaussian(np.zeros(1), np.eye(1))
    assert isinstance(g, Trainable) and isinstance(g, Energy)
    assert not isinstance(object(), Trainable)


# ------------------------------------------------------- d. text is text
def test_sources_and_notes_hold_no_control_characters():
    """A TeX escape written into a non-raw string (``"\\nabla"``, ``"\\theta"``, ``"\\frac"``) turns
    into a newline, a tab or a form feed and garbles the docstring silently; none may remain."""
    files = [*PACKAGE.rglob("*.py"), *(ROOT / "tests").rglob("*.py"), *(ROOT / "notes").glob("*.md"),
             ROOT / "README.md"]
    bad = [f"{p.relative_to(ROOT)}:{i}" for p in files
           for i, line in enumerate(p.read_text(encoding="utf-8").split("\n"), 1)
           if re.search(r"[\x00-\x08\x0b-\x1f\x7f]", line)]
    assert not bad, "control characters at " + ", ".join(bad)
