"""Normal(loc, scale): real values; reparameterized as loc + scale * eps, eps ~ N(0, 1)."""
from gmc.compiler.families.registry import Family, ParamSpec, register

NORMAL = register(Family(
    name="Normal",
    support="real",
    params=(ParamSpec("loc", "real", 0.0), ParamSpec("scale", "positive", 1.0)),
    choices=(frozenset({"loc", "scale"}),),
    reparameterized=True,
    reference="torch.distributions.Normal",
))
