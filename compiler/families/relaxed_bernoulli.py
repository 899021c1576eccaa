"""RelaxedBernoulli(temperature, probs | logits): the binary Concrete distribution on (0, 1).

Maddison, Mnih & Teh 2017 (section 3.3); reparameterized through logistic noise."""
from gmc.compiler.families.registry import Family, ParamSpec, register

RELAXED_BERNOULLI = register(Family(
    name="RelaxedBernoulli",
    support="unit",
    params=(ParamSpec("temperature", "positive", shared=True), ParamSpec("probs", "unit"), ParamSpec("logits", "real")),
    choices=(frozenset({"temperature", "probs"}), frozenset({"temperature", "logits"})),
    reparameterized=True,
    reference="torch.distributions.RelaxedBernoulli",
))
