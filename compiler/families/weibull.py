"""Weibull(scale, concentration): positive values; reparameterized by the inverse CDF,
scale * (-log u)^(1 / concentration)."""
from gmc.compiler.families.registry import Family, ParamSpec, register

WEIBULL = register(Family(
    name="Weibull",
    support="positive",
    params=(ParamSpec("scale", "positive", 1.0), ParamSpec("concentration", "positive")),
    choices=(frozenset({"scale", "concentration"}),),
    reparameterized=True,
    reference="torch.distributions.Weibull",
))
