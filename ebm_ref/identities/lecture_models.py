"""Lecture results on models and inference (notes/00-lecture-map.md rows 7, 15, 16, 17, 20, 23, 24, 78).

Exponential families are their textbook densities, predictions and denoising are
minimizations that never need Z, the RBM's energy is second order, stacking an RBM on
its own transpose leaves p(v) unchanged, i.i.d. likelihood is a sum, flows are normalized.
"""
from __future__ import annotations

import numpy as np

from ..models.flow import Flow
from ..objectives.mle import quadrature_grid
from .registry import identity


# ---------------------------------------- row 78: flows are normalized
@identity("lecture: a coupling flow's density log N(z) − log|det ∂T/∂z| integrates to 1",
          step="change of variables: ∫ q(x) dx = ∫ N(z) dz = 1 for any invertible T, with no Z to compute",
          case="RealNVP flow in 2-D (4 couplings, 8 hidden units), tensor Gauss–Legendre on [−9, 9]², 200² nodes",
          tol=1e-7, reason="the density is smooth with Gaussian tails (mass outside the box < 1e-12); 200 nodes "
                           "per axis resolve its features to ~1e-9")
def _(rng):
    flow = Flow.realnvp(2, 4, 8, rng, scale=0.3)
    pts, w = quadrature_grid([(-9.0, 9.0), (-9.0, 9.0)], 200)
    return float(np.sum(w * np.exp(flow.log_prob(pts)))), 1.0
