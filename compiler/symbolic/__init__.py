"""Symbolic layer: log-densities, moments, and the entropies and KLs derived from them (sympy).

sympy is imported only here and by code generation, never by ``gmc check``.
"""
from gmc.compiler.symbolic import bernoulli, normal  # noqa: F401  (registration)
from gmc.compiler.symbolic import (  # noqa: F401  (registration)
    laplace, logistic, student_t, uniform, exponential, gamma, log_normal, weibull, beta, kumaraswamy,
    categorical, deterministic, dirichlet, multinomial, poisson, relaxed_bernoulli, relaxed_categorical,
)
from gmc.compiler.symbolic import half_cauchy  # noqa: F401  (registration; issue 17)
from gmc.compiler.symbolic.derive import (Derivation, cross_entropy, entropy, has_closed_entropy, has_closed_kl,
                                          kl)
from gmc.compiler.symbolic.code import log_density_code
from gmc.compiler.symbolic.printer import to_torch
from gmc.compiler.symbolic.registry import FORMULAS, log_density

__all__ = ["FORMULAS", "Derivation", "cross_entropy", "entropy", "has_closed_entropy", "has_closed_kl", "kl",
           "log_density", "log_density_code", "to_torch"]
