"""Kumaraswamy(concentration1, concentration0): values in (0, 1); reparameterized by the
inverse CDF (1 - (1 - u)^(1/b))^(1/a) (Nalisnick & Smyth 2017)."""
from gmc.compiler.families.registry import Family, ParamSpec, register

KUMARASWAMY = register(Family(
    name="Kumaraswamy",
    support="unit",
    params=(ParamSpec("concentration1", "positive"), ParamSpec("concentration0", "positive")),
    choices=(frozenset({"concentration1", "concentration0"}),),
    reparameterized=True,
    reference="torch.distributions.Kumaraswamy",
))
