"""Benchmark of one PCD-1 training update of a binary RBM against its floor, timed in one process.

One update of ``train.fit`` with ``contrastive_divergence.pcd_objective(1, ...)`` (the fast
path, loss not computed) and ``train.SGD`` with momentum, on random binary data.  The
estimator needs, per update, with a batch x of n images and m persistent chains v:

* products: :math:`xW` (positive phase), :math:`vW` and :math:`hW^\\top` (the sweep),
  :math:`v_1W` (negative phase), :math:`x^\\top\\sigma(a_x)` and :math:`v_1^\\top\\sigma(a_{v_1})`
  (the two gradient outer products) — six;
* uniforms for h (m × H) and for v (m × V);
* one exponential per field entry (four fields: n × H, m × H, m × V, m × H).

The *floor* times exactly those operations with preallocated buffers; the update adds
the bias additions, reciprocals, comparisons, the mini-batch draw, the optimizer's
passes over the parameters and the construction of the new model.  Update and floor are
timed alternately, best of several rounds, so that a busy machine affects both alike.

Time with one BLAS thread (``OPENBLAS_NUM_THREADS=1``, or ``OMP_NUM_THREADS=1``, set
before Python starts): on 2 cores a second busy process makes a 2-thread BLAS product
about 10× slower, which hides everything else.  The thread setting in force is printed
in each row.  scikit-learn's ``BernoulliRBM`` (PCD-1 with SGD, the same sizes) is an
optional peer row, measured only when it is importable — never a dependency.
"""
from __future__ import annotations

import os

import numpy as np

from . import Row, benchmark, best_time
from .gibbs import _interleaved  # best of alternate rounds: written once, beside the Gibbs bench

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


def _one_size(V, H, n, n_updates, rounds, repeat):
    from ..models.rbm import BernoulliRBM
    from ..objectives import contrastive_divergence as cd
    from ..train import SGD, fit

    rng = np.random.default_rng(0)
    data = (rng.random((max(n * n_updates, 2 * n), V)) < 0.5).astype(np.float64)   # one epoch of batches
    rbm0 = BernoulliRBM(0.01 * rng.standard_normal((V, H)), np.zeros(V), np.zeros(H))
    lr = 0.05

    def updates(path):
        def run():
            obj = cd.pcd_objective(1, n, rng, data, path=path, with_loss=path == "reference")
            fit(rbm0, data, obj, SGD(lr, momentum=0.5), n_updates, rng, batch_size=n, log=lambda s: None)
        return run

    fast, ref = updates("fast"), updates("reference")
    floor = _floor(rbm0.params["W"], data[:n], data[n:2 * n], rng)
    for f in (fast, ref, floor):
        f()                                                   # warm up
    t_fast, t_floor = _interleaved([fast, floor], rounds, repeat)
    t_fast /= n_updates
    t_ref = best_time(ref, repeat=max(1, repeat // 2)) / n_updates
    rows = [
        Row(f"PCD-1 update / floor ({V}x{H}, batch {n})", t_fast / t_floor, "<= 1.3" if V >= 784 else "(informative)",
            f"update {t_fast * 1e3:.4f} ms, floor {t_floor * 1e3:.4f} ms (6 products + uniforms + 4 exp); "
            f"BLAS threads {_threads()}", met=(t_fast / t_floor <= 1.3) if V >= 784 else None),
        Row(f"PCD-1 update, reference path / fast path ({V}x{H}, batch {n})", t_ref / t_fast, "(informative)",
            f"reference {t_ref * 1e3:.4f} ms per update (pcd_step: the field formed about 8 times, the loss twice)"),
    ]
    try:  # optional peer, never a dependency
        from sklearn.neural_network import BernoulliRBM as SkRBM
    except ImportError:
        rows.append(Row(f"ours / scikit-learn BernoulliRBM per PCD-1 update ({V}x{H}, batch {n})", float("nan"),
                        "(optional peer) <= 1.0", "scikit-learn is not importable here; ratio not measured"))
        return rows
    X = data                                                  # one scikit-learn epoch: the same mini-batches

    def run_sk():
        SkRBM(n_components=H, learning_rate=lr, batch_size=n, n_iter=1, random_state=0).fit(X)

    run_sk()
    t_sk = best_time(run_sk, repeat=max(repeat, 3)) / (X.shape[0] // n)
    rows.append(Row(f"ours / scikit-learn BernoulliRBM per PCD-1 update ({V}x{H}, batch {n})", t_fast / t_sk,
                    "<= 1.0", f"ours {t_fast * 1e3:.4f} ms, scikit-learn {t_sk * 1e3:.4f} ms; BLAS threads {_threads()}",
                    met=t_fast / t_sk <= 1.0))
    return rows


@benchmark("pcd_update")
def pcd_update(quick: bool = False) -> list[Row]:
    """PCD-1 training updates against their floor at 784×500 (batch 100) and 64×16 (batch 20)."""
    rows = []
    for V, H, n in (QUICK_SIZES if quick else SIZES):
        n_updates = 3 if quick else (20 if V >= 784 else 200)
        rounds, repeat = (1, 1) if quick else (5, 3)
        rows += _one_size(V, H, n, n_updates, rounds, repeat)
    return rows
