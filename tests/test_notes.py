"""Every function and identity a note names must exist."""
import importlib
import re
from pathlib import Path

import pytest

from ebm_ref import verify

NOTES = sorted((Path(__file__).resolve().parent.parent / "notes").glob("*.md"))
CODE = re.compile(r"`(ebm_ref(?:\.[A-Za-z_][A-Za-z0-9_]*)+)(?:\(\))?`")
# an identity name may itself hold one level of brackets, e.g. "E[CD-k gradient]"
IDENT = re.compile(r"\[identity:\s*((?:[^\[\]]|\[[^\[\]]*\])+?)\s*\]")


def resolve(dotted: str):
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def test_there_are_notes():
    assert NOTES, "notes/ is empty"


@pytest.mark.parametrize("note", NOTES, ids=[n.name for n in NOTES])
def test_names_in_note_exist(note):
    text = note.read_text(encoding="utf8")
    names = set(CODE.findall(text))
    missing = []
    for name in sorted(names):
        try:
            resolve(name)
        except (ImportError, AttributeError):
            missing.append(name)
    known = {i.name for i in verify.registry()}
    missing += [f"[identity: {n}]" for n in sorted(set(IDENT.findall(text))) if n not in known]
    assert not missing, f"{note.name} names things that do not exist: {missing}"


@pytest.mark.parametrize("note", NOTES, ids=[n.name for n in NOTES])
def test_note_figures_exist(note):
    root = note.parent.parent
    for rel in re.findall(r"\]\((\.\./figures/[^)]+)\)", note.read_text(encoding="utf8")):
        assert (note.parent / rel).resolve().exists(), f"{note.name} links a missing figure {rel}"
