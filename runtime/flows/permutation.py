"""A fixed permutation of the event's last axis (its log-determinant is 0): reversing the
order between coupling or autoregressive layers lets every coordinate be transformed
(Dinh et al. 2017, section 3.5; Papamakarios et al. 2017, section 3.1)."""
from __future__ import annotations

import torch

from gmc.runtime.flows.base import Transform


class Permutation(Transform):
    """y[..., i] = x[..., order[i]]; ``order`` defaults to the reversal."""

    def __init__(self, size: int, order=None):
        super().__init__(size)
        order = torch.arange(size - 1, -1, -1) if order is None else torch.as_tensor(order, dtype=torch.long)
        self.register_buffer("order", order, persistent=False)
        self.register_buffer("undo", torch.argsort(order), persistent=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x[..., self.order], x.new_zeros(x.shape[:-1])

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return y[..., self.undo], y.new_zeros(y.shape[:-1])
