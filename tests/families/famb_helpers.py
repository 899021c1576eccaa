"""Shared checks for the discrete, simplex and relaxed family tests (not a test module).

References are independent of gmc: torch.distributions, scipy and closed forms; Monte Carlo
comparisons use 5 standard errors (a false failure about once in 1.7 million per check).
"""
from __future__ import annotations

import math

import sympy as sp
import torch

from gmc import runtime as rt
from gmc.compiler.symbolic import FORMULAS, to_torch


def assert_close_64(got: torch.Tensor, expected: torch.Tensor, atol: float = 1e-9) -> None:
    assert got.dtype == torch.float64, got.dtype
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got, expected.to(got.dtype), rtol=1e-12, atol=atol)


def assert_mean_within_5_se(samples: torch.Tensor, expected, what: str = "mean") -> None:
    """Per-coordinate sample mean of ``samples`` [N, ...] against ``expected`` within 5 SE."""
    n = samples.shape[0]
    se = samples.std(0) / math.sqrt(n)
    expected = torch.as_tensor(expected, dtype=samples.dtype).expand_as(samples[0])
    error = (samples.mean(0) - expected).abs()
    assert (error <= 5 * se + 1e-12).all(), f"{what}: |error| {error} > 5 SE {5 * se}"


def assert_mean_and_variance(samples: torch.Tensor, mean, variance) -> None:
    """Sample mean and variance within 5 standard errors (the variance's SE is estimated from
    the squared deviations, whose mean it is)."""
    assert_mean_within_5_se(samples, mean, "mean")
    deviations = (samples - torch.as_tensor(mean, dtype=samples.dtype)) ** 2
    assert_mean_within_5_se(deviations, variance, "variance")


def moment(family: str, pattern: sp.Expr, params: dict, wilds: dict | None = None) -> torch.Tensor | None:
    """Evaluate the registered moment E[pattern] of ``family`` at tensor/float ``params``.

    The sympy value is printed by gmc's own printer and run, so this also tests printing."""
    entry = next(m for m in FORMULAS[family].moments if m.pattern == pattern)
    symbols = {k: sp.Symbol(k) if isinstance(v, torch.Tensor) else sp.Float(v) for k, v in params.items()}
    tensors = {k: v for k, v in params.items() if isinstance(v, torch.Tensor)}
    bound = {}
    for wild, v in (wilds or {}).items():  # a tensor binding becomes a symbol named after the wildcard
        if isinstance(v, torch.Tensor):
            tensors[f"wild_{wild.name}"] = v
            v = sp.Symbol(f"wild_{wild.name}")
        bound[wild] = v
    value = entry.value(symbols, bound)
    if value is None:
        return None
    code = to_torch(value)
    namespace = {"torch": torch, "math": math, "rt": rt}
    namespace.update(tensors)
    return eval(code, namespace)  # our own printed expression, over the tensors above
