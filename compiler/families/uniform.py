"""Uniform(low, high): values in [low, high); reparameterized as low + (high - low) * u.

Its support depends on the parameters, so it is declared ``real``: that a value lies in
[low, high) is the user's responsibility (the symbolic entry exposes the bounds)."""
from gmc.compiler.families.registry import Family, ParamSpec, register

UNIFORM = register(Family(
    name="Uniform",
    support="real",
    params=(ParamSpec("low", "real", 0.0), ParamSpec("high", "real", 1.0)),
    choices=(frozenset({"low", "high"}),),
    reparameterized=True,
    reference="torch.distributions.Uniform",
))
