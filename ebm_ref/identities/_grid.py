"""The fixed quadrature grid that identities on smooth 2-D densities share, and why it suffices.

An identity that integrates a smooth density over a box evaluates it once, vectorised, on a
tensor Gauss–Legendre grid (:func:`ebm_ref.numerics.quadrature.grid_log_integral`) instead of
adaptive ``dblquad`` (one Python call per point).  Its function takes ``n_nodes`` with default
:data:`N_GRID`; ``tests/test_identities.py`` evaluates it again at ``2 * N_GRID`` and finds the
value unchanged to below a hundredth of the tolerance.
"""
from __future__ import annotations

#: nodes per axis (N_GRID² evaluations of the energy, one call)
N_GRID = 128

#: the tolerance reason of a converted identity (its box truncation is added after it)
GRID_REASON = (f"tensor Gauss–Legendre, {N_GRID}×{N_GRID} nodes in one vectorised call: the integrand is analytic "
               "and negligible at the box edges, so the rule's error falls like ρ^(-2n) (squared each time n "
               f"doubles) and log Z is unchanged to < tol/100 at {2 * N_GRID}×{2 * N_GRID} (tests/test_identities.py)")
