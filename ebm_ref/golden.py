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

A quantity passes when :math:`\max|r - \text{ref}| \le \text{atol} + \text{rtol}\cdot\max|\text{ref}|`
(norm-wise, as :mod:`ebm_ref.check` compares derivatives: small entries do not inflate
the error).  The report gives the maximum absolute error, the norm-wise relative error
``max|r − ref| / max|ref|`` and the index where the absolute error is largest.

Every file is read with ``np.load(..., allow_pickle=False)``.  A missing or corrupt
file, a missing or unknown key, a wrong shape, a non-float array or a pickle inside an
archive raises :class:`GoldenError` naming the file and key and what was expected.
"""
from __future__ import annotations

import io
import json
import math
import sys
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "GoldenError",
    "Row",
    "export",
    "check",
    "compare",
    "load_case",
    "save_results",
    "case_names",
    "FORMAT",
    "TOLERANCES",
]

#: identifies the manifest layout; :func:`check` refuses any other.
FORMAT = "ebm_ref-golden/1"
#: base seed of every case (each case seeds a Generator with [SEED, crc32(case name)],
#: so adding a case never changes another one).
SEED = 20240
#: points per batch in the model cases.
N_POINTS = 6
#: fixed timestamp of every zip member: the export is byte-for-byte reproducible.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)

SIGN_CONVENTION = "energy E with p(x) = exp(-E(x)) / Z; score s(x) = grad_x log p(x) = -grad_x E(x)"
RULE = "pass when max|result - reference| <= atol + rtol * max|reference| (per quantity, norm-wise)"

#: tolerance classes (rtol, atol, reason).  The reference is float64; a correct float64
#: implementation differs only by the order of its floating-point operations.  A wrong
#: formula (a sign, a factor ½, a dropped term, a transposed weight) is an O(1) relative
#: error, many orders of magnitude above every class here.
TOLERANCES = {
    "value": (1e-10, 1e-12,
              "float64 evaluation of a closed form: a different order of operations changes the "
              "result by a few ulps times the conditioning of its sums; 1e-10 leaves ~1e5 ulps for that"),
    "second": (1e-9, 1e-10,
               "second derivatives and their parameter gradients pass through two chain rules "
               "(autodiff over autodiff, or a forward Laplacian against a Hessian trace): one more "
               "decade than first-order values"),
    "objective": (1e-9, 1e-11,
                  "a loss or its gradient is a batch mean of derivatives, computed by softplus/logsumexp "
                  "or second-order rewrites that are equal in exact arithmetic only"),
}


class GoldenError(ValueError):
    """A reference or results file is missing, malformed or mislabelled."""


# ====================================================================== writing
def _npz_bytes(arrays: dict) -> bytes:
    """An .npz archive with sorted keys, stored members and a fixed timestamp."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for key in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            zf.writestr(info, member.getvalue())
    return buf.getvalue()


def _write_npz(path: Path, arrays: dict) -> None:
    path.write_bytes(_npz_bytes(arrays))


def _f64(a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if not np.all(np.isfinite(a)):  # pragma: no cover - a bug in a model, not in the user's input
        raise RuntimeError("golden: a reference value is not finite")
    return a


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng([SEED, zlib.crc32(name.encode())])


@dataclass
class _Case:
    name: str
    kind: str                    # "model" or "objective"
    what: str                    # the class / function that produced the outputs
    formula: str                 # the energy (or objective) in words
    settings: dict
    inputs: dict = field(default_factory=dict)    # key -> (array, meaning)
    params: dict = field(default_factory=dict)    # key -> (array, meaning)
    outputs: dict = field(default_factory=dict)   # key -> (array, formula, convention, tolerance class)

    def put(self, key, value, formula, convention, tol):
        self.outputs[key] = (_f64(value), formula, convention, tol)

    def put_dict(self, qty, d, formula, convention, tol):
        for k, v in d.items():
            self.put(f"{qty}.{k}", v, f"{formula}  [parameter {k}]", convention, tol)


def _param_meanings(model) -> dict:
    sym = set(getattr(model, "symmetric_params", ()))
    out = {}
    for k, v in model.params.items():
        note = "symmetric matrix; its gradients are symmetrized" if k in sym else ""
        out[k] = (v, f"parameter {k}" + (f" ({note})" if note else ""))
    return out


E_CONV = "energy sign: E with p ∝ exp(-E)"


def _model_quantities(case: _Case, model, x, u, v) -> None:
    """Every quantity of the energy contract the model provides, at x (u, v for the primitives)."""
    case.put("energy", model.energy(x), "E(x_n), shape (n,)", E_CONV, "value")
    case.put("grad_x", model.grad_x(x), "grad_x E(x_n), shape (n, d)", E_CONV, "value")
    case.put("score", model.score(x), "s(x_n) = -grad_x E(x_n), shape (n, d)",
             "score = grad_x log p = -grad_x E (Z does not enter)", "value")
    optional = [
        ("hessian_x", lambda: model.hessian_x(x), "H[n, i, j] = d²E/dx_i dx_j at x_n, shape (n, d, d)", "second"),
        ("laplacian_x", lambda: model.laplacian_x(x), "tr grad_x² E(x_n), shape (n,)", "second"),
    ]
    for key, fn, formula, tol in optional:
        try:
            case.put(key, fn(), formula, E_CONV, tol)
        except NotImplementedError:
            pass
    case.put_dict("grad_params", model.grad_params(x), "dE(x_n)/dθ per point, shape (n, *θ.shape)",
                  E_CONV + "; gradient of E itself (not of log p)", "value")
    prims = [
        ("grad_params_dot_grad_x", lambda: model.grad_params_dot_grad_x(x, u),
         "d/dθ Σ_n u_n · grad_x E(x_n), u (inputs) held fixed; shape θ.shape"),
        ("grad_params_laplacian", lambda: model.grad_params_laplacian(x),
         "d/dθ Σ_n tr grad_x² E(x_n); shape θ.shape"),
        ("grad_params_hvp", lambda: model.grad_params_hvp(x, v),
         "d/dθ Σ_n v_n^T grad_x² E(x_n) v_n, v (inputs) held fixed; shape θ.shape"),
    ]
    for key, fn, formula in prims:
        try:
            case.put_dict(key, fn(), formula, E_CONV + "; summed over the batch", "second")
        except NotImplementedError:
            pass
    try:
        case.put("log_partition", model.log_partition(), "log Z = log ∫ exp(-E(x)) dx (sum for binary x), shape ()",
                 "log Z of p = exp(-E)/Z", "value")
    except NotImplementedError:
        pass


def _model_case(name, model, x, formula, what, settings=None) -> _Case:
    rng = _rng(name + "/uv")
    u = rng.standard_normal(x.shape)
    v = rng.standard_normal(x.shape)
    c = _Case(name, "model", what, formula, dict(settings or {}))
    c.inputs = {"x": (x, "points x_n, shape (n, d)"),
                "u": (u, "fixed directions for grad_params_dot_grad_x, shape (n, d)"),
                "v": (v, "fixed directions for grad_params_hvp, shape (n, d)")}
    c.params = _param_meanings(model)
    _model_quantities(c, model, x, u, v)
    return c


def _spd(rng, d, shift):
    A = rng.standard_normal((d, d))
    P = A @ A.T / d + shift * np.eye(d)
    return 0.5 * (P + P.T)


MLP_FORMULA = ("E(x) = W_L σ(... σ(W_1 x + b_1) ...) + b_L with σ = tanh; W_l of shape (out, in) "
               "(the layout of a linear layer: a_l = W_l z_(l-1) + b_l, no transpose); W_L is (1, h), b_L is (1,)")


def _mlp(rng, sizes):
    from .models import MLPEnergy

    return MLPEnergy.init(sizes, rng, activation="tanh", bias_scale=0.5)


# ------------------------------------------------------------------ model cases
def _gaussian():
    from .models import Gaussian

    rng = _rng("gaussian")
    d = 3
    m = Gaussian(rng.standard_normal(d), _spd(rng, d, 0.5))
    x = m.mean + rng.standard_normal((N_POINTS, d))
    return _model_case("gaussian", m, x, "E(x) = ½ (x-mean)^T precision (x-mean)", "ebm_ref.models.Gaussian")


def _mixture():
    from .models import GaussianMixture

    rng = _rng("gaussian_mixture")
    K, d = 3, 2
    w = rng.dirichlet(np.full(K, 3.0))
    w = w / w.sum()
    means = 1.5 * rng.standard_normal((K, d))
    covs = np.stack([np.linalg.inv(_spd(rng, d, 0.4)) for _ in range(K)])
    covs = 0.5 * (covs + np.swapaxes(covs, 1, 2))
    m = GaussianMixture(w, means, covs)
    x = 1.5 * rng.standard_normal((N_POINTS, d))
    return _model_case("gaussian_mixture", m, x,
                       "E(x) = -log Σ_k weights_k N(x; means_k, covariances_k); weights are treated as free "
                       "positive numbers in grad_params (dE/dw_k = -r_k/w_k)", "ebm_ref.models.GaussianMixture")


def _warped():
    from .models import WarpedGaussian

    rng = _rng("warped_gaussian")
    d = 2
    m = WarpedGaussian(rng.standard_normal(d), _spd(rng, d, 0.5), 0.6)
    x = rng.standard_normal((N_POINTS, d))
    return _model_case("warped_gaussian", m, x,
                       "E(x) = ½ (T(x)-mean)^T precision (T(x)-mean), T(x) = x + b x_0² e_1 (unit Jacobian)",
                       "ebm_ref.models.WarpedGaussian")


EXPFAM = {
    "expfam_normal": ("Normal", {"mu": 0.3, "sigma": 1.4},
                      "E(x) = ½ log 2π - eta·(x, x²); eta = (mu/sigma², -1/(2 sigma²))"),
    "expfam_exponential": ("Exponential", {"rate": 1.7}, "E(x) = -eta·x, x > 0; eta = -rate"),
    "expfam_beta": ("Beta", {"alpha": 2.5, "beta": 3.5},
                    "E(x) = log x + log(1-x) - eta·(log x, log(1-x)), 0 < x < 1; eta = (alpha, beta)"),
    "expfam_gamma": ("Gamma", {"shape": 3.0, "rate": 2.0},
                     "E(x) = log x - eta·(log x, x), x > 0; eta = (shape, -rate)"),
    "expfam_dirichlet": ("Dirichlet", {"alpha": [2.0, 3.0, 4.0]},
                         "x = (x_1, ..., x_{K-1}), x_K = 1 - Σ x_k; E(x) = Σ_k log x_k - Σ_k eta_k log x_k "
                         "(k = 1..K); eta = alpha"),
}


def _expfam(name):
    from .models import expfam

    fam, kw, formula = EXPFAM[name]
    e = getattr(expfam, fam)(**kw).as_energy()
    x = e.sample(N_POINTS, _rng(name))
    return _model_case(name, e, x, f"exponential family {fam} as an energy, E(x) = -log h(x) - eta^T T(x), "
                       f"log Z = A(eta): {formula}", "ebm_ref.models.ExpFamEnergy", {"family": fam})


def _rbm():
    from .models import BernoulliRBM

    rng = _rng("bernoulli_rbm")
    V, H = 5, 3
    m = BernoulliRBM(0.7 * rng.standard_normal((V, H)), 0.5 * rng.standard_normal(V), 0.5 * rng.standard_normal(H))
    x = rng.integers(0, 2, (N_POINTS, V)).astype(np.float64)
    return _model_case("bernoulli_rbm", m, x,
                       "free energy F(v) = -b·v - Σ_j softplus(c_j + (W^T v)_j), W of shape (V, H); "
                       "x-derivatives are those of this formula as a smooth function of v",
                       "ebm_ref.models.BernoulliRBM")


def _gbrbm():
    from .models import GaussianBernoulliRBM

    rng = _rng("gaussian_bernoulli_rbm")
    V, H = 3, 4
    m = GaussianBernoulliRBM(0.5 * rng.standard_normal((V, H)), 0.5 * rng.standard_normal(V),
                             0.5 * rng.standard_normal(H), rng.uniform(0.7, 1.5, V))
    x = 1.2 * rng.standard_normal((N_POINTS, V))
    return _model_case("gaussian_bernoulli_rbm", m, x,
                       "F(v) = Σ_i (v_i-b_i)²/(2 sigma_i²) - Σ_j softplus(c_j + Σ_i v_i W_ij / sigma_i²)",
                       "ebm_ref.models.GaussianBernoulliRBM")


def _boltzmann():
    from .models import BoltzmannMachine

    rng = _rng("boltzmann_machine")
    d = 5
    A = 0.6 * rng.standard_normal((d, d))
    J = np.triu(A, 1)
    J = J + J.T
    m = BoltzmannMachine(J, 0.5 * rng.standard_normal(d), spins="binary")
    x = rng.integers(0, 2, (N_POINTS, d)).astype(np.float64)
    return _model_case("boltzmann_machine", m, x,
                       "E(x) = -½ x^T J x - h·x, x in {0,1}^d, J symmetric with zero diagonal; "
                       "x-derivatives of the same quadratic", "ebm_ref.models.BoltzmannMachine",
                       {"spins": "binary"})


def _mlp_case(name, sizes):
    rng = _rng(name)
    m = _mlp(rng, sizes)
    x = rng.standard_normal((N_POINTS, sizes[0]))
    return _model_case(name, m, x, MLP_FORMULA, "ebm_ref.models.MLPEnergy", {"activation": "tanh"})


# -------------------------------------------------------------- objective cases
OBJ = "objective"


def _cd(name, model, x_data, x_model, formula_model):
    from .objectives import contrastive_divergence as cd

    c = _Case(name, OBJ, "ebm_ref.objectives.contrastive_divergence.phases and .loss",
              f"contrastive divergence on {formula_model}", {})
    c.inputs = {"x_data": (x_data, "data points, shape (n_d, d)"),
                "x_model": (x_model, "fixed negative (model) samples, shape (n_m, d)")}
    c.params = _param_meanings(model)
    pos, neg = cd.phases(model, x_data, x_model)
    value, grads = cd.loss(model, x_data, x_model)
    conv = "E with p ∝ exp(-E); gradient of the NEGATIVE mean log-likelihood ≈ positive - negative phase"
    c.put_dict("positive_phase", pos, "(1/n_d) Σ_n dE(x_data_n)/dθ", conv, OBJ)
    c.put_dict("negative_phase", neg, "(1/n_m) Σ_m dE(x_model_m)/dθ", conv, OBJ)
    c.put("loss", value, "mean E(x_data) - mean E(x_model) (samples held fixed; not the NLL: no log Z)", conv, OBJ)
    c.put_dict("grad", grads, "positive_phase - negative_phase = d loss/dθ", conv, OBJ)
    return c


def _cd_rbm():
    from .models import BernoulliRBM

    rng = _rng("cd_rbm")
    V, H = 5, 3
    m = BernoulliRBM(0.7 * rng.standard_normal((V, H)), 0.5 * rng.standard_normal(V), 0.5 * rng.standard_normal(H))
    xd = rng.integers(0, 2, (8, V)).astype(np.float64)
    xm = rng.integers(0, 2, (8, V)).astype(np.float64)
    c = _cd("cd_rbm", m, xd, xm, "a Bernoulli RBM (free energy F(v) = -b·v - Σ_j softplus(c_j + (W^T v)_j))")
    c.settings["model"] = "ebm_ref.models.BernoulliRBM"
    return c


def _cd_mlp():
    rng = _rng("cd_mlp")
    m = _mlp(rng, [2, 8])
    xd = rng.standard_normal((8, 2))
    xm = 0.5 + 1.5 * rng.standard_normal((8, 2))
    c = _cd("cd_mlp", m, xd, xm, "an MLP energy: " + MLP_FORMULA)
    c.settings.update(model="ebm_ref.models.MLPEnergy", activation="tanh")
    return c


SM_CONV = ("loss to minimize, energy sign: ½|grad_x E|² - tr grad_x² E "
           "(in f = -E sign: ½|grad f|² + Δf)")


def _sm_exact(name, model, x, formula_model, settings):
    from .objectives import score_matching as sm

    c = _Case(name, OBJ, "ebm_ref.objectives.score_matching.loss", f"exact (Hyvärinen) score matching on {formula_model}",
              settings)
    c.inputs = {"x": (x, "data points, shape (n, d)")}
    c.params = _param_meanings(model)
    value, grads = sm.loss(model, x)
    c.put("loss", value, "J = (1/n) Σ_n [½ |grad_x E(x_n)|² - tr grad_x² E(x_n)]", SM_CONV, OBJ)
    c.put_dict("grad", grads, "dJ/dθ", SM_CONV, OBJ)
    return c


def _sm_exact_gaussian():
    from .models import Gaussian

    rng = _rng("sm_exact_gaussian")
    d = 2
    m = Gaussian(rng.standard_normal(d), _spd(rng, d, 0.5))
    x = rng.standard_normal((8, d))
    return _sm_exact("sm_exact_gaussian", m, x, "a Gaussian, E(x) = ½ (x-mean)^T precision (x-mean)",
                     {"model": "ebm_ref.models.Gaussian"})


def _sm_exact_mlp():
    rng = _rng("sm_exact_mlp")
    m = _mlp(rng, [3, 6, 6])
    x = rng.standard_normal((8, 3))
    return _sm_exact("sm_exact_mlp", m, x, "an MLP energy: " + MLP_FORMULA,
                     {"model": "ebm_ref.models.MLPEnergy", "activation": "tanh"})


def _sm_sliced_mlp():
    from .objectives import score_matching as sm

    rng = _rng("sm_sliced_mlp")
    m = _mlp(rng, [3, 6, 6])
    x = rng.standard_normal((8, 3))
    proj = rng.standard_normal((8, 2, 3))
    c = _Case("sm_sliced_mlp", OBJ, "ebm_ref.objectives.score_matching.sliced_loss(model, x, projections=...)",
              "sliced score matching on an MLP energy: " + MLP_FORMULA,
              {"model": "ebm_ref.models.MLPEnergy", "activation": "tanh"})
    c.inputs = {"x": (x, "data points, shape (n, d)"),
                "projections": (proj, "fixed projections v_nm, shape (n, m, d), m per point")}
    c.params = _param_meanings(m)
    value, grads = sm.sliced_loss(m, x, projections=proj)
    c.put("loss", value, "J = (1/(n m)) Σ_n Σ_m [½ (v_nm · grad_x E(x_n))² - v_nm^T grad_x² E(x_n) v_nm]", SM_CONV, OBJ)
    c.put_dict("grad", grads, "dJ/dθ", SM_CONV, OBJ)
    return c


def _sm_denoising_mlp():
    from .objectives import score_matching as sm

    rng = _rng("sm_denoising_mlp")
    m = _mlp(rng, [3, 6, 6])
    x = rng.standard_normal((8, 3))
    eps = rng.standard_normal((8, 3))
    sigma = 0.3
    c = _Case("sm_denoising_mlp", OBJ, "ebm_ref.objectives.score_matching.denoising_loss(model, x, sigma, noise=...)",
              "denoising score matching on an MLP energy: " + MLP_FORMULA,
              {"model": "ebm_ref.models.MLPEnergy", "activation": "tanh"})
    c.inputs = {"x": (x, "clean data points, shape (n, d)"),
                "noise": (eps, "fixed standard-normal draws eps, shape (n, d); noisy points x + sigma eps"),
                "sigma": (np.float64(sigma), "noise standard deviation sigma, shape ()")}
    c.params = _param_meanings(m)
    value, grads = sm.denoising_loss(m, x, sigma, noise=eps)
    c.put("loss", value, "J = (1/n) Σ_n ½ |grad_x E(x_n + sigma eps_n) - eps_n / sigma|²",
          "loss to minimize; energy sign (the target score of the noise kernel is -eps/sigma)", OBJ)
    c.put_dict("grad", grads, "dJ/dθ", "loss to minimize; energy sign", OBJ)
    return c


def _nce_mlp():
    from .models import Gaussian
    from .objectives import nce

    rng = _rng("nce_mlp")
    m = _mlp(rng, [2, 8])
    noise = Gaussian(np.zeros(2), 0.25 * np.eye(2))
    nu, log_z = 2.0, 0.7
    xd = 0.5 + rng.standard_normal((8, 2))
    xn = noise.sample(16, rng)
    c = _Case("nce_mlp", OBJ, "ebm_ref.objectives.nce.loss(model, log_z, x_data, x_noise, noise=, nu=)",
              "noise-contrastive estimation on an MLP energy: " + MLP_FORMULA,
              {"model": "ebm_ref.models.MLPEnergy", "activation": "tanh",
               "noise": "Gaussian N(noise.mean, inverse(noise.precision))"})
    c.inputs = {"x_data": (xd, "data points, shape (n_d, d)"),
                "x_noise": (xn, "fixed noise samples, shape (n_n, d)"),
                "nu": (np.float64(nu), "nu, prior odds noise : data, shape ()"),
                "noise.mean": (noise.mean, "mean of the Gaussian noise p_n, shape (d,)"),
                "noise.precision": (noise.precision, "precision of the Gaussian noise p_n, shape (d, d)")}
    c.params = _param_meanings(m)
    c.params["log_z"] = (np.float64(log_z), "c, the free scalar standing for log Z (trained with θ), shape ()")
    value, grads = nce.loss(m, log_z, xd, xn, noise=noise, nu=nu)
    conv = ("loss to minimize; G(x) = -E(x) - c - log nu - log p_n(x) is the logit of "
            "P(data | x); grads are dJ/dθ and dJ/dc (descent goes against them)")
    c.put("noise_log_prob_data", noise.log_prob(xd), "log p_n(x_data_n), shape (n_d,)", conv, "value")
    c.put("noise_log_prob_noise", noise.log_prob(xn), "log p_n(x_noise_m), shape (n_n,)", conv, "value")
    c.put("logit_data", nce.logit(m, log_z, xd, noise, nu), "G(x_data_n), shape (n_d,)", conv, OBJ)
    c.put("logit_noise", nce.logit(m, log_z, xn, noise, nu), "G(x_noise_m), shape (n_n,)", conv, OBJ)
    c.put("loss", value, "J = [mean_n softplus(-G(x_data_n)) + nu mean_m softplus(G(x_noise_m))] / (1 + nu)", conv, OBJ)
    grads = dict(grads)
    dc = grads.pop("log_z")
    c.put_dict("grad", grads, "dJ/dθ = [mean_n σ(-G) dE/dθ(x_data_n) - nu mean_m σ(G) dE/dθ(x_noise_m)] / (1 + nu)",
               conv, OBJ)
    c.put("grad.log_z", dc, "dJ/dc = [mean_n σ(-G(x_data_n)) - nu mean_m σ(G(x_noise_m))] / (1 + nu)", conv, OBJ)
    return c


class _FixedSamples:
    """A normalized q whose ``sample`` returns fixed points (so the library's bound uses them)."""

    def __init__(self, q, y):
        self._q, self._y, self.dim = q, y, q.dim

    def log_prob(self, x):
        return self._q.log_prob(x)

    def sample(self, n, rng):
        if n != self._y.shape[0]:  # pragma: no cover - internal use only
            raise ValueError(f"n: the fixed sample has {self._y.shape[0]} points, asked for {n}")
        return self._y.copy()


def _bound_mlp():
    from .models import Gaussian
    from .objectives import adversarial, contrastive_divergence as cd

    rng = _rng("variational_bound_mlp")
    m = _mlp(rng, [2, 8])
    q = Gaussian(np.array([0.2, -0.1]), np.diag([0.8, 1.25]))
    y = q.sample(10, rng)
    xd = rng.standard_normal((8, 2))
    c = _Case("variational_bound_mlp", OBJ,
              "ebm_ref.objectives.adversarial.bound_terms / variational_bound with fixed q samples; "
              "contrastive_divergence.phases for the θ-gradient",
              "the variational lower bound log Z >= E_q[-E] + H(q) on an MLP energy: " + MLP_FORMULA,
              {"model": "ebm_ref.models.MLPEnergy", "activation": "tanh",
               "q": "Gaussian N(q.mean, inverse(q.precision))"})
    c.inputs = {"y": (y, "fixed samples of q, shape (n_q, d)"),
                "x_data": (xd, "data points, shape (n_d, d)"),
                "q.mean": (q.mean, "mean of q, shape (d,)"),
                "q.precision": (q.precision, "precision of q, shape (d, d)")}
    c.params = _param_meanings(m)
    fixed = _FixedSamples(q, y)
    _, w = adversarial.bound_terms(m, fixed, y.shape[0], 0)
    value, stderr = adversarial.variational_bound(m, fixed, y.shape[0], 0)
    conv = "E with p ∝ exp(-E); the bound is a LOWER bound of log Z; L is a lower bound of the NLL"
    c.put("log_q", q.log_prob(y), "log q(y_m), shape (n_q,)", conv, "value")
    c.put("bound_terms", w, "w_m = -E(y_m) - log q(y_m), shape (n_q,)", conv, OBJ)
    c.put("bound", value, "mean_m w_m  (Monte Carlo E_q[-E] + H(q))", conv, OBJ)
    c.put("bound_stderr", stderr, "std(w, ddof=1) / sqrt(n_q)", conv, OBJ)
    c.put("minimax_value", float(np.mean(m.energy(xd))) + value,
          "L = mean_n E(x_data_n) + bound  (minimax objective, min over θ, max over q)", conv, OBJ)
    pos, neg = cd.phases(m, xd, y)
    c.put_dict("minimax_grad", {k: pos[k] - neg[k] for k in pos},
               "dL/dθ = mean_n dE/dθ(x_data_n) - mean_m dE/dθ(y_m)", conv, OBJ)
    return c


def _builders():
    b = [("gaussian", _gaussian), ("gaussian_mixture", _mixture), ("warped_gaussian", _warped)]
    b += [(n, (lambda n=n: _expfam(n))) for n in EXPFAM]
    b += [("bernoulli_rbm", _rbm), ("gaussian_bernoulli_rbm", _gbrbm), ("boltzmann_machine", _boltzmann),
          ("mlp_depth1", lambda: _mlp_case("mlp_depth1", [3, 8])),
          ("mlp_depth2", lambda: _mlp_case("mlp_depth2", [3, 6, 6])),
          ("cd_rbm", _cd_rbm), ("cd_mlp", _cd_mlp),
          ("sm_exact_gaussian", _sm_exact_gaussian), ("sm_exact_mlp", _sm_exact_mlp),
          ("sm_sliced_mlp", _sm_sliced_mlp), ("sm_denoising_mlp", _sm_denoising_mlp),
          ("nce_mlp", _nce_mlp), ("variational_bound_mlp", _bound_mlp)]
    return b


def case_names() -> list[str]:
    """Names of the cases :func:`export` writes, in order."""
    return [n for n, _ in _builders()]


def _shape(a) -> list:
    return [int(s) for s in np.shape(a)]


def _manifest_entry(c: _Case) -> dict:
    outputs = {}
    for key, (a, formula, conv, tol) in c.outputs.items():
        rtol, atol, reason = TOLERANCES[tol]
        outputs[key] = {"formula": formula, "convention": conv, "shape": _shape(a), "dtype": "float64",
                        "rtol": rtol, "atol": atol, "tolerance": tol, "tolerance_reason": reason}
    return {
        "kind": c.kind,
        "computed_by": c.what,
        "formula": c.formula,
        "settings": c.settings,
        "files": {r: f"{c.name}/{r}.npz" for r in ("inputs", "params", "outputs")},
        "inputs": {k: {"meaning": m, "shape": _shape(a), "dtype": "float64"} for k, (a, m) in c.inputs.items()},
        "params": {k: {"meaning": m, "shape": _shape(a), "dtype": "float64"} for k, (a, m) in c.params.items()},
        "outputs": outputs,
    }


def export(dir) -> dict:
    """Write every reference case and ``manifest.json`` under ``dir``; return the manifest.

    Parameters
    ----------
    dir : str or Path
        Created if absent; existing files of the same names are overwritten, nothing
        else is touched.

    Notes
    -----
    Every case draws its parameters and inputs from a Generator seeded with
    ``[SEED, crc32(case name)]``; archives have sorted keys and a fixed timestamp and the
    manifest is written with a fixed key order, so two exports on the same platform are
    identical byte for byte.
    """
    root = Path(dir)
    if root.exists() and not root.is_dir():
        raise GoldenError(f"{root}: exists and is not a directory")
    root.mkdir(parents=True, exist_ok=True)
    cases = {}
    for name, build in _builders():
        c = build()
        d = root / name
        d.mkdir(exist_ok=True)
        _write_npz(d / "inputs.npz", {k: _f64(a) for k, (a, _) in c.inputs.items()})
        _write_npz(d / "params.npz", {k: _f64(a) for k, (a, _) in c.params.items()})
        _write_npz(d / "outputs.npz", {k: a for k, (a, *_) in c.outputs.items()})
        cases[name] = _manifest_entry(c)
    manifest = {
        "format": FORMAT,
        "sign_convention": SIGN_CONVENTION,
        "comparison": RULE,
        "layout": ("<case>/inputs.npz, <case>/params.npz, <case>/outputs.npz; a parameter-dict quantity is "
                   "stored one key per parameter as '<quantity>.<param>'; results go to "
                   "RESULTS/<case>/outputs.npz with the same keys"),
        "conventions": [
            "hessian_x[n, i, j] = d²E/dx_i dx_j at x_n",
            "grad_params is per point, shape (n, *param.shape); grad_params_dot_grad_x, grad_params_laplacian "
            "and grad_params_hvp are summed over the batch",
            "symmetric-matrix parameters (precision, covariances, J) have symmetric gradients: "
            "½(A + A^T) of the entry-wise gradient A",
            "MLP weights Wl have shape (out, in) as in a linear layer: a_l = W_l z_(l-1) + b_l",
            "binary states are 0/1 float64; x-derivatives of binary models are those of the energy "
            "formula as a smooth function of x",
        ],
        "seed": SEED,
        "cases": cases,
    }
    text = json.dumps(manifest, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
    (root / "manifest.json").write_text(text, encoding="utf-8")
    return manifest


# ====================================================================== reading
def _load_npz(path: Path, what: str) -> dict:
    """Every array of an .npz archive, read without pickles; any failure is a GoldenError."""
    if not path.exists():
        raise GoldenError(f"{path}: missing file; expected {what} (an .npz archive written by np.savez)")
    if not path.is_file():
        raise GoldenError(f"{path}: is not a file; expected {what} (an .npz archive)")
    data = path.read_bytes()
    if data[:4] == b"PK\x03\x04":
        # np.load reads a member's header and data but not up to its end, so it never
        # sees a CRC mismatch: test every member first
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                bad = zf.testzip()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error) as exc:
            raise GoldenError(f"{path}: truncated or corrupt archive ({type(exc).__name__}: {exc}); "
                              f"expected {what} written by np.savez") from None
        if bad is not None:
            key = bad[:-4] if bad.endswith(".npy") else bad
            raise GoldenError(f"{path}: key {key!r} is truncated or corrupt (its CRC-32 does not match)")
    try:
        f = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc):
            raise GoldenError(f"{path}: holds pickled data, refused (read with allow_pickle=False); "
                              f"expected {what} written by np.savez with float arrays") from None
        raise GoldenError(f"{path}: cannot be read as an .npz archive ({exc}); expected {what}") from None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise GoldenError(f"{path}: truncated or corrupt archive ({type(exc).__name__}: {exc}); "
                          f"expected {what} written by np.savez") from None
    if not isinstance(f, np.lib.npyio.NpzFile):
        raise GoldenError(f"{path}: is a single .npy array, not an .npz archive; expected {what} "
                          "written by np.savez(path, key=array, ...)")
    out = {}
    with f:
        for key in f.files:
            try:
                a = f[key]
            except ValueError as exc:
                if "pickle" in str(exc) or "Object arrays" in str(exc):
                    raise GoldenError(f"{path}: key {key!r} holds an object (pickled) array, refused; "
                                      "save plain float64 arrays") from None
                raise GoldenError(f"{path}: key {key!r} cannot be read ({exc})") from None
            except Exception as exc:  # zipfile/zlib/format errors of a damaged member
                raise GoldenError(f"{path}: key {key!r} is truncated or corrupt "
                                  f"({type(exc).__name__}: {exc})") from None
            if not isinstance(a, np.ndarray):
                raise GoldenError(f"{path}: member {key!r} is not a .npy array; expected only arrays")
            out[key] = a
    return out


def _read_manifest(root: Path) -> dict:
    path = root / "manifest.json"
    if not root.is_dir():
        raise GoldenError(f"{root}: not a directory of reference cases (run `ebm-ref golden export {root}`)")
    if not path.is_file():
        raise GoldenError(f"{path}: missing file; expected the manifest written by `ebm-ref golden export`")
    try:
        m = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GoldenError(f"{path}: malformed JSON ({exc})") from None

    def bad(where, want):
        raise GoldenError(f"{path}: malformed manifest at {where}: expected {want}")

    if not isinstance(m, dict):
        bad("the top level", "a JSON object")
    if m.get("format") != FORMAT:
        bad("'format'", f"{FORMAT!r}, got {m.get('format')!r}")
    cases = m.get("cases")
    if not isinstance(cases, dict) or not cases:
        bad("'cases'", "a non-empty object of cases")
    for name, c in cases.items():
        if not isinstance(c, dict) or not isinstance(c.get("outputs"), dict) or not c["outputs"]:
            bad(f"cases[{name!r}]", "an object with a non-empty 'outputs' object")
        for key, spec in c["outputs"].items():
            where = f"cases[{name!r}].outputs[{key!r}]"
            if not isinstance(spec, dict):
                bad(where, "an object")
            shape = spec.get("shape")
            if not isinstance(shape, list) or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                                                      for s in shape):
                bad(f"{where}.shape", "a list of non-negative ints")
            for t in ("rtol", "atol"):
                v = spec.get(t)
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                    bad(f"{where}.{t}", f"a finite number >= 0, got {v!r}")
    return m


def load_case(dir, case: str) -> tuple[dict, dict, dict]:
    """``(inputs, params, outputs)`` of one reference case, each a dict of arrays."""
    root = Path(dir)
    m = _read_manifest(root)
    if case not in m["cases"]:
        raise GoldenError(f"case: {case!r} is not in {root / 'manifest.json'}; known: {sorted(m['cases'])}")
    return tuple(_load_npz(root / case / f"{r}.npz", f"the reference {r} of case {case!r}")
                 for r in ("inputs", "params", "outputs"))


def save_results(results_dir, case: str, outputs: dict) -> Path:
    """Write ``RESULTS/<case>/outputs.npz`` in the layout :func:`check` reads.

    ``outputs`` maps a quantity to an array, or to a dict of arrays (one per parameter),
    which is stored as ``<quantity>.<param>``.
    """
    flat = {}
    for q, v in outputs.items():
        if isinstance(v, dict):
            for k, a in v.items():
                flat[f"{q}.{k}"] = np.asarray(a)
        else:
            flat[q] = np.asarray(v)
    for k, a in flat.items():
        if not np.issubdtype(a.dtype, np.floating):
            raise GoldenError(f"outputs[{k!r}]: expected a float array, got dtype {a.dtype}")
    d = Path(results_dir) / case
    d.mkdir(parents=True, exist_ok=True)
    path = d / "outputs.npz"
    _write_npz(path, flat)
    return path


@dataclass
class Row:
    """One line of the report: one quantity of one case."""

    case: str
    quantity: str
    status: str            # "pass", "FAIL" or "missing"
    max_abs_err: float = float("nan")
    max_rel_err: float = float("nan")
    where: tuple = ()
    rtol: float = float("nan")
    atol: float = float("nan")
    note: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "FAIL"


def _compare_arrays(case, key, res, ref, spec) -> Row:
    rtol, atol = float(spec["rtol"]), float(spec["atol"])
    r = np.asarray(res, dtype=np.float64)
    note = f"results are {res.dtype} (tolerances assume float64)" if res.dtype != np.float64 else ""
    if ref.size == 0:
        return Row(case, key, "pass", 0.0, 0.0, (), rtol, atol, note)
    if not np.all(np.isfinite(r)):
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(r))[0])
        return Row(case, key, "FAIL", np.inf, np.inf, idx, rtol, atol, "result not finite")
    err = np.abs(r - ref)
    idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(err)), err.shape))
    max_abs = float(err[idx])
    scale = float(np.max(np.abs(ref)))
    rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else np.inf)
    ok = max_abs <= atol + rtol * scale
    return Row(case, key, "pass" if ok else "FAIL", max_abs, rel, idx, rtol, atol, note)


def compare(dir, results, *, allow_missing: bool = False) -> tuple[list[Row], list[str]]:
    """Compare RESULTS with the reference cases in DIR.

    Returns ``(rows, skipped_cases)``: one :class:`Row` per quantity of every case that
    RESULTS holds, and the names of the cases it does not hold.

    Raises
    ------
    GoldenError
        A malformed manifest; a missing or corrupt reference file; RESULTS not a
        directory, holding no case, or holding a directory that is not a case; a case
        directory without ``outputs.npz``; an unknown key; a missing key (unless
        ``allow_missing``); a wrong shape; a non-float array.
    """
    root, res_root = Path(dir), Path(results)
    manifest = _read_manifest(root)
    cases = manifest["cases"]
    if not res_root.is_dir():
        raise GoldenError(f"{res_root}: results directory not found; expected RESULTS/<case>/outputs.npz "
                          f"for some of the cases {sorted(cases)}")
    extra = sorted(p.name for p in res_root.iterdir() if p.is_dir() and not p.name.startswith(".")
                   and p.name not in cases)
    if extra:
        raise GoldenError(f"{res_root / extra[0]}: not a case of the reference (known cases: {sorted(cases)})")
    present = [n for n in cases if (res_root / n).exists()]
    if not present:
        raise GoldenError(f"{res_root}: holds no results; expected RESULTS/<case>/outputs.npz "
                          f"for some of the cases {sorted(cases)}")
    rows, skipped = [], [n for n in cases if n not in present]
    for name in present:
        spec_out = cases[name]["outputs"]
        ref_path = root / name / "outputs.npz"
        res_path = res_root / name / "outputs.npz"
        ref = _load_npz(ref_path, f"the reference outputs of case {name!r}")
        res = _load_npz(res_path, f"the results of case {name!r} with keys {sorted(spec_out)}")
        unknown = sorted(set(res) - set(spec_out))
        if unknown:
            raise GoldenError(f"{res_path}: key {unknown[0]!r} is not a quantity of case {name!r}; "
                              f"expected keys: {sorted(spec_out)}")
        for key, spec in spec_out.items():
            shape = tuple(spec["shape"])
            if key not in ref:
                raise GoldenError(f"{ref_path}: key {key!r} listed in the manifest is missing from the reference")
            a_ref = ref[key]
            if a_ref.shape != shape or a_ref.dtype != np.float64:
                raise GoldenError(f"{ref_path}: key {key!r} has shape {a_ref.shape} and dtype {a_ref.dtype}; "
                                  f"the manifest says {shape} float64")
            if key not in res:
                if allow_missing:
                    rows.append(Row(case=name, quantity=key, status="missing",
                                    rtol=spec["rtol"], atol=spec["atol"], note="not provided"))
                    continue
                raise GoldenError(f"{res_path}: missing key {key!r}; expected a float64 array of shape {shape}: "
                                  f"{spec.get('formula', '')}; pass --allow-missing to check only the keys "
                                  "you provide")
            a = res[key]
            if not np.issubdtype(a.dtype, np.floating):
                raise GoldenError(f"{res_path}: key {key!r} has dtype {a.dtype}; expected a float array "
                                  "(float64)")
            if a.shape != shape:
                raise GoldenError(f"{res_path}: key {key!r} has shape {a.shape}; expected {shape}: "
                                  f"{spec.get('formula', '')}")
            rows.append(_compare_arrays(name, key, a, a_ref, spec))
    return rows, skipped


def _fmt(v) -> str:
    return "-" if v != v else f"{v:.2e}"


def check(dir, results, *, allow_missing: bool = False, out=None, verbose: bool = True) -> int:
    """Compare RESULTS with the reference cases in DIR, print the report, return the number of failures.

    The table has one line per quantity: case, quantity, max absolute error, norm-wise
    relative error, where (index of the largest absolute error), rtol, atol, pass/FAIL.
    See :func:`compare` for what raises :class:`GoldenError`.
    """
    out = sys.stdout if out is None else out
    rows, skipped = compare(dir, results, allow_missing=allow_missing)
    wc = max([len("case")] + [len(r.case) for r in rows])
    wq = max([len("quantity")] + [len(r.quantity) for r in rows])
    if verbose:
        print(f"{'case':<{wc}}  {'quantity':<{wq}}  {'max abs err':>11}  {'max rel err':>11}  "
              f"{'where':<12}  {'rtol':>7}  {'atol':>7}  result", file=out)
        for r in rows:
            where = "-" if r.status == "missing" else str(r.where)
            extra = f"  [{r.note}]" if r.note else ""
            print(f"{r.case:<{wc}}  {r.quantity:<{wq}}  {_fmt(r.max_abs_err):>11}  {_fmt(r.max_rel_err):>11}  "
                  f"{where:<12}  {r.rtol:7.0e}  {r.atol:7.0e}  {r.status}{extra}", file=out)
    n_fail = sum(r.failed for r in rows)
    n_pass = sum(r.status == "pass" for r in rows)
    n_miss = sum(r.status == "missing" for r in rows)
    print(f"{n_pass} passed, {n_fail} failed, {n_miss} not provided; "
          f"{len({r.case for r in rows})} case(s) checked"
          + (f", {len(skipped)} skipped (no results): {', '.join(skipped)}" if skipped else ""), file=out)
    if n_fail:
        failed = sorted({f"{r.case}/{r.quantity}" for r in rows if r.failed})
        print("FAILED: " + ", ".join(failed), file=out)
    return n_fail
