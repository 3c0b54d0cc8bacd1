"""The energies.  Each module is one model family; none knows of samplers or objectives."""
from .gaussian import Gaussian, GaussianMixture, WarpedGaussian
from .expfam import Bernoulli, Beta, Categorical, Dirichlet, Exponential, ExpFamEnergy, Gamma, Normal, Poisson  # noqa: F401
from .rbm import BernoulliRBM, GaussianBernoulliRBM, DeepBeliefNet  # noqa: F401
from .boltzmann import BoltzmannMachine  # noqa: F401

__all__ = ["Gaussian", "GaussianMixture", "WarpedGaussian"]
from .mlp import MLPEnergy, MLPMap  # noqa: E402
__all__ += ["MLPEnergy", "MLPMap"]
from .flow import AffineFlow, CouplingFlow, Flow  # noqa: E402
__all__ += ["AffineFlow", "CouplingFlow", "Flow"]
from .compose import ConditionalEnergy, Mixture, ProductOfExperts, Tempered  # noqa: E402
from .designs import DiscriminatorEnergy, ReconstructionEnergy  # noqa: E402
__all__ += ["ProductOfExperts", "Mixture", "Tempered", "ConditionalEnergy", "ReconstructionEnergy", "DiscriminatorEnergy"]
