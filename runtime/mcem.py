"""Monte-Carlo EM: HMC over per-example latents inside an EM loop over a model's weights.

EM maximizes log p(x; theta) = log int p(x, z; theta) dz over the weights theta. Monte-Carlo EM
(Wei & Tanner 1990) replaces the E-step's expectation Q(theta) = E_{p(z|x; theta_t)}[log p(x, z; theta)]
by an average over samples z ~ p(z|x; theta_t). Here (as in ZhuSuan's logistic-normal topic model):

* E-step: ``hmc_steps`` Hamiltonian Monte Carlo transitions (gmc.runtime.hmc; Neal 2011, "MCMC
  using Hamiltonian dynamics", section 5.2: ``leapfrog`` leapfrog steps of size eps, unit mass, Metropolis
  correction with H(z, p) = -log p(x, z; theta) + |p|^2 / 2) on every example's latent at once,
  warm-started from the previous E-step's state. Each example has its own step size, multiplied
  by exp((a - target_accept) / 2) after each transition (a = 1 if it accepted, else 0), which
  drives the acceptance rate towards ``target_accept`` (0.65; Neal 2011, section 4.4).
* M-step: ``m_steps`` Adam steps on theta maximizing the mean over examples of
  log p(x_i, z_i; theta) at the current samples z_i; gradients by autograd.

The log-joint is the sum of the compiled model's generated log-densities ``model.log_prob(sig, ...)``
over the given factor signatures (nats per example).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import torch

from .hmc import hmc_transition


@dataclass
class MCEMResult:
    """The final latent samples [B, *event], the per-example step sizes [B], and per EM step the
    mean log-joint (nats per example, at the E-step's samples before the M-step) and the mean
    HMC acceptance rate."""

    latent: torch.Tensor
    step_size: torch.Tensor
    log_joint: list[float] = field(default_factory=list)
    acceptance: list[float] = field(default_factory=list)


def monte_carlo_em(model: torch.nn.Module, factors: Sequence[str], data: dict[str, torch.Tensor], latent: str,
                   *, init: torch.Tensor | None = None, weights: Iterable[torch.nn.Parameter] | None = None,
                   em_steps: int = 100, hmc_steps: int = 5, leapfrog: int = 10, step_size: float = 0.05,
                   target_accept: float = 0.65, lr: float = 0.01, m_steps: int = 1,
                   callback: Callable[[int, MCEMResult], None] | None = None) -> MCEMResult:
    """Fit ``model``'s weights by Monte-Carlo EM with HMC over the per-example latent ``latent``.

    ``factors``: signatures whose log-densities sum to log p(x, z), e.g. ``["p(eta)", "p(x|eta)"]``;
    ``data``: name -> [B, *event] observed values; ``init``: the latent's start [B, *event]
    (default zeros; its event shape is then read from ``model.sample``); ``weights``: the
    parameters to fit (default all of ``model.parameters()``). ``callback(step, result)`` runs
    after each EM step. Raises ValueError for em_steps, hmc_steps or leapfrog below 1, and
    gmc's DataError for a factor the model lacks or a value it does not take."""
    if min(em_steps, hmc_steps, leapfrog) < 1:
        raise ValueError("em_steps, hmc_steps and leapfrog must be at least 1")
    rows = next(iter(data.values())).shape[0]
    if init is None:
        with torch.no_grad():
            draw = model.sample(f"p({latent})", n=1)[latent]
        init = torch.zeros(rows, *draw.shape[1:], dtype=draw.dtype)
    params = list(model.parameters() if weights is None else weights)
    optimizer = torch.optim.Adam(params, lr=lr)

    takes = {sig: set(model._factor(sig).outputs + model._factor(sig).given) for sig in factors}

    def log_joint(z: torch.Tensor) -> torch.Tensor:
        values = {**data, latent: z}
        return sum(model.log_prob(sig, **{k: v for k, v in values.items() if k in takes[sig]}) for sig in factors)

    result = MCEMResult(init.detach().clone(), torch.full((rows,), float(step_size), dtype=init.dtype))
    for step in range(em_steps):
        accepted = 0.0
        for _ in range(hmc_steps):
            move = hmc_transition(lambda state: log_joint(state[latent]), {latent: result.latent}, result.step_size,
                                  leapfrog)
            result.latent = move.state[latent]
            rate = move.accept.to(result.step_size.dtype)
            result.step_size = result.step_size * torch.exp(0.5 * (rate - target_accept))
            accepted += float(rate.mean())
        for m in range(m_steps):
            objective = log_joint(result.latent).mean()
            if m == 0:
                result.log_joint.append(float(objective.detach()))
            optimizer.zero_grad()
            (-objective).backward()
            optimizer.step()
        result.acceptance.append(accepted / hmc_steps)
        if callback is not None:
            callback(step, result)
    return result


__all__ = ["MCEMResult", "monte_carlo_em"]
