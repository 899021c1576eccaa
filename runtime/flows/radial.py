"""Radial flow (Rezende & Mohamed 2015, eq. 14 and appendix A.2):
f(z) = z + beta h(alpha, r) (z - z0), r = |z - z0|, h = 1 / (alpha + r).

Invertibility needs beta >= -alpha; built in as alpha = softplus(a), beta = -alpha +
softplus(c) for learned a, c. Log-determinant (eq. 14, D the event size):
(D - 1) log(1 + beta h) + log(1 + beta h + beta h'(r) r), h'(r) = -1 / (alpha + r)^2.
The inverse solves |y - z0| = r (1 + beta / (alpha + r)) for r (a quadratic); it is kept for
tests only (``cheap_inverse`` False), as the paper treats radial flows as non-invertible in
practice.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gmc.runtime.flows.base import Transform


class Radial(Transform):
    """One radial layer on ``[*batch, D]`` with learned centre z0 [D] and scalars a, c."""

    cheap_inverse = False

    def __init__(self, size: int):
        super().__init__(size)
        self.z0 = nn.Parameter(torch.randn(size) * size ** -0.5)
        self.a = nn.Parameter(torch.zeros(()))
        self.c = nn.Parameter(torch.zeros(()))

    def coefficients(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(alpha, beta) with alpha > 0 and beta >= -alpha."""
        alpha = F.softplus(self.a)
        return alpha, F.softplus(self.c) - alpha

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        alpha, beta = self.coefficients()
        diff = z - self.z0
        r = diff.norm(dim=-1)
        h = 1 / (alpha + r)
        y = z + (beta * h).unsqueeze(-1) * diff
        # 1 + beta h + beta h' r = 1 + beta alpha / (alpha + r)^2
        log_det = (self.size - 1) * torch.log1p(beta * h) + torch.log1p(beta * alpha * h * h)
        return y, log_det

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z with f(z) = y: with s = |y - z0|, r solves r^2 + (alpha + beta - s) r - s alpha = 0
        (its positive root), and z - z0 = (y - z0) r / s; returns (z, -log_det(z))."""
        alpha, beta = self.coefficients()
        diff = y - self.z0
        s = diff.norm(dim=-1)
        p = alpha + beta - s
        r = (-p + torch.sqrt(p * p + 4 * s * alpha)) / 2
        z = self.z0 + diff * (r / s).unsqueeze(-1)
        _, log_det = self.forward(z)
        return z, -log_det
