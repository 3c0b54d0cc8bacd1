"""Figures of note 08: NCE's estimate of log Z converging; an energy learned by NCE on a 2-D toy; the variational bound on log Z."""
from __future__ import annotations

import numpy as np

from ..models import Gaussian
from ..objectives import nce
from . import figure
from ._style import color, colorbar, compared_densities, density_panel, grid, save, scatter_points, set_box, shared_norm, subplots

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
    fig, ax = subplots(1, 2, height=3.0)
    t = np.arange(1, steps + 1)
    ax[0].axhspan(exact - 2 * r.log_z_stderr, exact + 2 * r.log_z_stderr, color="0.85", label=r"exact $\log Z$ ± 2 SE")
    ax[0].axhline(exact, color="k", lw=1)
    ax[0].plot(t, r.log_z_trace, color=color("NCE"), label=r"$c$, NCE's estimate")
    ax[0].plot(t, lz_theta, color="#D55E00", ls="--", label=r"$\log Z(\theta_t)$")
    ax[0].set_xscale("log")
    ax[0].set_xlabel("Adam step")
    ax[0].set_ylabel(r"$\log Z$")
    ax[0].set_ylim(-0.1, exact + 0.6)
    ax[0].legend(loc="lower right")
    ax[0].set_title(f"$n$ = {n_main}, $\\nu$ = 1: $c$ = {r.log_z:.3f} ± {r.log_z_stderr:.3f}\n"
                    f"exact $\\log Z$ = {exact:.3f}")

    sizes = [300, 1000, 3000] if small else [300, 1000, 3000, 10_000, 30_000]
    for j, nu in enumerate((1.0, 5.0)):
        est, se = [], []
        for n in sizes:
            rr = nce.fit(Gaussian(np.zeros(2), np.eye(2)), TRUTH.sample(n, rng), NOISE, nu, rng,
                         n_steps=800 if small else 3000)
            est.append(rr.log_z - exact)
            se.append(rr.log_z_stderr)
        off = 1.0 + 0.06 * (j - 0.5)
        col = ("#0072B2", "#D55E00")[j]
        ax[1].errorbar(np.array(sizes) * off, est, yerr=2 * np.array(se), fmt="o", ms=4, capsize=3, color=col,
                       label=f"$\\nu$ = {nu:g}")
        ax[1].plot(sizes, 2 * np.array(se), color=col, lw=0.8, ls=":")
        ax[1].plot(sizes, -2 * np.array(se), color=col, lw=0.8, ls=":")
    ax[1].axhline(0.0, color="k", lw=1)
    ax[1].set_xscale("log")
    ax[1].set_xlabel(r"data points $n$ (noise points $\nu n$)")
    ax[1].set_ylabel(r"$c - \log Z$ (± 2 SE)")
    ax[1].legend(loc="upper right")
    ax[1].set_title("error shrinks like $1/\\sqrt{n}$;\nmore noise per data point helps")
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
    nu = 4.0
    r = nce.fit(MLPEnergy.init(sizes, rng), x, noise, nu, rng, n_steps=steps, lr=0.01, lr_final=1e-4,
                batch_size=256, stderr=False)
    box = [(-4.0, 4.0), (-4.0, 4.0)]
    lz_quad = mle.log_partition(r.model, method="quadrature", bounds=box)
    ll_model = float(np.mean(-r.model.energy(x_test)) - lz_quad)
    ll_truth = float(np.mean(truth.log_prob(x_test)))
    ll_noise = float(np.mean(noise.log_prob(x_test)))
    X, Y, pts = grid(box, 120 if small else 200)
    dens = [np.exp(noise.log_prob(pts)), np.exp(-r.model.energy(pts) - r.log_z), np.exp(truth.log_prob(pts))]
    fig, ax = subplots(2, 2, height=5.6, sharex=True, sharey=True)
    ax = ax.ravel()
    scatter_points(ax[0], x)
    ax[0].set_title(f"data: eight Gaussians ($n$ = {n})")
    titles = [f"noise $p_n$: $\\ell$ {ll_noise:.2f}", f"NCE ($\\nu$ = {nu:g}): $e^{{-E - c}}$, $\\ell$ {ll_model:.2f}",
              f"true density: $\\ell$ {ll_truth:.2f}"]
    im = compared_densities(ax[1:], X, Y, list(zip(titles, dens)))
    colorbar(fig, im, list(ax), "density", shrink=0.6)
    for a in ax:
        set_box(a, box, xlabel=r"$x_1$" if a in ax[2:] else "", ylabel=r"$x_2$" if a in ax[::2] else "")
    fig.suptitle(f"MLP energy {sizes}: $c$ = {r.log_z:.3f}, $\\log Z$ by quadrature = {lz_quad:.3f};\n"
                 "$\\ell$: test log-likelihood; one colour scale")
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
    X, Y, pts = grid(box, 150)
    dens = [np.exp(flow0.log_prob(pts)), np.exp(flow.log_prob(pts)), np.exp(-model.energy(pts) - c)]
    norm = shared_norm(*dens)
    fig, ax = subplots(2, 2, height=5.2)
    ax = ax.ravel()
    for a, d, title in zip(ax[:3], dens, (f"flow at start: $\\ell$ {ll_f0:.2f}", f"flow after FCE: $\\ell$ {ll_f:.2f}",
                                          f"EBM $e^{{-E - c}}$: $\\ell$ {ll_ebm:.2f}")):
        im = density_panel(a, X, Y, d, norm=norm)
        scatter_points(a, x[:300], on_image=True, s=1)
        a.set_title(title)
        set_box(a, box)
    colorbar(fig, im, list(ax[:3]), "density", shrink=0.6)
    k = max(1, len(losses) // 100)
    sm = np.convolve(losses, np.ones(k) / k, mode="valid")
    ax[3].plot(np.arange(len(sm)) + k, sm, color=color("FCE"), label=f"$J$, running mean of {k}")
    ax[3].axhline(np.log(2.0), color="k", ls="--", lw=1, label="$\\log 2$: indistinguishable")
    ax[3].set_xlabel("step")
    ax[3].set_ylabel(r"NCE loss $J$")
    ax[3].legend(loc="upper right")
    ax[3].set_title(f"$J$: {sm[0]:.3f} → {sm[-1]:.3f} (EBM descends,\nflow ascends)")
    fig.suptitle(f"FCE on two moons ($n$ = {n}, $\\nu$ = 1): $c$ = {c:.3f}, $\\log Z$ by quadrature = {lz_quad:.3f};\n"
                 "$\\ell$: test log-likelihood; one colour scale")
    return save(fig, out_dir, "fce_2d")


@figure("nce_classifier")
def make_classifier(out_dir, rng, small=False):
    r"""The classifier NCE trains is the log density ratio.

    The Bayes-optimal classifier between data (p_d) and ν times as many noise points (p_n) is
    :math:`D^*(x) = p_d/(p_d + \nu p_n)`, whose logit is :math:`\log p_d(x) - \log p_n(x) - \log\nu`.
    NCE's classifier has logit :math:`-E_\theta(x) - c - \log p_n(x) - \log\nu`; fitted on samples it
    approaches the optimal one, and so :math:`e^{-E_\theta - c}` approaches p_d.
    """
    p_d = Gaussian.from_covariance([1.0], [[0.5**2]])
    p_n = Gaussian.from_covariance([0.0], [[1.5**2]])
    nu = 2.0
    n = 500 if small else 5000
    r = nce.fit(Gaussian([0.0], [[1.0]]), p_d.sample(n, rng), p_n, nu, rng, n_steps=300 if small else 3000)
    x = np.linspace(-4.0, 4.0, 400)[:, None]
    log_ratio = p_d.log_prob(x) - p_n.log_prob(x) - np.log(nu)
    logit = -r.model.energy(x) - r.log_z - p_n.log_prob(x) - np.log(nu)
    fig, ax = subplots(1, 3, height=2.7, sharex=True)
    ax[0].plot(x[:, 0], np.exp(p_d.log_prob(x)), color=color("data"), label="$p_d$")
    ax[0].plot(x[:, 0], nu * np.exp(p_n.log_prob(x)), color=color("noise"), label=f"$\\nu\\, p_n$, $\\nu$ = {nu:g}")
    ax[0].set_ylabel("density")
    ax[0].set_title("data and noise")
    ax[0].set_ylim(0, 1.25)
    ax[0].legend(loc="upper left")
    ax[1].plot(x[:, 0], 1.0 / (1.0 + np.exp(-log_ratio)), color="k", label="optimal $D^*$")
    ax[1].plot(x[:, 0], 1.0 / (1.0 + np.exp(-logit)), "--", color=color("NCE"), label="NCE")
    ax[1].set_ylim(0, 1.3)
    ax[1].set_ylabel("$D(x)$ = P(data | $x$)")
    ax[1].set_title("classifier")
    ax[1].legend(loc="upper left")
    ax[2].plot(x[:, 0], log_ratio, color="k", label=r"$\log\frac{p_d}{\nu p_n}$")
    ax[2].plot(x[:, 0], logit, "--", color=color("NCE"), label="NCE logit")
    ax[2].set_ylim(-15.0, log_ratio.max() + 8.0)
    ax[2].set_ylabel("logit")
    ax[2].set_title("logit")
    ax[2].legend(loc="upper left")
    for a in ax:
        a.set_xlabel("$x$")
    fig.suptitle(f"The NCE classifier's logit is the log density ratio ({n} data points):\n"
                 f"$c$ = {r.log_z:.3f}, exact $\\log Z$ of the fitted energy = {r.model.log_partition():.3f}")
    make_classifier.last_results = {"x": x[:, 0], "log_ratio": log_ratio, "logit": logit}
    return save(fig, out_dir, "nce_classifier")


# ------------------------------------------------------------ the variational bound on log Z
#: the 1-D target of panels (a, b): p = N(0.5, 0.8²); q = N(m, s²) at two widths s
BOUND_P = Gaussian([0.5], [[1.0 / 0.8**2]])
BOUND_WIDTHS = (0.8, 1.4)
#: the 2-D target of the ascent (c): a correlated Gaussian energy; q starts at N(0, I)
ASCENT_P = Gaussian.from_covariance([0.5, -0.5], [[1.0, 0.6], [0.6, 0.8]])


@figure("variational_bound")
def make_variational_bound(out_dir, rng, small=False):
    r"""The bound :math:`\log Z \ge \mathbb E_q[-E] + H(q)` over a family of q, its gap (= KL(q‖p),
    checked by quadrature in the tests), and Adam ascent of the Monte Carlo bound over an affine flow."""
    from .. import train
    from ..models.flow import AffineFlow, Flow
    from ..objectives import adversarial as adv

    ms = np.linspace(-2.5, 3.5, 41 if small else 121)
    log_z = BOUND_P.log_partition()
    fig, ax = subplots(1, 3, height=2.9)
    gaps = {}
    for s, ls in zip(BOUND_WIDTHS, ("-", "--")):
        L = np.array([adv.variational_bound_exact(BOUND_P, Gaussian([m], [[1.0 / s**2]])) for m in ms])
        gaps[s] = log_z - L
        ax[0].plot(ms, L, ls, color=color("model"))
        ax[1].plot(ms, gaps[s], ls, color=color("model"), label=f"$q = N(m, {s:g}^2)$")
    ax[0].axhline(log_z, color=color("exact"), lw=1.0, ls=":")
    ax[0].text(ms[-1], log_z + 0.1, r"$\log Z$", ha="right", va="bottom")
    ax[0].set_ylim(log_z - 4.0, log_z + 0.7)
    ax[0].set_xlabel(r"mean $m$ of $q$")
    ax[0].set_ylabel(r"$E_q[-E] + H(q)$")
    ax[0].set_title(r"(a) bound $\leq \log Z$")
    ax[1].set_yscale("log")
    ax[1].set_ylim(1e-3, 300.0)
    ax[1].set_xlabel(r"mean $m$ of $q$")
    ax[1].set_ylabel(r"gap $\log Z - $ bound")
    ax[1].set_title(r"(b) gap = KL$(q\,\|\,p)$")
    ax[1].legend(loc="upper center")

    # (c) Adam ascent of the Monte Carlo bound over an affine flow q (reparameterized gradient)
    n_steps, n_q = (60, 64) if small else (600, 64)
    q = Flow([AffineFlow.identity(2)])
    opt = train.Adam(0.02)
    exact = []
    for _ in range(n_steps):
        _, g = adv.bound_grads_q(ASCENT_P, q, n_q, rng)
        exact.append(adv.variational_bound_exact(ASCENT_P, q))
        q = q.with_params(opt.step(q.params, {k: -v for k, v in g.items()}))     # ascent
    steps = np.arange(n_steps)
    lz2 = ASCENT_P.log_partition()
    ax[2].plot(steps, lz2 - np.array(exact), color=color("model"))
    ax[2].set_yscale("log")
    ax[2].set_xlabel(f"Adam step ({n_q} draws)")
    ax[2].set_ylabel(r"KL$(q_t\,\|\,p)$")
    ax[2].set_title("(c) ascent of the bound")
    fig.suptitle(r"$\log Z \geq E_q[-E(x)] + H(q)$, gap KL$(q\,\|\,p)$; Gaussian $p$, $q$")
    make_variational_bound.last_results = {"m": ms, "gap": gaps, "log_z": log_z,
                                           "ascent_gap": lz2 - np.array(exact)}
    return save(fig, out_dir, "variational_bound")
