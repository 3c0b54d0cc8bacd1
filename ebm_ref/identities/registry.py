"""The registry of identities that ``ebm-ref verify`` evaluates (the runner is :mod:`ebm_ref.verify`).

An identity is a derivation step turned into a number: a *left* side and a *right*
side, computed two independent ways on a case whose answer is known (closed form,
enumeration, quadrature), and a tolerance with its reason.  Topic modules under
``ebm_ref.identities`` register them with the :func:`identity` decorator, imported
from here (``from .registry import identity``)::

    @identity("gaussian log Z: closed form = quadrature", step="Z = ∫ exp(-E(x)) dx",
              case="1-D Gaussian, precision 2.5", tol=1e-10,
              reason="adaptive quadrature converges to ~1e-13 on a smooth integrand")
    def _(rng):
        g = Gaussian(...)
        return g.log_partition(), log_partition_quadrature(g, bounds)[0]

The function takes a ``numpy.random.Generator`` (seeded from the identity's name, so
a statistical identity is reproducible and its seed is not chosen by hand) and
returns ``(left, right)`` — scalars or arrays of one shape.  The error is
``max|left − right|`` (``kind='abs'``) or that divided by ``max|right|``
(``kind='rel'``).  A statistical identity says so with ``kind='z'``: ``left`` is a
z-score (or the largest |z| of several entries), ``right`` is 0 and ``tol`` the bound on
|z|; its false-alarm rate is ``false_alarm`` if given (for a maximum over several entries,
say), else the two-sided N(0, 1) rate ``erfc(tol/√2)``.  The test suite evaluates the same
registry.
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Callable

from .._submodules import import_all

__all__ = ["Identity", "identity", "REGISTRY", "load_all"]


@dataclass(frozen=True)
class Identity:
    """One registered identity."""

    name: str
    step: str
    case: str
    fn: Callable
    tol: float
    reason: str
    kind: str
    topic: str
    false_alarm: float | None = None

    @property
    def false_alarm_rate(self) -> float | None:
        """For ``kind='z'``: P(|z| > tol) under the identity, stated or two-sided N(0, 1); else None."""
        if self.kind != "z":
            return None
        return self.false_alarm if self.false_alarm is not None else math.erfc(self.tol / math.sqrt(2.0))

    @property
    def seed(self) -> int:
        """Seed derived from the name alone (crc32), never chosen by hand."""
        return zlib.crc32(self.name.encode("utf8"))


#: every registered identity by name, in registration order
REGISTRY: dict[str, Identity] = {}


def identity(name: str, *, step: str, case: str, tol: float, reason: str, kind: str = "abs",
             false_alarm: float | None = None):
    """Decorator registering ``fn(rng) -> (left, right)`` as an identity."""
    if kind not in ("abs", "rel", "z"):
        raise ValueError(f"kind: expected 'abs', 'rel' or 'z', got {kind!r}")
    if not tol > 0:
        raise ValueError(f"tol: must be > 0, got {tol}")
    if false_alarm is not None and (kind != "z" or not 0 < false_alarm < 1):
        raise ValueError(f"false_alarm: a probability in (0, 1), only for kind='z'; got {false_alarm!r} "
                         f"with kind={kind!r}")

    def register(fn):
        if name in REGISTRY and REGISTRY[name].fn.__qualname__ != fn.__qualname__:
            raise ValueError(f"identity {name!r} registered twice")
        topic = fn.__module__.rsplit(".", 1)[-1]
        REGISTRY[name] = Identity(name, step, case, fn, float(tol), reason, kind, topic, false_alarm)
        return fn

    return register


def load_all() -> None:
    """Import every module of ``ebm_ref.identities`` so that they register."""
    from .. import identities

    import_all(identities, skip=("registry",))
