"""Data-flow checks on losses: every variable a term reads is either data or drawn in scope.

A loss's *latent* variables are those some sampler in it draws: the first argument of
``E_{q}[...]``, ``KL[q || p]``, ``CE[q || p]``, ``H[q]`` and the posterior of ``elbo`` and
``iwae``. Data supplies the others (:func:`gmc.compiler.dataflow.data_inputs`). Two mistakes
follow, both errors:

- a term reads a latent variable outside the sampler that draws it
  (``KL[q(z|x) || p(z)] - log p(x|z)``: the expectation around ``log p(x|z)`` is missing),
  so neither data nor a sampler supplies it (:func:`diag.unsupplied_variable`);
- a sampler is conditioned on a latent variable that is not drawn yet at that point
  (``E_{q(z|x,w)}[E_{q(w|x)}[...]]``): its input is neither data nor in scope
  (:func:`diag.sampler_needs_unavailable`).

A variable drawn in one loss may still be data in another (a semi-supervised model observes
``y`` in one loss and infers it in another), so each loss is checked on its own.
"""
from __future__ import annotations

from gmc.compiler import diagnostics as diag
from gmc.compiler import ir


def check_loss_flow(model: ir.Model, loss: ir.Loss) -> list[diag.Diagnostic]:
    """The data-flow errors of one loss, in the order the terms appear."""
    drawn: dict[str, str] = {}
    for node in ir.walk(loss.expr):
        sig = _sampler(node)
        if sig is not None:
            for v in model.factors[sig].outputs:
                drawn.setdefault(v, sig)
    if not drawn:
        return []
    errors: list[diag.Diagnostic] = []
    _visit(model, loss, loss.expr, frozenset(), drawn, errors)
    return errors


def _sampler(e: ir.Expr) -> str | None:
    if isinstance(e, (ir.Expect, ir.Entropy)):
        return e.factor
    if isinstance(e, (ir.KL, ir.CrossEntropy)):
        return e.first
    if isinstance(e, (ir.Elbo, ir.Iwae)):
        return e.posterior
    return None


def _visit(model, loss, e, bound, drawn, errors) -> None:
    sig = _sampler(e)
    if sig is not None:
        f = model.factors[sig]
        needs = {g for leaf in ir.leaves(model, sig) for g in leaf.given} - set(f.outputs)
        for v in _ordered(model, needs - bound):
            if v in drawn:
                errors.append(diag.sampler_needs_unavailable(e.span, sig, v, drawn[v]))
        inner = bound | set(f.outputs)
        other = getattr(e, "second", None) or getattr(e, "joint", None)
        if other is not None:
            _reads(model, loss, e, set(model.factors[other].variables) - inner, drawn, errors)
        if isinstance(e, ir.Expect):
            _visit(model, loss, e.body, inner, drawn, errors)
        return
    if isinstance(e, ir.VarRef):
        _reads(model, loss, e, {e.name} - bound, drawn, errors)
    elif isinstance(e, ir.LogProb):
        _reads(model, loss, e, set(model.factors[e.factor].variables) - bound, drawn, errors)
    for child in ir.children(e):
        _visit(model, loss, child, bound, drawn, errors)


def _reads(model, loss, node, free, drawn, errors) -> None:
    for v in _ordered(model, free):
        if v in drawn:
            errors.append(diag.unsupplied_variable(node.span, loss.name, v, drawn[v]))


def _ordered(model: ir.Model, names) -> list[str]:
    return [v for v in model.vars if v in names]
