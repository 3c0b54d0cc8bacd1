"""Benchmark of block Gibbs on a binary RBM against its floor, timed in one process.

A sweep v → h → v' on an RBM with 784 visible and 500 hidden units and a batch of 100
chains costs at least two matrix products (v W and h Wᵀ), the uniforms for both
layers and one exponential per unit.  The *floor* times exactly those operations on
the same shapes with preallocated buffers; the sweep adds the bias additions, one add
and one reciprocal per unit (σ(a) = 1/(1 + e^{−a})) and the Bernoulli comparisons.
Floor and sweep are timed alternately, best of several rounds, so that a noisy machine
affects both alike.
"""
from __future__ import annotations

import numpy as np

from . import Row, benchmark, interleaved


@benchmark("gibbs_rbm")
def gibbs_rbm(quick: bool = False) -> list[Row]:
    from ..models.boltzmann import BoltzmannMachine
    from ..models.rbm import BernoulliRBM
    from ..samplers import gibbs
    from ..samplers.gibbs_sampling import FastBlockGibbs
    nv, nh, n = (784, 500, 100) if not quick else (100, 50, 20)
    sweeps = 10 if not quick else 3
    rounds, repeat = (8, 2) if not quick else (1, 1)
    rng = np.random.default_rng(0)
    W = 0.05 * rng.standard_normal((nv, nh))
    b = 0.1 * rng.standard_normal(nv)
    c = 0.1 * rng.standard_normal(nh)
    model = BernoulliRBM(W, b, c)
    v0 = (rng.random((n, nv)) < 0.5).astype(np.float64)

    v = v0.copy()
    fast = FastBlockGibbs(model, n)                           # arrays and workspace, once per sampler call

    def run_sweep():                                          # one sweep, as every sampler runs it
        fast.sweep(rng, v)

    def run_public():                                         # one step through the public API
        gibbs(model, v0, 1, rng)

    def run_reference():
        gibbs(model, v0, 1, rng, backend="numpy")

    h = (rng.random((n, nh)) < 0.5).astype(np.float64)
    a, uh, lv, uv = np.empty((n, nh)), np.empty((n, nh)), np.empty((n, nv)), np.empty((n, nv))
    WT = np.ascontiguousarray(W.T)

    def run_floor():                                          # the same shapes, nothing but the floor
        np.matmul(v0, W, out=a)
        rng.random(out=uh)
        np.exp(a, out=a)
        np.matmul(h, WT, out=lv)
        rng.random(out=uv)
        np.exp(lv, out=lv)

    for f in (run_sweep, run_public, run_reference, run_floor):
        f()                                                   # warm up (BLAS threads, caches)
    # single sweeps, alternately, many times: the minimum is the least disturbed by other processes
    t_sweep, t_floor, t_public, t_ref = interleaved([run_sweep, run_floor, run_public, run_reference],
                                                     5 * rounds, 3)
    rows = [
        Row(f"binary RBM block-Gibbs sweep / floor ({nv}x{nh}, batch {n})", t_sweep / t_floor, "<= 1.3",
            f"sweep {t_sweep * 1e3:.3f} ms, floor {t_floor * 1e3:.3f} ms (2 matmuls + uniforms + exp)",
            met=t_sweep / t_floor <= 1.3),
        Row("samplers.gibbs, one step through the public API / floor", t_public / t_floor, "(informative)",
            f"{t_public * 1e3:.3f} ms: the sweep plus input validation, the start copy and Chains"),
        Row("samplers.gibbs backend='numpy' (reference) / fast sweep", t_ref / t_sweep, "(informative)",
            f"reference {t_ref * 1e3:.3f} ms per step (model conditionals, fresh arrays each step)"),
    ]

    try:  # optional peer, never a dependency
        from sklearn.neural_network import BernoulliRBM as SkRBM
    except ImportError:
        rows.append(Row("scikit-learn BernoulliRBM.gibbs / ours", float("nan"), "(optional peer)",
                        "scikit-learn is not importable here; ratio not measured"))
    else:
        sk = SkRBM(n_components=nh, random_state=0)
        sk.components_ = W.T.copy()
        sk.intercept_hidden_ = c.copy()
        sk.intercept_visible_ = b.copy()
        sk.random_state_ = np.random.RandomState(0)
        vs = v0.copy()

        def run_sk():
            x = vs
            for _ in range(sweeps):
                x = sk.gibbs(x)

        run_sk()
        t_sk = interleaved([run_sk], rounds, repeat)[0] / sweeps
        rows.append(Row("scikit-learn BernoulliRBM.gibbs / ours (per sweep)", t_sk / t_sweep, "(optional peer)",
                        f"sklearn {t_sk * 1e3:.3f} ms, ours {t_sweep * 1e3:.3f} ms"))

    # single-site Gibbs on a Boltzmann machine: numba kernel vs the NumPy energy-difference path
    d, m = (20, 1000) if not quick else (8, 50)
    A = rng.normal(0, 0.2, (d, d))
    J = A + A.T
    np.fill_diagonal(J, 0.0)
    bm = BoltzmannMachine(J, rng.normal(0, 0.3, d))
    x0 = (rng.random((m, d)) < 0.5).astype(np.float64)
    steps = 5 if not quick else 2
    gibbs(bm, x0, 1, 0)                                       # compile / load the cache
    t_jit, t_np = interleaved([lambda: gibbs(bm, x0, steps, 0),
                                lambda: gibbs(bm, x0, steps, 0, backend="numpy")], max(1, rounds // 2), 1)
    rows.append(Row(f"Boltzmann machine site Gibbs: NumPy path / jitted (d={d}, {m} chains)", t_np / t_jit,
                    "(informative)", f"jitted {t_jit / steps * 1e3:.3f} ms per sweep, NumPy {t_np / steps * 1e3:.3f} ms"))
    return rows
