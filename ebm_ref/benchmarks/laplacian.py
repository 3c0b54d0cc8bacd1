r"""Cost of the forward Laplacian of an MLP energy.

For an MLP with two hidden layers of width h = 128 at input dimension d, a batch of n
points, three timings in one run:

* ``laplacian_x`` — the forward Laplacian (value, gradient and Laplacian of every unit
  pushed forward; the d×h gradient of a unit is the dominant cost, ~n·d·h² flops);
* one ``energy`` + ``grad_x`` evaluation (~n·h² flops): ratio (a) grows about like d —
  the cost that sliced score matching avoids by using a few random directions;
* ``trace(hessian_x)`` — the exact Hessian formed as :math:`\sum_l J_a^\top\operatorname{diag}(c)J_a`
  and then traced (~n·d·h² + 2·n·d²·h flops): ratio (b), the speed-up of never forming it.
"""
from __future__ import annotations

import os

import numpy as np

from ..models.mlp import MLPEnergy
from . import Row, benchmark, best_time


@benchmark("forward_laplacian")
def forward_laplacian(quick: bool = False) -> list:
    dims = (8, 32, 64)
    n = 32 if quick else 256
    repeat = 2 if quick else 15
    rng = np.random.default_rng(0)
    threads = os.environ.get("OPENBLAS_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "default"))
    rows = []
    for d in dims:
        model = MLPEnergy.init([d, 128, 128], rng, activation="tanh")
        x = rng.standard_normal((n, d))
        # the three quantities agree before they are timed
        lap = model.laplacian_x(x)
        tr = np.trace(model.hessian_x(x), axis1=1, axis2=2)
        if not np.allclose(lap, tr, rtol=1e-10, atol=1e-12):
            raise AssertionError("forward Laplacian differs from the Hessian trace")
        t_lap = best_time(lambda: model.laplacian_x(x), repeat=repeat)
        t_eg = best_time(lambda: (model.energy(x), model.grad_x(x)), repeat=repeat)
        t_hess = best_time(lambda: np.trace(model.hessian_x(x), axis1=1, axis2=2), repeat=repeat)
        detail = (f"n={n}, widths 128-128, laplacian {t_lap * 1e3:.2f} ms, energy+grad {t_eg * 1e3:.2f} ms, "
                  f"tr hessian {t_hess * 1e3:.2f} ms, BLAS threads {threads}")
        rows.append(Row(f"(a) laplacian_x / (energy + grad_x), d={d}", t_lap / t_eg,
                        "reported: grows about like d", detail))
        rows.append(Row(f"(b) tr hessian_x / laplacian_x, d={d}", t_hess / t_lap,
                        ">= 2 at d=64" if d == 64 else "reported",
                        "", (t_hess / t_lap >= 2.0) if d == 64 else None))
    return rows
