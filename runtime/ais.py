"""Held-out log-likelihood estimators: annealed importance sampling and the IWAE bound.

Both estimate log p(x) per example (nats) for a model with a joint p(x, z) and a proposal
q(z|x) over per-example continuous latents z.

IWAE (Burda et al. 2016): log (1/K) sum_k p(x, z_k) / q(z_k|x), z_k ~ q(z|x); a lower bound
in expectation that tightens as K grows.

AIS (Neal 2001; applied to decoder-based models by Wu et al. 2017): K independent chains per
example start at z_0 ~ q(z|x) and move through the geometric path
    log f_t(z) = log q(z|x) + b_t (log p(x, z) - log q(z|x)),  0 = b_0 < b_1 < ... < b_T = 1,
accumulating log w += (b_t - b_{t-1}) (log p(x, z_{t-1}) - log q(z_{t-1}|x)) before each
transition; each transition is one Hamiltonian Monte Carlo step (``leapfrog`` leapfrog steps,
a Metropolis correction; gmc.runtime.hmc, Neal 2011) that leaves f_t invariant. The schedule b_t is the sigmoidal one of
Grosse et al. (2015) (Wu et al. 2017, section 4). The step size is adapted per example towards
an acceptance rate of 0.65 (Wu et al. 2017, appendix). E[w] = p(x), so log of the mean weight is
a stochastic lower bound on log p(x) whose gap vanishes as T grows.

Standard errors (both estimators): the delta-method standard error of log mean(w) over the K
weights, sqrt((mean(w^2)/mean(w)^2 - 1) / K), computed in log space.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from .hmc import hmc_transition

LogDensity = Callable[[dict[str, torch.Tensor]], torch.Tensor]


@dataclass(frozen=True)
class Estimate:
    """Per-example log p(x) estimates [B] and their standard errors [B] (nats), and the mean
    HMC acceptance rate (AIS only, else None)."""

    log_px: torch.Tensor
    stderr: torch.Tensor
    acceptance: float | None = None


def log_mean_and_stderr(log_w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """log mean_k w and its delta-method standard error, for log-weights ``log_w`` [K, B]."""
    k = log_w.shape[0]
    log_mean = torch.logsumexp(log_w, 0) - math.log(k)
    log_second = torch.logsumexp(2 * log_w, 0) - math.log(k)
    relative_variance = torch.clamp(torch.expm1(log_second - 2 * log_mean), min=0.0)
    return log_mean, torch.sqrt(relative_variance / k)


def iwae(log_p: LogDensity, log_q: LogDensity, sample_q: Callable[[], dict[str, torch.Tensor]], k: int,
         batch: int) -> Estimate:
    """The IWAE estimate with ``k`` samples. ``sample_q()`` draws latents for k * batch rows
    (row r is example r % batch); ``log_p``/``log_q`` score them: [k * batch]."""
    with torch.no_grad():
        z = sample_q()
        log_w = (log_p(z) - log_q(z)).reshape(k, batch)
    return Estimate(*log_mean_and_stderr(log_w))


def sigmoid_schedule(steps: int, delta: float = 4.0) -> torch.Tensor:
    """b_0 = 0 < ... < b_T = 1 (T = ``steps``), sigmoidal (Grosse et al. 2015): dense near both ends."""
    s = torch.sigmoid(delta * (2 * torch.arange(steps + 1, dtype=torch.float64) / steps - 1))
    return (s - s[0]) / (s[-1] - s[0])


def ais(log_p: LogDensity, log_q: LogDensity, sample_q: Callable[[], dict[str, torch.Tensor]], k: int,
        batch: int, *, steps: int = 500, leapfrog: int = 10, step_size: float = 0.05,
        target_accept: float = 0.65) -> Estimate:
    """The AIS estimate with ``k`` chains per example and ``steps`` intermediate distributions.

    Latents are dicts name -> [k * batch, *event] of real values (row r is example r % batch);
    ``sample_q()`` draws them from q(z|x), ``log_p``/``log_q`` score them: [k * batch]."""
    schedule = sigmoid_schedule(steps)
    with torch.no_grad():
        u = {name: v.detach() for name, v in sample_q().items()}
    first = next(iter(u.values()))
    log_w = torch.zeros(k * batch, dtype=first.dtype, device=first.device)
    eps = torch.full((batch,), step_size, dtype=log_w.dtype, device=first.device)
    accepted_total = 0.0

    def path_density(beta):
        """log f_beta(u) [rows] on the annealing path, with log p - log q [rows] carried along."""
        def log_f(u_now):
            lp, lq = log_p(u_now), log_q(u_now)
            return lq + beta * (lp - lq), lp - lq
        return log_f

    with torch.no_grad():
        ratio = log_p(u) - log_q(u)
    for t in range(1, steps + 1):
        beta = float(schedule[t])
        log_w = log_w + (beta - float(schedule[t - 1])) * ratio
        move = hmc_transition(path_density(beta), u, eps.repeat(k), leapfrog)
        u, ratio = move.state, move.aux
        rate = move.accept.to(log_w.dtype).reshape(k, batch).mean(0)
        eps = eps * torch.exp(0.5 * (rate - target_accept))  # towards the target acceptance rate
        accepted_total += float(rate.mean())
    log_px, stderr = log_mean_and_stderr(log_w.reshape(k, batch))
    return Estimate(log_px, stderr, accepted_total / steps)


__all__ = ["Estimate", "ais", "iwae", "log_mean_and_stderr", "sigmoid_schedule"]
