"""Benchmark of one PCD-1 training update of a binary RBM against its floor, timed in one process.

One update of ``train.fit`` with ``contrastive_divergence.pcd_objective(1, ...)`` (loss not
computed) and ``train.SGD`` with momentum, on random binary data: the in-place run that
``fit`` takes for this objective and optimizer (what ``train_rbm_cd`` and every
``fit(rbm, data, pcd_objective(...), SGD(...))`` get).  The estimator needs, per update,
with a batch x of n images and m persistent chains v:

* products: :math:`xW` (positive phase), :math:`vW` and :math:`hW^\\top` (the sweep),
  :math:`v_1W` (negative phase), :math:`x^\\top\\sigma(a_x)` and :math:`v_1^\\top\\sigma(a_{v_1})`
  (the two gradient outer products) — six;
* uniforms for h (m × H) and for v (m × V);
* one exponential per field entry (four fields: n × H, m × H, m × V, m × H).

The *floor* times exactly those operations with preallocated buffers; the update adds
the reciprocals, comparisons, the mini-batch draw, the optimizer's passes over the
parameters and the finiteness check.  Update and floor are timed alternately, best of
several rounds, so that a busy machine affects both alike.  Two informative rows time
the same update through the generic loop (the objective called step by step, a new
model per step) and through the reference path (``pcd_step``).

Time with one BLAS thread (``OPENBLAS_NUM_THREADS=1``, or ``OMP_NUM_THREADS=1``, set
before Python starts): on 2 cores a second busy process makes a 2-thread BLAS product
about 10× slower, which hides everything else.  The thread setting in force is printed
in each row.  scikit-learn's ``BernoulliRBM`` is an optional peer row, measured only when
it is importable — never a dependency.  It is PCD-1 with plain SGD (step size lr, no
momentum), one update per mini-batch of n, n persistent chains; the row runs ours the
same way (``SGD(lr)``, momentum 0, n chains) and compares whole runs of the same number
of updates, divided by that number.  Two differences stay and are named in the row:
scikit-learn takes consecutive mini-batches where ours draws each without replacement,
and it keeps the chains' *hidden* states (sampled from the negative phase, before the
update) so that its update needs five products, where ours keeps the visible states and
forms their field at the updated parameters (six products).
"""
from __future__ import annotations

import os

import numpy as np

from . import Row, benchmark, best_time, interleaved

#: (n_visible, n_hidden, batch) of the two rows: MNIST-sized, and digits-sized.
SIZES = ((784, 500, 100), (64, 16, 20))
QUICK_SIZES = ((50, 20, 10), (16, 4, 5))


def _threads() -> str:
    return os.environ.get("OPENBLAS_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "default (unset)"))


def _floor(W, x, v, rng):
    """The arithmetic of one PCD-1 update, nothing else: six products, the uniforms, four exponentials."""
    n, V = x.shape
    m, H = v.shape[0], W.shape[1]
    ax, av, ak, h, uh = (np.empty(s) for s in ((n, H), (m, H), (m, H), (m, H), (m, H)))
    bv, uv, gW1, gW2 = np.empty((m, V)), np.empty((m, V)), np.empty((V, H)), np.empty((V, H))
    h[:] = rng.random((m, H)) < 0.5

    def run():
        np.matmul(x, W, out=ax)
        np.exp(ax, out=ax)
        np.matmul(v, W, out=av)
        np.exp(av, out=av)
        rng.random(out=uh)
        np.matmul(h, W.T, out=bv)
        np.exp(bv, out=bv)
        rng.random(out=uv)
        np.matmul(v, W, out=ak)
        np.exp(ak, out=ak)
        np.matmul(x.T, ax, out=gW1)
        np.matmul(v.T, ak, out=gW2)

    return run


def _one_size(V, H, n, n_updates, rounds, repeat, peer=True):
    from ..models.rbm import BernoulliRBM
    from ..objectives import contrastive_divergence as cd
    from ..train import SGD, fit

    rng = np.random.default_rng(0)
    n_peer = 2 * n_updates + 10                               # longer runs: each side's setup weighs less
    data = (rng.random((n * n_peer, V)) < 0.5).astype(np.float64)   # one epoch of scikit-learn's batches
    rbm0 = BernoulliRBM(0.01 * rng.standard_normal((V, H)), np.zeros(V), np.zeros(H))
    lr = 0.05

    def updates(path="fast", momentum=0.5, generic=False, n_steps=n_updates):
        def run():
            obj = cd.pcd_objective(1, n, rng, data, path=path, with_loss=path == "reference")
            if generic:                                       # the same objective, called step by step
                obj = (lambda o: lambda m, x, r: o(m, x, r))(obj)
            _, hist = fit(rbm0, data, obj, SGD(lr, momentum=momentum), n_steps, rng, batch_size=n,
                          log=lambda s: None)
            assert hist.extra["in_place"] == (path == "fast" and not generic)
        return run

    n_ref = max(2, n_updates // 4)
    fast, generic, ref = updates(), updates(generic=True), updates("reference", n_steps=n_ref)
    floor_once = _floor(rbm0.params["W"], data[:n], data[n:2 * n], rng)

    def floor():
        for _ in range(n_updates):
            floor_once()

    for f in (fast, floor, generic, ref):
        f()                                                   # warm up
    t_fast, t_floor, t_generic = (t / n_updates for t in interleaved([fast, floor, generic], rounds, repeat))
    t_ref = best_time(ref, repeat=max(1, repeat // 2)) / n_ref
    big = V >= 784
    rows = [
        Row(f"PCD-1 update / floor ({V}x{H}, batch {n})", t_fast / t_floor, "<= 1.3" if big else "(informative)",
            f"update {t_fast * 1e3:.4f} ms (fit's in-place run, SGD momentum 0.5), floor {t_floor * 1e3:.4f} ms "
            f"(6 products + uniforms + 4 exp); BLAS threads {_threads()}",
            met=(t_fast / t_floor <= 1.3) if big else None),
        Row(f"PCD-1 update, generic fit loop / in-place run ({V}x{H}, batch {n})", t_generic / t_fast,
            "(informative)", f"generic {t_generic * 1e3:.4f} ms per update (the fast objective called step by "
            f"step, a new model per step)"),
        Row(f"PCD-1 update, reference path / in-place run ({V}x{H}, batch {n})", t_ref / t_fast, "(informative)",
            f"reference {t_ref * 1e3:.4f} ms per update (pcd_step: the field formed about 8 times, the loss twice)"),
    ]
    name = f"ours / scikit-learn BernoulliRBM per PCD-1 update ({V}x{H}, batch {n})"
    try:  # optional peer, never a dependency; not in quick mode (the test suite's smoke run)
        if not peer:
            raise ImportError
        from sklearn.neural_network import BernoulliRBM as SkRBM
    except ImportError:
        why = "scikit-learn is not importable here" if peer else "quick mode"
        rows.append(Row(name, float("nan"), "(optional peer) <= 1.0", f"{why}; ratio not measured"))
        return rows

    def run_sk():                                             # one epoch: n_peer mini-batches, in order
        SkRBM(n_components=H, learning_rate=lr, batch_size=n, n_iter=1, random_state=0).fit(data)

    ours = updates(momentum=0.0, n_steps=n_peer)
    for f in (ours, run_sk):
        f()
    t_ours, t_sk = (t / n_peer for t in interleaved([ours, run_sk], rounds, repeat))
    rows.append(Row(name, t_ours / t_sk, "<= 1.0",
                    f"ours {t_ours * 1e3:.4f} ms, scikit-learn {t_sk * 1e3:.4f} ms: both PCD-1 with an SGD step "
                    f"lr={lr}, no momentum, {n} chains, a whole run of {n_peer} updates (setup included) / {n_peer}; "
                    f"ours draws each batch at random and keeps visible chains (6 products), scikit-learn slices "
                    f"batches in order and keeps hidden chains (5 products); BLAS threads {_threads()}",
                    met=t_ours / t_sk <= 1.0))
    return rows


@benchmark("pcd_update")
def pcd_update(quick: bool = False) -> list[Row]:
    """PCD-1 training updates against their floor at 784×500 (batch 100) and 64×16 (batch 20)."""
    rows = []
    for V, H, n in (QUICK_SIZES if quick else SIZES):
        n_updates = 3 if quick else (20 if V >= 784 else 200)
        rounds, repeat = (1, 1) if quick else (5, 3)
        rows += _one_size(V, H, n, n_updates, rounds, repeat, peer=not quick)
    return rows
