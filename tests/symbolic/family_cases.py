"""Random parameter sets per family and parameterization, with the torch.distributions twin.

One :class:`Case` per (family, parameter choice). ``draw(n, g)`` returns float64 tensors of
shape [n] (or [n, K] for vector families); ``torch_dist(params)`` builds the reference
distribution (None where torch lacks the family). Families added to gmc get a row here and
are then covered by test_derive.py's entropy and KL checks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.distributions as D

from gmc import runtime as rt
from gmc.compiler.symbolic.registry import FORMULAS

Params = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Case:
    family: str
    draw: Callable[[int, torch.Generator], Params]
    torch_dist: Callable[[Params], "D.Distribution | None"]

    @property
    def id(self) -> str:
        return f"{self.family}({','.join(sorted(self.draw(1, torch.Generator().manual_seed(0))))})"


def _uniform(n, g, low, high):
    return low + (high - low) * torch.rand(n, generator=g, dtype=torch.float64)


def _log_uniform(n, g, low, high):
    return torch.exp(_uniform(n, g, math.log(low), math.log(high)))


def _logistic(p):
    # X = loc + scale * logit(U): the logistic distribution (torch has no class of its own)
    return D.TransformedDistribution(D.Uniform(torch.zeros_like(p["loc"]), torch.ones_like(p["loc"])),
                                     [D.transforms.SigmoidTransform().inv,
                                      D.transforms.AffineTransform(p["loc"], p["scale"])])


def _positive(n, g):
    return _log_uniform(n, g, 0.3, 8)


CASES = [
    Case("Normal", lambda n, g: {"loc": _uniform(n, g, -5, 5), "scale": _log_uniform(n, g, 0.05, 20)},
         lambda p: D.Normal(p["loc"], p["scale"])),
    Case("Bernoulli", lambda n, g: {"probs": _uniform(n, g, 0.001, 0.999)}, lambda p: D.Bernoulli(probs=p["probs"])),
    Case("Bernoulli", lambda n, g: {"logits": _uniform(n, g, -30, 30)}, lambda p: D.Bernoulli(logits=p["logits"])),
    Case("Categorical", lambda n, g: {"probs": torch.softmax(torch.randn(n, 5, generator=g, dtype=torch.float64) * 2,
                                                             -1)}, lambda p: D.OneHotCategorical(probs=p["probs"])),
    Case("Categorical", lambda n, g: {"logits": torch.randn(n, 5, generator=g, dtype=torch.float64) * 5},
         lambda p: D.OneHotCategorical(logits=p["logits"])),
    Case("Dirichlet", lambda n, g: {"concentration": _log_uniform(n * 4, g, 0.3, 8).reshape(n, 4)},
         lambda p: D.Dirichlet(p["concentration"])),
    Case("Poisson", lambda n, g: {"rate": _log_uniform(n, g, 0.05, 30)}, lambda p: D.Poisson(p["rate"])),
    Case("Laplace", lambda n, g: {"loc": _uniform(n, g, -5, 5), "scale": _log_uniform(n, g, 0.05, 20)},
         lambda p: D.Laplace(p["loc"], p["scale"])),
    Case("Logistic", lambda n, g: {"loc": _uniform(n, g, -5, 5), "scale": _log_uniform(n, g, 0.05, 20)}, _logistic),
    Case("StudentT", lambda n, g: {"df": _log_uniform(n, g, 0.5, 30), "loc": _uniform(n, g, -5, 5),
                                   "scale": _log_uniform(n, g, 0.05, 20)},
         lambda p: D.StudentT(p["df"], p["loc"], p["scale"])),
    Case("Uniform", lambda n, g: {"low": _uniform(n, g, -3, 0.5), "high": _uniform(n, g, 0.6, 4)},
         lambda p: D.Uniform(p["low"], p["high"])),
    Case("Exponential", lambda n, g: {"rate": _log_uniform(n, g, 0.05, 20)}, lambda p: D.Exponential(p["rate"])),
    Case("Gamma", lambda n, g: {"concentration": _positive(n, g), "rate": _log_uniform(n, g, 0.05, 20)},
         lambda p: D.Gamma(p["concentration"], p["rate"])),
    Case("LogNormal", lambda n, g: {"loc": _uniform(n, g, -2, 2), "scale": _log_uniform(n, g, 0.1, 2)},
         lambda p: D.LogNormal(p["loc"], p["scale"])),
    Case("Weibull", lambda n, g: {"scale": _log_uniform(n, g, 0.2, 5), "concentration": _positive(n, g)},
         lambda p: D.Weibull(p["scale"], p["concentration"])),
    Case("Beta", lambda n, g: {"concentration1": _positive(n, g), "concentration0": _positive(n, g)},
         lambda p: D.Beta(p["concentration1"], p["concentration0"])),
    Case("Kumaraswamy", lambda n, g: {"concentration1": _positive(n, g), "concentration0": _positive(n, g)},
         lambda p: D.Kumaraswamy(p["concentration1"], p["concentration0"])),
]


def evaluate(expr, prefix_params: dict[str, Params]) -> torch.Tensor:
    """Run the torch code of a derived sympy expression on named float64 tensors."""
    from gmc.compiler.symbolic import to_torch

    scope = {f"{prefix}_{name}": value for prefix, params in prefix_params.items() for name, value in params.items()}
    value = eval(to_torch(expr), {"torch": torch, "math": math, "rt": rt}, scope)  # noqa: S307 (our own codegen)
    return torch.as_tensor(value, dtype=torch.float64)


def registered(case: Case) -> bool:
    return case.family in FORMULAS
