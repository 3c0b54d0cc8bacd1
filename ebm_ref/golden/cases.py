r"""The catalogue of reference cases and :func:`export`, which writes them.

A case is one model (or one objective on one model) with fixed parameters and fixed
inputs, and every quantity this package computes for it; each case draws from a
Generator seeded with ``[SEED, crc32(case name)]``, so adding a case never changes another.
"""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .comparison import RULE, TOLERANCES
from .fileformat import FORMAT, SIGN_CONVENTION, GoldenError, check_case_name, check_inside, write_npz

__all__ = ["export", "case_names", "SEED", "N_POINTS"]

#: base seed of every case (each case seeds a Generator with [SEED, crc32(case name)],
#: so adding a case never changes another one).
SEED = 20240
#: points per batch in the model cases.
N_POINTS = 6

def _f64(a, what: str) -> np.ndarray:
    """``a`` as float64; a non-finite reference value is refused (export writes only finite numbers)."""
    a = np.asarray(a, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
        raise GoldenError(f"golden export: {what} is not finite at {idx} ({a[idx]}); a reference value must be "
                          "finite (the cases are chosen where every quantity is)")
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
        self.outputs[key] = (_f64(value, f"case {self.name!r}, output {key!r}"), formula, convention, tol)

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
    from ..models import MLPEnergy

    return MLPEnergy.init(sizes, rng, activation="tanh", bias_scale=0.5)


# ------------------------------------------------------------------ model cases
def _gaussian():
    from ..models import Gaussian

    rng = _rng("gaussian")
    d = 3
    m = Gaussian(rng.standard_normal(d), _spd(rng, d, 0.5))
    x = m.mean + rng.standard_normal((N_POINTS, d))
    return _model_case("gaussian", m, x, "E(x) = ½ (x-mean)^T precision (x-mean)", "ebm_ref.models.Gaussian")


def _mixture():
    from ..models import GaussianMixture

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
    from ..models import WarpedGaussian

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
    from ..models import expfam

    fam, kw, formula = EXPFAM[name]
    e = getattr(expfam, fam)(**kw).as_energy()
    x = e.sample(N_POINTS, _rng(name))
    return _model_case(name, e, x, f"exponential family {fam} as an energy, E(x) = -log h(x) - eta^T T(x), "
                       f"log Z = A(eta): {formula}", "ebm_ref.models.ExpFamEnergy", {"family": fam})


def _rbm():
    from ..models import BernoulliRBM

    rng = _rng("bernoulli_rbm")
    V, H = 5, 3
    m = BernoulliRBM(0.7 * rng.standard_normal((V, H)), 0.5 * rng.standard_normal(V), 0.5 * rng.standard_normal(H))
    x = rng.integers(0, 2, (N_POINTS, V)).astype(np.float64)
    return _model_case("bernoulli_rbm", m, x,
                       "free energy F(v) = -b·v - Σ_j softplus(c_j + (W^T v)_j), W of shape (V, H); "
                       "x-derivatives are those of this formula as a smooth function of v",
                       "ebm_ref.models.BernoulliRBM")


def _gbrbm():
    from ..models import GaussianBernoulliRBM

    rng = _rng("gaussian_bernoulli_rbm")
    V, H = 3, 4
    m = GaussianBernoulliRBM(0.5 * rng.standard_normal((V, H)), 0.5 * rng.standard_normal(V),
                             0.5 * rng.standard_normal(H), rng.uniform(0.7, 1.5, V))
    x = 1.2 * rng.standard_normal((N_POINTS, V))
    return _model_case("gaussian_bernoulli_rbm", m, x,
                       "F(v) = Σ_i (v_i-b_i)²/(2 sigma_i²) - Σ_j softplus(c_j + Σ_i v_i W_ij / sigma_i²)",
                       "ebm_ref.models.GaussianBernoulliRBM")


def _boltzmann():
    from ..models import BoltzmannMachine

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
    from ..objectives import contrastive_divergence as cd

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
    from ..models import BernoulliRBM

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
    from ..objectives import score_matching as sm

    c = _Case(name, OBJ, "ebm_ref.objectives.score_matching.loss", f"exact (Hyvärinen) score matching on {formula_model}",
              settings)
    c.inputs = {"x": (x, "data points, shape (n, d)")}
    c.params = _param_meanings(model)
    value, grads = sm.loss(model, x)
    c.put("loss", value, "J = (1/n) Σ_n [½ |grad_x E(x_n)|² - tr grad_x² E(x_n)]", SM_CONV, OBJ)
    c.put_dict("grad", grads, "dJ/dθ", SM_CONV, OBJ)
    return c


def _sm_exact_gaussian():
    from ..models import Gaussian

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
    from ..objectives import score_matching as sm

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
    from ..objectives import score_matching as sm

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
    from ..models import Gaussian
    from ..objectives import nce

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
    from ..models import Gaussian
    from ..objectives import adversarial, contrastive_divergence as cd

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
        d = check_inside(root, root / check_case_name(name), "a case folder")
        d.mkdir(exist_ok=True)
        for part, arrays in (("inputs", {k: _f64(a, f"case {name!r}, input {k!r}") for k, (a, _) in c.inputs.items()}),
                             ("params", {k: _f64(a, f"case {name!r}, parameter {k!r}") for k, (a, _) in c.params.items()}),
                             ("outputs", {k: a for k, (a, *_) in c.outputs.items()})):
            write_npz(check_inside(root, d / f"{part}.npz", "a reference file"), arrays)
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
    mpath = root / "manifest.json"
    if mpath.is_symlink():
        raise GoldenError(f"{mpath}: is a symbolic link; refused (never written through)")
    mpath.write_text(text, encoding="utf-8")
    return manifest
