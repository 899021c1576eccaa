"""One Hamiltonian Monte Carlo transition per row, shared by AIS (gmc.runtime.ais) and Monte-Carlo EM
(gmc.runtime.mcem).

Neal (2011), "MCMC using Hamiltonian dynamics", section 5.2: draw a momentum p ~ N(0, I) (unit
mass), run ``leapfrog`` leapfrog steps of size eps on H(z, p) = -log f(z) + |p|^2 / 2 (a half step
in p, alternating full steps in z and p, a final half step in p), then accept the end point with
probability min(1, exp(H(z, p) - H(z', p'))). The transition leaves f invariant. Each row of the
state is an independent chain with its own step size.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Union

import torch

State = dict[str, torch.Tensor]
#: ``log_density(state)``: each row's unnormalized log density [rows] (nats), or a pair of it and a
#: per-row auxiliary value [rows] to carry along (the transition returns it at the new state).
LogDensity = Callable[[State], Union[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]]


@dataclass(frozen=True)
class Transition:
    """The new state (name -> [rows, *event]), the accept indicators [rows] (bool) and, when the
    log density returns a pair, its auxiliary value at the new state [rows] (else None)."""

    state: State
    accept: torch.Tensor
    aux: torch.Tensor | None = None


def row_sum(t: torch.Tensor) -> torch.Tensor:
    """The sum over all but the first (row) dimension: [rows, *event] -> [rows]."""
    return t.reshape(t.shape[0], -1).sum(-1)


def per_row(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A per-row tensor [rows] shaped to broadcast against ``like`` [rows, *event]."""
    return values.reshape(values.shape[0], *([1] * (like.dim() - 1)))


def _evaluate(log_density: LogDensity, state: State):
    """log f(state) [rows] and its gradient (name -> [rows, *event]), both detached, and the aux value."""
    leaves = {name: v.detach().requires_grad_(True) for name, v in state.items()}
    out = log_density(leaves)
    log_f, aux = out if isinstance(out, tuple) else (out, None)
    grads = torch.autograd.grad(log_f.sum(), list(leaves.values()))
    return log_f.detach(), dict(zip(leaves, grads)), None if aux is None else aux.detach()


def hmc_transition(log_density: LogDensity, state: State, step_size: torch.Tensor, leapfrog: int) -> Transition:
    """One HMC transition (Neal 2011, section 5.2) of every row of ``state`` (name -> [rows, *event]),
    leaving ``log_density`` invariant. ``step_size`` [rows] is each row's leapfrog step size;
    ``leapfrog`` (>= 1) the number of leapfrog steps. A proposal whose log acceptance ratio is nan
    (a non-finite density on the trajectory) is rejected."""
    log_f0, grad, aux0 = _evaluate(log_density, state)
    z0 = {name: v.detach() for name, v in state.items()}
    eps = {name: per_row(step_size.to(v.dtype), v) for name, v in z0.items()}
    momentum = {name: torch.randn_like(v) for name, v in z0.items()}
    q = dict(z0)
    p = {name: momentum[name] + eps[name] * grad[name] / 2 for name in z0}
    for step in range(leapfrog):
        q = {name: q[name] + eps[name] * p[name] for name in z0}
        log_f1, grad, aux1 = _evaluate(log_density, q)
        scale = 1.0 if step < leapfrog - 1 else 0.5
        p = {name: p[name] + scale * eps[name] * grad[name] for name in z0}
    kinetic0 = sum(row_sum(m ** 2) for m in momentum.values()) / 2
    kinetic1 = sum(row_sum(m ** 2) for m in p.values()) / 2
    log_accept = (log_f1 - kinetic1) - (log_f0 - kinetic0)
    accept = torch.log(torch.rand_like(log_accept)) < torch.nan_to_num(log_accept, nan=-math.inf)
    new = {name: torch.where(per_row(accept, v), q[name], v) for name, v in z0.items()}
    return Transition(new, accept, None if aux0 is None else torch.where(accept, aux1, aux0))


__all__ = ["LogDensity", "State", "Transition", "hmc_transition", "per_row", "row_sum"]
