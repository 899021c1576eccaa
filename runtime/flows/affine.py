"""Learned parameters of an element-wise affine transform y = loc + exp(log_scale) x.

The transform itself is emitted inline by the compiler (its log-determinant, log_scale, is
derived by sympy like every element-wise one: ``gmc.compiler.transforms.elementwise``); this
module only holds loc and log_scale (each [D], starting at the identity)."""
from __future__ import annotations

import torch
from torch import nn


class AffineParameters(nn.Module):
    """loc and log_scale, each a [*event] parameter initialised to 0."""

    def __init__(self, shape):
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(tuple(shape)))
        self.log_scale = nn.Parameter(torch.zeros(tuple(shape)))
