"""AIS on a binary RBM: time per temperature step against its floor.

Floor = the work no implementation of one Gibbs-annealing step can avoid, timed in the
same process on the same arrays: the two matrix products (Wᵀv for the hidden units, W h
for the visible ones), drawing the uniforms of both layers and one exponential array per
layer, all with ``out=`` buffers.  The step itself (``ebm_ref.partition.paths.RBMPath``)
adds the weight update (two more exponential arrays on the hidden layer, a product and a
log) and the Bernoulli comparisons.
"""
from __future__ import annotations

import numpy as np

from . import Row, benchmark, interleaved


@benchmark("ais_rbm")
def ais_rbm(quick: bool = False) -> list[Row]:
    from ..models.rbm import BernoulliRBM
    from ..partition.paths import RBMPath

    d, H, n = (784, 500, 100) if not quick else (100, 50, 20)
    steps = 200 if not quick else 20
    rng = np.random.default_rng(0)
    W = 0.05 * rng.standard_normal((d, H))
    b = 0.1 * rng.standard_normal(d)
    c = 0.1 * rng.standard_normal(H)
    path = RBMPath(BernoulliRBM(W, b, c), np.zeros(d))
    path.start((rng.random((n, d)) < 0.5).astype(np.float64))
    betas = np.linspace(0.5, 0.6, steps + 1)

    def run_steps():
        for k in range(1, steps + 1):
            path.log_ratio(betas[k], betas[k - 1])
            path.move(betas[k], rng)

    v = (rng.random((n, d)) < 0.5).astype(np.float64)
    h = (rng.random((n, H)) < 0.5).astype(np.float64)
    a, uh, lv, uv = np.empty((n, H)), np.empty((n, H)), np.empty((n, d)), np.empty((n, d))
    WT = np.ascontiguousarray(W.T)

    def run_floor():
        for _ in range(steps):
            np.matmul(v, W, out=a)
            np.exp(a, out=a)
            rng.random(out=uh)
            np.matmul(h, WT, out=lv)
            np.exp(lv, out=lv)
            rng.random(out=uv)

    repeat = 9 if not quick else 2
    run_steps()
    run_floor()
    # interleaved, best of `repeat` each: a burst of load from other processes hits both alike
    t_step, t_floor = (t / steps for t in interleaved([run_steps, run_floor], repeat, 1))
    ratio = t_step / t_floor
    return [Row(
        f"RBM AIS step / floor ({d}x{H}, {n} chains)", ratio, "<= 1.3",
        f"step {t_step * 1e3:.3f} ms, floor {t_floor * 1e3:.3f} ms "
        f"(2 matmuls + uniforms + exp); S&M schedule ≈ {14500 * t_step:.1f} s",
        met=ratio <= 1.3,
    )]
