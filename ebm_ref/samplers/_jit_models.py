r"""Jittable forms of the built-in models, for the numba sampler kernels.

A built-in model is handed to a kernel as a *form*: a namedtuple of its parameter
arrays, one namedtuple class per model family.  numba types a namedtuple by its class,
so each family is a distinct argument type, and the per-point functions

* :func:`point_energy` ``(form, x) -> E(x)``            (x of shape (d,)),
* :func:`point_energy_grad` ``(form, x, g) -> E(x)``    (also writes ∇ₓE(x) into g),

are dispatched on that type with ``numba.extending.overload``.  The kernels call these
functions; they never receive a jitted function as an argument, which numba would
compile per function but never cache (numba issues #9237, #6972).  Every kernel is
therefore compiled once per family and cached on disk (``cache=True``).

Energy convention p ∝ e^{−E}; each energy sits beside its gradient, both written
without temporary arrays so the inner loop does not allocate.

The per-family functions are inlined into the kernels (``inline="always"``): a call
into a separately compiled function costs ~100 ns per point, more than the energy.
Caveat of numba's cache: a cached kernel is invalidated only when *its own* source file
changes, so after editing a formula here touch ``metropolis_hastings.py``, ``langevin.py`` and
``hamiltonian.py``
(or delete their ``__pycache__/*.nbi``/``*.nbc``) before trusting cached kernels; the
jitted-vs-NumPy tests catch a stale kernel.

:func:`jit_form` decides the family by ``isinstance`` and reads the model's arrays only
through its public ``evaluation_arrays()``; a ``models.Tempered`` Gaussian (E/T) is the Gaussian
form with precision P/T.  It returns ``None`` for any other model (and for a subclass of a
built-in one that overrides the energy): the samplers then run their NumPy path.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit, types
from numba.extending import overload

__all__ = [
    "GaussianForm",
    "DiagGaussianForm",
    "MixtureForm",
    "WarpedForm",
    "GBRBMForm",
    "MLPForm",
    "jit_form",
    "point_energy",
    "point_energy_grad",
    "batch_energy",
    "batch_energy_grad",
]

#: Gaussian, dense precision: E = ½ (x−μ)ᵀ P (x−μ), ∇E = P (x−μ).
GaussianForm = namedtuple("GaussianForm", ["mean", "precision"])
#: Gaussian, diagonal precision p: E = ½ Σᵢ pᵢ (xᵢ−μᵢ)², ∇ᵢE = pᵢ (xᵢ−μᵢ).
DiagGaussianForm = namedtuple("DiagGaussianForm", ["mean", "precision_diag"])
#: Mixture: E = −log Σₖ e^{−eₖ}, eₖ = ½ rₖᵀPₖrₖ + constₖ, constₖ = ½ log det(2πΣₖ) − log wₖ.
MixtureForm = namedtuple("MixtureForm", ["means", "precisions", "const"])
#: Warped Gaussian: E = ½ rᵀPr with r = T(x) − μ, T(x) = x + b x₀² e₁; ∇E = Jᵀ P r.
WarpedForm = namedtuple("WarpedForm", ["mean", "precision", "b"])
#: Gaussian–Bernoulli RBM free energy: F(v) = Σᵢ sᵢ(vᵢ−bᵢ)²/2 − Σⱼ softplus(aⱼ), aⱼ = cⱼ + Σᵢ sᵢvᵢWᵢⱼ, s = σ⁻².
GBRBMForm = namedtuple("GBRBMForm", ["W", "b", "c", "s"])
#: MLP energy: z₀ = x, aₗ = Wₗzₗ₋₁ + bₗ, zₗ = σ(aₗ) (l < L), E = W_L z_{L−1} + b_L; ∇ₓE by backprop.
#: ``theta`` holds W₁ (row-major), b₁, W₂, b₂, ... flat (a parallel kernel cannot take a
#: tuple of arrays inside a namedtuple); ``sizes`` = (h₀ = d, h₁, ..., h_L = 1);
#: ``act`` codes the activation: 0 tanh, 1 softplus, 2 sigmoid, 3 silu (:data:`MLP_ACTIVATIONS`).
MLPForm = namedtuple("MLPForm", ["theta", "sizes", "act"])
MLP_ACTIVATIONS = {"tanh": 0, "softplus": 1, "sigmoid": 2, "silu": 3}


def jit_form(model):
    """The jittable form of a built-in model, or ``None`` (the sampler then uses NumPy).

    The family is decided by ``isinstance``; the arrays come from the model's public
    ``evaluation_arrays()`` (arrays for vectorised/compiled evaluation).  A subclass that
    overrides the energy or its gradient gets no form: its energy is not the family's.
    """
    from ..models.compose import Tempered
    from ..models.gaussian import Gaussian, GaussianMixture, WarpedGaussian
    from ..models.mlp import MLPEnergy
    from ..models.rbm import GaussianBernoulliRBM

    if type(model) is Tempered and type(model.model) is Gaussian:   # E/T = ½ rᵀ(P/T)r: the Gaussian form
        form = _gaussian_form(model.model.evaluation_arrays())      # GaussianForm or DiagGaussianForm
        name = "precision" if isinstance(form, GaussianForm) else "precision_diag"
        return form._replace(**{name: getattr(form, name) / model.T})
    builders = (
        (Gaussian, _gaussian_form),
        (GaussianMixture, lambda a: MixtureForm(_c(a["means"]), _c(a["precisions"]), _c(a["consts"]))),
        (WarpedGaussian, lambda a: WarpedForm(_c(a["mean"]), _c(a["precision"]), float(a["b"]))),
        (GaussianBernoulliRBM, lambda a: GBRBMForm(_c(a["W"]), _c(a["b"]), _c(a["c"]), _c(a["s"]))),
        (MLPEnergy, _mlp_form),
    )
    for cls, build in builders:
        if isinstance(model, cls):
            return None if _overrides_energy(type(model), cls) else build(model.evaluation_arrays())
    return None


def _overrides_energy(t, cls) -> bool:
    return any(getattr(t, name) is not getattr(cls, name) for name in ("energy", "grad_x", "_energy", "_grad_x"))


def _c(a):
    return np.array(a, dtype=np.float64, order="C")   # a fresh, C-contiguous, writable float64 copy


def _gaussian_form(a):
    P = _c(a["precision"])
    if np.count_nonzero(P - np.diag(np.diag(P))) == 0:
        return DiagGaussianForm(_c(a["mean"]), np.array(np.diag(P)))
    return GaussianForm(_c(a["mean"]), P)


def _mlp_form(a):
    act = a["activation"]
    if not (isinstance(act, str) and act in MLP_ACTIVATIONS):
        return None
    Ws, bs = a["weights"], a["biases"]
    theta = np.concatenate([np.concatenate([_c(W).ravel(), _c(b)]) for W, b in zip(Ws, bs)])
    sizes = np.array([Ws[0].shape[1]] + [W.shape[0] for W in Ws], dtype=np.int64)
    return MLPForm(theta, sizes, MLP_ACTIVATIONS[act])




# --------------------------------------------------------------------------- stubs
def point_energy(form, x):  # pragma: no cover - replaced by the overloads in jitted code
    """E(x) of one point ``x`` (shape (d,)); dispatched on the type of ``form``."""
    raise NotImplementedError("point_energy is only callable from jitted code")


def point_energy_grad(form, x, g):  # pragma: no cover
    """E(x) of one point; writes ∇ₓE(x) into ``g`` (shape (d,))."""
    raise NotImplementedError("point_energy_grad is only callable from jitted code")


def _family(form):
    return getattr(form, "instance_class", None)


# ------------------------------------------------------------ per-family kernels
@njit(cache=True, inline="always")
def _gauss_eg(mean, P, x, g, want_grad):
    # r = x − μ ; g = P r ; E = ½ rᵀ g
    d = x.shape[0]
    E = 0.0
    for i in range(d):
        s = 0.0
        for j in range(d):
            s += P[i, j] * (x[j] - mean[j])
        if want_grad:
            g[i] = s
        E += 0.5 * (x[i] - mean[i]) * s
    return E


@njit(cache=True, inline="always")
def _diag_eg(mean, p, x, g, want_grad):
    # E = ½ Σ pᵢ rᵢ² ; gᵢ = pᵢ rᵢ
    E = 0.0
    for i in range(x.shape[0]):
        r = x[i] - mean[i]
        if want_grad:
            g[i] = p[i] * r
        E += 0.5 * p[i] * r * r
    return E


@njit(cache=True, inline="always")
def _mixture_eg(means, precs, const, x, g, want_grad):
    # streaming log-sum-exp: m = min_k eₖ, s = Σₖ e^{−(eₖ−m)}, g = Σₖ e^{−(eₖ−m)} Pₖ rₖ / s
    K, d = means.shape
    m = np.inf
    s = 0.0
    if want_grad:
        for i in range(d):
            g[i] = 0.0
    for k in range(K):
        e = const[k]
        for i in range(d):
            a = 0.0
            for j in range(d):
                a += precs[k, i, j] * (x[j] - means[k, j])
            e += 0.5 * (x[i] - means[k, i]) * a
        if e < m:
            scale = np.exp(e - m) if s > 0.0 else 0.0   # rescale earlier terms to the new minimum
            s *= scale
            if want_grad:
                for i in range(d):
                    g[i] *= scale
            m = e
        w = np.exp(m - e)
        s += w
        if want_grad:
            for i in range(d):
                a = 0.0
                for j in range(d):
                    a += precs[k, i, j] * (x[j] - means[k, j])
                g[i] += w * a
    if want_grad:
        for i in range(d):
            g[i] /= s
    return m - np.log(s)


@njit(cache=True, inline="always")
def _warped_eg(mean, P, b, x, g, want_grad):
    # r = T(x) − μ with T(x)₁ = x₁ + b x₀² ; gz = P r ; E = ½ rᵀ gz ; ∇E = gz + 2 b x₀ gz₁ e₀
    d = x.shape[0]
    E = 0.0
    w1 = b * x[0] * x[0]
    gz1 = 0.0
    for i in range(d):
        s = 0.0
        for j in range(d):
            rj = x[j] - mean[j] + (w1 if j == 1 else 0.0)
            s += P[i, j] * rj
        ri = x[i] - mean[i] + (w1 if i == 1 else 0.0)
        E += 0.5 * ri * s
        if want_grad:
            g[i] = s
        if i == 1:
            gz1 = s
    if want_grad:
        g[0] += 2.0 * b * x[0] * gz1
    return E


@njit(cache=True, inline="always")
def _gbrbm_eg(W, b, c, s, x, g, want_grad):
    # F = Σ sᵢ(vᵢ−bᵢ)²/2 − Σⱼ softplus(aⱼ) ; ∇F = s⊙(v − b) − s⊙(W σ(a)), accumulated over j
    V, H = W.shape
    F = 0.0
    for i in range(V):
        r = x[i] - b[i]
        F += 0.5 * s[i] * r * r
        if want_grad:
            g[i] = s[i] * r
    for j in range(H):
        a = c[j]
        for i in range(V):
            a += s[i] * x[i] * W[i, j]
        ea = np.exp(-abs(a))
        F -= max(a, 0.0) + np.log1p(ea)                  # softplus(a), stable
        if want_grad:
            sig = 1.0 / (1.0 + ea) if a >= 0.0 else ea / (1.0 + ea)
            for i in range(V):
                g[i] -= s[i] * W[i, j] * sig
    return F


@njit(cache=True, inline="always")
def _act(code, a):
    """(σ(a), σ'(a)) for the activation code (0 tanh, 1 softplus, 2 sigmoid, 3 silu)."""
    if code == 0:
        t = np.tanh(a)
        return t, 1.0 - t * t
    e = np.exp(-abs(a))
    sg = 1.0 / (1.0 + e) if a >= 0.0 else e / (1.0 + e)          # sigmoid(a), stable
    if code == 1:
        return max(a, 0.0) + np.log1p(e), sg                       # softplus' = sigmoid
    if code == 2:
        return sg, sg * (1.0 - sg)
    return a * sg, sg * (1.0 + a * (1.0 - sg))                     # silu = a·s, silu' = s(1 + a(1−s))


@njit(cache=True)
def _mlp_eg(theta, sizes, act, x, g, want_grad):
    # forward: keep σ'(aₗ) of every hidden layer in one buffer; backward: z̄ₗ₋₁ = Wₗᵀ(σ'(aₗ) ⊙ z̄ₗ)
    L = sizes.shape[0] - 1
    total = 0
    width = 0
    for l in range(L + 1):
        width = max(width, sizes[l])
        if 0 < l < L:
            total += sizes[l]
    dsig = np.empty(max(total, 1))
    z = np.empty(width)
    znew = np.empty(width)
    for i in range(sizes[0]):
        z[i] = x[i]
    woff = 0                                    # offset of Wₗ in theta (bₗ follows it)
    doff = 0
    for l in range(1, L):
        h, n_in = sizes[l], sizes[l - 1]
        boff = woff + h * n_in
        for r in range(h):
            a = theta[boff + r]
            for q in range(n_in):
                a += theta[woff + r * n_in + q] * z[q]
            sv, dv = _act(act, a)
            znew[r] = sv
            dsig[doff + r] = dv
        for r in range(h):
            z[r] = znew[r]
        woff = boff + h
        doff += h
    n_in = sizes[L - 1]
    E = theta[woff + n_in]                      # b_L
    for q in range(n_in):
        E += theta[woff + q] * z[q]
    if want_grad:
        for q in range(n_in):                   # ā_L = 1 ⇒ z̄_{L−1} = W_Lᵀ
            z[q] = theta[woff + q]
        for l in range(L - 1, 0, -1):
            h, n_prev = sizes[l], sizes[l - 1]
            woff -= h * n_prev + h
            doff -= h
            for r in range(h):
                z[r] *= dsig[doff + r]
            for q in range(n_prev):
                acc = 0.0
                for r in range(h):
                    acc += theta[woff + r * n_prev + q] * z[r]
                znew[q] = acc
            for q in range(n_prev):
                z[q] = znew[q]
        for i in range(sizes[0]):
            g[i] = z[i]
    return E


def _select(form, grad: bool):
    """The implementation for the family of ``form``: (form, x, g) if grad else (form, x)."""
    fam = _family(form)
    if fam is GaussianForm:
        if grad:
            return lambda form, x, g: _gauss_eg(form.mean, form.precision, x, g, True)
        return lambda form, x: _gauss_eg(form.mean, form.precision, x, x, False)
    if fam is DiagGaussianForm:
        if grad:
            return lambda form, x, g: _diag_eg(form.mean, form.precision_diag, x, g, True)
        return lambda form, x: _diag_eg(form.mean, form.precision_diag, x, x, False)
    if fam is MixtureForm:
        if grad:
            return lambda form, x, g: _mixture_eg(form.means, form.precisions, form.const, x, g, True)
        return lambda form, x: _mixture_eg(form.means, form.precisions, form.const, x, x, False)
    if fam is WarpedForm:
        if grad:
            return lambda form, x, g: _warped_eg(form.mean, form.precision, form.b, x, g, True)
        return lambda form, x: _warped_eg(form.mean, form.precision, form.b, x, x, False)
    if fam is GBRBMForm:
        if grad:
            return lambda form, x, g: _gbrbm_eg(form.W, form.b, form.c, form.s, x, g, True)
        return lambda form, x: _gbrbm_eg(form.W, form.b, form.c, form.s, x, x, False)
    if fam is MLPForm:
        if grad:
            return lambda form, x, g: _mlp_eg(form.theta, form.sizes, form.act, x, g, True)
        return lambda form, x: _mlp_eg(form.theta, form.sizes, form.act, x, x, False)
    return None


@overload(point_energy, inline="always")
def _ov_point_energy(form, x):
    return _select(form, False)   # g is unused (x passed in its place) when want_grad is False


@overload(point_energy_grad, inline="always")
def _ov_point_energy_grad(form, x, g):
    return _select(form, True)


# ------------------------------------------------ batch helpers (tests, identities)
@njit(cache=True)
def batch_energy(form, x):
    """E of each row of ``x`` (n, d) through the jitted form (for tests)."""
    out = np.empty(x.shape[0])
    for n in range(x.shape[0]):
        out[n] = point_energy(form, x[n])
    return out


@njit(cache=True)
def batch_energy_grad(form, x):
    """(E, ∇ₓE) of each row of ``x`` through the jitted form (for tests)."""
    out = np.empty(x.shape[0])
    G = np.empty_like(x)
    for n in range(x.shape[0]):
        out[n] = point_energy_grad(form, x[n], G[n])
    return out, G


_ = types  # numba.types is the namespace the overloads are typed against
