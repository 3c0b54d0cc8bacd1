"""Training objectives, one module per method, each written as its derivation.

The methods share function names (``loss``, ``fit``, ``objective``), so they are reached
through their modules: ``ebm_ref.objectives.score_matching.loss``.
"""
from . import adversarial, contrastive_divergence, mle, nce, score_matching

__all__ = ["mle", "contrastive_divergence", "score_matching", "nce", "adversarial"]
