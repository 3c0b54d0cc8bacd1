"""Figures of note 08: NCE's estimate of log Z converging; an energy learned by NCE on a 2-D toy."""
from __future__ import annotations

import numpy as np

from ..models import Gaussian
from ..objectives import nce
from . import figure
from ._style import plt, save

TRUTH = Gaussian([0.5, -1.0], [[2.0, 0.6], [0.6, 1.0]])
NOISE = Gaussian.from_covariance([0.0, -0.5], 2.0 * np.eye(2))


@figure("nce_log_z")
def make_log_z(out_dir, rng, small=False):
    """Left: ĉ and log Z(θ_t) along training (n = 10⁴, ν = 1) with the ±2 SE band around the
    exact log Z.  Right: ĉ − log Z against the sample size for ν = 1 and ν = 5, with ±2 SE bars."""
    n_main = 2000 if small else 10_000
    steps = 600 if small else 3000
    x = TRUTH.sample(n_main, rng)
    lz_theta = []

    def record(step, aug, value):
        lz_theta.append(aug.model.log_partition())

    r = nce.fit(Gaussian(np.zeros(2), np.eye(2)), x, NOISE, 1.0, rng, n_steps=steps, callbacks=(record,))
    exact = TRUTH.log_partition()
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.4))
    t = np.arange(1, steps + 1)
    ax[0].axhspan(exact - 2 * r.log_z_stderr, exact + 2 * r.log_z_stderr, color="0.85", label="exact log Z ± 2 SE")
    ax[0].axhline(exact, color="k", lw=1)
    ax[0].plot(t, r.log_z_trace, color="C0", label="c (NCE's estimate of log Z)")
    ax[0].plot(t, lz_theta, color="C1", ls="--", label="log Z(θ_t) of the current energy")
    ax[0].set_xscale("log")
    ax[0].set_xlabel("Adam step")
    ax[0].set_ylabel("log Z")
    ax[0].set_ylim(-0.1, exact + 0.6)
    ax[0].legend(loc="lower right", fontsize=8)
    ax[0].set_title(f"2-D Gaussian, n = {n_main}, ν = 1: final c = {r.log_z:.4f} ± {r.log_z_stderr:.4f}, "
                    f"exact {exact:.4f}")

    sizes = [300, 1000, 3000] if small else [300, 1000, 3000, 10_000, 30_000]
    for j, nu in enumerate((1.0, 5.0)):
        est, se = [], []
        for n in sizes:
            rr = nce.fit(Gaussian(np.zeros(2), np.eye(2)), TRUTH.sample(n, rng), NOISE, nu, rng,
                         n_steps=800 if small else 3000)
            est.append(rr.log_z - exact)
            se.append(rr.log_z_stderr)
        off = 1.0 + 0.06 * (j - 0.5)
        ax[1].errorbar(np.array(sizes) * off, est, yerr=2 * np.array(se), fmt="o", capsize=3, color=f"C{j}",
                       label=f"ν = {nu:g}: c − log Z ± 2 SE")
        ax[1].plot(sizes, 2 * np.array(se), color=f"C{j}", lw=0.8, ls=":")
        ax[1].plot(sizes, -2 * np.array(se), color=f"C{j}", lw=0.8, ls=":")
    ax[1].axhline(0.0, color="k", lw=1)
    ax[1].set_xscale("log")
    ax[1].set_xlabel("number of data points n (noise points ν n)")
    ax[1].set_ylabel("c − exact log Z")
    ax[1].legend(fontsize=8)
    ax[1].set_title("error shrinks like 1/√n; more noise per data point (ν) helps")
    fig.tight_layout()
    return save(fig, out_dir, "nce_log_z")


@figure("nce_2d")
def make_2d(out_dir, rng, small=False):
    """Eight Gaussians: data, the noise (a moment-matched Gaussian, widened 1.2×), and the density
    exp(−E − c) of an MLP energy learned by NCE with ν = 4; c against log Z by quadrature."""
    from .. import datasets
    from ..models.mlp import MLPEnergy
    from ..objectives import mle

    n = 500 if small else 4000
    steps = 40 if small else 2500
    sizes = [2, 16] if small else [2, 32, 32]
    x = datasets.eight_gaussians(n, rng)
    x_test = datasets.eight_gaussians(n, rng)
    truth = datasets.eight_gaussians_mixture()
    noise = Gaussian.from_covariance(x.mean(0), 1.2 * np.cov(x.T))
    r = nce.fit(MLPEnergy.init(sizes, rng), x, noise, 4.0, rng, n_steps=steps, lr=0.01, lr_final=1e-4,
                batch_size=256, stderr=False)
    box = [(-4.0, 4.0), (-4.0, 4.0)]
    lz_quad = mle.log_partition(r.model, method="quadrature", bounds=box)
    ll_model = float(np.mean(-r.model.energy(x_test)) - lz_quad)
    ll_truth = float(np.mean(truth.log_prob(x_test)))
    ll_noise = float(np.mean(noise.log_prob(x_test)))
    g = np.linspace(-4, 4, 120 if small else 200)
    X, Y = np.meshgrid(g, g)
    pts = np.column_stack([X.ravel(), Y.ravel()])
    fig, ax = plt.subplots(1, 4, figsize=(13, 3.3))
    ax[0].scatter(x[:, 0], x[:, 1], s=2, alpha=0.4)
    ax[0].set_title(f"data: eight Gaussians (n = {n})")
    ax[1].contourf(X, Y, np.exp(noise.log_prob(pts)).reshape(X.shape), levels=30, cmap="Greys")
    ax[1].set_title(f"noise p_n (test log-lik {ll_noise:.3f})")
    ax[2].contourf(X, Y, np.exp(-r.model.energy(pts) - r.log_z).reshape(X.shape), levels=30, cmap="viridis")
    ax[2].set_title(f"NCE: exp(−E − c), ν = 4 (test log-lik {ll_model:.3f})")
    ax[3].contourf(X, Y, np.exp(truth.log_prob(pts)).reshape(X.shape), levels=30, cmap="viridis")
    ax[3].set_title(f"true density (test log-lik {ll_truth:.3f})")
    for a in ax:
        a.set_aspect("equal")
        a.set_xticks([])
        a.set_yticks([])
    fig.suptitle(f"MLP energy {sizes} trained by NCE: c = {r.log_z:.4f}, log Z of the learned energy by "
                 f"quadrature = {lz_quad:.4f}", y=1.03)
    return save(fig, out_dir, "nce_2d")


@figure("fce_2d")
def make_fce(out_dir, rng, small=False):
    """Flow contrastive estimation on two moons: the flow (noise) before and after, the EBM's
    density exp(−E − c), and the NCE loss against log 2 (the value when the classes are
    indistinguishable)."""
    from .. import datasets
    from ..models.flow import Flow
    from ..models.mlp import MLPEnergy
    from ..objectives import adversarial, mle

    n = 300 if small else 3000
    steps = 20 if small else 3000
    x = datasets.two_moons(n, rng)
    x_test = datasets.two_moons(n, rng)
    flow0 = Flow.realnvp(2, 4, 16, rng, scale=0.1, mean=x.mean(0), covariance=np.cov(x.T))
    model, c, flow, losses = adversarial.fit_fce(MLPEnergy.init([2, 16] if small else [2, 32, 32], rng), flow0, x,
                                                 rng, n_steps=steps, lr_ebm=0.003, lr_flow=0.001, batch_size=256)
    box = [(-2.5, 3.5), (-2.0, 2.5)]
    lz_quad = mle.log_partition(model, method="quadrature", bounds=box)
    ll_ebm = float(np.mean(-model.energy(x_test)) - lz_quad)
    ll_f0, ll_f = float(np.mean(flow0.log_prob(x_test))), float(np.mean(flow.log_prob(x_test)))
    gx, gy = np.linspace(*box[0], 150), np.linspace(*box[1], 120)
    X, Y = np.meshgrid(gx, gy)
    pts = np.column_stack([X.ravel(), Y.ravel()])
    fig, ax = plt.subplots(1, 4, figsize=(14, 3.2))
    for a, dens, title in ((ax[0], np.exp(flow0.log_prob(pts)), f"flow at start (test log-lik {ll_f0:.3f})"),
                           (ax[1], np.exp(flow.log_prob(pts)), f"flow after FCE (test log-lik {ll_f:.3f})"),
                           (ax[2], np.exp(-model.energy(pts) - c), f"EBM exp(−E − c) (test log-lik {ll_ebm:.3f})")):
        a.contourf(X, Y, dens.reshape(X.shape), levels=30, cmap="viridis")
        a.scatter(x[:300, 0], x[:300, 1], s=1, color="w", alpha=0.5)
        a.set_title(title)
        a.set_aspect("equal")
        a.set_xticks([])
        a.set_yticks([])
    k = max(1, len(losses) // 100)
    sm = np.convolve(losses, np.ones(k) / k, mode="valid")
    ax[3].plot(np.arange(len(sm)) + k, sm, color="C0", label=f"NCE loss J (running mean of {k})")
    ax[3].axhline(np.log(2.0), color="k", ls="--", lw=1, label="log 2: classes indistinguishable")
    ax[3].set_xlabel("step")
    ax[3].legend(fontsize=8)
    ax[3].set_title("the flow pushes J up, the EBM down")
    fig.suptitle(f"FCE on two moons (n = {n}, ν = 1): c = {c:.3f}, log Z of the EBM by quadrature = {lz_quad:.3f}",
                 y=1.03)
    return save(fig, out_dir, "fce_2d")
