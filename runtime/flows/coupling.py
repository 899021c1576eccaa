"""Affine coupling layer (RealNVP; Dinh et al. 2017, "Density estimation using Real NVP", eq. 4-6).

With a binary mask m splitting the event into kept (m = 1) and transformed (m = 0) parts,
y_kept = x_kept and y_rest = x_rest * exp(s(x_kept)) + t(x_kept); the Jacobian is triangular,
so log |det| = sum s(x_kept) (eq. 6), and the inverse is one pass:
x_rest = (y_rest - t(y_kept)) * exp(-s(y_kept)). The shift t and log-scale s come from one
ReLU MLP (the layer's conditioner) whose last layer starts at zero (identity at
initialisation); s is soft-clamped to (-log 1e3, log 1e3) (:func:`base.soft_clamp`).
"""
from __future__ import annotations

import torch
from torch import nn

from gmc.runtime.flows.base import Transform, hidden_layers, soft_clamp, zero_last


def split_mask(size: int, kind: str = "alternate", split: int | None = None) -> torch.Tensor:
    """The kept coordinates as a bool [size] mask: ``alternate`` keeps the even ones,
    ``alternate_odd`` the odd ones, ``half`` the first ``split`` (default size // 2),
    ``half_last`` all but the first ``split``."""
    index = torch.arange(size)
    if kind in ("alternate", "alternate_odd"):
        return index % 2 == (kind == "alternate_odd")
    split = size // 2 if split is None else split
    return index < split if kind == "half" else index >= split


class AffineCoupling(Transform):
    """An affine coupling layer on ``[*batch, D]``; ``mask`` a bool [D] (True: kept)."""

    def __init__(self, size: int, mask: torch.Tensor, hidden=(64, 64)):
        super().__init__(size)
        mask = torch.as_tensor(mask, dtype=torch.bool)
        self.register_buffer("kept", mask.nonzero().squeeze(-1), persistent=False)
        self.register_buffer("changed", (~mask).nonzero().squeeze(-1), persistent=False)
        n_kept, n_changed = len(self.kept), len(self.changed)
        if n_kept == 0 or n_changed == 0:
            raise ValueError("a coupling mask must keep some coordinates and change the others")
        sizes = [n_kept, *hidden]
        # output layout: [shift (n_changed) | raw log-scale (n_changed)]
        self.conditioner = nn.Sequential(*hidden_layers(sizes), zero_last(nn.Linear(sizes[-1], 2 * n_changed)))

    def shift_log_scale(self, kept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shift, raw = self.conditioner(kept).chunk(2, dim=-1)
        return shift, soft_clamp(raw)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        kept = x[..., self.kept]
        shift, log_scale = self.shift_log_scale(kept)
        y = x.index_copy(-1, self.changed, x[..., self.changed] * log_scale.exp() + shift)
        return y, log_scale.sum(-1)

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shift, log_scale = self.shift_log_scale(y[..., self.kept])
        x = y.index_copy(-1, self.changed, (y[..., self.changed] - shift) * (-log_scale).exp())
        return x, -log_scale.sum(-1)
