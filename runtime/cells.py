"""Built-in recurrent cells: the next state of a recurrence ``h[t] = cell(h[t-1], x[t], ...)``.

A cell takes the previous state (a tensor [*batch, S]) and its inputs ([*batch, *event]
each, flattened and concatenated like :class:`gmc.runtime.nets.MLP`'s), and returns the next
state [*batch, S]. ``*batch`` may have any number of axes (importance-sampling particles
included): they are flattened around the torch cell, which takes one batch axis.
"""
from __future__ import annotations

import math

import torch
from torch import nn


def _inputs(inputs, ranks, batch) -> torch.Tensor:
    flat = [x.reshape(*x.shape[:x.dim() - r], -1) for x, r in zip(inputs, ranks)]
    return torch.cat([x.expand(*batch, x.shape[-1]) for x in flat], dim=-1).reshape(-1, sum(x.shape[-1] for x in flat))


class GRUCell(nn.Module):
    """A gated recurrent unit (Cho et al. 2014, eqs. 5-8; ``torch.nn.GRUCell``).

    ``input_shapes``: the event shape of the state (S,) first, then of each input."""

    def __init__(self, input_shapes):
        super().__init__()
        (size,), *rest = input_shapes
        self.ranks = tuple(len(s) for s in rest)
        self.cell = nn.GRUCell(sum(math.prod(s) for s in rest), size)

    def forward(self, state: torch.Tensor, *inputs: torch.Tensor) -> torch.Tensor:
        batch = torch.broadcast_shapes(state.shape[:-1], *(x.shape[:x.dim() - r] for x, r in zip(inputs, self.ranks)))
        h = state.expand(*batch, state.shape[-1]).reshape(-1, state.shape[-1])
        return self.cell(_inputs(inputs, self.ranks, batch), h).reshape(*batch, -1)


class LSTMCell(nn.Module):
    """A long short-term memory cell (Hochreiter & Schmidhuber 1997; with forget gate, Gers
    et al. 2000; ``torch.nn.LSTMCell``). Its state is the pair (h, c), held as one tensor
    [*batch, 2 S]: h its first S entries, c the rest, so a net reading the state sees both.

    ``input_shapes``: the event shape of the state (2 S,) first, then of each input."""

    def __init__(self, input_shapes):
        super().__init__()
        (size,), *rest = input_shapes
        self.ranks = tuple(len(s) for s in rest)
        self.cell = nn.LSTMCell(sum(math.prod(s) for s in rest), size // 2)

    def forward(self, state: torch.Tensor, *inputs: torch.Tensor) -> torch.Tensor:
        batch = torch.broadcast_shapes(state.shape[:-1], *(x.shape[:x.dim() - r] for x, r in zip(inputs, self.ranks)))
        h, c = state.expand(*batch, state.shape[-1]).reshape(-1, state.shape[-1]).chunk(2, dim=-1)
        h, c = self.cell(_inputs(inputs, self.ranks, batch), (h, c))
        return torch.cat([h, c], dim=-1).reshape(*batch, -1)
