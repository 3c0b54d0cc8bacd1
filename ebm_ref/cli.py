"""Command line: ``ebm-ref verify | figures | bench | golden``."""
from __future__ import annotations

import argparse
import gc
import os
import sys

#: The variables through which a user sets how many threads the BLAS under NumPy uses.  When none
#: is set, the command line runs with one (see :func:`_rerun_with_one_blas_thread`).
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _verify(args) -> int:
    from . import verify

    failures = verify.run(only=args.only, verbose=args.verbose, as_json=args.json)
    return 1 if failures else 0


def _figures(args) -> int:
    from .plots import all_figures, make_figures

    if args.list:
        for name in all_figures():
            print(name)
        return 0
    make_figures(args.out, only=args.only, small=args.small, seed=args.seed)
    return 0


def _bench(args) -> int:
    from .benchmarks import all_benchmarks

    benches = all_benchmarks()
    names = args.only or list(benches)
    unknown = [n for n in names if n not in benches]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; known: {list(benches)}", file=sys.stderr)
        return 2
    print(f"{'ratio':<66s} {'measured':>9s}  goal")
    for n in names:
        print(f"-- {n}")
        for row in benches[n](quick=args.quick):
            mark = "" if row.met is None else ("  met" if row.met else "  NOT MET")
            print(f"{row.name:<66s} {row.ratio:9.3f}  {row.goal}{mark}")
            if row.detail:
                print(f"   {row.detail}")
    return 0


def _golden(args) -> int:
    from . import golden

    if args.golden_cmd == "export":
        import time
        from pathlib import Path

        t0 = time.perf_counter()
        manifest = golden.export(args.dir)
        root = Path(args.dir)
        files = [root / "manifest.json"] + [root / f for c in manifest["cases"].values() for f in c["files"].values()]
        size = sum(p.stat().st_size for p in files)
        print(f"wrote {len(manifest['cases'])} cases ({len(files)} files, {size / 1024:.0f} KiB) to {args.dir} "
              f"in {time.perf_counter() - t0:.1f} s")
        return 0
    return 1 if golden.check(args.dir, args.results, allow_missing=args.allow_missing) else 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ebm-ref", description="Reference energy-based models, checked against exact answers.")
    sub = p.add_subparsers(dest="cmd", required=True)

    v = sub.add_parser("verify", help="evaluate every registered identity and print the table")
    v.add_argument("--only", help="evaluate only identities whose name contains this text")
    v.add_argument("-v", "--verbose", action="store_true", help="print each identity's step, case and tolerance reason")
    v.add_argument("--json", action="store_true", help="print one JSON document (results and summary) instead of the table")
    v.set_defaults(func=_verify)

    f = sub.add_parser("figures", help="regenerate the figures of the notes")
    f.add_argument("--out", default="figures", help="output directory (default: figures)")
    f.add_argument("--only", nargs="+", help="names of the figures to make")
    f.add_argument("--small", action="store_true", help="small, fast versions (as the tests run them)")
    f.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    f.add_argument("--list", action="store_true", help="list the figure names")
    f.set_defaults(func=_figures)

    b = sub.add_parser("bench", help="measure speed ratios against their floors")
    b.add_argument("--only", nargs="+", help="names of the benchmarks to run")
    b.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    b.set_defaults(func=_bench)

    g = sub.add_parser("golden", help="export reference cases, or check another implementation's results")
    gsub = g.add_subparsers(dest="golden_cmd", required=True)
    ge = gsub.add_parser("export", help="write the reference cases to DIR")
    ge.add_argument("dir")
    gc = gsub.add_parser("check", help="compare RESULTS (same layout) with the reference cases in DIR")
    gc.add_argument("dir")
    gc.add_argument("results")
    gc.add_argument("--allow-missing", action="store_true",
                    help="list quantities absent from RESULTS as 'not provided' instead of an error")
    g.set_defaults(func=_golden)
    return p


def _rerun_with_one_blas_thread(argv_tail) -> None:
    """Replace this process by the same command with one BLAS thread, unless the user chose a number.

    The identities, figures and benchmarks multiply small matrices, and on a machine with few
    cores OpenBLAS's extra threads spin instead of helping: ``ebm-ref verify`` then spends about
    half again as much CPU time and is slower in wall time too (measured in
    notes/99-appendix-engineering.md).  OpenBLAS reads its thread count once, when NumPy loads it,
    and ``import ebm_ref`` has already loaded NumPy, so the setting needs a fresh interpreter:
    the same interpreter runs this package's ``main`` again (the package imported from the
    directory this one was imported from, whatever the working directory holds) with
    ``OPENBLAS_NUM_THREADS=1`` (and ``MKL_NUM_THREADS=1``), the same arguments and standard
    streams; its exit status is the command's.  Nothing happens when any of
    :data:`BLAS_THREAD_VARS` is set (the user's choice wins) or outside POSIX (where ``exec``
    starts a new process instead of replacing this one), or when the interpreter cannot name its
    own executable (``sys.executable`` empty, as in some embedded interpreters).
    """
    if os.name != "posix" or not sys.executable or any(v in os.environ for v in BLAS_THREAD_VARS):
        return
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    flags = [f"-W{w}" for w in sys.warnoptions]
    flags += [f"-X{k}" if v is True else f"-X{k}={v}" for k, v in sys._xoptions.items()]
    home = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))     # the directory holding ebm_ref/
    code = f"import sys; sys.path.insert(0, {home!r}); from ebm_ref.cli import main; sys.exit(main())"
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, *flags, "-c", code, *argv_tail], env)


def main(argv=None) -> int:
    """Run a command; ``argv`` None means the process is the command (``ebm-ref``, ``python -m ebm_ref``).

    Only then, and only when the user has not set the BLAS thread count, the command first
    re-runs itself with one BLAS thread (:func:`_rerun_with_one_blas_thread`); an in-process
    call ``main([...])`` never does.
    """
    args = build_parser().parse_args(argv)
    if argv is None:
        _rerun_with_one_blas_thread(sys.argv[1:])
    try:
        return args.func(args)
    except ValueError as exc:
        print(f"ebm-ref: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if argv is None:
            # the process ends next: move every object to the collector's permanent generation, so
            # that interpreter shutdown does not scan the ~1200 loaded modules' objects (~0.3 s);
            # atexit handlers and stream flushing still run.  Never for an in-process call (tests).
            gc.disable()
            gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
