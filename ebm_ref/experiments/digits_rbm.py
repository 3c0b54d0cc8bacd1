r"""The lecture's RBM story on real data, with exact answers: binary RBMs on 8×8 digits.

A Bernoulli RBM with V = 64 visible and H = 16 hidden units (energy convention
:math:`p(v) = e^{-F(v)}/Z`, :math:`F(v) = -b^\top v - \sum_j\operatorname{softplus}(c_j + (W^\top v)_j)`)
is small enough in its hidden layer that everything the lecture estimates can be
computed exactly, by summing over the :math:`2^{16} = 65{,}536` hidden states
(:meth:`~ebm_ref.models.BernoulliRBM.log_partition`, ``grad_log_partition``):

* the mean log-likelihood :math:`\frac1N\sum_n \log p(v_n) = -\frac1N\sum_n F(v_n) - \log Z`
  of the training and the held-out images, at any point of training;
* the negative phase :math:`\nabla_\theta\log Z = -\mathbb E_p[\nabla_\theta F]`, so the
  exact gradient can train the model (``objectives.mle``) beside CD-1, CD-10 and PCD
  (``objectives.contrastive_divergence``), which estimate the same term with samples;
* the log Z that AIS estimates (``partition.ais``, ``partition.reverse_ais``), for the
  *trained* models, whose energy landscapes have many modes.

The steps, one function each:

1. :func:`split` — binarised digits (pixel on when its grey level is ≥ 8) and a fixed
   train / held-out split, stratified by digit: within each class, in file order, every
   fifth image (ranks 4, 9, 14, …) is held out (1,442 / 355 images, 34–36 per digit held out);
2. :func:`initial_rbm` — small random weights, visible biases at the base rates of the
   training images, hidden biases 0: the same start for every method;
3. :func:`objective` — the training objective of one method: ``"exact"``, ``"cd1"``,
   ``"cd10"`` or ``"pcd"`` (PCD-1 with persistent chains);
4. :func:`train` — SGD with momentum and a step size that decays, identical for all
   methods (only the negative phase differs), recording the exact train and held-out
   log-likelihoods;
5. :func:`exact_log_likelihoods` — log Z and both mean log-likelihoods, exactly;
6. :func:`ais_check` — forward and reverse AIS from the uniform and the base-rate base,
   Salakhutdinov–Murray schedule, against the exact log Z;
7. :func:`run` — all of it, for the figure and the tests (:data:`SMALL` settings for a
   quick run); :func:`streams` gives its start and each method's Generator, so one method
   can be run alone with the same result.

References
----------
G. E. Hinton (2002), *Training products of experts by minimizing contrastive divergence*.
T. Tieleman (2008), *Training restricted Boltzmann machines using approximations to the
likelihood gradient*.
R. Salakhutdinov and I. Murray (2008), *On the quantitative analysis of deep belief networks*.
E. Alpaydin and C. Kaynak (1998), Optical Recognition of Handwritten Digits, UCI ML repository.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .. import partition
from .._validate import as_generator, check_positive_int
from ..datasets import binarized_digits
from ..models.rbm import BernoulliRBM
from ..objectives import contrastive_divergence
from ..train import SGD, fit

__all__ = [
    "METHODS",
    "METHOD_LABELS",
    "HELD_OUT_EVERY",
    "MAX_HIDDEN",
    "Settings",
    "DEFAULT",
    "SMALL",
    "Split",
    "split",
    "initial_rbm",
    "objective",
    "TrainedRBM",
    "train",
    "exact_log_likelihoods",
    "AISResult",
    "ais_check",
    "streams",
    "run",
]

#: The four training methods, in the order of the lecture.
METHODS = ("exact", "cd1", "cd10", "pcd")
METHOD_LABELS = {"exact": "exact gradient", "cd1": "CD-1", "cd10": "CD-10", "pcd": "PCD-1"}

#: At most this many hidden units: every exact answer sums over 2^H hidden states, at every record.
MAX_HIDDEN = 20

#: Within each digit class, in file order, the image of rank r is held out when
#: r % HELD_OUT_EVERY == HELD_OUT_EVERY - 1.
HELD_OUT_EVERY = 5


@dataclass(frozen=True)
class Settings:
    """Everything a run depends on besides the random stream.

    Attributes
    ----------
    n_hidden : int
        H, at most :data:`MAX_HIDDEN` = 20 so that the :math:`2^H` hidden states can be summed.
    threshold : float
        Grey level at which a pixel is on (``datasets.binarized_digits``).
    n_steps, batch_size : int
        Parameter updates, and images per mini-batch (drawn afresh at each step).
    lr, momentum, lr_decay : float
        ``train.SGD(lr, momentum, lr_decay)``: :math:`\\eta_t = \\eta\\,\\tau/(\\tau + t)`.
    weight_scale : float
        Standard deviation of the initial weights.
    pcd_chains : int
        Persistent chains of PCD.
    record_every : int
        Steps between two exact log-likelihood records.
    ais_chains : int
        Chains of each AIS run (forward), and exact samples that start reverse AIS.
    ais_chains_uniform : int or None
        The same for the uniform base, whose runs spread more (None: ``ais_chains``).
    ais_schedule : str
        ``"salakhutdinov_murray"`` (14,500 temperatures) or ``"linear:K"`` (K temperatures).
    """

    n_hidden: int = 16
    threshold: float = 8.0
    n_steps: int = 600
    batch_size: int = 100
    lr: float = 0.5
    momentum: float = 0.5
    lr_decay: float = 50.0
    weight_scale: float = 0.1
    pcd_chains: int = 100
    record_every: int = 25
    ais_chains: int = 100
    ais_chains_uniform: int | None = None
    ais_schedule: str = "salakhutdinov_murray"


#: The settings of the figure and of the notes' numbers.
DEFAULT = Settings()
#: A quick run for the tests of the figure: 8 hidden units (256 states to sum), few steps, a short schedule.
SMALL = replace(DEFAULT, n_hidden=8, n_steps=30, record_every=10, ais_chains=20, ais_schedule="linear:200")


@dataclass(frozen=True)
class Split:
    """Binarised digits, split by the fixed rule of :func:`split`."""

    train: np.ndarray
    held_out: np.ndarray
    train_labels: np.ndarray
    held_out_labels: np.ndarray


def split(threshold: float = DEFAULT.threshold) -> Split:
    """Binarised digits, split by a fixed rule stratified by digit.

    Within each class, images are ranked in file order (r = 0, 1, …); rank r is held out
    when ``r % 5 == 4``.  No randomness: the split is the same on every run.

    Returns
    -------
    Split
        ``train`` (1442, 64) and ``held_out`` (355, 64) 0/1 float arrays, and their labels.
    """
    v, y = binarized_digits(threshold)
    rank = np.empty(y.size, dtype=np.int64)
    for k in np.unique(y):
        idx = np.flatnonzero(y == k)
        rank[idx] = np.arange(idx.size)
    held = rank % HELD_OUT_EVERY == HELD_OUT_EVERY - 1
    return Split(v[~held], v[held], y[~held], y[held])


def initial_rbm(v_train, n_hidden: int, rng, weight_scale: float = DEFAULT.weight_scale) -> BernoulliRBM:
    r"""The common starting point: :math:`W_{ij}\sim N(0, s^2)`, :math:`b` the base rates, :math:`c = 0`.

    :math:`b_i = \operatorname{logit}\frac{\sum_n v_{ni} + 1}{N + 2}` (``partition.base_rate_rbm``):
    with W = 0 the model would be the independent-pixel fit to the training images.
    """
    rng = as_generator(rng)
    n_hidden = check_positive_int(n_hidden, "n_hidden")
    if n_hidden > MAX_HIDDEN:
        raise ValueError(f"n_hidden: at most {MAX_HIDDEN} (exact answers sum over 2^n_hidden states), got {n_hidden}")
    V = np.shape(v_train)[1]
    b = partition.base_rate_rbm(data=v_train).b_A
    return BernoulliRBM(weight_scale * rng.standard_normal((V, n_hidden)), b, np.zeros(n_hidden))


def _exact_objective(model, x, rng):
    grad_ll = model.exact_grad_log_likelihood(x)               # ∇θ (1/n) Σ log p(x_n): positive − negative phase
    return float(np.mean(model.energy(x))), {k: -g for k, g in grad_ll.items()}


def objective(method: str, v_train, rng, settings: Settings = DEFAULT):
    r"""``objective(model, x, rng) -> (loss, grads)`` of one method, for ``train.fit``.

    All four return :math:`\langle\nabla_\theta F\rangle_{\text{batch}} - (\text{negative phase})`;
    they differ in the negative phase:

    * ``"exact"`` — :math:`\mathbb E_{p_\theta}[\nabla_\theta F]` by enumerating the hidden
      layer (``BernoulliRBM.exact_grad_log_likelihood``, the gradient of
      ``objectives.mle.loss``); the loss it reports is :math:`\langle F\rangle_{\text{batch}}`
      without log Z, which would cost a third pass over the :math:`2^H` states at every step
      (the exact log-likelihood is recorded by :func:`train` instead);
    * ``"cd1"``, ``"cd10"`` — the average over k = 1 or 10 block-Gibbs sweeps started at
      the batch (``contrastive_divergence.cd_objective``);
    * ``"pcd"`` — one sweep of ``settings.pcd_chains`` persistent chains, started at
      training images (``contrastive_divergence.pcd_objective``).
    """
    if method == "exact":
        return _exact_objective
    if method == "cd1":
        return contrastive_divergence.cd_objective(1)
    if method == "cd10":
        return contrastive_divergence.cd_objective(10)
    if method == "pcd":
        return contrastive_divergence.pcd_objective(1, n_chains=settings.pcd_chains, rng=as_generator(rng),
                                                    x_init=v_train)
    raise ValueError(f"method: expected one of {METHODS}, got {method!r}")


def exact_log_likelihoods(model: BernoulliRBM, v_train, v_held) -> tuple[float, float, float]:
    r"""``(log Z, mean log p(train), mean log p(held-out))``, exactly.

    :math:`\log Z` is summed over the :math:`2^H` hidden states once, then
    :math:`\frac1N\sum_n\log p(v_n) = -\frac1N\sum_n F(v_n) - \log Z` for each set.
    """
    log_z = model.log_partition()
    return (log_z, float(-np.mean(model.energy(v_train)) - log_z),
            float(-np.mean(model.energy(v_held)) - log_z))


@dataclass(frozen=True)
class TrainedRBM:
    """A trained model and its exact learning curves.

    ``steps`` are the updates after which the log-likelihoods were recorded (0 = the
    start, the last = the final model); ``log_z`` is the final model's exact log Z.
    """

    method: str
    model: BernoulliRBM
    steps: np.ndarray
    ll_train: np.ndarray
    ll_held_out: np.ndarray
    log_z: float


def train(method: str, data: Split, rng, settings: Settings = DEFAULT, start: BernoulliRBM | None = None) -> TrainedRBM:
    """Train one RBM by ``method`` from ``start`` (default :func:`initial_rbm`); record exact log-likelihoods.

    SGD with ``settings.momentum`` and the decaying step
    ``settings.lr * lr_decay / (lr_decay + t)`` for every method; the exact train and
    held-out log-likelihoods every ``settings.record_every`` steps and at the end.
    """
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    rng = as_generator(rng)
    every = check_positive_int(settings.record_every, "record_every")
    model0 = initial_rbm(data.train, settings.n_hidden, rng, settings.weight_scale) if start is None else start
    records = [(0, *exact_log_likelihoods(model0, data.train, data.held_out))]

    def record(step, model, loss):
        if step % every == 0:
            records.append((step, *exact_log_likelihoods(model, data.train, data.held_out)))

    opt = SGD(settings.lr, momentum=settings.momentum, lr_decay=settings.lr_decay)
    model, _ = fit(model0, data.train, objective(method, data.train, rng, settings), opt, settings.n_steps, rng,
                   batch_size=settings.batch_size, callbacks=[record], log=lambda s: None)
    if records[-1][0] != settings.n_steps:
        records.append((settings.n_steps, *exact_log_likelihoods(model, data.train, data.held_out)))
    steps, log_z, ll_tr, ll_ho = (np.array(c) for c in zip(*records))
    return TrainedRBM(method, model, steps.astype(int), ll_tr, ll_ho, float(log_z[-1]))


def _schedule(name: str) -> np.ndarray:
    if name == "salakhutdinov_murray":
        return partition.salakhutdinov_murray_schedule()
    if name.startswith("linear:"):
        return partition.linear_schedule(int(name.split(":", 1)[1]))
    raise ValueError(f"ais_schedule: expected 'salakhutdinov_murray' or 'linear:K', got {name!r}")


@dataclass(frozen=True)
class AISResult:
    """AIS on one trained model: ``estimates[(base, direction)]`` beside the exact ``log_z``.

    ``base`` is ``"uniform"`` or ``"base_rate"``; ``direction`` is ``"forward"`` (a stochastic
    lower bound) or ``"reverse"`` (a stochastic upper bound, started from exact samples).
    """

    log_z: float
    estimates: dict = field(repr=False)

    def error(self, base: str, direction: str) -> float:
        """Estimate minus the exact log Z."""
        return self.estimates[base, direction].log_z - self.log_z


def ais_check(model: BernoulliRBM, v_train, rng, settings: Settings = DEFAULT) -> AISResult:
    r"""Forward and reverse AIS from two bases, against the exact log Z of ``model``.

    Bases: the uniform distribution (:math:`b_A = 0`) and the base-rate RBM of the
    training images (:math:`b_A` = logit of their smoothed pixel means).  Both anneal
    along :math:`p_\beta(v,h)\propto e^{(1-\beta)b_A^\top v - \beta E(v,h)}` with one Gibbs
    sweep per temperature.  Reverse AIS starts from as many exact samples as forward AIS
    has chains (``model.sample``, by enumerating the hidden layer).
    """
    rng = as_generator(rng)
    betas = _schedule(settings.ais_schedule)
    n_rate = check_positive_int(settings.ais_chains, "ais_chains")
    n_uniform = n_rate if settings.ais_chains_uniform is None else \
        check_positive_int(settings.ais_chains_uniform, "ais_chains_uniform")
    bases = {"uniform": (partition.base_rate_rbm(b_A=np.zeros(model.n_visible)), n_uniform),
             "base_rate": (partition.base_rate_rbm(data=v_train), n_rate)}
    est = {}
    for name, (base, n) in bases.items():
        est[name, "forward"] = partition.ais(model, base, betas=betas, n_chains=n, rng=rng, transition="gibbs")
        est[name, "reverse"] = partition.reverse_ais(model, base, betas=betas, exact_samples=model.sample(n, rng),
                                                     rng=rng, transition="gibbs")
    return AISResult(model.log_partition(), est)


def streams(rng, settings: Settings = DEFAULT, methods=METHODS):
    """The split, the common start and one Generator per method, drawn as :func:`run` draws them.

    One start (:func:`initial_rbm`, drawn from ``rng``) for all methods; then each method
    has its own stream, seeded from ``rng``, for its batches, its sampling and its AIS.
    A caller that trains one method alone (a test, say) gets the same model as :func:`run`.

    Returns
    -------
    data : Split
    start : BernoulliRBM
    rngs : dict ``method -> Generator``
    """
    rng = as_generator(rng)
    data = split(settings.threshold)
    start = initial_rbm(data.train, settings.n_hidden, rng, settings.weight_scale)
    seeds = rng.integers(2**63, size=len(methods))
    return data, start, {m: np.random.default_rng(seed) for m, seed in zip(methods, seeds)}


def run(rng, settings: Settings = DEFAULT, methods=METHODS, ais: bool = True):
    """Train every method from the same start; AIS on each trained model.

    The start and the methods' streams are those of :func:`streams`.

    Returns
    -------
    data : Split
    runs : dict ``method -> TrainedRBM``
    ais : dict ``method -> AISResult`` (empty when ``ais`` is False)
    """
    data, start, rngs = streams(rng, settings, methods)
    runs, checks = {}, {}
    for m in methods:
        runs[m] = train(m, data, rngs[m], settings, start=start)
        if ais:
            checks[m] = ais_check(runs[m].model, data.train, rngs[m], settings)
    return data, runs, checks
