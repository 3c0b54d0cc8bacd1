"""The value every sampler returns."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Chains"]


@dataclass(frozen=True)
class Chains:
    """Samples of several chains run side by side.

    Attributes
    ----------
    samples : ndarray, shape (n_kept, n_chains, d)
        Kept states after burn-in and thinning, in order.
    accept_rate : ndarray, shape (n_chains,)
        Fraction of accepted proposals per chain over all steps after burn-in
        (1.0 for samplers without a rejection step: ULA, Gibbs).
    settings : dict
        Sampler name and the settings used (step size, n_steps, burn_in, thin, ...).
    extras : dict
        Sampler-specific outputs (e.g. swap rates of parallel tempering, adapted step).
    """

    samples: np.ndarray
    accept_rate: np.ndarray
    settings: dict
    extras: dict = field(default_factory=dict)

    @property
    def last(self) -> np.ndarray:
        """The final state of every chain, shape (n_chains, d)."""
        return self.samples[-1]

    @property
    def n_chains(self) -> int:
        return self.samples.shape[1]

    def flat(self) -> np.ndarray:
        """All kept samples pooled, shape (n_kept * n_chains, d)."""
        return self.samples.reshape(-1, self.samples.shape[-1])
