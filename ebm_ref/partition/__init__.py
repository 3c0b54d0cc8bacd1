r"""The partition function :math:`Z = \int e^{-E(x)}\,dx`: exact routes and estimators.

This package sits *above* :mod:`ebm_ref.models` (it recognises an RBM by its type);
models never import it.  One module per idea:

* :mod:`~ebm_ref.partition.exact` — closed form, adaptive quadrature in 1-D/2-D, and
  enumeration of :math:`\{0,1\}^d` (from :mod:`ebm_ref.numerics.enumeration`);
* :mod:`~ebm_ref.partition.estimators` — importance sampling, AIS, reverse AIS, the
  bidirectional sandwich, log-likelihood with an estimated log Z;
* :mod:`~ebm_ref.partition.schedules` — β schedules for annealing;
* :mod:`~ebm_ref.partition.paths` — annealing paths and their transitions
  (:class:`~ebm_ref.partition.paths.GeometricPath`, :class:`~ebm_ref.partition.paths.RBMPath`,
  the base-rate RBM).

The numerical helpers that callers have always found here (``logsumexp``,
``log_mean_exp``, ``enumerate_states``, ``MAX_ENUMERATE_DIM``) are re-exported from
:mod:`ebm_ref.numerics`.
"""
from . import estimators, exact, paths, schedules
from ..numerics.enumeration import MAX_ENUMERATE_DIM, enumerate_states
from ..numerics.special import log_mean_exp, logsumexp
from .estimators import *  # noqa: F401,F403  (each module's __all__ is its public face)
from .exact import *  # noqa: F401,F403
from .paths import *  # noqa: F401,F403
from .schedules import *  # noqa: F401,F403

__all__ = [
    "exact", "estimators", "schedules", "paths",
    *exact.__all__, *estimators.__all__, *schedules.__all__, *paths.__all__,
    # re-exported from ebm_ref.numerics
    "MAX_ENUMERATE_DIM", "enumerate_states", "logsumexp", "log_mean_exp",
]
