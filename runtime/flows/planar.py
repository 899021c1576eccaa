"""Planar flow (Rezende & Mohamed 2015, "Variational Inference with Normalizing Flows", eq. 10-12
and appendix A.1): f(z) = z + u_hat tanh(w^T z + b).

Invertibility needs w^T u_hat >= -1; it is built in by the paper's reparametrization
u_hat = u + (m(w^T u) - w^T u) w / |w|^2 with m(a) = -1 + softplus(a), so w^T u_hat =
m(w^T u) > -1 for every value of the learned u, w, b. Log-determinant (eq. 12):
log |1 + u_hat^T psi(z)|, psi(z) = tanh'(w^T z + b) w, and 1 + u_hat^T psi > 0 by the
constraint. The inverse has no closed form: ``inverse`` solves the scalar equation for
a = w^T z by bisection (appendix A.1), so it exists for tests only (``cheap_inverse`` False).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gmc.runtime.flows.base import Transform


def planar(z: torch.Tensor, u: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One planar layer with given parameters: z [*batch, D], u and w [*batch', D], b [*batch']
    (batch' broadcasts against batch: learned vectors, or one set per example from an
    inference network, Rezende & Mohamed 2015, section 4.2). Returns (f(z), log |det|)
    with the log-determinant [*batch] in nats; u is constrained to u_hat (appendix A.1)."""
    wu = (w * u).sum(-1, keepdim=True)
    u_hat = u + (F.softplus(wu) - 1 - wu) * w / (w * w).sum(-1, keepdim=True)
    h = torch.tanh((z * w).sum(-1) + b)
    # tanh' = 1 - tanh^2; 1 + (1 - h^2) w^T u_hat > 0 because w^T u_hat > -1
    return z + h.unsqueeze(-1) * u_hat, torch.log1p((1 - h * h) * (w * u_hat).sum(-1))


class Planar(Transform):
    """One planar layer on ``[*batch, D]`` with learned u, w (each [D]) and b (scalar)."""

    cheap_inverse = False

    def __init__(self, size: int):
        super().__init__(size)
        bound = size ** -0.5
        self.u = nn.Parameter(torch.empty(size).uniform_(-bound, bound))
        self.w = nn.Parameter(torch.empty(size).uniform_(-bound, bound))
        self.b = nn.Parameter(torch.zeros(()))

    def u_hat(self) -> torch.Tensor:
        """u constrained so that w^T u_hat > -1 (appendix A.1)."""
        wu = self.w @ self.u
        return self.u + (F.softplus(wu) - 1 - wu) * self.w / (self.w @ self.w)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return planar(z, self.u, self.w, self.b)

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return planar_inverse(y, self.u, self.w, self.b)


def planar_inverse(y, u, w, b, iterations: int = 80) -> tuple[torch.Tensor, torch.Tensor]:
    """z with planar(z, u, w, b) = y, by bisection on a = w^T z, which solves
    w^T y = a + (w^T u_hat) tanh(a + b), increasing in a (appendix A.1); returns (z, -log_det(z)).
    For tests and the reference interpreter only: generated code never inverts a planar layer."""
    wu = (w * u).sum(-1, keepdim=True)
    u_hat = u + (F.softplus(wu) - 1 - wu) * w / (w * w).sum(-1, keepdim=True)
    target = (y * w).sum(-1)
    slope = (w * u_hat).sum(-1)
    low, high = target - slope.abs() - 1, target + slope.abs() + 1
    for _ in range(iterations):
        mid = (low + high) / 2
        above = mid + slope * torch.tanh(mid + b) > target
        high, low = torch.where(above, mid, high), torch.where(above, low, mid)
    z = y - torch.tanh((low + high) / 2 + b).unsqueeze(-1) * u_hat
    _, log_det = planar(z, u, w, b)
    return z, -log_det
