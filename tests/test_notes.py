"""The notes and the README as code: every name they cite exists, every identity they cite
exists and passes, and every ```python block runs.

* **Names.** A backticked dotted name whose first part is ``ebm_ref`` or one of its top-level
  modules or packages (``samplers.mala``, ``objectives.mle``, ``ebm_ref.models.rbm.BernoulliRBM``,
  optionally followed by ``()``) must import and resolve attribute by attribute.  Other
  backticked text (``model.sample``, ``np.exp``, file names like ``params.npz``, shell
  commands) is not a citation of ours.
* **Identities.** Every ``[identity: NAME]`` (NAME may hold one level of brackets) must be
  registered; :func:`test_cited_identity_passes` checks that each cited identity passes (one
  evaluation per identity per session, shared with ``tests/test_verify.py`` through the
  ``evaluated`` fixture of ``conftest.py``).
* **Code blocks.** The ```python blocks of one file run in order, in one fresh namespace,
  with the working directory set to a temporary directory — as a student pasting them one
  after another would run them.  The README's PyTorch worked path (the one block that imports
  torch) is run by ``tests/test_readme_torch.py`` instead, because torch is not a dependency.
"""
import contextlib
import importlib
import io
import os
import pkgutil
import re
from pathlib import Path

import pytest

import ebm_ref
from ebm_ref import verify

ROOT = Path(__file__).resolve().parent.parent
NOTES = sorted((ROOT / "notes").glob("*.md"))
DOCS = NOTES + [ROOT / "README.md"]
TOP = {m.name for m in pkgutil.iter_modules(ebm_ref.__path__)} | {"ebm_ref"}
CODE = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+)(?:\(\))?`")
# an identity name may itself hold one level of brackets, e.g. "E[CD-k gradient]"
IDENT = re.compile(r"\[identity:\s*((?:[^\[\]]|\[[^\[\]]*\])+?)\s*\]")
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def resolve(dotted: str):
    """Import the longest importable prefix of ``dotted`` and get the rest as attributes."""
    parts = dotted.split(".")
    if parts[0] != "ebm_ref":
        parts = ["ebm_ref"] + parts
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


FILE = re.compile(r"\.(npz|npy|json|py|md|png|pdf|csv|txt|cfg|toml)$")


def cited_names(text: str) -> set[str]:
    """Backticked dotted names rooted in ebm_ref; file names such as `params.npz` are not names."""
    return {n for n in CODE.findall(text) if n.split(".")[0] in TOP and not FILE.search(n)}


def cited_identities(text: str) -> set[str]:
    return {" ".join(n.split()) for n in IDENT.findall(text)}


KNOWN = {i.name: i for i in verify.registry()}
CITED = sorted({n for doc in DOCS for n in cited_identities(doc.read_text(encoding="utf8"))})


def test_there_are_notes():
    assert NOTES, "notes/ is empty"


def test_the_name_rule_catches_short_names():
    assert cited_names("see `samplers.mala`, `ebm_ref.check` and `model.sample`") == {"samplers.mala", "ebm_ref.check"}
    with pytest.raises(AttributeError):
        resolve("samplers.no_such_sampler")


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_names_in_doc_exist(doc):
    text = doc.read_text(encoding="utf8")
    missing = []
    for name in sorted(cited_names(text)):
        try:
            resolve(name)
        except (ImportError, AttributeError):
            missing.append(name)
    missing += [f"[identity: {n}]" for n in sorted(cited_identities(text)) if n not in KNOWN]
    assert not missing, f"{doc.name} names things that do not exist: {missing}"


@pytest.mark.parametrize("name", CITED)
def test_cited_identity_passes(name, evaluated):
    if name not in KNOWN:
        pytest.fail(f"[identity: {name}] is cited but not registered")
    r = evaluated(KNOWN[name])
    assert r.passed, f"{name}: error {r.error:.3g} > tol {KNOWN[name].tol:.1g} {r.failure}"


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_python_blocks_run(doc, tmp_path):
    blocks = [b for b in BLOCK.findall(doc.read_text(encoding="utf8")) if "import torch" not in b]
    if not blocks:
        pytest.skip(f"{doc.name} has no python block")
    namespace = {"__name__": "__notes__"}
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        for k, block in enumerate(blocks, start=1):
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    exec(compile(block, f"{doc.name}, python block {k}", "exec"), namespace)
            except Exception as err:  # noqa: BLE001 — report which block failed, then fail
                pytest.fail(f"{doc.name}, python block {k} raised {type(err).__name__}: {err}")
    finally:
        os.chdir(here)


@pytest.mark.parametrize("note", NOTES, ids=[n.name for n in NOTES])
def test_note_figures_exist(note):
    for rel in re.findall(r"\]\((\.\./figures/[^)]+)\)", note.read_text(encoding="utf8")):
        assert (note.parent / rel).resolve().exists(), f"{note.name} links a missing figure {rel}"
