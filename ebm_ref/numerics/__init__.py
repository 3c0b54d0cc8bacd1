"""Numerical building blocks, each written once and used by every layer above.

* :mod:`~ebm_ref.numerics.special` — stable, complex-step-safe special functions
  (``sigmoid``, ``softplus``, ``softplus_and_sigmoid``, ``logsumexp``, ``log_mean_exp``);
* :mod:`~ebm_ref.numerics.enumeration` — the states of {0,1}^d or {−1,+1}^d, their
  indices, and log Z and expectations by exhaustive summation;
* :mod:`~ebm_ref.numerics.quadrature` — quadrature rules (Gauss–Legendre, Gauss–Hermite,
  composite Simpson, tanh–sinh) and adaptive integration with an error estimate;
* :mod:`~ebm_ref.numerics.optimize` — L-BFGS (:func:`~ebm_ref.numerics.optimize.minimize_lbfgs`) with a
  line search that tolerates f's rounding and points outside f's domain;
* :mod:`~ebm_ref.numerics.opcount` — exact multiply–add counts of array code, so that a
  cost claim (the Hessian trace grows like d²) is checked by counting, not by timing.

Nothing here knows of models, samplers or estimators.
"""
from . import enumeration, opcount, optimize, quadrature, special
from .enumeration import *  # noqa: F401,F403  (each module's __all__ is its public face)
from .opcount import *  # noqa: F401,F403
from .optimize import *  # noqa: F401,F403
from .quadrature import *  # noqa: F401,F403
from .special import *  # noqa: F401,F403

__all__ = ["special", "enumeration", "quadrature", "opcount", "optimize", *special.__all__, *enumeration.__all__,
           *quadrature.__all__, *opcount.__all__, *optimize.__all__]
