"""Numerical building blocks, each written once and used by every layer above.

* :mod:`~ebm_ref.numerics.special` — stable, complex-step-safe special functions
  (``sigmoid``, ``softplus``, ``logsumexp``, ``log_mean_exp``);
* :mod:`~ebm_ref.numerics.enumeration` — the states of {0,1}^d or {−1,+1}^d, their
  indices, and log Z and expectations by exhaustive summation;
* :mod:`~ebm_ref.numerics.quadrature` — quadrature rules (Gauss–Legendre, Gauss–Hermite,
  composite Simpson, tanh–sinh) and adaptive integration with an error estimate.

Nothing here knows of models, samplers or estimators.
"""
from . import enumeration, quadrature, special
from .enumeration import (
    MAX_ENUMERATE_DIM,
    SPIN_VALUES,
    enumerate_states,
    expectation_by_enumeration,
    log_partition_enumerate,
    state_index,
)
from .quadrature import (
    TANH_SINH_TOL,
    adaptive_dblquad,
    adaptive_quad,
    adaptive_quad_vec,
    composite_simpson,
    gauss_hermite,
    gauss_legendre,
    gauss_legendre_grid,
    grid_log_integral,
    tanh_sinh,
    tanh_sinh_refine,
)
from .special import log_mean_exp, logsumexp, sigmoid, softplus

__all__ = [
    "special",
    "enumeration",
    "quadrature",
    "sigmoid",
    "softplus",
    "logsumexp",
    "log_mean_exp",
    "MAX_ENUMERATE_DIM",
    "SPIN_VALUES",
    "enumerate_states",
    "state_index",
    "log_partition_enumerate",
    "expectation_by_enumeration",
    "gauss_legendre",
    "gauss_legendre_grid",
    "grid_log_integral",
    "gauss_hermite",
    "composite_simpson",
    "tanh_sinh",
    "tanh_sinh_refine",
    "TANH_SINH_TOL",
    "adaptive_quad",
    "adaptive_quad_vec",
    "adaptive_dblquad",
]
