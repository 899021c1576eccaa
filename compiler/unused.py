"""Warnings for declarations nothing refers to: variables, consts, params, weights, nets, factors.

Works on the AST rather than the IR because lowering folds consts into shapes (``real[Z]``
keeps no trace of ``Z``). A name counts as used when it occurs anywhere outside its own
declaration: in an expression, a type's dimensions, a net's input list, a factor's
signature or a factor reference. A factor counts as used when a loss or another factor
refers to it, or when it is a product (a joint such as ``p(x,z)`` or ``p(x,z|y)``, which
``gmc sample`` (with ``--given`` for a conditional one) and ``m.sample`` draw from even when
no loss mentions it).
"""
from __future__ import annotations

import dataclasses

from gmc.compiler import diagnostics as diag
from gmc.compiler import ir
from gmc.dsl import ast

_KINDS = {ast.ConstDecl: "const", ast.ParamDecl: "param", ast.WeightDecl: "weight",
          ast.VarDecl: "var", ast.NetDecl: "net"}


def unused_warnings(program: ast.Program) -> list[diag.Diagnostic]:
    """One :func:`diag.unused` warning per unused declaration, in source order."""
    factor_names = {s.signature.name for s in program.statements if isinstance(s, ast.FactorDef)}
    names: set[str] = set()
    factors: set[str] = set()
    for s in program.statements:
        defined = _defined(s)
        for node in _nodes(s):
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.Call):
                names.add(node.func)
                ref = _factor_ref(node, factor_names)
                if ref is not None and ref != defined:
                    factors.add(ref)
    warnings = []
    for s in program.statements:
        kind = _KINDS.get(type(s))
        if kind is not None and s.name not in names:
            warnings.append(diag.unused(s.span, kind, s.name))
        elif isinstance(s, ast.FactorDef):
            sig = _defined(s)
            # A product is a joint (sampled as a whole); a product of experts or a renamed
            # factor is a distribution like any other, so it may be unused.
            derived = s.proportional or bool(s.renames)
            joint = not derived and (len(s.terms) > 1 or s.terms[0].func in factor_names)
            if sig not in factors and not joint:
                warnings.append(diag.unused(s.signature.span, "factor", sig))
    return sorted(warnings, key=lambda d: (d.span.line, d.span.column))


def _defined(s: ast.Statement) -> str | None:
    """The signature a factor definition defines, or None for other statements."""
    if not isinstance(s, ast.FactorDef):
        return None
    sig = s.signature
    return ir.signature(sig.name, tuple(n.id for n in sig.outputs), tuple(n.id for n in sig.given))


def _factor_ref(call: ast.Call, factor_names: set[str]) -> str | None:
    if call.func not in factor_names or call.keywords:
        return None
    names = list(call.args) + list(call.given or ())
    if not all(isinstance(a, ast.Name) for a in names):
        return None
    return ir.signature(call.func, tuple(a.id for a in call.args), tuple(a.id for a in call.given or ()))


def _nodes(node: ast.Node):
    """Every AST node under ``node`` (a declaration's own name is a string, never a Name),
    parents first. An explicit stack: nested generators cost O(depth) per node, O(N^2) for a
    chain of N terms."""
    stack = [node]
    while stack:
        node = stack.pop()
        yield node
        children = []
        for f in dataclasses.fields(node):
            if not f.compare:
                continue
            value = getattr(node, f.name)
            items = value if isinstance(value, tuple) else (value,)
            children += [item for item in items if isinstance(item, ast.Node)]
        stack.extend(reversed(children))
