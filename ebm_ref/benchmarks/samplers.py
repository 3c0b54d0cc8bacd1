"""Benchmark of the continuous samplers (``ebm-ref bench --only samplers_continuous``).

Every ratio is measured in one run of this process (best of several repeats):

* RWMH step on a diagonal Gaussian vs its random-number floor (interleaved rounds,
  :func:`interleaved_best`) — a jitted loop of the same shape (``prange`` over the same
  chunks, the same per-chunk Generators) that only draws the d normals and the one
  uniform per chain and step;
* MALA step vs RWMH step at the same d;
* 1,000 chains, d = 2: the jitted kernel vs the NumPy fallback of the same algorithm
  (``backend="numpy"``), on one thread and on all threads, and 2 threads vs 1 (timed in
  alternate rounds, :func:`_thread_pair_best`);
* the first sampler call in a fresh process with a warm cache, in a subprocess, next to
  the first call of a trivial cached ``njit`` function (numba's own start-up floor),
  and the cache hit/miss counts of the kernel;
* optional peer: BlackJAX's random-walk MH (``additive_step_random_walk`` with a normal
  step, jit-compiled, vmapped over chains, ``lax.scan`` over steps, float64) on the same
  diagonal Gaussian, chains, steps and step size, in a subprocess that sets ``XLA_FLAGS``
  (XLA on one thread) before JAX is imported and times ``metropolis`` beside it (one numba
  thread); compile time excluded and reported.  Not run with ``--quick``.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time

import numba
import numpy as np
from numba import njit, prange

from ..samplers._common import chunk_bounds, chunk_buffers, draw_chunk, spawn_generators
from . import Row, benchmark, best_time, interleaved

__all__ = ["bench_samplers_continuous"]


@njit(cache=True, parallel=True)
def _rng_floor_kernel(gens, bounds, d, n_steps, out):
    """Draw what RWMH draws (per chunk and step: m·d normals, then m uniforms), nothing else.

    The same chunk loop, Generators and draw order (``_common.draw_chunk``) as the kernels.
    """
    for k in prange(len(bounds) - 1):
        lo, m, z, u = chunk_buffers(bounds, np.int64(k), d)   # int64 index: see _common
        if m == 0:
            continue
        acc = 0.0
        for t in range(n_steps):
            draw_chunk(gens[k], z, u, True)
            acc += z[0, 0] + u[0]
        out[k] = acc


@njit(cache=True, parallel=True)
def _scaling_control(n):
    """Embarrassingly parallel arithmetic over the same 8 chunks: the machine's own thread scaling."""
    out = np.zeros(8)
    for k in prange(8):
        s = 0.0
        for i in range(n):
            s += np.sin(i * 1e-3 + k)
        out[k] = s
    return out


@njit(cache=True)
def _floor_noop(x):
    """A trivial cached function: its first call in a fresh process is numba's start-up floor."""
    return x + 1.0


_FRESH = r"""
import json, time
import numpy as np
t0 = time.perf_counter()
import ebm_ref
from ebm_ref import samplers
from ebm_ref.models.gaussian import Gaussian
t_import = time.perf_counter() - t0
mode = MODE
t1 = time.perf_counter()
if mode == "noop":
    from ebm_ref.benchmarks.samplers import _floor_noop
    _floor_noop(1.0)
else:
    g = Gaussian(np.zeros(2), np.eye(2))
    samplers.metropolis(g, np.zeros((10, 2)), 10, 0, step_size=0.5)
t_first = time.perf_counter() - t1
out = {"import": t_import, "first": t_first}
if mode != "noop":
    from ebm_ref.samplers import metropolis_hastings
    st = metropolis_hastings._rwmh_chunk.stats      # a small run: the serial chunk function
    out["hits"] = sum(st.cache_hits.values()); out["misses"] = sum(st.cache_misses.values())
print(json.dumps(out))
"""


def _fresh(mode: str) -> dict:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    r = subprocess.run([sys.executable, "-c", _FRESH.replace("MODE", repr(mode))], env=env,
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


#: XLA on one thread; must be in the environment before JAX is imported (hence the subprocess)
XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

_BLACKJAX = r"""
import json, time
import numpy as np
import numba
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import blackjax
from ebm_ref import samplers
from ebm_ref.models.gaussian import Gaussian
from ebm_ref.benchmarks.samplers import interleaved_best
numba.set_num_threads(1)
res = {}
for d, n_chains, n_steps in CASES:
    g = Gaussian(np.zeros(d), np.diag(np.linspace(0.5, 2.0, d)))
    x0 = g.sample(n_chains, 0)
    p = jnp.asarray(np.linspace(0.5, 2.0, d))              # the diagonal precision
    rw = blackjax.additive_step_random_walk(lambda x: -0.5 * jnp.sum(p * x ** 2),
                                            blackjax.mcmc.random_walk.normal(STEP * jnp.ones(d)))

    def run(key, x):
        def body(carry, k):
            states, n_acc = carry
            states, info = jax.vmap(rw.step)(jax.random.split(k, n_chains), states)
            return (states, n_acc + info.is_accepted), None
        init = (jax.vmap(rw.init)(x), jnp.zeros(n_chains, jnp.int64))
        (states, n_acc), _ = jax.lax.scan(body, init, jax.random.split(key, n_steps))
        return states.position, n_acc

    xj = jnp.asarray(x0)
    t0 = time.perf_counter()
    compiled = jax.jit(run).lower(jax.random.key(0), xj).compile()
    t_compile = time.perf_counter() - t0

    def peer():
        jax.block_until_ready(compiled(jax.random.key(1), xj))

    def ours():
        return samplers.metropolis(g, x0, n_steps, 1, step_size=STEP, thin=n_steps)

    peer(), ours()
    t_ours, t_peer = interleaved_best((ours, peer), 3, REPEAT)
    per = 1e9 / (n_chains * n_steps)
    res[d] = dict(ours=t_ours * per, peer=t_peer * per, compile=t_compile,
                  acc_peer=float(np.mean(np.asarray(compiled(jax.random.key(1), xj)[1]))) / n_steps,
                  acc_ours=float(ours().accept_rate.mean()), n_chains=n_chains, n_steps=n_steps,
                  versions=f"jax {jax.__version__}, blackjax {blackjax.__version__}")
print(json.dumps(res))
"""


def _blackjax_peer(cases, step: float, repeat: int) -> dict:
    """Run :data:`_BLACKJAX` in a subprocess with XLA on one thread; per chain-step ns of both."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, XLA_FLAGS=XLA_ONE_THREAD, OPENBLAS_NUM_THREADS="1")
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    code = _BLACKJAX.replace("CASES", repr(cases)).replace("STEP", repr(step)).replace("REPEAT", repr(repeat))
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def cpu_best_time(fn, repeat: int = 5) -> float:
    """Best of ``repeat`` process-CPU-time measurements of one call, in seconds.

    Used for single-thread ratios: CPU time is not inflated when other processes compete
    for the cores, unlike wall time (the machine this runs on is often shared).
    """
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def interleaved_best(fns, repeat: int = 5, rounds: int = 3) -> list[float]:
    """Best process CPU time of each of ``fns``, over ``rounds`` interleaved rounds of :func:`cpu_best_time`.

    Interleaving spreads a change of the machine's load over all the functions compared, so
    their ratio is not skewed by a burst that hit only one of them.
    """
    return interleaved(fns, rounds, repeat, timer=cpu_best_time)


def _with_threads(n, fn):
    old = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        return fn()
    finally:
        numba.set_num_threads(old)


def _thread_pair_best(fn, n, rounds: int) -> tuple[float, float]:
    """Best wall time of one call of ``fn`` on 1 thread and on ``n`` threads, timed alternately.

    The two are timed in turn for ``rounds`` rounds, so that a busy moment of the machine
    affects both alike; a call of a few milliseconds needs many rounds for its best time to
    settle (thread wake-up is a visible share of it).
    """
    def on_threads(threads, repeat):
        return _with_threads(threads, lambda: best_time(fn, repeat))

    one, many = interleaved([1, n], rounds, 1, timer=on_threads)
    return one, many


@benchmark("samplers_continuous")
def bench_samplers_continuous(quick: bool = False) -> list[Row]:
    from .. import samplers
    from ..models.gaussian import Gaussian

    rows = []
    repeat = 2 if quick else 5
    n_threads = numba.config.NUMBA_NUM_THREADS

    # --- RWMH vs its random-number floor, and MALA vs RWMH, diagonal Gaussian
    for d, n_chains, n_steps, goal in ((2, 1000, 200, 2.5), (100, 100, 100, 1.5)):
        if quick:
            n_steps = 20
        g = Gaussian(np.zeros(d), np.diag(np.linspace(0.5, 2.0, d)))
        x0 = g.sample(n_chains, 0)
        bounds = chunk_bounds(n_chains)
        out = np.zeros(len(bounds) - 1)

        def floor():
            _rng_floor_kernel(spawn_generators(1), bounds, d, n_steps, out)

        def rwmh():
            samplers.metropolis(g, x0, n_steps, 1, step_size=0.5, thin=n_steps)

        def mala():
            samplers.mala(g, x0, n_steps, 1, step_size=0.1, thin=n_steps)

        floor(), rwmh(), mala()                          # compile / load from cache
        t_floor, t_rw, t_mala = _with_threads(1, lambda: interleaved_best((floor, rwmh, mala), repeat))
        per = 1e9 / (n_steps * n_chains)
        r = t_rw / t_floor
        rows.append(Row(f"RWMH step / RNG floor (d normals + 1 uniform), d={d}", r, f"<= {goal}",
                        f"{t_rw * per:.1f} vs {t_floor * per:.1f} ns per chain-step, {n_chains} chains, "
                        "1 thread, process CPU time", r <= goal))
        r = t_mala / t_rw
        rows.append(Row(f"MALA step / RWMH step, d={d}", r, "<= 1.5",
                        f"{t_mala * per:.1f} vs {t_rw * per:.1f} ns per chain-step", r <= 1.5))

    # --- 1,000 chains, d = 2: jitted vs NumPy fallback, threads
    g = Gaussian(np.zeros(2), np.array([[2.0, 0.5], [0.5, 1.0]]))
    x0 = g.sample(1000, 0)
    n_steps = 20 if quick else 200

    def jit_run():
        samplers.metropolis(g, x0, n_steps, 1, step_size=0.8, thin=n_steps)

    def np_run():
        samplers.metropolis(g, x0, n_steps, 1, step_size=0.8, thin=n_steps, backend="numpy")

    jit_run()
    t_np = cpu_best_time(np_run, max(2, repeat - 2))
    t1 = _with_threads(1, lambda: cpu_best_time(jit_run, repeat))
    t1_wall, tn = _thread_pair_best(jit_run, min(2, n_threads), 2 if quick else 40)
    t_np_wall = best_time(np_run, max(2, repeat - 2))
    rows.append(Row("RWMH 1000 chains d=2: NumPy path / jitted, 1 thread", t_np / t1, ">= 3",
                    f"NumPy {t_np / n_steps * 1e6:.1f} us/step, jitted {t1 / n_steps * 1e6:.1f} us/step "
                    "(process CPU time)", t_np / t1 >= 3))
    rows.append(Row(f"RWMH 1000 chains d=2: NumPy path / jitted, {min(2, n_threads)} threads", t_np_wall / tn,
                    ">= 6", f"wall time: NumPy {t_np_wall / n_steps * 1e6:.1f} us/step, "
                    f"jitted {tn / n_steps * 1e6:.1f} us/step", t_np_wall / tn >= 6))
    rows.append(Row("RWMH 1000 chains d=2: 1 thread / 2 threads (jitted)", t1_wall / tn, ">= 1.8",
                    f"wall time, best of 40 alternate rounds; {n_threads} numba threads available; "
                    f"os.getloadavg()={os.getloadavg()[0]:.1f}",
                    (t1_wall / tn >= 1.8) if n_threads >= 2 else None))
    # --- control: does this machine give the process a second core right now?
    _scaling_control(10)
    n_ctrl = 200_000 if quick else 2_000_000
    c1 = _with_threads(1, lambda: best_time(lambda: _scaling_control(n_ctrl), repeat))
    c2 = _with_threads(min(2, n_threads), lambda: best_time(lambda: _scaling_control(n_ctrl), repeat))
    rows.append(Row("control: trivially parallel prange loop, 1 thread / 2 threads", c1 / c2, "(context)",
                    "if this is ~1, the machine is saturated by other processes and no thread "
                    "scaling can be measured"))
    # --- large-batch parallel scaling (where the per-call overhead is amortized)
    xb = g.sample(20000, 0)

    def big():
        samplers.metropolis(g, xb, n_steps, 1, step_size=0.8, thin=n_steps)

    big()
    b1 = _with_threads(1, lambda: best_time(big, max(2, repeat - 2)))
    b2 = _with_threads(min(2, n_threads), lambda: best_time(big, max(2, repeat - 2)))
    rows.append(Row("RWMH 20000 chains d=2: 1 thread / 2 threads (jitted)", b1 / b2, "(context)",
                    f"{b1 / n_steps * 1e6:.0f} vs {b2 / n_steps * 1e6:.0f} us/step"))

    # --- first call in a fresh process with a warm cache
    _fresh("sampler")                                      # warm the cache (may compile)
    _fresh("noop")
    runs = [_fresh("sampler") for _ in range(1 if quick else 3)]
    noops = [_fresh("noop") for _ in range(1 if quick else 3)]
    first = min(r["first"] for r in runs)
    floor_first = min(r["first"] for r in noops)
    hits, misses = runs[-1]["hits"], runs[-1]["misses"]
    rows.append(Row("first metropolis call, fresh process, warm cache (seconds)", first, "<= 0.3 s",
                    f"cache hits {hits}, misses {misses}; numba start-up floor (first call of a trivial cached "
                    f"njit) {floor_first:.3f} s; sampler beyond the floor {first - floor_first:.3f} s",
                    first <= 0.3))
    rows.append(Row("  of which beyond numba's start-up floor (seconds)", first - floor_first, "(context)",
                    "loading our cached kernels and Generator set-up"))

    # --- optional peer: BlackJAX random-walk MH, same target, chains, steps and step size
    if importlib.util.find_spec("blackjax") is None:
        rows.append(Row("BlackJAX peer", float("nan"), "(optional)", "blackjax not importable: skipped"))
    elif quick:
        rows.append(Row("BlackJAX peer", float("nan"), "(optional)", "blackjax importable; measured only without --quick"))
    else:
        try:
            peer = _blackjax_peer([(2, 1000, 200), (100, 100, 100)], 0.5, repeat)
        except subprocess.CalledProcessError as err:
            tail = (err.stderr or "").strip().splitlines()[-1:] or ["no stderr"]
            rows.append(Row("BlackJAX peer", float("nan"), "(optional)", f"blackjax run failed: {tail[0]}"))
        else:
            for d, r in peer.items():
                rows.append(Row(f"RWMH per chain-step, ebm_ref / BlackJAX, d={d}", r["ours"] / r["peer"], "(peer)",
                                f"{r['ours']:.1f} vs {r['peer']:.1f} ns per chain-step, {r['n_chains']} chains x "
                                f"{r['n_steps']} steps, float64, process CPU time; BlackJAX jit + vmap + lax.scan, "
                                f"compile {r['compile']:.2f} s excluded; XLA_FLAGS={XLA_ONE_THREAD} set before "
                                f"jax is imported (subprocess), numba 1 thread; acceptance {r['acc_ours']:.3f} vs "
                                f"{r['acc_peer']:.3f}; {r['versions']}"))
    return rows
