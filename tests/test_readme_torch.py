"""The README's PyTorch worked path, run for real where torch happens to be installed.

torch is never a dependency: without it this test is skipped.  With it, the snippet
is extracted from README.md verbatim, run in a temporary directory, and its results
must pass ``ebm-ref golden check`` (PyTorch autograd against our hand-written
derivatives, to the manifest's tolerances).
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ebm_ref import cli

ROOT = Path(__file__).resolve().parent.parent


def readme_torch_snippet() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    torch_blocks = [b for b in blocks if "import torch" in b]
    assert len(torch_blocks) == 1, "README should hold exactly one PyTorch worked path"
    return torch_blocks[0]


def test_readme_has_the_worked_path():
    snippet = readme_torch_snippet()
    assert "np.savez" in snippet and "mlp_depth2" in snippet


def test_readme_torch_path_passes_golden_check(tmp_path, capsys):
    pytest.importorskip("torch")
    assert cli.main(["golden", "export", str(tmp_path / "golden")]) == 0
    (tmp_path / "snippet.py").write_text(readme_torch_snippet(), encoding="utf8")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "snippet.py"], cwd=tmp_path, capture_output=True, text=True,
                       timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    assert cli.main(["golden", "check", str(tmp_path / "golden"), str(tmp_path / "results")]) == 0
    assert "0 failed" in capsys.readouterr().out
