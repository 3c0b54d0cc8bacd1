"""Packages whose modules register something (identities, figures, benchmarks) load them here.

Two helpers, written once:

* :func:`import_all` imports every public module of a package, so that the decorators in
  them register (``ebm-ref verify``, ``figures`` and ``bench`` call it);
* :func:`lazy_getattr` builds the module-level ``__getattr__`` that serves a package's
  modules on first attribute access, so that ``ebm_ref.plots.mcmc.make`` resolves after
  ``import ebm_ref`` without importing matplotlib at start-up.
"""
from __future__ import annotations

import importlib
import importlib.util
import pkgutil

__all__ = ["import_all", "lazy_getattr"]


def import_all(package, skip: tuple = ()) -> list[str]:
    """Import every module of ``package`` whose name has no leading underscore and is not in ``skip``."""
    names = sorted(m.name for m in pkgutil.iter_modules(package.__path__))
    names = [n for n in names if not n.startswith("_") and n not in skip]
    for n in names:
        importlib.import_module(f"{package.__name__}.{n}")
    return names


def lazy_getattr(package_name: str):
    """A module ``__getattr__`` serving the submodules of ``package_name`` on first use."""

    def __getattr__(name):
        if not name.startswith("_") and importlib.util.find_spec(f"{package_name}.{name}") is not None:
            return importlib.import_module(f"{package_name}.{name}")
        raise AttributeError(f"module {package_name!r} has no attribute {name!r}")

    return __getattr__
