"""Data-parallel training with ``torch.nn.parallel.DistributedDataParallel`` (DDP).

DDP averages gradients across processes only for what runs inside its ``forward``: a
generated model's ``forward`` is its first loss, so ``ddp.module.loss("iw", x=x)`` would
skip the all-reduce and let the ranks drift apart. :func:`loss` (and :func:`fit
<gmc.runtime.train.fit>` given a DDP model) runs any loss as the wrapped module's forward
for that one call, so DDP's hooks see it and every gradient is synchronized.

Under DDP, :func:`fit <gmc.runtime.train.fit>` also gives each rank its own share of every
epoch's shuffled examples (the same permutation on every rank, padded to a multiple of the
world size so all ranks take the same number of steps, as ``DistributedSampler`` does),
seeds each rank's Monte Carlo draws with ``seed + rank``, averages the per-epoch train and
held-out losses over the ranks, and shows progress and log lines on rank 0 only.

A loss that leaves some parameters without a gradient (M2's labeled loss never calls one of
the nets of another, a GAN's generator loss leaves the discriminator alone) needs
``DDP(model, find_unused_parameters=True)``, as with any PyTorch module.
"""
from __future__ import annotations

import contextlib
from typing import Callable

import torch

__all__ = ["loss", "routed", "unwrap", "Context"]


def _ddp_type():
    return torch.nn.parallel.DistributedDataParallel


def unwrap(model: torch.nn.Module) -> tuple[torch.nn.Module, torch.nn.Module | None]:
    """``(inner model, DDP wrapper or None)``."""
    if isinstance(model, _ddp_type()):
        return model.module, model
    return model, None


@contextlib.contextmanager
def _forward_as(module: torch.nn.Module, function: Callable):
    """Make ``function`` the ``forward`` of ``module`` (an instance attribute, which
    ``nn.Module.__call__`` finds before the class's method) until the block ends."""
    had = "forward" in module.__dict__
    previous = module.__dict__.get("forward")
    object.__setattr__(module, "forward", function)
    try:
        yield
    finally:
        if had:
            object.__setattr__(module, "forward", previous)
        else:
            del module.__dict__["forward"]


def routed(ddp: torch.nn.Module, compute: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    """``compute`` (called with keyword tensors) run through ``ddp``'s forward, so that the
    gradients of what it computes are averaged across ranks on ``backward()``."""
    def call(**inputs):
        with _forward_as(ddp.module, compute):
            return ddp(**inputs)
    return call


def loss(ddp: torch.nn.Module, name: str | None = None, /, **inputs) -> torch.Tensor:
    """``ddp.module.loss(name, **inputs)`` with its gradients synchronized across ranks
    (a scalar, nats per example; errors as :meth:`GeneratedModel.loss`)."""
    inner = ddp.module
    return routed(ddp, lambda **kw: type(inner).loss(inner, name, **kw))(**inputs)


class Context:
    """The rank and world size of a DDP run (rank 0 of 1 outside one)."""

    def __init__(self, ddp: torch.nn.Module | None):
        import torch.distributed as dist

        self.active = ddp is not None and dist.is_available() and dist.is_initialized()
        self.rank = dist.get_rank() if self.active else 0
        self.world = dist.get_world_size() if self.active else 1
        # nccl reduces CUDA tensors only; gloo takes CPU ones
        self.device = next(ddp.parameters()).device if self.active else torch.device("cpu")

    def shard(self, perm: torch.Tensor) -> torch.Tensor:
        """This rank's share of ``perm``: padded (with its first entries) to a multiple of the
        world size, then every ``world``-th entry from ``rank``."""
        if not self.active:
            return perm
        pad = (-len(perm)) % self.world
        if pad:
            perm = torch.cat([perm, perm[:pad]])
        return perm[self.rank::self.world]

    def mean(self, total: float, count: float) -> float:
        """``sum(total) / sum(count)`` over the ranks (an example-weighted mean)."""
        if not self.active:
            return total / count
        import torch.distributed as dist

        both = torch.tensor([total, count], dtype=torch.float64, device=self.device)
        dist.all_reduce(both)
        return float(both[0] / both[1])
