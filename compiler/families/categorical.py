"""Categorical(probs | logits) over one-hot vectors ``categorical[K]`` (event rank 1).

Minimal version from the models branch (M2, GMM, CVAE examples); the families branch's
fuller Categorical supersedes it on merge.
"""
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
