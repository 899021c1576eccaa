"""The simplification pass: rewrite rules applied in an explicit order, with a trace.

Order: first every factor rule (:data:`gmc.compiler.rewrites.FACTOR_RULES`) on every
distribution factor, then every expression rule (:data:`gmc.compiler.rewrites.EXPRESSION_RULES`)
at every node of every loss, outermost node first, each rule in list order. A rule's output
is rewritten again (its children included), so rules compose; every rule strictly shrinks
or eliminates the pattern it matches, so the pass terminates. ``simplify_with_trace``
also returns which rule fired where, for ``gmc explain``.
"""
from __future__ import annotations

from dataclasses import replace

from gmc.compiler import ir
from gmc.compiler.rewrites import EXPRESSION_RULES, FACTOR_RULES, Fired


def simplify(model: ir.Model) -> ir.Model:
    """A copy of ``model`` with every rewrite applied (see the module docstring)."""
    return simplify_with_trace(model)[0]


def simplify_with_trace(model: ir.Model) -> tuple[ir.Model, list[Fired]]:
    trace: list[Fired] = []
    factors = dict(model.factors)
    for sig, factor in model.factors.items():
        for rule in FACTOR_RULES:
            new = rule.apply(model, factors[sig])
            if new is not None:
                factors[sig] = new
                trace.append(Fired(rule.name, rule.identity, rule.reference, factor.span, sig))
    model = replace(model, factors=factors)
    losses = {}
    for name, loss in model.losses.items():
        losses[name] = replace(loss, expr=_rewrite(model, loss.expr, trace, f"loss {name}"))
    return replace(model, losses=losses), trace


def _rewrite(model: ir.Model, e: ir.Expr, trace: list[Fired], where: str) -> ir.Expr:
    for rule in EXPRESSION_RULES:
        new = rule.apply(model, e)
        if new is not None:
            trace.append(Fired(rule.name, rule.identity, rule.reference, e.span, where))
            return _rewrite(model, new, trace, where)
    if isinstance(e, (ir.NetCall, ir.Apply)):
        return replace(e, args=tuple(_rewrite(model, a, trace, where) for a in e.args))
    if isinstance(e, ir.BinOp):
        return replace(e, left=_rewrite(model, e.left, trace, where), right=_rewrite(model, e.right, trace, where))
    if isinstance(e, ir.Neg):
        return replace(e, operand=_rewrite(model, e.operand, trace, where))
    if isinstance(e, ir.Expect):
        return replace(e, body=_rewrite(model, e.body, trace, where))
    return e
