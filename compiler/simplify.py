"""Objective rewrites on the IR, applied in the order listed in ``REWRITES``.

``decompose_elbo``: elbo(p(x,z), q(z|x)) = E_q[log p(x|z)] - KL[q(z|x) || p(z)] when q is a
single distribution over z, the factor of p that defines z has a closed-form KL with q, and
that factor's parameters do not depend on a variable q samples (Kingma & Welling 2014,
eq. 7). The KL is then exact and the Monte-Carlo estimate has lower variance; otherwise
the ELBO stays a one-sample estimate of E_q[log p - log q].
"""
from __future__ import annotations

from dataclasses import replace

from gmc.compiler import ir
from gmc.compiler.symbolic import has_closed_kl


def decompose_elbo(model: ir.Model, e: ir.Expr) -> ir.Expr:
    if not isinstance(e, ir.Elbo):
        return e
    q = model.factors[e.posterior]
    if q.is_product:
        return e
    latent = q.outputs[0]
    parts = ir.leaves(model, e.joint)
    prior = next((leaf for leaf in parts if latent in leaf.outputs), None)
    if prior is None or not has_closed_kl(q.family, prior.family) or set(prior.given) & set(q.outputs):
        return e
    rest = [leaf for leaf in parts if leaf is not prior]
    if not rest:
        return ir.Neg(ir.KL(q.signature, prior.signature, span=e.span), span=e.span)
    body: ir.Expr = ir.LogProb(rest[0].signature, span=e.span)
    for leaf in rest[1:]:
        body = ir.BinOp("+", body, ir.LogProb(leaf.signature, span=e.span), span=e.span)
    return ir.BinOp("-", ir.Expect(q.signature, body, e.estimator, span=e.span),
                    ir.KL(q.signature, prior.signature, span=e.span), span=e.span)


#: The rewrites, in the order they run; each maps one node to its replacement.
REWRITES = (decompose_elbo,)


def _rewrite(model: ir.Model, e: ir.Expr) -> ir.Expr:
    for rule in REWRITES:
        e = rule(model, e)
    if isinstance(e, (ir.NetCall, ir.Apply)):
        return replace(e, args=tuple(_rewrite(model, a) for a in e.args))
    if isinstance(e, ir.BinOp):
        return replace(e, left=_rewrite(model, e.left), right=_rewrite(model, e.right))
    if isinstance(e, ir.Neg):
        return replace(e, operand=_rewrite(model, e.operand))
    if isinstance(e, ir.Expect):
        return replace(e, body=_rewrite(model, e.body))
    return e


def simplify(model: ir.Model) -> ir.Model:
    """A copy of ``model`` whose losses have had every rewrite applied, outermost first."""
    losses = {name: replace(loss, expr=_rewrite(model, loss.expr)) for name, loss in model.losses.items()}
    return replace(model, losses=losses)
