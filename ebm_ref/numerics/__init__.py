"""Numerical building blocks, each written once and used by every layer above.

* :mod:`~ebm_ref.numerics.special` — stable, complex-step-safe special functions
  (``sigmoid``, ``softplus``, ``logsumexp``, ``log_mean_exp``);
* :mod:`~ebm_ref.numerics.enumeration` — the states of {0,1}^d or {−1,+1}^d, their
  indices, and log Z and expectations by exhaustive summation.

Nothing here knows of models, samplers or estimators.
"""
from . import enumeration, special
from .enumeration import (
    MAX_ENUMERATE_DIM,
    SPIN_VALUES,
    enumerate_states,
    expectation_by_enumeration,
    log_partition_enumerate,
    state_index,
)
from .special import log_mean_exp, logsumexp, sigmoid, softplus

__all__ = [
    "special",
    "enumeration",
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
]
