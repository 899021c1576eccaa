"""Masked autoregressive layers: MADE conditioners (Germain et al. 2015, "MADE: Masked
Autoencoder for Distribution Estimation", eq. 12-13), MAF (Papamakarios et al. 2017, "Masked
Autoregressive Flow for Density Estimation", section 3.1) and IAF (Kingma et al. 2016,
"Improved Variational Inference with Inverse Autoregressive Flow", eq. 10-11).

Both use the one-pass map g(v)_i = v_i exp(a_i(v_<i)) + b_i(v_<i), whose Jacobian is
triangular with log |det| = sum_i a_i(v_<i), a soft-clamped (:func:`base.soft_clamp`):

- IAF samples with g (one pass; log-det sum a) and inverts it sequentially (D passes);
- MAF scores data with g (one pass: the density direction u = g(x)), so its sampling
  direction is g^-1 (D passes) with log-det -sum a(x).

Order: coordinate i depends on coordinates with smaller index; stack a ``Permutation``
between layers so each coordinate is conditioned on the others somewhere.
"""
from __future__ import annotations

from itertools import islice

import torch
import torch.nn.functional as F
from torch import nn

from gmc.runtime.flows.base import Transform, soft_clamp


def made_masks(size: int, hidden) -> list[torch.Tensor]:
    """MADE's masks (Germain et al. 2015, eq. 12-13) for inputs of degrees 1..D, hidden units
    of degrees cycling through 1..D-1, and two outputs (shift, log-scale) per coordinate of
    degree d: output i may read only inputs with degree < deg(i). Masks are [out, in] bool."""
    inputs = torch.arange(1, size + 1)
    degrees = [inputs]
    for width in hidden:
        degrees.append(torch.arange(width) % max(size - 1, 1) + 1)
    masks = [later[:, None] >= earlier[None, :] for earlier, later in zip(degrees, degrees[1:])]
    outputs = torch.cat([inputs, inputs])  # [shift_1..D | log-scale_1..D]
    masks.append(outputs[:, None] > degrees[-1][None, :])
    return masks


class MaskedLinear(nn.Linear):
    """nn.Linear whose weight is multiplied by a fixed bool mask [out, in]."""

    def __init__(self, mask: torch.Tensor, zero: bool = False):
        super().__init__(mask.shape[1], mask.shape[0])
        self.register_buffer("mask", mask.to(self.weight.dtype), persistent=False)
        if zero:
            nn.init.zeros_(self.weight)
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


class MADE(nn.Module):
    """Masked ReLU MLP [*batch, D] -> (shift [*batch, D], raw log-scale [*batch, D]) with
    output i depending only on inputs < i; the last layer starts at zero."""

    def __init__(self, size: int, hidden=(64, 64)):
        super().__init__()
        masks = made_masks(size, hidden)
        self.layers = nn.ModuleList(MaskedLinear(m, zero=(i == len(masks) - 1)) for i, m in enumerate(masks))

    def forward(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = v
        # islice, not self.layers[:-1]: slicing a ModuleList builds a new module on every call
        for layer in islice(self.layers, len(self.layers) - 1):
            h = F.relu(layer(h))
        shift, raw = self.layers[-1](h).chunk(2, dim=-1)
        return shift, soft_clamp(raw)


class _Autoregressive(Transform):
    def __init__(self, size: int, hidden=(64, 64)):
        super().__init__(size)
        self.made = MADE(size, hidden)

    def one_pass(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """g(v) and sum a(v) (log |det dg/dv|)."""
        shift, log_scale = self.made(v)
        return v * log_scale.exp() + shift, log_scale.sum(-1)

    def sequential_inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """v with g(v) = y, coordinate by coordinate (D passes), and -sum a(v)."""
        v = torch.zeros_like(y)
        for _ in range(self.size):
            shift, log_scale = self.made(v)
            v = (y - shift) * (-log_scale).exp()
        _, log_scale = self.made(v)
        return v, -log_scale.sum(-1)


class IAF(_Autoregressive):
    """Inverse autoregressive flow layer: samples in one pass; no cheap inverse."""

    cheap_inverse = False

    def forward(self, x):
        return self.one_pass(x)

    def inverse(self, y):
        return self.sequential_inverse(y)


class MAF(_Autoregressive):
    """Masked autoregressive flow layer: scores data in one pass (``inverse``); samples in D passes."""

    def forward(self, u):
        return self.sequential_inverse(u)

    def inverse(self, x):
        return self.one_pass(x)
