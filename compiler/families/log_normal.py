"""LogNormal(loc, scale): positive values whose log is Normal(loc, scale); reparameterized as
exp(loc + scale * eps)."""
from gmc.compiler.families.registry import Family, ParamSpec, register

LOG_NORMAL = register(Family(
    name="LogNormal",
    support="positive",
    params=(ParamSpec("loc", "real", 0.0), ParamSpec("scale", "positive", 1.0)),
    choices=(frozenset({"loc", "scale"}),),
    reparameterized=True,
    reference="torch.distributions.LogNormal",
))
