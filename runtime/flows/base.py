"""The interface every structured transform of a flow implements, and shared helpers.

A transform maps a tensor ``x`` of shape ``[*batch, D]`` (any number of leading axes: batch,
particles) to ``y`` of the same shape and returns ``(y, log_det)``, where ``log_det`` has
shape ``[*batch]`` and is log |det dy/dx| in nats, summed over the event. ``inverse`` maps
back and returns log |det dx/dy| (the negative of the forward log-determinant at x).

``cheap_inverse`` says whether ``inverse`` costs about one forward pass: flows that score
given data (``log p(x)`` of a flow prior, MAF density estimation) need it; planar, radial and
IAF layers have only an iterative or sequential inverse, which exists for tests but is never
generated (the checker reports a located error instead, docs/language.md "Flows").
"""
from __future__ import annotations

import math

import torch
from torch import nn

#: The bound on a conditioner's log-scale: log(1/1e-3), so every coupling or autoregressive
#: layer's slope lies in [1e-3, 1e3] (the soft clamp of zuko's MonotonicAffineTransform,
#: a / (1 + |a| / B); Rozet et al., zuko 1.x).
LOG_SCALE_BOUND = math.log(1e3)


def soft_clamp(raw: torch.Tensor, bound: float = LOG_SCALE_BOUND) -> torch.Tensor:
    """raw / (1 + |raw| / bound): smooth, odd, increasing, within (-bound, bound); the
    identity near 0, so a layer initialised with zero outputs starts as the identity."""
    return raw / (1 + raw.abs() / bound)


class Transform(nn.Module):
    """A bijection on ``[*batch, D]`` tensors with its log-determinant (see the module docstring)."""

    cheap_inverse: bool = True

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError


def hidden_layers(sizes) -> list[nn.Module]:
    """Linear + ReLU pairs between consecutive ``sizes``."""
    out: list[nn.Module] = []
    for a, b in zip(sizes, sizes[1:]):
        out += [nn.Linear(a, b), nn.ReLU()]
    return out


def zero_last(layer: nn.Linear) -> nn.Linear:
    """``layer`` with zero weight and bias, so a conditioner starts at shift 0, log-scale 0."""
    nn.init.zeros_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer
