"""Deterministic(value): a point mass at ``value`` on real variables.

Sampling returns ``value`` (so gradients flow through it); the log-density is 0, which is
only meaningful at the point itself (the density is not defined anywhere else)."""
from gmc.compiler.families.registry import Family, ParamSpec, register

DETERMINISTIC = register(Family(
    name="Deterministic",
    support="real",
    params=(ParamSpec("value", "real"),),
    choices=(frozenset({"value"}),),
    reparameterized=True,
    reference="pyro.distributions.Delta (log-density 0 at the point)",
))
