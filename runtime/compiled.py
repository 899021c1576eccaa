"""Opt-in ``torch.compile`` of a generated model's loss methods, with an eager fallback.

``VAE(compile=True)`` (or ``gmc train --compile``) replaces each generated ``loss_<name>``
method of that instance by a wrapper that runs ``torch.compile(method)``. Compilation happens
lazily, on the first call for each input shape. If ``torch.compile`` is unavailable or fails
(no C++ compiler for the CPU backend, an unsupported Python, a graph break it cannot handle,
...), the wrapper warns once with :class:`CompileFallbackWarning` and runs the eager method
from then on; the loss values are the same either way, up to floating-point reassociation.
Generated code itself is unchanged: this lives entirely in the runtime.
"""
from __future__ import annotations

import warnings
from typing import Callable

import torch


class CompileFallbackWarning(RuntimeWarning):
    """torch.compile failed for a loss; the model runs it eagerly instead."""


class CompiledLoss:
    """Callable: the compiled ``eager`` method, or ``eager`` itself after a compile failure.

    Attributes: ``eager`` (the bound generated method), ``compiled`` (the torch.compile
    wrapper, or None once fallen back), ``name`` (the method name, for messages)."""

    def __init__(self, eager: Callable[..., torch.Tensor], name: str):
        self.eager, self.name = eager, name
        try:
            self.compiled = torch.compile(eager)
        except Exception as exc:  # torch.compile refuses up front (e.g. unsupported Python)
            self._fall_back(exc)

    def __call__(self, *args, **kwargs) -> torch.Tensor:
        if self.compiled is None:
            return self.eager(*args, **kwargs)
        try:
            return self.compiled(*args, **kwargs)
        except Exception as exc:
            # A genuine error in the model (bad input) raises again from the eager call below,
            # so falling back never hides it; it only costs the one warning.
            self._fall_back(exc)
            return self.eager(*args, **kwargs)

    def _fall_back(self, exc: BaseException) -> None:
        self.compiled = None
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        warnings.warn(f"torch.compile failed for {self.name} ({type(exc).__name__}: {reason[:300]}); "
                      "running it eagerly", CompileFallbackWarning, stacklevel=3)


def compile_losses(model: torch.nn.Module) -> None:
    """Install a :class:`CompiledLoss` over each loss method of a generated ``model`` (in place)."""
    for info in type(model).losses.values():
        # An instance attribute shadows the class's method, so forward() and loss() use it too.
        object.__setattr__(model, info.method, CompiledLoss(getattr(model, info.method), info.method))
