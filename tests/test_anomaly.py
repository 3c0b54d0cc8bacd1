"""ebm_ref.anomaly: ROC areas against the F-distribution closed form."""
import numpy as np
import pytest

from ebm_ref import anomaly
from ebm_ref.models import Gaussian

Z = 5.0  # P(|z| > 5) = 5.7e-7


@pytest.mark.statistical
@pytest.mark.parametrize("s", [1.5, 0.6])
def test_energy_and_ratio_auc_from_samples(s, rng):
    d, n = 2, 4000
    p = Gaussian(np.zeros(d), np.eye(d))
    q = Gaussian(np.zeros(d), np.eye(d) / s**2)
    xn, xa = p.sample(n, rng), q.sample(n, rng)
    exact = anomaly.auc_gaussian_scale(d, s)
    # the Mann–Whitney AUC of two samples of size n has variance below a(1-a)/n·2 (Hanley–McNeil bound)
    se = np.sqrt(2 * exact * (1 - exact) / n)
    assert abs(anomaly.roc_auc(anomaly.energy_score(p, xn), anomaly.energy_score(p, xa)) - exact) < Z * se
    # the likelihood ratio is monotone in ‖x‖² with the sign of s − 1: AUC = max(a, 1 − a)
    lr = anomaly.roc_auc(anomaly.likelihood_ratio_score(p, q, xn), anomaly.likelihood_ratio_score(p, q, xa))
    assert abs(lr - max(exact, 1 - exact)) < Z * se


@pytest.mark.exact
def test_roc_auc_counts_ties_as_half():
    assert anomaly.roc_auc([0.0, 1.0], [1.0, 2.0]) == (1 + 0.5 + 2) / 4


def test_bad_input():
    with pytest.raises(ValueError, match="score"):
        anomaly.roc_auc([], [1.0])
    with pytest.raises(ValueError, match="s"):
        anomaly.auc_gaussian_scale(2, -1.0)
