r"""Reference cases for checking another implementation, and the comparer.

Two halves:

* :func:`export` writes a suite of *cases*.  A case is one model (or one objective on
  one model) with fixed parameters and fixed inputs, and every quantity this package
  computes for it.  The layout, under a directory ``DIR``::

      DIR/manifest.json              what every case and quantity means (below)
      DIR/<case>/inputs.npz          x, u, v, fixed negative samples, noise, projections, ...
      DIR/<case>/params.npz          the model's parameters θ (+ NCE's c as ``log_z``)
      DIR/<case>/outputs.npz         the reference values, one key per quantity

  A parameter-dict quantity is stored one key per parameter, ``<quantity>.<param>``
  (e.g. ``grad_params.W1``).  Every array is float64; binary states are 0/1 floats.

* :func:`check` reads results written by another implementation in the same layout,
  ``RESULTS/<case>/outputs.npz`` with the same keys, and compares them quantity by
  quantity.  Cases absent from RESULTS are skipped (check only what you implemented);
  a present case must hold every key unless ``allow_missing`` is set.

Conventions (also written into the manifest):

* energy sign: :math:`p(x) = e^{-E(x)}/Z`; the score is :math:`s = \nabla_x\log p = -\nabla_xE`;
* ``hessian_x[n, i, j]`` is :math:`\partial^2E/\partial x_i\partial x_j` at point n;
* ``grad_params`` is per point, shape ``(n, *param.shape)``; the second-order primitives
  ``grad_params_dot_grad_x`` (:math:`\nabla_\theta\sum_n u_n\cdot\nabla_xE(x_n)`, u fixed),
  ``grad_params_laplacian`` (:math:`\nabla_\theta\sum_n\operatorname{tr}\nabla_x^2E(x_n)`) and
  ``grad_params_hvp`` (:math:`\nabla_\theta\sum_n v_n^\top\nabla_x^2E(x_n)v_n`, v fixed) are
  summed over the batch;
* symmetric-matrix parameters (a Gaussian's precision, a mixture's covariances, a
  Boltzmann machine's J) have the symmetric gradient :math:`\tfrac12(A + A^\top)` of the
  entry-wise gradient A; symmetrize yours before saving if your framework treats the
  matrix as free;
* MLP weights ``Wl`` have the linear-layer layout ``(out, in)``: :math:`a_l = W_l z_{l-1} + b_l`.

Every entry k of a quantity is judged on its own (component-wise, as :mod:`ebm_ref.check`
judges derivatives: a wrong small entry cannot hide behind a large one):
:math:`|r_k - \text{ref}_k| \le \text{atol} + \text{rtol}\cdot|\text{ref}_k|`.  A NaN never
passes; an infinite entry passes only against the same infinity; export writes only finite
values.  The report gives, for the worst entry (largest error relative to its own
tolerance), the absolute and relative errors, that ratio and the entry's index.

Case names are single path components (letters, digits, ``_``, ``-``); no symbolic link
under DIR or RESULTS is followed or written through; every ``.npy`` header is checked
against the manifest before its data are read, so a crafted manifest or results folder
can neither read nor write outside the two folders nor use more than
:data:`~ebm_ref.golden.fileformat.MEMORY_BOUND` bytes.

Every file is read with ``np.load(..., allow_pickle=False)``.  A missing or corrupt
file, a missing or unknown key, a wrong shape, a non-float array or a pickle inside an
archive raises :class:`GoldenError` naming the file and key and what was expected.
"""
from .cases import N_POINTS, SEED, case_names, export
from .comparison import RULE, TOLERANCES, Row, check, compare
from .fileformat import (FORMAT, MEMORY_BOUND, SIGN_CONVENTION, GoldenError, check_case_name, check_inside, load_case,
                         load_npz, read_manifest, save_results, write_npz)

__all__ = [
    # cases.py: the catalogue and the writer
    "export", "case_names", "SEED", "N_POINTS",
    # fileformat.py: npz archives and the manifest
    "GoldenError", "FORMAT", "SIGN_CONVENTION", "load_case", "save_results", "read_manifest", "load_npz", "write_npz",
    "check_case_name", "check_inside", "MEMORY_BOUND",
    # comparison.py: the comparer
    "compare", "check", "Row", "TOLERANCES", "RULE",
]
