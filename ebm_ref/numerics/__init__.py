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
from .enumeration import *  # noqa: F401,F403  (each module's __all__ is its public face)
from .quadrature import *  # noqa: F401,F403
from .special import *  # noqa: F401,F403

__all__ = ["special", "enumeration", "quadrature", *special.__all__, *enumeration.__all__, *quadrature.__all__]
