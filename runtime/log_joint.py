"""The log-joint of a generated model over its global latents, in unconstrained coordinates.

MCMC (:mod:`gmc.runtime.mcmc`) needs a potential energy U(u) = -log p(f(u), D) - log|det df/du|
over unconstrained reals u. This module assembles it from the generated per-factor methods
(``log_p_w``, ``log_p_y_given_x_w``: straight-line torch, no distribution objects), the plan of
:mod:`gmc.compiler.mcmc_plan` (which leaves, which are per-example) and the support bijections
of :mod:`gmc.compiler.symbolic.bijections` (printed torch code, compiled once here).
Gradients come from autograd through the generated code.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch.distributions.transforms import StickBreakingTransform

from gmc import runtime as rt


@dataclass(frozen=True)
class Transform:
    """An unconstrained-to-support map for one latent.

    ``constrain(u) -> x``, ``unconstrain(x) -> u`` and ``log_det(u)``, the log-Jacobian
    ``log |det dx/du|`` summed over the event (a 0-d tensor, nats; None for the identity, whose
    log-Jacobian is 0). ``unconstrained_shape`` is
    the shape of ``u`` (a simplex over K values has K - 1 free coordinates)."""

    constrain: Callable[[torch.Tensor], torch.Tensor]
    unconstrain: Callable[[torch.Tensor], torch.Tensor]
    log_det: Callable[[torch.Tensor], torch.Tensor]
    unconstrained_shape: tuple[int, ...]


def element_wise(constrain: str, unconstrain: str, log_det: str, shape: tuple[int, ...]) -> Transform:
    """A :class:`Transform` from printed torch code over ``u`` (constrain, log_det) and ``x``."""
    namespace = {"torch": torch, "math": math, "rt": rt}
    forward = eval(f"lambda u: {constrain}", namespace)  # noqa: S307 (gmc's own printer's output)
    inverse = eval(f"lambda x: {unconstrain}", namespace)  # noqa: S307
    if log_det == "0":  # the identity: nothing to add (and nothing for autograd to do)
        return Transform(forward, inverse, None, tuple(shape))
    log_det_element = eval(f"lambda u: {log_det}", namespace)  # noqa: S307

    def total_log_det(u):
        return log_det_element(u).sum()
    return Transform(forward, inverse, total_log_det, tuple(shape))


def stick_breaking(shape: tuple[int, ...]) -> Transform:
    """The simplex over the last axis of ``shape`` via torch's StickBreakingTransform."""
    t = StickBreakingTransform()
    free = (*shape[:-1], shape[-1] - 1)
    return Transform(t, t.inv, lambda u: t.log_abs_det_jacobian(u, t(u)).sum(), free)


class LogJoint:
    """log p(latents, data) of one model at fixed data, as a potential for HMC.

    ``model``: a generated model instance (its weights and params are held fixed);
    ``terms``: (method name, per_example) for each leaf factor, the method taking the
    variables named in ``arguments[method]``; ``data``: tensors [N, *event] for per-example
    variables; ``transforms``: latent name -> :class:`Transform`. All in ``dtype``."""

    def __init__(self, model, terms, arguments, data: dict[str, torch.Tensor],
                 transforms: dict[str, Transform], params: dict | None = None):
        self.model = model
        self.terms = tuple(terms)
        self.arguments = arguments
        self.data = data
        self.transforms = transforms
        self.params = dict(params or {})

    def log_joint(self, values: dict[str, torch.Tensor]) -> torch.Tensor:
        """log p(values, data) in nats (0-d): global leaves once, per-example leaves summed."""
        scope = {**self.data, **values}
        total = 0.0
        for method, per_example in self.terms:
            value = getattr(self.model, method)(**{a: scope[a] for a in self.arguments[method]}, **self.params)
            total = total + value.sum()
        return total

    def constrain(self, unconstrained: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {name: t.constrain(unconstrained[name]) for name, t in self.transforms.items()}

    def potential(self, unconstrained: dict[str, torch.Tensor]) -> torch.Tensor:
        """U(u) = -log p(f(u), data) - sum log|det df/du| (nats, 0-d): HMC's potential energy.
        A point where the density is NaN (outside a family's support) is +inf, rejected."""
        log_joint = self.log_joint(self.constrain(unconstrained))
        for name, t in self.transforms.items():
            if t.log_det is not None:
                log_joint = log_joint + t.log_det(unconstrained[name])
        energy = -log_joint
        return energy if not bool(torch.isnan(energy)) else torch.full_like(energy, math.inf)


__all__ = ["LogJoint", "Transform", "element_wise", "stick_breaking"]
