"""Categorical(probs | logits) over one-hot vectors: ``categorical[K]``, not reparameterizable.

Values are one-hot (torch.distributions.OneHotCategorical); the log-mass couples the last
event axis, so the family has event rank 1."""
from gmc.compiler.families.registry import Family, ParamSpec, register

CATEGORICAL = register(Family(
    name="Categorical",
    support="categorical",
    params=(ParamSpec("probs", "simplex"), ParamSpec("logits", "real")),
    choices=(frozenset({"probs"}), frozenset({"logits"})),
    reparameterized=False,
    reference="torch.distributions.OneHotCategorical",
    event_rank=1,
))
