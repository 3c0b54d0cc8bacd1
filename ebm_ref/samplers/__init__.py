"""MCMC samplers (numba-jitted for built-in models, NumPy fallback for any Energy).

Continuous samplers: one pure NumPy step per transition (:mod:`ebm_ref.samplers.state`
describes the step API), one fused numba kernel per transition, one driver
(:mod:`ebm_ref.samplers._common`).  Modules: ``metropolis_hastings`` (metropolis),
``langevin`` (ula, mala, annealed_langevin), ``hamiltonian`` (hmc, leapfrog).
"""
from .chains import Chains
from .state import Info, Potential, State, init
from .hamiltonian import hmc, hmc_step, leapfrog, leapfrog_integrate
from .langevin import (annealed_langevin, langevin_proposal, langevin_step, mala, mala_log_acceptance, mala_step,
                       ula, ula_gaussian_covariance, ula_step)
from .metropolis_hastings import acceptance_probability, metropolis, mh_accept, rwmh_step
from .gibbs import gibbs, gibbs_k, spin_flip_metropolis
from .tempering import tempering

__all__ = [
    "Chains",
    "State", "Info", "Potential", "init",
    "metropolis", "rwmh_step", "mh_accept", "acceptance_probability",
    "ula", "mala", "annealed_langevin", "ula_gaussian_covariance",
    "langevin_proposal", "mala_log_acceptance", "langevin_step", "ula_step", "mala_step",
    "hmc", "hmc_step", "leapfrog", "leapfrog_integrate",
    "gibbs", "gibbs_k", "spin_flip_metropolis",
    "tempering",
]
