"""Renamed factors: ``q(z|w) = q(z|x)[x -> w]`` (Pixyz's ``replace_var``).

The new factor has the source's family and parameter expressions with every reference to a
renamed variable replaced by its new name; nothing else changes, so a net the source applies
to ``x`` is applied to ``w`` (the net-input shape check of :mod:`gmc.compiler.checks` then
runs on the new factor, located at the new name in the rename list). Renames are
simultaneous: ``[x -> w, w -> x]`` swaps.
"""
from __future__ import annotations

from dataclasses import replace

from gmc.compiler import diagnostics as diag
from gmc.compiler import ir
from gmc.dsl import ast


def rename_expr(e: ir.Expr, mapping: dict[str, tuple[str, ast.Span]]) -> ir.Expr:
    """``e`` with each ``VarRef(old)`` replaced by ``VarRef(new)`` spanning the new name.

    Raises AssertionError on an expression kind a factor parameter cannot hold (a loss-only
    construct): lowering never puts one there."""
    if isinstance(e, ir.VarRef):
        if e.name not in mapping:
            return e
        new, span = mapping[e.name]
        return ir.VarRef(new, span=span)
    if isinstance(e, (ir.Num, ir.ConstRef, ir.ParamRef, ir.WeightRef)):
        return e
    if isinstance(e, (ir.NetCall, ir.Apply)):
        return replace(e, args=tuple(rename_expr(a, mapping) for a in e.args))
    if isinstance(e, ir.BinOp):
        return replace(e, left=rename_expr(e.left, mapping), right=rename_expr(e.right, mapping))
    if isinstance(e, ir.Neg):
        return replace(e, operand=rename_expr(e.operand, mapping))
    raise AssertionError(f"unexpected {type(e).__name__} in a factor parameter")


def lower_rename(lowering, s: ast.FactorDef, name: str, outputs: tuple[str, ...], given: tuple[str, ...],
                 text: str) -> ir.Factor | None:
    """The factor ``s`` defines (``sig = f(...)[a -> b, ...]``), or None after reporting
    errors through ``lowering.error``: a new name that is not a declared variable
    (``undefined_name``, ``not_a_variable``), an old name the source does not have
    (``rename_unknown_variable``), a variable renamed twice (``repeated_variable``), a product
    as source (``bad_arguments``), a result that is not ``sig`` (``signature_mismatch``)."""
    call = s.terms[0]
    ref = lowering.factor_ref(call)
    source = None if ref is None else lowering.lowered_factor(ref)
    olds = tuple(a for a, _ in s.renames)
    news = [lowering.variable(b) for _, b in s.renames]
    if source is None or None in news or lowering.repeated(olds, f"the renames of {ref}"):
        return None
    for a, _ in s.renames:
        if a.id not in source.variables:
            lowering.error(diag.rename_unknown_variable(a.span, a.id, ref, source.variables))
            return None
    if source.is_product:
        lowering.error(diag.bad_arguments(call.span, f"renaming {ref}",
                                          "only a distribution can be renamed; rename its factors instead."))
        return None
    mapping = {a.id: (b.id, b.span) for a, b in s.renames}
    new_outputs = tuple(mapping.get(v, (v,))[0] for v in source.outputs)
    new_given = tuple(mapping.get(v, (v,))[0] for v in source.given)
    if new_outputs != outputs or sorted(new_given) != sorted(given):
        lowering.error(diag.signature_mismatch(s.span, text, _names(new_outputs), _names(new_given)))
        return None
    params = tuple((p, rename_expr(e, mapping)) for p, e in source.params)
    return ir.Factor(name, outputs, given, family=source.family, params=params, span=s.span,
                     renamed_from=(ref, tuple((a.id, b.id) for a, b in s.renames)),
                     flow=tuple(replace(t, options=tuple((k, rename_expr(v, mapping) if isinstance(v, ir.Expr) else v)
                                                         for k, v in t.options)) for t in source.flow))


def _names(names) -> str:
    return "{" + ", ".join(sorted(names)) + "}" if names else "nothing"
