"""Exponential(rate): positive values; reparameterized by the inverse CDF, -log(u) / rate."""
from gmc.compiler.families.registry import Family, ParamSpec, register

EXPONENTIAL = register(Family(
    name="Exponential",
    support="positive",
    params=(ParamSpec("rate", "positive", 1.0),),
    choices=(frozenset({"rate"}),),
    reparameterized=True,
    reference="torch.distributions.Exponential",
))
