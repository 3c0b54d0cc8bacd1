r"""Anomaly detection with energies and likelihood ratios, on a toy whose answer is known.

An energy ranks points by how typical the model finds them: flag x when :math:`E(x) > t`.
Z is not needed — it shifts every energy by the same constant, and a ranking (hence the ROC
curve and its area) does not see it.  Nor does a *likelihood ratio* against a reference model
:math:`q = e^{-E_q}/Z_q`:

.. math::

    \log\frac{p(x)}{q(x)} = -E_p(x) + E_q(x) + \text{const},

so the score :math:`E_p(x) - E_q(x)` needs the two energies only.  By Neyman–Pearson, when q is
the true law of the anomalies, thresholding this ratio is the most powerful test at every false
alarm rate; thresholding :math:`E_p` alone is optimal only when the ratio is a monotone
function of :math:`E_p`.

The toy: normal data :math:`p = \mathcal N(0, I_d)` and anomalies :math:`q = \mathcal N(0, s^2I_d)`,
energy score :math:`E_p(x) = \|x\|^2/2`.  Under p, :math:`\|x\|^2\sim\chi^2_d`; under q,
:math:`\|x\|^2/s^2\sim\chi^2_d`; so the area under the ROC curve,
:math:`\mathrm{AUC} = P(E_p(x_q) > E_p(x_p))`, is :math:`P(U/V < s^2)` for independent
:math:`U, V\sim\chi^2_d`: the F(d, d) distribution function at :math:`s^2`
(:func:`auc_gaussian_scale`).  For s > 1 the energy score detects the anomalies; for s < 1
(anomalies *more* concentrated than the data — higher density under p than typical data)
its AUC is below 1/2: the energy calls them more normal than the normal points.  Here the
ratio :math:`\log p/q = (1/s^2 - 1)\|x\|^2/2 + \text{const}` is monotone in :math:`\|x\|^2` with
the sign of :math:`s - 1`, so the likelihood-ratio score reaches AUC = max(a, 1 − a) in both cases.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from ._validate import as_float_array, check_positive
from .numerics.quadrature import adaptive_quad

__all__ = ["energy_score", "likelihood_ratio_score", "roc_auc", "auc_gaussian_scale", "auc_by_quadrature"]


def energy_score(model, x) -> np.ndarray:
    r"""Anomaly score :math:`E(x)` (higher = more anomalous); Z is not needed."""
    return model.energy(x)


def likelihood_ratio_score(model, reference, x) -> np.ndarray:
    r""":math:`\log q(x) - \log p(x)` up to a constant: :math:`E_p(x) - E_q(x)` (higher = more like q)."""
    return model.energy(x) - reference.energy(x)


def roc_auc(score_normal, score_anomalous) -> float:
    r"""Area under the ROC curve: :math:`P(S_a > S_n) + \tfrac12P(S_a = S_n)` over all pairs (Mann–Whitney)."""
    sn = np.sort(as_float_array(score_normal, "score_normal").ravel())
    sa = as_float_array(score_anomalous, "score_anomalous").ravel()
    if sn.size == 0 or sa.size == 0:
        raise ValueError("score_normal/score_anomalous: need at least one score each")
    below = np.searchsorted(sn, sa, side="left")
    ties = np.searchsorted(sn, sa, side="right") - below
    return float((below.sum() + 0.5 * ties.sum()) / (sn.size * sa.size))


def auc_gaussian_scale(d: int, s: float) -> float:
    r"""Exact AUC of the energy score :math:`\|x\|^2/2` for :math:`\mathcal N(0, I_d)` vs :math:`\mathcal N(0, s^2I_d)`: :math:`F_{d,d}(s^2)`."""
    s = check_positive(s, "s")
    return float(stats.f(d, d).cdf(s * s))


def auc_by_quadrature(d: int, s: float) -> float:
    r"""The same AUC as an integral, :math:`\int_0^\infty S_d(t/s^2)\,f_d(t)\,dt` (:math:`f_d, S_d`: the
    :math:`\chi^2_d` density and survival function) — a route that does not use the F distribution."""
    s = check_positive(s, "s")
    chi = stats.chi2(d)
    return float(adaptive_quad(lambda t: chi.sf(t / (s * s)) * chi.pdf(t), 0.0, np.inf, epsabs=1e-13, epsrel=1e-12)[0])
