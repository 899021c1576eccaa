"""Sampling code per family, one module each, collected in ``SAMPLERS`` by family name."""
from gmc.compiler.codegen.samplers import bernoulli, normal  # noqa: F401  (registration)
from gmc.compiler.codegen.samplers import (  # noqa: F401  (registration)
    laplace, logistic, student_t, uniform, exponential, gamma, log_normal, weibull, beta, kumaraswamy,
    categorical, deterministic, dirichlet, multinomial, poisson, relaxed_bernoulli, relaxed_categorical,
)
from gmc.compiler.codegen.samplers import half_cauchy  # noqa: F401  (registration; issue 17)
from gmc.compiler.codegen.samplers.registry import SAMPLERS, noise, sampler

__all__ = ["SAMPLERS", "noise", "sampler"]
