"""The energies.  Each module is one model family; none knows of samplers or objectives."""
from .gaussian import Gaussian, GaussianMixture, WarpedGaussian
from .expfam import Bernoulli, Beta, Categorical, Dirichlet, Exponential, ExpFamEnergy, Gamma, Normal, Poisson  # noqa: F401
from .rbm import BernoulliRBM, GaussianBernoulliRBM, DeepBeliefNet  # noqa: F401
from .boltzmann import BoltzmannMachine  # noqa: F401

__all__ = ["Gaussian", "GaussianMixture", "WarpedGaussian"]
