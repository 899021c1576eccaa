"""Distribution families known to the checker, one module each, collected in ``FAMILIES``."""
from gmc.compiler.families import bernoulli, normal  # noqa: F401  (registration)
from gmc.compiler.families import (  # noqa: F401  (registration)
    laplace, logistic, student_t, uniform, exponential, gamma, log_normal, weibull, beta, kumaraswamy,
    categorical, deterministic, dirichlet, multinomial, poisson, relaxed_bernoulli, relaxed_categorical,
)
from gmc.compiler.families import half_cauchy  # noqa: F401  (registration; issue 17)
from gmc.compiler.families.registry import FAMILIES, Family, ParamSpec

__all__ = ["FAMILIES", "Family", "ParamSpec"]
