r"""Deterministic operation counts: how many multiply–adds a NumPy computation does.

Timings depend on the machine, the BLAS and the load; the number of arithmetic operations
does not.  :class:`MultiplyAddCounter` wraps the arrays that carry the data (``x``, a
projection ``v``) in a view that counts, for every operation performed on them or on
anything computed from them:

* a matrix product ``A @ B`` with A of shape (..., m, k) and B of shape (..., k, p):
  :math:`\prod(\text{batch})\cdot m k p` multiply–adds;
* ``np.einsum`` with one or two operands: the product of the sizes of all distinct
  indices (the naive loop count), e.g. ``"ndh,ndh->nh"`` costs n·d·h;
* ``np.tensordot`` / ``np.dot``: the size of the first operand times the free size of the second;
* any other arithmetic ufunc (``+ * tanh exp ...``): one operation per output element.

Work done on arrays that never touch the wrapped data (e.g. a function of the weights
alone, which a caller could precompute once) is not counted.  The counts are exact
integers, the same on every machine, so a growth order can be asserted from them.
"""
from __future__ import annotations

import numpy as np

__all__ = ["MultiplyAddCounter"]


class _Counted(np.ndarray):
    """An ndarray view that reports its arithmetic to a :class:`MultiplyAddCounter`."""

    _counter = None

    def __array_finalize__(self, obj):
        if obj is not None:
            self._counter = getattr(obj, "_counter", None)

    @staticmethod
    def _plain(a):
        return a.view(np.ndarray) if isinstance(a, _Counted) else a

    def _wrap(self, out, counter):
        if isinstance(out, np.ndarray) and not isinstance(out, _Counted):
            out = out.view(_Counted)
        if isinstance(out, _Counted):
            out._counter = counter
        return out

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        counter = next(a._counter for a in inputs + kwargs.get("out", ()) if isinstance(a, _Counted))
        args = [self._plain(a) for a in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(self._plain(a) for a in kwargs["out"])
        result = getattr(ufunc, method)(*args, **kwargs)
        if method == "__call__":
            if ufunc is np.matmul:
                a, b = (np.asarray(a) for a in args)
                a2 = a if a.ndim > 1 else a[None]
                b2 = b if b.ndim > 1 else b[:, None]
                batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
                counter.count += int(np.prod(batch, dtype=np.int64)) * a2.shape[-2] * a2.shape[-1] * b2.shape[-1]
            elif ufunc.nout == 1:
                counter.count += int(np.size(result))
        if isinstance(result, tuple):
            return tuple(self._wrap(r, counter) for r in result)
        return self._wrap(result, counter)

    def __array_function__(self, func, types, args, kwargs):
        counted = [a for a in _flatten(args) if isinstance(a, _Counted)]
        counter = counted[0]._counter
        plain_args = _map(args, self._plain)
        plain_kwargs = {k: _map(v, self._plain) for k, v in kwargs.items()}
        result = func(*plain_args, **plain_kwargs)
        if func is np.einsum:
            counter.count += _einsum_count(plain_args)
        elif func in (np.tensordot, np.dot):
            a, b = np.asarray(plain_args[0]), np.asarray(plain_args[1])
            if func is np.dot:
                counter.count += a.size * (b.size // b.shape[-2 if b.ndim > 1 else 0])
            else:
                axes = plain_args[2] if len(plain_args) > 2 else plain_kwargs.get("axes", 2)
                contracted = (b.shape[: axes] if isinstance(axes, int)
                              else tuple(b.shape[i] for i in np.atleast_1d(axes[1])))
                counter.count += a.size * (b.size // max(int(np.prod(contracted, dtype=np.int64)), 1))
        if isinstance(result, tuple):
            return tuple(self._wrap(r, counter) for r in result)
        return self._wrap(result, counter)


def _flatten(args):
    for a in args:
        if isinstance(a, (list, tuple)):
            yield from _flatten(a)
        else:
            yield a


def _map(a, f):
    if isinstance(a, list):
        return [_map(b, f) for b in a]
    if isinstance(a, tuple):
        return tuple(_map(b, f) for b in a)
    return f(a)


def _einsum_count(args) -> int:
    spec, ops = args[0], args[1:]
    if not isinstance(spec, str):
        raise ValueError("einsum: only the subscript-string form is counted")
    inputs = spec.split("->")[0].split(",")
    sizes = {}
    for sub, op in zip(inputs, ops):
        for ch, n in zip(sub, np.shape(op)):
            sizes[ch] = n
    return int(np.prod(list(sizes.values()), dtype=np.int64))


class MultiplyAddCounter:
    r"""Count the multiply–adds of computations on wrapped arrays.

    Examples
    --------
    >>> c = MultiplyAddCounter()
    >>> x = c.wrap(np.ones((4, 3)))
    >>> _ = x @ np.ones((3, 5))
    >>> c.count
    60

    Notes
    -----
    The count of a matrix product of shapes (m, k) and (k, p) is m·k·p; elementwise
    operations count one per output element; see the module docstring for the rules.
    Results computed from a wrapped array are wrapped too, so a whole forward pass is
    counted by wrapping its input only.
    """

    def __init__(self):
        self.count = 0

    def wrap(self, a) -> np.ndarray:
        """Return a counting view of ``a`` (a float ndarray)."""
        arr = np.asarray(a)
        if not np.issubdtype(arr.dtype, np.number):
            raise ValueError(f"a: expected a numeric array, got dtype {arr.dtype}")
        view = arr.view(_Counted)
        view._counter = self
        return view

    def measure(self, fn, *args) -> int:
        """Reset, call ``fn(*args)`` and return the number of multiply–adds it did on its wrapped args."""
        if not callable(fn):
            raise ValueError(f"fn: expected a callable, got {type(fn).__name__}")
        self.count = 0
        fn(*args)
        return self.count
