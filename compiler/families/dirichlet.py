"""Dirichlet(concentration) over the probability simplex: ``simplex[K]``.

Reparameterized by implicit differentiation of the Gamma sampler (Figurnov et al. 2018)."""
from gmc.compiler.families.registry import Family, ParamSpec, register

DIRICHLET = register(Family(
    name="Dirichlet",
    support="simplex",
    params=(ParamSpec("concentration", "positive"),),
    choices=(frozenset({"concentration"}),),
    reparameterized=True,
    reference="torch.distributions.Dirichlet",
    event_rank=1,
))
