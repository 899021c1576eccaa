"""Distribution families known to the checker, one module each, collected in ``FAMILIES``."""
from gmc.compiler.families import bernoulli, categorical, normal  # noqa: F401  (registration)
from gmc.compiler.families.registry import FAMILIES, Family, ParamSpec

__all__ = ["FAMILIES", "Family", "ParamSpec"]
