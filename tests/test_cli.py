"""The command line: exit codes and output of each sub-command."""
import subprocess
import sys

import pytest

from ebm_ref import cli


def test_verify_only_passes(capsys):
    assert cli.main(["verify", "--only", "energy:"]) == 0
    out = capsys.readouterr().out
    assert "passed, 0 failed" in out and "pass" in out


def test_verify_unknown_filter_fails(capsys):
    assert cli.main(["verify", "--only", "no identity has this name"]) == 1


def test_figures_list(capsys):
    assert cli.main(["figures", "--list"]) == 0
    assert "energy_and_normalization" in capsys.readouterr().out


def test_figures_unknown_name_is_an_error(tmp_path, capsys):
    assert cli.main(["figures", "--out", str(tmp_path), "--only", "nope"]) == 2
    assert "unknown figure" in capsys.readouterr().err


def test_bench_unknown_name(capsys):
    assert cli.main(["bench", "--only", "nope"]) == 2


def test_python_dash_m_entry_point():
    r = subprocess.run([sys.executable, "-m", "ebm_ref", "verify", "--only", "energy: p(x)"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "1 passed, 0 failed" in r.stdout


def test_argument_errors_exit_nonzero():
    with pytest.raises(SystemExit):
        cli.main(["no-such-command"])
