"""The command line: exit codes and output of each sub-command."""
import re
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


# ------------------------------------------------ the command line's one BLAS thread
def _env_without_blas_vars(**extra):
    import os

    env = {k: v for k, v in os.environ.items() if k not in cli.BLAS_THREAD_VARS}
    return dict(env, **extra)


def test_rerun_replaces_the_process_with_one_blas_thread(monkeypatch):
    for v in cli.BLAS_THREAD_VARS:
        monkeypatch.delenv(v, raising=False)
    calls = []
    monkeypatch.setattr(cli.os, "execve", lambda path, args, env: calls.append((path, args, env)))
    cli._rerun_with_one_blas_thread(["verify", "--only", "energy:"])
    (path, args, env), = calls
    assert path == sys.executable and args[0] == sys.executable
    assert args[-5] == "-c" and args[-3:] == ["verify", "--only", "energy:"]
    import os

    home = os.path.dirname(os.path.dirname(os.path.abspath(cli.__file__)))
    assert repr(home) in args[-4] and "from ebm_ref.cli import main" in args[-4]
    assert env["OPENBLAS_NUM_THREADS"] == "1" and env["MKL_NUM_THREADS"] == "1"


@pytest.mark.parametrize("var", cli.BLAS_THREAD_VARS)
def test_rerun_respects_the_users_thread_setting(monkeypatch, var):
    monkeypatch.setenv(var, "2")
    monkeypatch.setattr(cli.os, "execve", lambda *a: pytest.fail("re-ran although the user set " + var))
    cli._rerun_with_one_blas_thread(["verify"])


def test_in_process_main_never_reruns(monkeypatch, capsys):
    for v in cli.BLAS_THREAD_VARS:
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setattr(cli.os, "execve", lambda *a: pytest.fail("an in-process call re-ran the interpreter"))
    assert cli.main(["figures", "--list"]) == 0


@pytest.mark.skipif(sys.platform == "win32", reason="the re-run is POSIX only (exec replaces the process)")
def test_command_runs_with_one_blas_thread_by_default(tmp_path):
    # end to end: the benchmark rows print the BLAS thread setting of the process that timed them;
    # it is 1 when the caller set none, and the exit status and output pass through the exec (a
    # caller's own setting is kept: test_rerun_respects_the_users_thread_setting).  It is started
    # from a directory holding another "ebm_ref": the re-run still imports this package.
    (tmp_path / "ebm_ref").mkdir()
    (tmp_path / "ebm_ref" / "__init__.py").write_text("raise ImportError('the wrong ebm_ref')\n")
    import os

    home = os.path.dirname(os.path.dirname(os.path.abspath(cli.__file__)))
    env = _env_without_blas_vars(PYTHONPATH=home)
    r = subprocess.run([sys.executable, "-c", "import sys; sys.path.pop(0); from ebm_ref.cli import main; "
                        "sys.exit(main())", "bench", "--quick", "--only", "pcd_update"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert set(re.findall(r"BLAS threads (\S+)", r.stdout)) == {"1"}, r.stdout


# ------------------------------------------------ the benchmarks' alternate-rounds timing
def test_interleaved_times_the_functions_in_turn_and_keeps_each_best():
    # a scripted timer: the calls come round by round, each function once per round
    from ebm_ref.benchmarks import interleaved

    script = {"a": iter([3.0, 1.0, 2.0]), "b": iter([5.0, 6.0, 4.0])}
    calls = []

    def timer(name, repeat):
        calls.append((name, repeat))
        return next(script[name])

    assert interleaved(["a", "b"], 3, 7, timer=timer) == [1.0, 4.0]
    assert calls == [("a", 7), ("b", 7)] * 3
    for rounds, repeat in ((0, 1), (1, 0), (1.5, 1)):
        with pytest.raises(ValueError, match="rounds, repeat"):
            interleaved(["a"], rounds, repeat, timer=timer)
