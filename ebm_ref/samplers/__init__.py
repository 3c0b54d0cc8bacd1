"""MCMC samplers (numba-jitted for built-in models, NumPy fallback for any Energy)."""
from .chains import Chains
from .hmc import hmc, leapfrog
from .langevin import annealed_langevin, mala, ula, ula_gaussian_covariance
from .mh import acceptance_probability, metropolis
from .gibbs import gibbs, gibbs_k, spin_flip_metropolis
from .tempering import tempering

__all__ = ["Chains", "metropolis", "acceptance_probability", "ula", "mala", "annealed_langevin", "ula_gaussian_covariance", "hmc", "leapfrog"]
__all__ += ["gibbs", "gibbs_k", "spin_flip_metropolis", "tempering"]
