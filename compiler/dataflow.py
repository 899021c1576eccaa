"""Which variables an expression reads from data, after expectations bind their samples.

``E_{q(z|x)}[log p(x|z)]`` reads ``x`` (q's input and p's observation) and samples ``z``;
``KL[q || p]``, ``H``, ``CE``, ``elbo``, ``iwae`` and ``renyi`` read what sampling from their first
(posterior) argument needs plus what the other density needs beyond the sampled variables.
"""
from __future__ import annotations

from gmc.compiler import ir


def data_inputs(model: ir.Model, expr: ir.Expr) -> tuple[str, ...]:
    """The variables ``expr`` needs as inputs, in declaration order."""
    needed = _free(model, expr, frozenset())
    return tuple(v for v in model.vars if v in needed)


def draws_own_batch(model: ir.Model, expr: ir.Expr) -> bool:
    """True when a loss reads no data yet draws per-example (non-global) variables, as a GAN
    generator's ``-mean(E_{p(xg,z)}[log(sigmoid(disc(xg)))])``: its batch size is not set by
    any input, so the caller gives it (``m.loss("g", n=128)``, ``gmc train`` its batch size)."""
    if data_inputs(model, expr):
        return False
    return any(not model.vars[v].is_global for sig in ir.factor_refs(expr) for v in model.factors[sig].variables)


def _sampled(model: ir.Model, sig: str, bound: frozenset[str]) -> tuple[set[str], frozenset[str]]:
    """(inputs that sampling ``sig`` needs, bound variables afterwards)."""
    f = model.factors[sig]
    parts = ir.leaves(model, sig)
    # A marginal's summed-out variables are drawn too, so they are not inputs.
    needs = {g for leaf in parts for g in leaf.given} - {o for leaf in parts for o in leaf.outputs}
    return needs - bound, bound | set(f.outputs)


def _free(model: ir.Model, e: ir.Expr, bound: frozenset[str]) -> set[str]:
    if isinstance(e, ir.VarRef):
        return set() if e.name in bound else {e.name}
    if isinstance(e, ir.LogProb):
        return set(model.factors[e.factor].variables) - bound
    if isinstance(e, ir.Expect):
        needs, inner = _sampled(model, e.factor, bound)
        return needs | _free(model, e.body, inner)
    if isinstance(e, ir.Entropy):
        needs, inner = _sampled(model, e.factor, bound)
        return needs
    if isinstance(e, ir.FlowResidual):  # at the flow's draw, bound by the enclosing expectation
        return (set(model.factors[e.first].variables) | set(model.factors[e.second].variables)) - bound
    if isinstance(e, (ir.KL, ir.CrossEntropy, ir.FlowBaseKL)):
        needs, inner = _sampled(model, e.first, bound)
        return needs | (set(model.factors[e.second].variables) - inner)
    if isinstance(e, ir.Mmd):
        needs, _ = _sampled(model, e.first, bound)
        return needs | _sampled(model, e.second, bound)[0]
    if isinstance(e, (ir.Elbo, ir.Iwae, ir.Renyi)):
        needs, inner = _sampled(model, e.posterior, bound)
        return needs | (set(model.factors[e.joint].variables) - inner)
    out: set[str] = set()
    for child in ir.children(e):
        out |= _free(model, child, bound)
    return out
