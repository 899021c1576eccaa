"""Products of Normal experts: ``q(z|x,w) propto p(z) q(z|x) q(z|w)``.

A product of Gaussian densities over the same variable is, up to normalization, Gaussian:
its precision is the sum of the experts' precisions and its mean the precision-weighted mean
of theirs, element-wise (Wu & Goodman 2018, "Multimodal Generative Models for Scalable
Weakly-Supervised Learning", section 3; Cao & Fleet 2014):

    1/s^2 = sum_i 1/s_i^2,        m = s^2 * sum_i m_i / s_i^2.

The product is therefore lowered to an ordinary Normal factor whose ``loc`` and ``scale``
are IR expressions of the experts' parameters, so sampling, log-densities (nats) and
closed-form KLs need nothing new. A prior factor (``p(z)``, no conditioning) is an expert
like any other. Every expert must be a Normal over the left-hand side's single variable,
conditioned on a subset of its conditioning set.
"""
from __future__ import annotations

import math

from functools import reduce

from gmc.compiler import diagnostics as diag
from gmc.compiler import ir
from gmc.dsl import ast


def product_of_normals(experts: list[ir.Factor], span: ast.Span) -> tuple[tuple[str, ir.Expr], ...]:
    """``(("loc", m), ("scale", s))`` of the product of the Normal ``experts``.

    Each expert's tensors broadcast to [batch, *event]; the result has the same shape.
    Every node built here carries ``span`` (the product's definition) for diagnostics.
    """
    def num(v: float) -> ir.Expr:
        return ir.Num(v, span=span)

    def op(o: str, a: ir.Expr, b: ir.Expr) -> ir.Expr:
        return ir.BinOp(o, a, b, span=span)

    precisions, weighted = [], []
    for f in experts:
        params = dict(f.params)
        m, sd = params["loc"], params["scale"]
        # Constant experts (a standard-Normal prior) fold here so the generated code stays
        # readable: precision 1/s^2 as one number, and no term for a zero mean.
        folded = _folded_precision(sd.value) if isinstance(sd, ir.Num) else None
        if folded is not None:
            precision = num(folded)
        else:  # also a constant scale <= 0 (the checks report it) or one whose 1/s^2 overflows
            precision = op("/", num(1.0), op("**", sd, num(2.0)))
        precisions.append(precision)
        if isinstance(m, ir.Num) and isinstance(precision, ir.Num):
            if m.value != 0:
                weighted.append(num(m.value * precision.value))
        else:
            weighted.append(op("*", m, precision))
    total = reduce(lambda a, b: op("+", a, b), precisions)
    loc = op("/", reduce(lambda a, b: op("+", a, b), weighted), total) if weighted else num(0.0)
    scale = ir.Apply("sqrt", (op("/", num(1.0), total),), span=span)
    return (("loc", loc), ("scale", scale))


def _folded_precision(scale: float) -> float | None:
    """1/scale^2 as a positive finite float, or None when scale <= 0 or it over- or underflows."""
    try:
        precision = 1.0 / scale ** 2
    except (OverflowError, ZeroDivisionError):
        return None
    return precision if scale > 0 and 0 < precision < math.inf else None


def lower_product_of_experts(lowering, s: ast.FactorDef, name: str, outputs: tuple[str, ...],
                             given: tuple[str, ...], text: str) -> ir.Factor | None:
    """The Normal factor of ``s`` (``sig propto e1 e2 ...``), or None after reporting errors
    through ``lowering.error``: an expert that is not a Normal distribution
    (``expert_not_normal``), one over another variable (``experts_over_different_variables``),
    one conditioned on a variable outside ``given`` (``out_of_scope``)."""
    if len(outputs) != 1:
        lowering.error(diag.distribution_defines_one_variable(s.span, text, "Normal"))
        return None
    experts, ok = [], True
    for call in s.terms:
        ref = lowering.factor_ref(call)
        expert = None if ref is None else lowering.lowered_factor(ref)
        if expert is None:
            ok = False
            continue
        if expert.is_product or expert.family != "Normal" or expert.flow:
            what = ("a product of factors" if expert.is_product else "a flow" if expert.flow
                    else f"a {expert.family} distribution")
            lowering.error(diag.expert_not_normal(call.span, ref, what))
            ok = False
        elif expert.outputs != outputs:
            lowering.error(diag.experts_over_different_variables(call.span, text, ref, ",".join(expert.outputs),
                                                                 outputs[0]))
            ok = False
        else:
            outside = [g for g in expert.given if g not in given]
            if outside:
                lowering.error(diag.out_of_scope(call.span, outside[0], text, given))
                ok = False
            experts.append(expert)
    if not ok:
        return None
    return ir.Factor(name, outputs, given, family="Normal", params=product_of_normals(experts, s.span),
                     span=s.span, experts=tuple(e.signature for e in experts))
