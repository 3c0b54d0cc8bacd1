"""MCMC samplers (numba-jitted for built-in models, NumPy fallback for any Energy)."""
from .chains import Chains
from .hmc import hmc, leapfrog
from .langevin import annealed_langevin, mala, ula, ula_gaussian_covariance
from .mh import acceptance_probability, metropolis
from .gibbs_sampling import (gibbs, gibbs_k, rbm_block_gibbs_step, site_gibbs_step, spin_flip_init,
                             spin_flip_metropolis, spin_flip_step)
from .parallel_tempering import tempering
from . import transition_matrices  # the modules gibbs_sampling, parallel_tempering are bound by the imports above

__all__ = [
    "Chains", "metropolis", "acceptance_probability", "ula", "mala", "annealed_langevin", "ula_gaussian_covariance", "hmc", "leapfrog",
    "gibbs", "gibbs_k", "spin_flip_metropolis", "rbm_block_gibbs_step", "site_gibbs_step", "spin_flip_init",
    "spin_flip_step", "tempering",
]
