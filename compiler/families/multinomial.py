"""Multinomial(total_count, probs | logits): counts of ``total_count`` categorical draws, ``count[K]``.

``total_count`` defaults to 1 as in torch and must be a compile-time constant (sampling draws
that many categories per example). Not reparameterizable."""
from gmc.compiler.families.registry import Family, ParamSpec, register

MULTINOMIAL = register(Family(
    name="Multinomial",
    support="count",
    params=(ParamSpec("total_count", "count", 1, shared=True, constant=True), ParamSpec("probs", "simplex"), ParamSpec("logits", "real")),
    choices=(frozenset({"total_count", "probs"}), frozenset({"total_count", "logits"})),
    reparameterized=False,
    reference="torch.distributions.Multinomial",
    event_rank=1,
))
