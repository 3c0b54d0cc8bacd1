"""The energies.  Each module is one model family; none knows of samplers or objectives."""
from .boltzmann import BoltzmannMachine, ising_as_binary
from .compose import ConditionalEnergy, Mixture, ProductOfExperts, Tempered
from .designs import DiscriminatorEnergy, ReconstructionEnergy
from .expfam import (Bernoulli, Beta, Categorical, ConvergenceError, Dirichlet, Exponential, ExpFamEnergy,
                     ExponentialFamily, Gamma, Normal, Poisson)
from .flow import AffineFlow, CouplingFlow, Flow
from .gaussian import Gaussian, GaussianMixture, WarpedGaussian, check_spd
from .mlp import ACTIVATIONS, Activation, FromParamDict, MLPEnergy, MLPMap, activation, init_layers
from .rbm import BernoulliRBM, DeepBeliefNet, GaussianBernoulliRBM
from .score_network import ScoreNetwork

__all__ = [
    # gaussian.py
    "Gaussian", "GaussianMixture", "WarpedGaussian", "check_spd",
    # expfam.py: the 8 families, their energy form, the base class
    "ExponentialFamily", "ExpFamEnergy", "ConvergenceError",
    "Normal", "Poisson", "Exponential", "Bernoulli", "Categorical", "Beta", "Gamma", "Dirichlet",
    # rbm.py, boltzmann.py
    "BernoulliRBM", "GaussianBernoulliRBM", "DeepBeliefNet", "BoltzmannMachine", "ising_as_binary",
    # mlp.py
    "MLPEnergy", "MLPMap", "FromParamDict", "Activation", "ACTIVATIONS", "activation", "init_layers",
    # score_network.py: a score with no energy behind it (not an Energy)
    "ScoreNetwork",
    # flow.py
    "AffineFlow", "CouplingFlow", "Flow",
    # compose.py, designs.py
    "ProductOfExperts", "Mixture", "Tempered", "ConditionalEnergy", "ReconstructionEnergy", "DiscriminatorEnergy",
]
