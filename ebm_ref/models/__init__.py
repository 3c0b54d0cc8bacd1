"""The energies.  Each module is one model family; none knows of samplers or objectives."""
from .gaussian import Gaussian, GaussianMixture, WarpedGaussian

__all__ = ["Gaussian", "GaussianMixture", "WarpedGaussian"]
