"""RelaxedCategorical(temperature, probs | logits): the Concrete / Gumbel-softmax distribution.

Values lie on the simplex (``simplex[K]``); Jang, Gu & Poole 2017 and Maddison, Mnih & Teh
2017. Reparameterized through Gumbel noise; event rank 1."""
from gmc.compiler.families.registry import Family, ParamSpec, register

RELAXED_CATEGORICAL = register(Family(
    name="RelaxedCategorical",
    support="simplex",
    params=(ParamSpec("temperature", "positive", shared=True), ParamSpec("probs", "simplex"), ParamSpec("logits", "real")),
    choices=(frozenset({"temperature", "probs"}), frozenset({"temperature", "logits"})),
    reparameterized=True,
    reference="torch.distributions.RelaxedOneHotCategorical",
    event_rank=1,
))
