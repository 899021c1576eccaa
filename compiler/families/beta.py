"""Beta(concentration1, concentration0): values in (0, 1); implicitly reparameterized through a
Dirichlet draw (Figurnov et al. 2018)."""
from gmc.compiler.families.registry import Family, ParamSpec, register

BETA = register(Family(
    name="Beta",
    support="unit",
    params=(ParamSpec("concentration1", "positive"), ParamSpec("concentration0", "positive")),
    choices=(frozenset({"concentration1", "concentration0"}),),
    reparameterized=True,
    reference="torch.distributions.Beta",
))
