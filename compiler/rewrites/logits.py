"""Probabilities given through a squashing function become logits.

``Bernoulli(probs=sigmoid(h))`` is ``Bernoulli(logits=h)`` and ``Categorical(probs=softmax(h))``
is ``Categorical(logits=h)``: the logits forms never compute log(sigmoid(h)), which is -inf
in float64 once h < -745, nor 1 - sigmoid(h), which is 0 once h > 37. A built-in MLP's
``unit`` (``simplex``) output is sigmoid (softmax) of the net's last layer, so
``probs=dec(z)`` becomes ``logits=`` that pre-activation (``NetCall.pre_activation``).
"""
from __future__ import annotations

from dataclasses import replace

from gmc.compiler import ir
from gmc.compiler.rewrites.base import FactorRule

#: probs given as squash(h) may be written logits=h, for families whose logits are that h
_SQUASH = {"sigmoid": ("Bernoulli", "RelaxedBernoulli"), "softmax": ("Categorical", "RelaxedCategorical",
                                                                     "Multinomial")}


#: the squashing function a built-in MLP applies to an output of each support
_MLP_SQUASH = {"unit": "sigmoid", "simplex": "softmax"}


def _probs_to_logits(model: ir.Model, factor: ir.Factor) -> ir.Factor | None:
    if factor.is_product:
        return None
    logits = _logits_of(model, dict(factor.params).get("probs"), factor.family)
    if logits is None:
        return None
    new = tuple(("logits", logits) if name == "probs" else (name, value) for name, value in factor.params)
    return replace(factor, params=new)


def _logits_of(model: ir.Model, probs: ir.Expr | None, family: str) -> ir.Expr | None:
    """h when ``probs`` is squash(h) for the squashing function whose logits ``family`` takes."""
    if isinstance(probs, ir.Apply) and family in _SQUASH.get(probs.func, ()):
        return probs.args[0]
    if isinstance(probs, ir.NetCall) and not probs.pre_activation:
        net = model.nets[probs.net]
        squash = _MLP_SQUASH.get(net.output_type(probs.output).support)
        if net.hidden is not None and family in _SQUASH.get(squash, ()):
            return replace(probs, pre_activation=True)
    return None


PROBS_TO_LOGITS = FactorRule(
    "probs-to-logits", "probs = sigmoid(h) -> logits = h; probs = softmax(h) -> logits = h "
                       "(a built-in MLP's unit or simplex output is sigmoid or softmax of its last layer)",
    "logits parameterization (torch.distributions)", _probs_to_logits)
