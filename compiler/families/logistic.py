"""Logistic(loc, scale): real values; reparameterized as loc + scale * logit(u), u ~ U(0, 1).

torch.distributions has no Logistic; the parametrization is scipy.stats.logistic's."""
from gmc.compiler.families.registry import Family, ParamSpec, register

LOGISTIC = register(Family(
    name="Logistic",
    support="real",
    params=(ParamSpec("loc", "real", 0.0), ParamSpec("scale", "positive", 1.0)),
    choices=(frozenset({"loc", "scale"}),),
    reparameterized=True,
    reference="scipy.stats.logistic",
))
