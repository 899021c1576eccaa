"""Poisson(rate): non-negative integer counts, not reparameterizable."""
from gmc.compiler.families.registry import Family, ParamSpec, register

POISSON = register(Family(
    name="Poisson",
    support="count",
    params=(ParamSpec("rate", "positive"),),
    choices=(frozenset({"rate"}),),
    reparameterized=False,
    reference="torch.distributions.Poisson",
))
