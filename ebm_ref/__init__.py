"""ebm_ref: a NumPy-only reference implementation of energy-based models.

p(x) = exp(-E(x)) / Z,  Z = ∫ exp(-E(x)) dx.  Every identity of the lecture is code
that ``ebm-ref verify`` evaluates on a case with a known answer.
"""
from . import check, params
from .energy import Energy

__version__ = "0.1.0"

__all__ = ["Energy", "check", "params", "models", "samplers", "partition", "objectives", "diagnostics"]


def __getattr__(name):
    # submodules that import numba or matplotlib load on first use
    import importlib

    if name in ("models", "samplers", "partition", "objectives", "diagnostics", "train",
                "datasets", "golden", "verify", "plots"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'ebm_ref' has no attribute {name!r}")
