"""StudentT(df, loc, scale): real values; reparameterized as a normal over the root of a
(implicitly reparameterized) gamma draw."""
from gmc.compiler.families.registry import Family, ParamSpec, register

STUDENT_T = register(Family(
    name="StudentT",
    support="real",
    params=(ParamSpec("df", "positive"), ParamSpec("loc", "real", 0.0), ParamSpec("scale", "positive", 1.0)),
    choices=(frozenset({"df", "loc", "scale"}),),
    reparameterized=True,
    reference="torch.distributions.StudentT",
))
