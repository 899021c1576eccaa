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

_ATOM, _MUL = 100, 70  # precedences of a name or call and of '*' / '@' in the emitter's printing

#: Functionals have one value per example.
_PER_EXAMPLE = (ir.NetCall, ir.LogProb, ir.Expect, ir.KL, ir.Entropy, ir.CrossEntropy, ir.Elbo, ir.Iwae, ir.Renyi,
                ir.FlowBaseKL, ir.FlowResidual)


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
    try:
        return to_rank(em, e, code, prec, len(em.shape(whole)), env)
    except ShapeError:
        return code, prec


def to_rank(em, e: ir.Expr, code: str, prec: int, rank: int, env) -> tuple[str, int]:
    """(code, precedence) of ``e`` with singleton axes after its batch axes up to ``rank``
    event axes; unchanged when it has that many, or no batch axes to keep apart."""
    if not em.is_tensor(e) or not _leading_axes(em, e, env):
        return code, prec
    own = len(em.shape(e))
    return _padded(code, prec, own, rank - own)


def _padded(code: str, prec: int, rank: int, gap: int) -> tuple[str, int]:
    """``code`` (a value with ``rank`` event axes) with ``gap`` singleton axes inserted in front
    of its event axes."""
    if gap <= 0:
        return code, prec
    return (code if prec >= _ATOM else f"({code})") + f".unsqueeze({-rank - 1})" * gap, _ATOM


def matmul(em, e: ir.BinOp, left: tuple[str, int], right: tuple[str, int], env) -> tuple[str, int]:
    """(code, precedence) of ``a @ b`` contracting event axes only (numpy's matmul rule on the
    event shapes; docs/language.md): batch axes stay batch axes whichever operand has them.

    torch's own ``@`` is already right when the right operand has no batch axes and at most
    two event axes (``x @ W`` for ``x: real[D]`` and a weight ``W: real[D, K]``), so that case
    is emitted as written. Otherwise vectors are made matrices (a row ``[1, n]`` on the left,
    a column ``[n, 1]`` on the right), the operand with fewer event axes gets singleton axes
    after its batch axes, and the added axes are squeezed out of the product; two vectors
    give ``(a * b).sum(-1)``."""
    model = em.model
    a, b = infer(model, e.left).shape, infer(model, e.right).shape
    left_batched, right_batched = (em.is_tensor(x) and _leading_axes(em, x, env) for x in (e.left, e.right))
    (lcode, lp), (rcode, rp) = left, right
    if not right_batched and len(b) <= 2 or not left_batched and not right_batched:
        return f"{_wrap(lcode, lp, _MUL)} @ {_wrap(rcode, rp, _MUL + 1)}", _MUL
    if len(a) == 1 and len(b) == 1:
        return f"({_wrap(lcode, lp, _MUL)} * {_wrap(rcode, rp, _MUL + 1)}).sum(-1)", _ATOM
    if len(a) == 1:
        lcode, lp = _wrap(lcode, lp, _ATOM) + ".unsqueeze(-2)", _ATOM
    if len(b) == 1:
        rcode, rp = _wrap(rcode, rp, _ATOM) + ".unsqueeze(-1)", _ATOM
    ra, rb = max(len(a), 2), max(len(b), 2)
    if left_batched:
        lcode, lp = _padded(lcode, lp, ra, rb - ra)
    if right_batched:
        rcode, rp = _padded(rcode, rp, rb, ra - rb)
    code = f"({_wrap(lcode, lp, _MUL)} @ {_wrap(rcode, rp, _MUL + 1)})"
    if len(b) == 1:
        code += ".squeeze(-1)"
    if len(a) == 1:
        code += ".squeeze(-1)" if len(b) == 1 else ".squeeze(-2)"
    return code, _ATOM


def _wrap(code: str, prec: int, needed: int) -> str:
    return code if prec >= needed else f"({code})"


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
