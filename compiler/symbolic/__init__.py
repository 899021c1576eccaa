"""Symbolic layer: closed-form densities, entropies and KLs as sympy expressions.

sympy is imported only here and by code generation, never by ``gmc check``.
"""
from gmc.compiler.symbolic import bernoulli, categorical, normal  # noqa: F401  (registration)
from gmc.compiler.symbolic.printer import to_torch
from gmc.compiler.symbolic.registry import FORMULAS, entropy, has_closed_kl, kl, log_density

__all__ = ["FORMULAS", "entropy", "has_closed_kl", "kl", "log_density", "to_torch"]
