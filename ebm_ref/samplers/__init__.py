"""MCMC samplers (numba-jitted for built-in models, NumPy fallback for any Energy)."""
from .chains import Chains

__all__ = ["Chains"]
