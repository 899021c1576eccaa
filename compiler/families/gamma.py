"""Gamma(concentration, rate): positive values; implicitly reparameterized (Figurnov et al. 2018)."""
from gmc.compiler.families.registry import Family, ParamSpec, register

GAMMA = register(Family(
    name="Gamma",
    support="positive",
    params=(ParamSpec("concentration", "positive"), ParamSpec("rate", "positive", 1.0)),
    choices=(frozenset({"concentration", "rate"}),),
    reparameterized=True,
    reference="torch.distributions.Gamma",
))
