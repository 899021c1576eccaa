"""Probabilities given through a squashing function become logits.

``Bernoulli(probs=sigmoid(h))`` is ``Bernoulli(logits=h)`` and ``Categorical(probs=softmax(h))``
is ``Categorical(logits=h)``: the logits forms never compute log(sigmoid(h)), which is -inf
in float64 once h < -745, nor 1 - sigmoid(h), which is 0 once h > 37.
"""
from __future__ import annotations

from dataclasses import replace

from gmc.compiler import ir
from gmc.compiler.rewrites.base import FactorRule

#: probs given as squash(h) may be written logits=h, for families whose logits are that h
_SQUASH = {"sigmoid": ("Bernoulli", "RelaxedBernoulli"), "softmax": ("Categorical", "RelaxedCategorical",
                                                                     "Multinomial")}


def _probs_to_logits(model: ir.Model, factor: ir.Factor) -> ir.Factor | None:
    if factor.is_product:
        return None
    params = dict(factor.params)
    probs = params.get("probs")
    if not (isinstance(probs, ir.Apply) and factor.family in _SQUASH.get(probs.func, ())):
        return None
    new = tuple(("logits", probs.args[0]) if name == "probs" else (name, value) for name, value in factor.params)
    return replace(factor, params=new)


PROBS_TO_LOGITS = FactorRule(
    "probs-to-logits", "probs = sigmoid(h) -> logits = h; probs = softmax(h) -> logits = h",
    "logits parameterization (torch.distributions)", _probs_to_logits)
