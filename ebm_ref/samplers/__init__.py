"""MCMC samplers (numba-jitted for built-in models, NumPy fallback for any Energy).

Continuous samplers: one pure NumPy step per transition (:mod:`ebm_ref.samplers.state`
describes the step API), one fused numba kernel per transition, one driver
(:mod:`ebm_ref.samplers._common`).  Modules: ``metropolis_hastings`` (metropolis),
``langevin`` (ula, mala, annealed_langevin), ``hamiltonian`` (hmc, leapfrog).

Discrete samplers: ``gibbs_sampling`` (block Gibbs on RBMs, single-site Gibbs, spin flip),
``parallel_tempering`` (tempering), and ``transition_matrices`` (the exact kernels on
small spaces that the discrete samplers are checked against).
"""
from .chains import Chains
from .state import Info, Potential, State, check_info_finite, evaluate_in_support, init, per_chain_step, step_draws
from .hamiltonian import hmc, hmc_step, leapfrog, leapfrog_integrate
from .langevin import (annealed_langevin, langevin_proposal, langevin_step, mala, mala_log_acceptance, mala_step,
                       ula, ula_gaussian_covariance, ula_step)
from .metropolis_hastings import acceptance_probability, metropolis, mh_accept, mh_acceptance, rwmh_step
from .gibbs_sampling import (FastBlockGibbs, SpinFlipState, check_backend, check_start, conditional_probabilities,
                             gibbs, gibbs_k, model_family, rbm_block_gibbs_step, site_gibbs_step, spin_flip_init,
                             spin_flip_metropolis, spin_flip_step, unit_values)
from .parallel_tempering import check_betas, swap_log_ratio, tempered_free_energy, tempering
from .transition_matrices import (rbm_joint_energy, stationary_distribution, swap_transition_matrix,
                                  tempered_product_distribution, transition_matrix_block_gibbs,
                                  transition_matrix_site_gibbs, transition_matrix_spin_flip)
from . import transition_matrices  # the modules gibbs_sampling, parallel_tempering are bound by the imports above

__all__ = [
    "Chains",
    # the step API
    "State", "Info", "Potential", "init", "step_draws", "per_chain_step", "evaluate_in_support", "check_info_finite",
    # continuous samplers and their steps
    "metropolis", "rwmh_step", "mh_accept", "mh_acceptance", "acceptance_probability",
    "ula", "mala", "annealed_langevin", "ula_gaussian_covariance",
    "langevin_proposal", "mala_log_acceptance", "langevin_step", "ula_step", "mala_step",
    "hmc", "hmc_step", "leapfrog", "leapfrog_integrate",
    # discrete samplers and their steps
    "gibbs", "gibbs_k", "spin_flip_metropolis", "conditional_probabilities",
    "rbm_block_gibbs_step", "FastBlockGibbs", "site_gibbs_step", "spin_flip_init", "spin_flip_step", "SpinFlipState",
    "model_family", "check_backend", "check_start", "unit_values",
    # parallel tempering
    "tempering", "check_betas", "swap_log_ratio", "tempered_free_energy",
    # exact transition matrices on small spaces
    "transition_matrices", "rbm_joint_energy", "stationary_distribution", "swap_transition_matrix",
    "tempered_product_distribution", "transition_matrix_block_gibbs", "transition_matrix_site_gibbs",
    "transition_matrix_spin_flip",
]
