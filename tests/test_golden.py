"""Reference cases and the comparer (ebm_ref.golden), tested by mutation.

An independent NumPy implementation, written below from the formulas (per point, with
explicit Jacobians and second-derivative tensors, sharing no code with ebm_ref), computes
a subset of the quantities and writes a results directory; the comparer must pass it.
Copies of it with one planted bug each must be flagged, with the right case and
quantity named and nothing else.
"""
import itertools
import json
import math
import pickle
import shutil
import time

import numpy as np
import pytest

from ebm_ref import cli, golden
from ebm_ref.golden import GoldenError

#: the export must finish well inside this (the issue's budget for the whole suite).
EXPORT_BUDGET_S = 30.0


# ======================================================= the independent implementation
def _sp(a):
    # softplus log(1 + e^a), written as logaddexp(0, a)
    return np.logaddexp(0.0, a)


def _sig(a):
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def _sym(A):
    return 0.5 * (A + A.T)


class IndependentMLP:
    """tanh MLP, E(x) = W_L z_{L-1} + b_L, z_l = tanh(W_l z_{l-1} + b_l), one point at a time.

    Bugs: ``transpose`` uses W.T for every square weight (a (in, out) / (out, in) mix-up);
    ``drop_term`` leaves out σ'(a)·∇²a in the second derivative of a unit, i.e. the
    curvature carried from the earlier layers.
    """

    def __init__(self, params, transpose=False, drop_term=False):
        L = sum(1 for k in params if k[0] == "W" and k[1:].isdigit())
        self.W = []
        for l in range(1, L + 1):
            W = np.array(params[f"W{l}"])
            self.W.append(W.T if transpose and W.shape[0] == W.shape[1] else W)
        self.b = [np.array(params[f"b{l}"]) for l in range(1, L + 1)]
        self.drop_term = drop_term

    def point(self, x):
        """E, ∇E, ∇²E at one point, by carrying value, Jacobian and second-derivative tensor."""
        d = x.size
        z, Jz, Hz = x, np.eye(d), np.zeros((d, d, d))
        for W, b in zip(self.W[:-1], self.b[:-1]):
            a = W @ z + b
            Ja = W @ Jz                                   # ∂a_k/∂x
            Ha = np.einsum("kj,jpq->kpq", W, Hz)          # ∂²a_k/∂x∂x
            t = np.tanh(a)
            s1, s2 = 1.0 - t * t, -2.0 * t * (1.0 - t * t)
            curv = np.einsum("k,kp,kq->kpq", s2, Ja, Ja)
            Hz = curv if self.drop_term else s1[:, None, None] * Ha + curv
            z, Jz = t, s1[:, None] * Ja
        WL, bL = self.W[-1], self.b[-1]
        return float(WL[0] @ z + bL[0]), WL[0] @ Jz, np.einsum("j,jpq->pq", WL[0], Hz)

    def grad_params_point(self, x):
        zs, As = [x], []
        for W, b in zip(self.W[:-1], self.b[:-1]):
            As.append(W @ zs[-1] + b)
            zs.append(np.tanh(As[-1]))
        L = len(self.W)
        g = {f"W{L}": zs[-1][None, :].copy(), f"b{L}": np.ones(1)}
        back = self.W[-1][0]                              # ∂E/∂z_{L-1}
        for l in range(L - 1, 0, -1):
            ga = back * (1.0 - np.tanh(As[l - 1]) ** 2)
            g[f"W{l}"] = np.outer(ga, zs[l - 1])
            g[f"b{l}"] = ga
            back = self.W[l - 1].T @ ga
        return g

    def energy(self, X):
        return np.array([self.point(x)[0] for x in X])

    def all(self, X):
        E, G, H = zip(*(self.point(x) for x in X))
        return np.array(E), np.array(G), np.array(H)

    def grad_params(self, X):
        per = [self.grad_params_point(x) for x in X]
        return {k: np.array([p[k] for p in per]) for k in per[0]}


def rbm_parts(p, X):
    W, b, c = p["W"], p["b"], p["c"]
    out = []
    for v in X:
        a = c + v @ W
        s = _sig(a)
        F = -b @ v - np.sum(_sp(a))
        g = -b - W @ s
        H = -(W * (s * (1 - s))) @ W.T
        out.append((F, g, H, {"W": -np.outer(v, s), "b": -v, "c": -s}))
    return out


def rbm_log_z(p):
    V = p["W"].shape[0]
    states = np.array(list(itertools.product([0.0, 1.0], repeat=V)))
    F = np.array([r[0] for r in rbm_parts(p, states)])
    m = np.max(-F)
    return m + np.log(np.sum(np.exp(-F - m)))


def mean_dict(d):
    return {k: v.mean(axis=0) for k, v in d.items()}


def stack_dicts(ds):
    return {k: np.array([d[k] for d in ds]) for k in ds[0]}


def independent_results(ref_dir, out_dir, bug=None):
    """Compute a subset of the cases from ref_dir's inputs and params; write out_dir."""
    tr = bug == "transposed_weight"
    drop = bug == "dropped_laplacian_term"
    half = 1.0 if bug == "missing_half" else 0.5
    neg_sign = -1.0 if bug == "cd_negative_sign" else 1.0
    use_nu = bug != "nce_without_nu"

    def case(name):
        return golden.load_case(ref_dir, name)[:2]

    # --- Gaussian: every quantity, from E = ½ rᵀPr
    inp, p = case("gaussian")
    x, u, v = inp["x"], inp["u"], inp["v"]
    mu, P = p["mean"], p["precision"]
    r = x - mu
    n, d = x.shape
    golden.save_results(out_dir, "gaussian", {
        "energy": 0.5 * np.einsum("ni,ij,nj->n", r, P, r),
        "grad_x": r @ P, "score": -(r @ P),
        "hessian_x": np.repeat(P[None], n, axis=0), "laplacian_x": np.full(n, np.trace(P)),
        "grad_params": {"mean": -(r @ P), "precision": 0.5 * np.einsum("ni,nj->nij", r, r)},
        "grad_params_dot_grad_x": {"mean": -P @ u.sum(0), "precision": _sym(u.T @ r)},
        "grad_params_laplacian": {"mean": np.zeros(d), "precision": n * np.eye(d)},
        "grad_params_hvp": {"mean": np.zeros(d), "precision": v.T @ v},
        "log_partition": np.float64(0.5 * d * np.log(2 * np.pi) - 0.5 * np.linalg.slogdet(P)[1]),
    })

    # --- Bernoulli RBM
    inp, p = case("bernoulli_rbm")
    parts = rbm_parts(p, inp["x"])
    G = np.array([q[1] for q in parts])
    H = np.array([q[2] for q in parts])
    golden.save_results(out_dir, "bernoulli_rbm", {
        "energy": np.array([q[0] for q in parts]), "grad_x": G, "score": -G, "hessian_x": H,
        "laplacian_x": np.trace(H, axis1=1, axis2=2),
        "grad_params": stack_dicts([q[3] for q in parts]), "log_partition": np.float64(rbm_log_z(p)),
    })

    # --- MLPs: energy and x-derivatives by explicit second derivatives, per-point θ-gradients
    for name in ("mlp_depth1", "mlp_depth2"):
        inp, p = case(name)
        net = IndependentMLP(p, transpose=tr, drop_term=drop)
        E, G, H = net.all(inp["x"])
        golden.save_results(out_dir, name, {
            "energy": E, "grad_x": G, "score": -G, "hessian_x": H,
            "laplacian_x": np.trace(H, axis1=1, axis2=2), "grad_params": net.grad_params(inp["x"]),
        })

    # --- contrastive divergence: phases with fixed negatives
    def cd_out(F_data, F_model, g_data, g_model):
        pos = mean_dict(g_data)
        neg = {k: neg_sign * m for k, m in mean_dict(g_model).items()}
        return {"positive_phase": pos, "negative_phase": neg, "loss": np.float64(F_data.mean() - F_model.mean()),
                "grad": {k: pos[k] - neg[k] for k in pos}}

    inp, p = case("cd_rbm")
    pd, pm = rbm_parts(p, inp["x_data"]), rbm_parts(p, inp["x_model"])
    golden.save_results(out_dir, "cd_rbm", cd_out(np.array([q[0] for q in pd]), np.array([q[0] for q in pm]),
                                                  stack_dicts([q[3] for q in pd]), stack_dicts([q[3] for q in pm])))
    inp, p = case("cd_mlp")
    net = IndependentMLP(p, transpose=tr, drop_term=drop)
    golden.save_results(out_dir, "cd_mlp", cd_out(net.energy(inp["x_data"]), net.energy(inp["x_model"]),
                                                  net.grad_params(inp["x_data"]), net.grad_params(inp["x_model"])))

    # --- exact score matching: J = mean ½|∇E|² − ΔE
    inp, p = case("sm_exact_gaussian")
    P, r = p["precision"], inp["x"] - p["mean"]
    Pr = r @ P
    golden.save_results(out_dir, "sm_exact_gaussian", {
        "loss": np.float64(np.mean(half * np.sum(Pr * Pr, axis=1)) - np.trace(P)),
        "grad": {"mean": -2 * half * np.mean(Pr @ P, axis=0),
                 "precision": half * (Pr.T @ r + r.T @ Pr) / r.shape[0] - np.eye(P.shape[0])},
    })
    inp, p = case("sm_exact_mlp")
    _, G, H = IndependentMLP(p, transpose=tr, drop_term=drop).all(inp["x"])
    golden.save_results(out_dir, "sm_exact_mlp", {
        "loss": np.float64(np.mean(half * np.sum(G * G, axis=1) - np.trace(H, axis1=1, axis2=2)))})

    # sliced: mean over (n, m) of ½(vᵀ∇E)² − vᵀ∇²E v; denoising: mean ½|∇E(x + σε) − ε/σ|²
    inp, p = case("sm_sliced_mlp")
    _, G, H = IndependentMLP(p, transpose=tr, drop_term=drop).all(inp["x"])
    V = inp["projections"]
    vg = np.einsum("nmi,ni->nm", V, G)
    vHv = np.einsum("nmi,nij,nmj->nm", V, H, V)
    golden.save_results(out_dir, "sm_sliced_mlp", {"loss": np.float64(np.mean(0.5 * vg ** 2 - vHv))})
    inp, p = case("sm_denoising_mlp")
    eps, sigma = inp["noise"], float(inp["sigma"])
    _, G, _ = IndependentMLP(p, transpose=tr, drop_term=drop).all(inp["x"] + sigma * eps)
    golden.save_results(out_dir, "sm_denoising_mlp", {
        "loss": np.float64(np.mean(0.5 * np.sum((G - eps / sigma) ** 2, axis=1)))})

    # --- Boltzmann machine, E = −½ xᵀJx − h·x, log Z by enumerating {0,1}^d
    inp, p = case("boltzmann_machine")
    J, h, x, u, v = p["J"], p["h"], inp["x"], inp["u"], inp["v"]
    n, d = x.shape
    states = np.array(list(itertools.product([0.0, 1.0], repeat=d)))
    negE = 0.5 * np.einsum("ni,ij,nj->n", states, J, states) + states @ h
    golden.save_results(out_dir, "boltzmann_machine", {
        "energy": -0.5 * np.einsum("ni,ij,nj->n", x, J, x) - x @ h,
        "grad_x": -(x @ J + h), "score": x @ J + h,
        "hessian_x": np.repeat(-J[None], n, axis=0), "laplacian_x": np.zeros(n),
        "grad_params": {"J": -0.5 * np.einsum("ni,nj->nij", x, x), "h": -x},
        "grad_params_dot_grad_x": {"J": -_sym(u.T @ x), "h": -u.sum(0)},
        "grad_params_laplacian": {"J": -n * np.eye(d), "h": np.zeros(d)},
        "grad_params_hvp": {"J": -(v.T @ v), "h": np.zeros(d)},
        "log_partition": np.float64(negE.max() + np.log(np.sum(np.exp(negE - negE.max())))),
    })

    # --- Gaussian-Bernoulli RBM free energy and its gradient
    inp, p = case("gaussian_bernoulli_rbm")
    W, b, c, sg, x = p["W"], p["b"], p["c"], p["sigma"], inp["x"]
    a = c + (x / sg ** 2) @ W
    golden.save_results(out_dir, "gaussian_bernoulli_rbm", {
        "energy": np.sum((x - b) ** 2 / (2 * sg ** 2), axis=1) - np.sum(_sp(a), axis=1),
        "grad_x": (x - b) / sg ** 2 - (_sig(a) @ W.T) / sg ** 2,
    })

    # --- Gamma(shape, rate) as an energy: E = log x − η₁ log x − η₂ x, log Z = lgamma(η₁) − η₁ log(−η₂)
    inp, p = case("expfam_gamma")
    eta, x = p["eta"], inp["x"][:, 0]
    golden.save_results(out_dir, "expfam_gamma", {
        "energy": (1 - eta[0]) * np.log(x) - eta[1] * x,
        "grad_x": ((1 - eta[0]) / x - eta[1])[:, None],
        "laplacian_x": -(1 - eta[0]) / x ** 2,
        "log_partition": np.float64(math.lgamma(eta[0]) - eta[0] * np.log(-eta[1])),
    })

    # --- NCE with Gaussian noise: G = −E − c − log ν − log p_n
    inp, p = case("nce_mlp")
    net = IndependentMLP(p, transpose=tr, drop_term=drop)
    c, nu, m, Pn = float(p["log_z"]), float(inp["nu"]), inp["noise.mean"], inp["noise.precision"]

    def log_pn(X):
        R = X - m
        return (-0.5 * np.einsum("ni,ij,nj->n", R, Pn, R) - 0.5 * len(m) * np.log(2 * np.pi)
                + 0.5 * np.linalg.slogdet(Pn)[1])

    lognu = np.log(nu) if use_nu else 0.0
    xd, xn = inp["x_data"], inp["x_noise"]
    Gd = -net.energy(xd) - c - lognu - log_pn(xd)
    Gn = -net.energy(xn) - c - lognu - log_pn(xn)
    sd, sn = _sig(-Gd), _sig(Gn)
    gd, gn = net.grad_params(xd), net.grad_params(xn)
    golden.save_results(out_dir, "nce_mlp", {
        "noise_log_prob_data": log_pn(xd), "noise_log_prob_noise": log_pn(xn),
        "logit_data": Gd, "logit_noise": Gn,
        "loss": np.float64((np.mean(_sp(-Gd)) + nu * np.mean(_sp(Gn))) / (1 + nu)),
        "grad": {k: (np.tensordot(sd, gd[k], 1) / len(xd) - nu * np.tensordot(sn, gn[k], 1) / len(xn)) / (1 + nu)
                 for k in gd} | {"log_z": np.float64((sd.mean() - nu * sn.mean()) / (1 + nu))},
    })

    # --- the variational bound with fixed q samples
    inp, p = case("variational_bound_mlp")
    net = IndependentMLP(p, transpose=tr, drop_term=drop)
    y, xd, qm, qP = inp["y"], inp["x_data"], inp["q.mean"], inp["q.precision"]
    R = y - qm
    log_q = (-0.5 * np.einsum("ni,ij,nj->n", R, qP, R) - 0.5 * len(qm) * np.log(2 * np.pi)
             + 0.5 * np.linalg.slogdet(qP)[1])
    w = -net.energy(y) - log_q
    gpos, gneg = mean_dict(net.grad_params(xd)), mean_dict(net.grad_params(y))
    golden.save_results(out_dir, "variational_bound_mlp", {
        "log_q": log_q, "bound_terms": w, "bound": np.float64(w.mean()),
        "bound_stderr": np.float64(np.std(w, ddof=1) / np.sqrt(len(w))),
        "minimax_value": np.float64(net.energy(xd).mean() + w.mean()),
        "minimax_grad": {k: gpos[k] - gneg[k] for k in gpos},
    })
    return out_dir


# =============================================================== fixtures
@pytest.fixture(scope="module")
def ref_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("golden") / "ref"
    t0 = time.perf_counter()
    golden.export(d)
    elapsed = time.perf_counter() - t0
    assert elapsed < EXPORT_BUDGET_S, f"export took {elapsed:.1f} s"
    return d


def copy_outputs(ref_dir, out, cases=None):
    """A results directory holding the reference's own outputs (a perfect implementation)."""
    for case in cases or golden.case_names():
        (out / case).mkdir(parents=True)
        shutil.copy(ref_dir / case / "outputs.npz", out / case / "outputs.npz")
    return out


def failures(rows):
    return {(r.case, r.quantity) for r in rows if r.failed}


# ===================================================== reproducibility, our own outputs
@pytest.mark.exact
def test_export_twice_is_identical_bytes(ref_dir, tmp_path):
    other = tmp_path / "again"
    golden.export(other)
    a = sorted(p.relative_to(ref_dir) for p in ref_dir.rglob("*") if p.is_file())
    b = sorted(p.relative_to(other) for p in other.rglob("*") if p.is_file())
    assert a == b and len(a) == 3 * len(golden.case_names()) + 1
    for rel in a:
        assert (ref_dir / rel).read_bytes() == (other / rel).read_bytes(), rel


@pytest.mark.exact
def test_manifest_documents_every_quantity(ref_dir):
    m = json.loads((ref_dir / "manifest.json").read_text(encoding="utf-8"))
    assert m["format"] == golden.FORMAT and "exp(-E" in m["sign_convention"]
    assert list(m["cases"]) == golden.case_names()
    for name, c in m["cases"].items():
        _, params, outputs = golden.load_case(ref_dir, name)
        assert set(outputs) == set(c["outputs"]) and set(params) == set(c["params"])
        for key, spec in c["outputs"].items():
            assert spec["formula"] and spec["convention"] and spec["tolerance_reason"]
            assert spec["rtol"] > 0 and spec["atol"] > 0 and spec["dtype"] == "float64"
            assert list(outputs[key].shape) == spec["shape"] and outputs[key].dtype == np.float64
    # every family and objective of the issue is present, with its quantities
    outs = {n: set(c["outputs"]) for n, c in m["cases"].items()}
    for fam in ("gaussian", "gaussian_mixture", "expfam_gamma", "bernoulli_rbm", "gaussian_bernoulli_rbm",
                "boltzmann_machine", "mlp_depth1", "mlp_depth2"):
        assert {"energy", "grad_x", "score", "hessian_x", "laplacian_x"} <= outs[fam]
    assert "grad_params_hvp.W2" in outs["mlp_depth2"] and "grad_params_laplacian.W1" in outs["mlp_depth1"]
    assert {"negative_phase.W", "positive_phase.W"} <= outs["cd_rbm"]
    assert {"loss", "grad.W1"} <= outs["sm_sliced_mlp"] & outs["sm_denoising_mlp"]
    assert {"loss", "grad.log_z"} <= outs["nce_mlp"] and "bound" in outs["variational_bound_mlp"]


@pytest.mark.exact
def test_our_own_outputs_pass(ref_dir, tmp_path, capsys):
    res = copy_outputs(ref_dir, tmp_path / "res")
    assert golden.check(ref_dir, res) == 0
    out = capsys.readouterr().out
    assert "abs err" in out and "err/tol" in out and "0 failed" in out


def test_cli_export_then_check_passes(tmp_path, capsys):
    ref = tmp_path / "ref"
    assert cli.main(["golden", "export", str(ref)]) == 0
    assert "wrote" in capsys.readouterr().out
    res = copy_outputs(ref, tmp_path / "res")
    assert cli.main(["golden", "check", str(ref), str(res)]) == 0
    # a partial result: an error by default, checked with --allow-missing
    with np.load(res / "cd_rbm" / "outputs.npz") as f:
        partial = {k: f[k] for k in f.files if k.startswith("negative_phase")}
    np.savez(res / "cd_rbm" / "outputs.npz", **partial)
    assert cli.main(["golden", "check", str(ref), str(res)]) == 2
    assert cli.main(["golden", "check", str(ref), str(res), "--allow-missing"]) == 0
    assert "not provided" in capsys.readouterr().out
    shutil.copy(ref / "cd_rbm" / "outputs.npz", res / "cd_rbm" / "outputs.npz")
    # a failing quantity exits 1, a malformed file exits 2 with the error printed
    with np.load(res / "gaussian" / "outputs.npz") as f:
        arrays = dict(f)
    arrays["energy"] = arrays["energy"] + 1.0
    np.savez(res / "gaussian" / "outputs.npz", **arrays)
    assert cli.main(["golden", "check", str(ref), str(res)]) == 1
    (res / "gaussian" / "outputs.npz").write_bytes(b"not a zip")
    capsys.readouterr()
    assert cli.main(["golden", "check", str(ref), str(res)]) == 2
    err = capsys.readouterr().err
    assert "ebm-ref: error:" in err and "outputs.npz" in err and "Traceback" not in err


# ========================================================== tests by mutation
@pytest.mark.exact
def test_independent_implementation_passes(ref_dir, tmp_path):
    res = independent_results(ref_dir, tmp_path / "res")
    rows, skipped = golden.compare(ref_dir, res, allow_missing=True)
    assert not failures(rows), [r for r in rows if r.failed]
    checked = {r.case for r in rows if r.status == "pass"}
    assert {"gaussian", "bernoulli_rbm", "gaussian_bernoulli_rbm", "boltzmann_machine", "expfam_gamma",
            "mlp_depth1", "mlp_depth2", "cd_rbm", "cd_mlp", "sm_exact_gaussian", "sm_exact_mlp", "sm_sliced_mlp",
            "sm_denoising_mlp", "nce_mlp", "variational_bound_mlp"} == checked
    assert "gaussian_mixture" in skipped
    assert sum(r.status == "pass" for r in rows) >= 80
    # without allow_missing, the quantities it does not compute are an error naming them
    with pytest.raises(GoldenError, match=r"expfam_gamma.outputs\.npz: missing key 'score'; expected a float64 array of shape \(6, 1\)"):
        golden.compare(ref_dir, res)


def _expected(bug):
    # dE/db_L = 1 whatever the weights: the one MLP quantity a transposed weight leaves intact
    mlp2 = {"energy", "grad_x", "score", "hessian_x", "laplacian_x", "grad_params.W3"} | {
        f"grad_params.{k}{l}" for k in "Wb" for l in (1, 2)}
    return {
        "cd_negative_sign": {("cd_rbm", f"{q}.{k}") for q in ("negative_phase", "grad") for k in "Wbc"}
        | {("cd_mlp", f"{q}.{k}{l}") for q in ("negative_phase", "grad") for k in "Wb" for l in (1, 2)},
        "missing_half": {("sm_exact_gaussian", "loss"), ("sm_exact_gaussian", "grad.mean"),
                         ("sm_exact_gaussian", "grad.precision"), ("sm_exact_mlp", "loss")},
        "dropped_laplacian_term": {("mlp_depth2", "hessian_x"), ("mlp_depth2", "laplacian_x"),
                                   ("sm_exact_mlp", "loss"), ("sm_sliced_mlp", "loss")},
        "nce_without_nu": {("nce_mlp", q) for q in ("logit_data", "logit_noise", "loss", "grad.log_z")}
        | {("nce_mlp", f"grad.{k}{l}") for k in "Wb" for l in (1, 2)},
        "transposed_weight": {("mlp_depth2", q) for q in mlp2}
        | {(c, "loss") for c in ("sm_exact_mlp", "sm_sliced_mlp", "sm_denoising_mlp")},
    }[bug]


@pytest.mark.exact
@pytest.mark.parametrize("bug", ["cd_negative_sign", "missing_half", "dropped_laplacian_term",
                                 "nce_without_nu", "transposed_weight"])
def test_planted_bug_is_caught_and_named(ref_dir, tmp_path, capsys, bug):
    res = independent_results(ref_dir, tmp_path / "res", bug=bug)
    rows, _ = golden.compare(ref_dir, res, allow_missing=True)
    # exactly the quantities the bug touches fail; every other quantity still passes
    assert failures(rows) == _expected(bug)
    for r in rows:
        if r.failed:
            assert r.max_rel_err > 1e-3     # an O(1) error, far outside the tolerance
    n_fail = golden.check(ref_dir, res, allow_missing=True)
    assert n_fail == len(_expected(bug))
    out = capsys.readouterr().out
    for case, qty in _expected(bug):
        line = next(l for l in out.splitlines() if l.split()[:2] == [case, qty])
        assert line.rstrip().endswith("FAIL")
    assert "FAILED: " in out


# ======================================================== comparison details
def test_nan_result_fails_with_a_note(ref_dir, tmp_path):
    res = copy_outputs(ref_dir, tmp_path / "res", ["gaussian"])
    _, _, outs = golden.load_case(ref_dir, "gaussian")
    outs["grad_x"] = outs["grad_x"].copy()
    outs["grad_x"][2, 1] = np.nan
    np.savez(res / "gaussian" / "outputs.npz", **outs)
    rows, _ = golden.compare(ref_dir, res)
    bad = [r for r in rows if r.failed]
    assert len(bad) == 1 and bad[0].quantity == "grad_x" and bad[0].where == (2, 1)
    assert "not finite" in bad[0].note


def test_error_location_and_float32_note(ref_dir, tmp_path, capsys):
    res = copy_outputs(ref_dir, tmp_path / "res", ["mlp_depth1"])
    _, _, outs = golden.load_case(ref_dir, "mlp_depth1")
    outs["hessian_x"] = outs["hessian_x"].copy()
    outs["hessian_x"][4, 0, 2] += 1e-3
    outs["energy"] = outs["energy"].astype(np.float32)
    np.savez(res / "mlp_depth1" / "outputs.npz", **outs)
    rows, _ = golden.compare(ref_dir, res)
    h = next(r for r in rows if r.quantity == "hessian_x")
    assert h.failed and h.where == (4, 0, 2) and abs(h.max_abs_err - 1e-3) < 1e-9
    e = next(r for r in rows if r.quantity == "energy")
    assert "float32" in e.note
    golden.check(ref_dir, res)
    assert "(4, 0, 2)" in capsys.readouterr().out


# ============================================================== bad input
def _res_with(ref_dir, tmp_path, **changes):
    """Results for 'gaussian': the reference outputs with some keys changed (None removes)."""
    res = tmp_path / "res"
    (res / "gaussian").mkdir(parents=True)
    _, _, outs = golden.load_case(ref_dir, "gaussian")
    for k, v in changes.items():
        if v is None:
            outs.pop(k)
        else:
            outs[k] = v
    np.savez(res / "gaussian" / "outputs.npz", **outs)
    return res


def test_missing_results_file(ref_dir, tmp_path):
    (tmp_path / "res" / "gaussian").mkdir(parents=True)
    with pytest.raises(GoldenError, match=r"gaussian[/\\]outputs\.npz: missing file"):
        golden.check(ref_dir, tmp_path / "res")


def test_missing_key(ref_dir, tmp_path):
    res = _res_with(ref_dir, tmp_path, energy=None)
    with pytest.raises(GoldenError, match=r"outputs\.npz: missing key 'energy'.*shape \(6,\)"):
        golden.check(ref_dir, res)
    rows, _ = golden.compare(ref_dir, res, allow_missing=True)
    assert [r.status for r in rows if r.quantity == "energy"] == ["missing"]


def test_unknown_key(ref_dir, tmp_path):
    res = _res_with(ref_dir, tmp_path, grad_X=np.zeros((6, 3)))
    with pytest.raises(GoldenError, match=r"key 'grad_X' is not a quantity of case 'gaussian'"):
        golden.check(ref_dir, res)


def test_wrong_shape(ref_dir, tmp_path):
    res = _res_with(ref_dir, tmp_path, energy=np.zeros((6, 1)))
    with pytest.raises(GoldenError, match=r"key 'energy' has shape \(6, 1\); expected \(6,\)"):
        golden.check(ref_dir, res)


@pytest.mark.parametrize("bad", [np.zeros(6, dtype=np.int64), np.zeros(6, dtype=bool), np.zeros(6, dtype=complex),
                                 np.array(["a"] * 6)])
def test_wrong_dtype(ref_dir, tmp_path, bad):
    res = _res_with(ref_dir, tmp_path, energy=bad)
    with pytest.raises(GoldenError, match=r"key 'energy' has dtype .*; expected a float array"):
        golden.check(ref_dir, res)


def test_pickle_inside_npz(ref_dir, tmp_path):
    obj = np.empty(6, dtype=object)
    obj[:] = [{"a": i} for i in range(6)]
    res = _res_with(ref_dir, tmp_path, energy=obj)
    with pytest.raises(GoldenError, match=r"key 'energy' holds an object \(pickled\) array"):
        golden.check(ref_dir, res)


def test_whole_file_a_pickle(ref_dir, tmp_path):
    res = tmp_path / "res"
    (res / "gaussian").mkdir(parents=True)
    (res / "gaussian" / "outputs.npz").write_bytes(pickle.dumps({"energy": np.zeros(6)}))
    with pytest.raises(GoldenError, match=r"outputs\.npz: holds pickled data, refused"):
        golden.check(ref_dir, res)


def test_single_npy_instead_of_npz(ref_dir, tmp_path):
    res = tmp_path / "res"
    (res / "gaussian").mkdir(parents=True)
    with open(res / "gaussian" / "outputs.npz", "wb") as f:
        np.save(f, np.zeros(6))
    with pytest.raises(GoldenError, match=r"is a single \.npy array, not an \.npz archive"):
        golden.check(ref_dir, res)


@pytest.mark.parametrize("cut", [0.5, 0.97])
def test_truncated_file(ref_dir, tmp_path, cut):
    res = copy_outputs(ref_dir, tmp_path / "res", ["gaussian"])
    p = res / "gaussian" / "outputs.npz"
    data = p.read_bytes()
    p.write_bytes(data[: int(cut * len(data))])
    with pytest.raises(GoldenError, match=r"outputs\.npz: .*(truncated or corrupt|cannot be read)"):
        golden.check(ref_dir, res)


def test_corrupt_member(ref_dir, tmp_path):
    res = copy_outputs(ref_dir, tmp_path / "res", ["gaussian"])
    p = res / "gaussian" / "outputs.npz"
    data = bytearray(p.read_bytes())
    j = data.index(b"\x93NUMPY", data.index(b"energy.npy"))    # the member's .npy header
    data[j + 130:j + 138] = b"\xff" * 8          # inside its array data (the header is 128 bytes)
    p.write_bytes(bytes(data))
    with pytest.raises(GoldenError, match=r"key 'energy' is truncated or corrupt"):
        golden.check(ref_dir, res)


def _broken_manifest(ref_dir, tmp_path, edit):
    ref = tmp_path / "ref"
    shutil.copytree(ref_dir, ref)
    text = (ref / "manifest.json").read_text(encoding="utf-8")
    (ref / "manifest.json").write_text(edit(text), encoding="utf-8")
    return ref


def _edit_json(fn):
    def edit(text):
        m = json.loads(text)
        fn(m)
        return json.dumps(m)
    return edit


@pytest.mark.parametrize("edit, match", [
    (lambda t: t[: len(t) // 2], "malformed JSON"),
    (_edit_json(lambda m: m.update(format="something else")), "'format'"),
    (_edit_json(lambda m: m.update(cases=[])), "'cases'"),
    (_edit_json(lambda m: m["cases"]["gaussian"]["outputs"]["energy"].pop("rtol")), r"outputs\['energy'\]\.rtol"),
    (_edit_json(lambda m: m["cases"]["gaussian"]["outputs"]["energy"].update(atol=-1)), r"\.atol"),
    (_edit_json(lambda m: m["cases"]["gaussian"]["outputs"]["energy"].update(shape="6")), r"\.shape"),
])
def test_bad_manifest(ref_dir, tmp_path, edit, match):
    ref = _broken_manifest(ref_dir, tmp_path, edit)
    res = copy_outputs(ref_dir, tmp_path / "res", ["gaussian"])
    with pytest.raises(GoldenError, match=match):
        golden.check(ref, res)


def test_manifest_shape_disagreeing_with_reference(ref_dir, tmp_path):
    ref = _broken_manifest(ref_dir, tmp_path, _edit_json(
        lambda m: m["cases"]["gaussian"]["outputs"]["energy"].update(shape=[7])))
    res = copy_outputs(ref_dir, tmp_path / "res", ["gaussian"])
    with pytest.raises(GoldenError, match=r"the manifest says \(7,\)"):
        golden.check(ref, res)


def test_missing_manifest_and_directories(ref_dir, tmp_path):
    with pytest.raises(GoldenError, match="not a directory of reference cases"):
        golden.check(tmp_path / "nowhere", tmp_path)
    (tmp_path / "empty_ref").mkdir()
    with pytest.raises(GoldenError, match=r"manifest\.json: missing file"):
        golden.check(tmp_path / "empty_ref", tmp_path)
    with pytest.raises(GoldenError, match="results directory not found"):
        golden.check(ref_dir, tmp_path / "no_results")
    (tmp_path / "res").mkdir()
    with pytest.raises(GoldenError, match="holds no results"):
        golden.check(ref_dir, tmp_path / "res")
    (tmp_path / "res" / "mlp_depht2").mkdir()
    with pytest.raises(GoldenError, match=r"mlp_depht2: not a case of the reference"):
        golden.check(ref_dir, tmp_path / "res")


def test_export_into_a_file_is_refused(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(GoldenError, match="is not a directory"):
        golden.export(f)


def test_load_case_and_save_results_bad_input(ref_dir, tmp_path):
    with pytest.raises(GoldenError, match="'nope' is not in"):
        golden.load_case(ref_dir, "nope")
    with pytest.raises(GoldenError, match=r"outputs\['energy'\]: expected a float array"):
        golden.save_results(tmp_path, "gaussian", {"energy": np.zeros(6, dtype=int)})
    p = golden.save_results(tmp_path, "gaussian", {"grad_params": {"mean": np.zeros((6, 3))}})
    with np.load(p, allow_pickle=False) as f:
        assert f.files == ["grad_params.mean"]


def test_golden_error_is_a_value_error():
    assert issubclass(GoldenError, ValueError)


# ================================================================ the README
def _readme_section():
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf8")
    assert "## Checking your implementation" in text
    return text.split("## Checking your implementation", 1)[1].split("\n## ", 1)[0]


def test_readme_check_snippet_runs(capsys):
    import re

    blocks = re.findall(r"```python\n(.*?)```", _readme_section(), flags=re.S)
    numpy_blocks = [b for b in blocks if "from ebm_ref import check" in b]
    assert len(numpy_blocks) == 1 and any("import torch" in b for b in blocks)
    exec(compile(numpy_blocks[0], "README.md", "exec"), {})
    assert "FAIL" in capsys.readouterr().out


def test_readme_names_every_case():
    section = _readme_section()
    for name in golden.case_names():
        assert f"`{name}`" in section or name.startswith("expfam_"), name


def test_compressed_results_are_read(ref_dir, tmp_path):
    res = tmp_path / "res"
    (res / "cd_rbm").mkdir(parents=True)
    _, _, outs = golden.load_case(ref_dir, "cd_rbm")
    np.savez_compressed(res / "cd_rbm" / "outputs.npz", **outs)
    assert golden.check(ref_dir, res, verbose=False) == 0


# =========================== issue 11, defect 3: component-wise rule, non-finite entries
def _ref_with(ref_dir, tmp_path, case, **changes):
    """A copy of the reference whose outputs of ``case`` have some keys changed."""
    ref = tmp_path / "ref"
    shutil.copytree(ref_dir, ref)
    _, _, outs = golden.load_case(ref, case)
    outs.update(changes)
    golden.write_npz(ref / case / "outputs.npz", outs)
    return ref, outs


def _results(tmp_path, case, outs):
    res = tmp_path / "res"
    golden.save_results(res, case, outs)
    return res


def _row(rows, case, qty):
    return next(r for r in rows if r.case == case and r.quantity == qty)


def test_inf_in_the_reference_does_not_make_everything_pass(ref_dir, tmp_path):
    # issue 11, defect 3: max|r − ref| <= atol + rtol·max|ref| was inf <= inf, so a wrong
    # entry beside an infinite reference entry passed
    _, _, outs = golden.load_case(ref_dir, "gaussian")
    e = outs["energy"].copy()
    e[0] = np.inf
    ref, outs = _ref_with(ref_dir, tmp_path, "gaussian", energy=e)
    wrong = e.copy()
    wrong[3] = -wrong[3]                                   # a sign flip elsewhere
    row = _row(golden.compare(ref, _results(tmp_path, "gaussian", dict(outs, energy=wrong)))[0], "gaussian", "energy")
    assert row.failed and row.where == (3,)


@pytest.mark.parametrize("ref0, res0, passes", [
    (np.inf, np.inf, True), (-np.inf, -np.inf, True), (np.inf, -np.inf, False), (np.inf, 1e300, False),
    (np.nan, np.nan, False), (np.nan, 0.0, False), (1.0, np.nan, False), (1.0, np.inf, False)])
def test_non_finite_entries_are_decided_explicitly(ref_dir, tmp_path, ref0, res0, passes):
    _, _, outs = golden.load_case(ref_dir, "gaussian")
    e = outs["energy"].copy()
    e[0] = ref0
    ref, outs = _ref_with(ref_dir, tmp_path, "gaussian", energy=e)
    r = e.copy()
    r[0] = res0
    row = _row(golden.compare(ref, _results(tmp_path, "gaussian", dict(outs, energy=r)))[0], "gaussian", "energy")
    assert row.failed is not passes
    if not passes:
        assert "not finite" in row.note and row.where == (0,)


def test_a_wrong_small_entry_cannot_hide_behind_a_large_one(ref_dir, tmp_path):
    # norm-wise, |−1 − 1| = 2 <= 1e-10·1e12 = 100 passed; entry by entry it fails
    _, _, outs = golden.load_case(ref_dir, "gaussian")
    e = outs["energy"].copy()
    e[0], e[1] = 1e12, 1.0
    ref, outs = _ref_with(ref_dir, tmp_path, "gaussian", energy=e)
    r = e.copy()
    r[1] = -1.0
    row = _row(golden.compare(ref, _results(tmp_path, "gaussian", dict(outs, energy=r)))[0], "gaussian", "energy")
    assert row.failed and row.where == (1,) and row.max_rel_err == pytest.approx(2.0) and row.tol_ratio > 1e9


def test_rule_is_component_wise_in_docs_and_manifest(ref_dir):
    import ebm_ref.golden.comparison as comparison

    m = json.loads((ref_dir / "manifest.json").read_text(encoding="utf-8"))
    for text in (m["comparison"], golden.RULE, comparison.__doc__, golden.__doc__):
        assert "component-wise" in text and "norm-wise" not in text


def test_export_refuses_a_non_finite_reference_value():
    from ebm_ref.golden import cases

    c = cases._Case("demo", "model", "Demo", "E", {})
    with pytest.raises(GoldenError, match=r"case 'demo', output 'energy' is not finite at \(1,\)"):
        c.put("energy", [0.0, np.inf], "E", "", "value")


# ====================== issue 11, defect 4: case names are not paths; memory is bounded
def _manifest_edit(ref_dir, tmp_path, fn):
    ref = tmp_path / "ref"
    shutil.copytree(ref_dir, ref)
    m = json.loads((ref / "manifest.json").read_text(encoding="utf-8"))
    fn(m)
    (ref / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    return ref


@pytest.mark.parametrize("name", ["../outside", "/tmp", "a/b", "..", ".", "", "x" * 65, "a\\b"])
def test_manifest_case_name_that_is_a_path_is_refused(ref_dir, tmp_path, name):
    outside = tmp_path / "outside"
    (outside).mkdir()
    golden.save_results(outside.parent / "decoy", "gaussian", {"energy": np.zeros(6)})
    ref = _manifest_edit(ref_dir, tmp_path, lambda m: m["cases"].update({name: m["cases"]["gaussian"]}))
    (tmp_path / "res").mkdir()
    with pytest.raises(GoldenError, match="is not a valid case name"):
        golden.check(ref, tmp_path / "res")
    assert cli.main(["golden", "check", str(ref), str(tmp_path / "res")]) == 2


def test_empty_results_folder_never_passes(ref_dir, tmp_path, capsys):
    (tmp_path / "res").mkdir()
    (tmp_path / "res" / "README.txt").write_text("nothing here")
    assert cli.main(["golden", "check", str(ref_dir), str(tmp_path / "res")]) == 2
    io = capsys.readouterr()
    assert "holds no results" in io.err and "passed" not in io.out


def test_save_results_cannot_write_outside(tmp_path):
    res = tmp_path / "a" / "res"
    for name in ["../../x", "/tmp/x", "..", "a/b"]:
        with pytest.raises(GoldenError, match="is not a valid case name"):
            golden.save_results(res, name, {"energy": np.zeros(6)})
    assert sorted(p.name for p in tmp_path.rglob("*")) == []      # nothing written anywhere
    # a case folder that is a symbolic link is not written through
    (tmp_path / "elsewhere").mkdir()
    res.mkdir(parents=True)
    (res / "gaussian").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(GoldenError, match="symbolic link"):
        golden.save_results(res, "gaussian", {"energy": np.zeros(6)})
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_export_does_not_write_through_a_symlinked_case_folder(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "ref").mkdir()
    (tmp_path / "ref" / "gaussian").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(GoldenError, match=r"gaussian: is a symbolic link"):
        golden.export(tmp_path / "ref")
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_export_does_not_write_through_a_symlinked_file(tmp_path):
    (tmp_path / "ref" / "gaussian").mkdir(parents=True)
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    (tmp_path / "ref" / "gaussian" / "inputs.npz").symlink_to(target)
    with pytest.raises(GoldenError, match="symbolic link"):
        golden.export(tmp_path / "ref")
    assert target.read_text() == "keep me"


@pytest.mark.parametrize("what", ["case folder", "file"])
def test_check_does_not_read_through_symlinks(ref_dir, tmp_path, what):
    res = tmp_path / "res"
    outside = copy_outputs(ref_dir, tmp_path / "outside", ["gaussian"])
    if what == "case folder":
        res.mkdir()
        (res / "gaussian").symlink_to(outside / "gaussian")
    else:
        (res / "gaussian").mkdir(parents=True)
        (res / "gaussian" / "outputs.npz").symlink_to(outside / "gaussian" / "outputs.npz")
    with pytest.raises(GoldenError, match="symbolic link"):
        golden.check(ref_dir, res)


def _peak_bytes(fn):
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


#: a refused bomb must cost far less than this (the legitimate 'gaussian' case needs ~100 KiB)
BOMB_PEAK_BYTES = 8 << 20


def test_zip_bomb_under_an_unknown_key_is_refused_unread(ref_dir, tmp_path):
    # issue 11, defect 4: a 1 MB file under an unknown key used 1 GiB before being refused
    import zipfile

    res = copy_outputs(ref_dir, tmp_path / "res", ["gaussian"])
    p = res / "gaussian" / "outputs.npz"
    with zipfile.ZipFile(p, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("bomb.npy", "w", force_zip64=True) as m:
            chunk = b"\0" * (1 << 20)
            for _ in range(64):                           # 64 MiB of zeros, ~64 KiB on disk
                m.write(chunk)
    assert p.stat().st_size < golden.fileformat.MAX_FILE_BYTES
    with pytest.raises(GoldenError, match="'bomb' is not a quantity of case 'gaussian'"):
        golden.compare(ref_dir, res)
    peak = _peak_bytes(lambda: pytest.raises(GoldenError, golden.compare, ref_dir, res))
    assert peak < BOMB_PEAK_BYTES < golden.fileformat.MEMORY_BOUND


def test_known_key_with_a_huge_header_is_refused_before_its_data(ref_dir, tmp_path):
    import zipfile

    res = tmp_path / "res"
    (res / "gaussian").mkdir(parents=True)
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (10 ** 8,)})
    header = buf.getvalue()
    with zipfile.ZipFile(res / "gaussian" / "outputs.npz", "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("energy.npy", "w", force_zip64=True) as m:
            m.write(header)
            for _ in range(100):
                m.write(b"\0" * (1 << 20))                # 100 MiB of data behind the header
    peak = _peak_bytes(lambda: pytest.raises(GoldenError, golden.compare, ref_dir, res))
    assert peak < BOMB_PEAK_BYTES
    with pytest.raises(GoldenError, match="refused unread|has shape"):
        golden.compare(ref_dir, res)


def test_results_file_larger_than_the_manifest_needs_is_refused_unread(ref_dir, tmp_path):
    res = copy_outputs(ref_dir, tmp_path / "res", ["gaussian"])
    with open(res / "gaussian" / "outputs.npz", "r+b") as f:
        f.truncate(golden.fileformat.MAX_FILE_BYTES + 1)   # sparse: no disk used
    peak = _peak_bytes(lambda: pytest.raises(GoldenError, golden.compare, ref_dir, res))
    assert peak < BOMB_PEAK_BYTES
    with pytest.raises(GoldenError, match="refused unread"):
        golden.compare(ref_dir, res)


def test_crafted_manifest_cannot_raise_the_memory_bound(ref_dir, tmp_path):
    ref = _manifest_edit(ref_dir, tmp_path, lambda m: m["cases"]["gaussian"]["outputs"]["energy"].update(
        shape=[10 ** 6, 10 ** 6]))
    res = copy_outputs(ref_dir, tmp_path / "res", ["gaussian"])
    with pytest.raises(GoldenError, match=r"at most \d+ entries"):
        golden.compare(ref, res)
    with open(ref / "manifest.json", "r+b") as f:
        f.truncate(golden.fileformat.MAX_MANIFEST_BYTES + 1)
    with pytest.raises(GoldenError, match="refused unread"):
        golden.compare(ref, res)
