r"""Is a vector field a gradient?  Measures for a learned score :math:`s(x)` (no energy behind it).

A field :math:`s:\mathbb R^d\to\mathbb R^d` on a simply connected domain is a gradient,
:math:`s = -\nabla E`, exactly when its Jacobian is symmetric everywhere.  In 2-D the
antisymmetric part is one number, the curl :math:`\partial_1s_2 - \partial_2s_1`, and Stokes'
theorem ties it to the work around a closed loop:

.. math::

    \oint_{\partial D} s\cdot d\ell = \iint_D (\partial_1s_2 - \partial_2s_1)\,dA .

For a score :math:`-\nabla E` both sides vanish; a nonzero circulation means that no density
has this field as its score, and a Langevin chain driven by it can circle for ever.

* :func:`jacobian_asymmetry` — :math:`\|J - J^\top\|_F / \|J\|_F` per point (0 for a gradient);
* :func:`circulation` — the loop integral on a circle (trapezoid rule in the angle, spectrally
  accurate for a smooth periodic integrand);
* :func:`curl_flux` — the area integral of the curl over the disc (Gauss–Legendre in the
  radius, trapezoid in the angle).
"""
from __future__ import annotations

import numpy as np

from ._validate import as_float_array, check_positive, check_positive_int

__all__ = ["jacobian_asymmetry", "circulation", "curl_flux"]


def jacobian_asymmetry(jac) -> np.ndarray:
    r""":math:`\|J - J^\top\|_F / \|J\|_F` for a batch of Jacobians ``(n, d, d)``; 0 for a gradient field."""
    J = as_float_array(jac, "jac")
    if J.ndim != 3 or J.shape[1] != J.shape[2]:
        raise ValueError(f"jac: expected shape (n, d, d), got {J.shape}")
    num = np.linalg.norm(J - np.swapaxes(J, 1, 2), axis=(1, 2))
    den = np.linalg.norm(J, axis=(1, 2))
    if np.any(den == 0):
        raise ValueError("jac: a zero Jacobian has no defined asymmetry")
    return num / den


def _circle(center, radius):
    c = as_float_array(center, "center", shape=(2,))
    return c, check_positive(radius, "radius")


def circulation(field, center, radius, n: int = 256) -> float:
    r""":math:`\oint s\cdot d\ell` around the circle of ``radius`` about ``center`` (2-D ``field(x) -> (n, 2)``)."""
    c, r = _circle(center, radius)
    n = check_positive_int(n, "n", 3)
    th = 2.0 * np.pi * np.arange(n) / n
    u = np.column_stack([np.cos(th), np.sin(th)])
    tangent = r * np.column_stack([-np.sin(th), np.cos(th)])          # dℓ/dθ
    s = field(c + r * u)
    return float(np.sum(s * tangent) * 2.0 * np.pi / n)


def curl_flux(jacobian, center, radius, n_radial: int = 64, n_angle: int = 256) -> float:
    r""":math:`\iint_D (\partial_1s_2 - \partial_2s_1)\,dA` over the disc, from ``jacobian(x) -> (n, 2, 2)``."""
    c, r = _circle(center, radius)
    t, w = np.polynomial.legendre.leggauss(check_positive_int(n_radial, "n_radial", 1))
    rho, w_rho = 0.5 * r * (t + 1.0), 0.5 * r * w
    th = 2.0 * np.pi * np.arange(check_positive_int(n_angle, "n_angle", 3)) / n_angle
    R, TH = np.meshgrid(rho, th, indexing="ij")
    x = c + np.column_stack([(R * np.cos(TH)).ravel(), (R * np.sin(TH)).ravel()])
    J = jacobian(x)
    curl = (J[:, 1, 0] - J[:, 0, 1]).reshape(R.shape)
    return float(np.sum(w_rho[:, None] * R * curl) * 2.0 * np.pi / n_angle)
