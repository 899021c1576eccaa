"""Event-axis alignment: where torch's right-aligned broadcasting would pair batch axes with
event axes.

The checker broadcasts *event* shapes (``real`` against ``real[3]`` gives ``real[3]``), but a
per-example tensor also carries batch (and particle) axes in front: a scalar latent ``s`` is
[batch], ``x: real[3]`` is [batch, 3], and torch would align ``s``'s batch axis with the
event axis. These helpers insert the missing singleton axes after the batch axes
(``s.unsqueeze(-1)``). A value without batch axes needs nothing (inserting axes right before
its event would only prepend ones, which broadcasting ignores), so only values that have
them are touched, which keeps generated code as written for the common case.
"""
from __future__ import annotations

from gmc.compiler import ir
from gmc.compiler.types import ShapeError, infer

_ATOM = 100  # the precedence of a name or call in the emitter's printing (codegen.emitter)

#: Functionals have one value per example.
_PER_EXAMPLE = (ir.NetCall, ir.LogProb, ir.Expect, ir.KL, ir.Entropy, ir.CrossEntropy, ir.Elbo, ir.Iwae, ir.Renyi)


def aligned(em, code: str, expr: ir.Expr, leaf: ir.Factor, env) -> str:
    """Name of ``code`` (a parameter of ``leaf``, already a name) with singleton axes after its
    batch axes when it has fewer event axes than the leaf's variable (a scalar ``s`` as the
    loc of a ``real[3]``); ``code`` itself otherwise."""
    rank = len(infer(em.model, expr).shape)
    gap = len(em.model.vars[leaf.outputs[0]].type.shape) - rank
    if gap <= 0 or not has_leading_axes(em.model, expr, env):
        return code
    return em.fb.assign(f"{code}_aligned", code + f".unsqueeze({-rank - 1})" * gap, leaf.span,
                        f"+{gap} event axis(es) to broadcast against {leaf.outputs[0]}")


def operand(em, e: ir.Expr, code: str, prec: int, whole: ir.Expr, env) -> tuple[str, int]:
    """(code, precedence) of an element-wise operand of ``whole`` (a binary operator, or
    ``min``/``max``/``clamp``), with singleton axes after its batch axes when it has fewer
    event axes than the result (``s`` in ``s * w`` with ``w: real[3]``)."""
    if not em.is_tensor(e) or not _leading_axes(em, e, env):
        return code, prec
    try:
        rank = len(em.shape(e))
        gap = len(em.shape(whole)) - rank
    except ShapeError:
        return code, prec
    if gap <= 0:
        return code, prec
    return (code if prec >= _ATOM else f"({code})") + f".unsqueeze({-rank - 1})" * gap, _ATOM


def _leading_axes(em, e: ir.Expr, env) -> bool:
    """:func:`has_leading_axes`, memoized per node by the emitter ``em`` when ``env`` is fixed
    (a sampler's growing env, whose set of particle variables changes, is not memoized)."""
    if not isinstance(env.particle_vars, frozenset):
        return has_leading_axes(em.model, e, env)
    return em.any_node(e, ("leading axes", env.global_batch, env.particle_vars),
                       lambda n: _has_leading_axes(em.model, n, env))


def has_leading_axes(model: ir.Model, e: ir.Expr, env) -> bool:
    """True when ``e``'s value may carry batch or particle axes before its event axes in the
    method being emitted (``env``: global variables have them only outside losses)."""
    return any(_has_leading_axes(model, n, env) for n in ir.walk(e))


def _has_leading_axes(model: ir.Model, node: ir.Expr, env) -> bool:
    """:func:`has_leading_axes` of one node, ignoring its children."""
    return isinstance(node, _PER_EXAMPLE) or isinstance(node, ir.VarRef) and (
        not model.vars[node.name].is_global or env.global_batch != "()" or node.name in env.particle_vars)
