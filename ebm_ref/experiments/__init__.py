"""Experiments on real data: the lecture's claims checked end to end against exact answers.

An experiment composes the layers below it — a data set, a model, an objective, the
``fit`` loop, the partition-function estimators — and returns numbers and models; it
adds no formula of its own.  The figures in ``ebm_ref.plots`` and the slow tests call
these functions with small settings.

* :mod:`ebm_ref.experiments.digits_rbm` — binary RBMs with 16 hidden units on binarised
  8×8 digits: exact gradient, CD-1, CD-10 and PCD with exact log-likelihood curves, and
  AIS checked against the exact log Z of each trained model.
"""
__all__ = ["digits_rbm"]

from .._submodules import lazy_getattr

# experiment modules load on first use (``ebm_ref.experiments.digits_rbm``)
__getattr__ = lazy_getattr(__name__)
