"""HalfCauchy(scale): positive values, |C| for C ~ Cauchy(0, scale); reparameterized by the
inverse CDF, scale * tan(pi u / 2). The weakly informative prior on a scale parameter
(Gelman 2006), e.g. the between-group scale of the eight-schools model."""
from gmc.compiler.families.registry import Family, ParamSpec, register

HALF_CAUCHY = register(Family(
    name="HalfCauchy",
    support="positive",
    params=(ParamSpec("scale", "positive", 1.0),),
    choices=(frozenset({"scale"}),),
    reparameterized=True,
    reference="torch.distributions.HalfCauchy",
))
