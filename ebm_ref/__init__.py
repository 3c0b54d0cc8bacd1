"""ebm_ref: a NumPy-only reference implementation of energy-based models.

p(x) = exp(-E(x)) / Z,  Z = ∫ exp(-E(x)) dx.  Every identity of the lecture is code
that ``ebm-ref verify`` evaluates on a case with a known answer.
"""
from . import check, energy, params
from .energy import Energy, Normalized, Trainable

__version__ = "0.1.0"

# Modules served on first use (some import numba or matplotlib): ``ebm_ref.<name>``.
_LAZY = ("numerics", "models", "samplers", "partition", "objectives", "diagnostics", "inference",
         "train", "datasets", "experiments", "identities", "verify", "golden", "plots", "benchmarks", "cli",
         "maxent", "mcmc_scaling", "inpainting", "anomaly", "vector_fields")

__all__ = ["Energy", "Normalized", "Trainable", "check", "energy", "params", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'ebm_ref' has no attribute {name!r}")
