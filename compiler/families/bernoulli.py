"""Bernoulli(probs | logits): binary values, not reparameterizable."""
from gmc.compiler.families.registry import Family, ParamSpec, register

BERNOULLI = register(Family(
    name="Bernoulli",
    support="binary",
    params=(ParamSpec("probs", "unit"), ParamSpec("logits", "real")),
    choices=(frozenset({"probs"}), frozenset({"logits"})),
    reparameterized=False,
    reference="torch.distributions.Bernoulli",
))
