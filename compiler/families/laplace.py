"""Laplace(loc, scale): real values; reparameterized by the inverse CDF of uniform noise."""
from gmc.compiler.families.registry import Family, ParamSpec, register

LAPLACE = register(Family(
    name="Laplace",
    support="real",
    params=(ParamSpec("loc", "real", 0.0), ParamSpec("scale", "positive", 1.0)),
    choices=(frozenset({"loc", "scale"}),),
    reparameterized=True,
    reference="torch.distributions.Laplace",
))
