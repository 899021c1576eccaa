"""Lowering of ``Flow(Base(...), T1, T2, ...)`` (docs/language.md "Flows").

The first argument is a distribution call, lowered as any other (``Lowerer.distribution``);
the others are transforms: a name (``Planar``), a call with keyword options
(``Coupling(mask=half, hidden=32)``), or ``K * T`` / ``T * K`` for K layers of T, each with
its own parameters (the papers' "K planar flows").
"""
from __future__ import annotations

from dataclasses import replace

from gmc.compiler import diagnostics as diag
from gmc.compiler import ir
from gmc.compiler.families import FAMILIES
from gmc.compiler.transforms.registry import TRANSFORMS, TransformSpec
from gmc.dsl import ast

#: The most layers one ``K * T`` may stand for.
MAX_REPEAT = 1000


def lower_flow(lowerer, call: ast.Call, name, outputs, given, text, span) -> ir.Factor | None:
    """The flow factor, or None after reporting each error through ``lowerer.error``."""
    if call.given is not None or call.keywords:
        lowerer.error(diag.bad_arguments(call.span, "Flow", "it takes positional arguments only: a base "
                                                           "distribution, then transforms."))
        return None
    if len(call.args) < 2 or not isinstance(call.args[0], ast.Call) or call.args[0].func not in FAMILIES:
        lowerer.error(diag.flow_needs_base(call.args[0].span if call.args else call.span))
        return None
    from gmc.compiler.lower import _Scope

    scope = _Scope(given, outputs, text)
    transforms: list[ir.Transform] = []
    ok = True
    for arg in call.args[1:]:
        lowered = _transforms(lowerer, arg, scope)
        ok = ok and lowered is not None
        transforms += lowered or []
    base = lowerer.distribution(call.args[0], name, outputs, given, text, span)
    if base is None or not ok:
        return None
    return replace(base, flow=tuple(transforms))


def _transforms(lowerer, e: ast.Expr, scope) -> list[ir.Transform] | None:
    if isinstance(e, ast.BinOp) and e.op == "*":
        count, layer = (e.left, e.right) if isinstance(e.left, ast.Number) else (e.right, e.left)
        if not isinstance(count, ast.Number) or not float(count.value).is_integer() \
                or not 1 <= count.value <= MAX_REPEAT:
            lowerer.error(diag.bad_transform_option(e.span, "Flow", f"a repeated transform is written K * T with "
                                                                    f"K a whole number from 1 to {MAX_REPEAT}."))
            return None
        one = _transform(lowerer, layer, scope)
        return None if one is None else [one] * int(count.value)
    one = _transform(lowerer, e, scope)
    return None if one is None else [one]


def _transform(lowerer, e: ast.Expr, scope) -> ir.Transform | None:
    if isinstance(e, ast.Name):
        name, keywords, name_span, args = e.id, (), e.span, ()
    elif isinstance(e, ast.Call) and e.given is None:
        name, keywords, name_span, args = e.func, e.keywords, e.func_span, e.args
    else:
        lowerer.error(diag.bad_transform_option(e.span, "Flow", "each transform is a name (Planar) or a call "
                                                                "with keyword options (Coupling(hidden=32))."))
        return None
    spec = TRANSFORMS.get(name)
    if spec is None:
        lowerer.error(diag.unknown_transform(name_span, name, TRANSFORMS))
        return None
    if args:
        lowerer.error(diag.bad_transform_option(args[0].span, name, "options are keywords, e.g. hidden=32."))
        return None
    return _with_options(lowerer, spec, keywords, e.span, scope)


def _with_options(lowerer, spec: TransformSpec, keywords, span, scope) -> ir.Transform | None:
    given: dict[str, object] = {}
    for kw in keywords:
        option = spec.option(kw.name)
        if option is None:
            accepted = ", ".join(o.name for o in spec.options) or "nothing"
            lowerer.error(diag.bad_transform_option(kw.name_span, spec.name, f"unknown option '{kw.name}' "
                                                                             f"(it takes {accepted})."))
            return None
        if kw.name in given:
            lowerer.error(diag.bad_transform_option(kw.span, spec.name, f"'{kw.name}' is given twice."))
            return None
        if option.kind == "name":
            if not isinstance(kw.value, ast.Name) or kw.value.id not in option.choices:
                lowerer.error(diag.bad_transform_option(kw.value.span, spec.name, f"'{kw.name}' is one of "
                                                        + ", ".join(option.choices) + "."))
                return None
            given[kw.name] = kw.value.id
        elif option.kind in ("vector", "scalar"):
            value = lowerer.expr(kw.value, scope)
            if value is None:
                return None
            given[kw.name] = value
        else:
            value = lowerer.positive_int(kw.value, f"Option '{kw.name}' of {spec.name}")
            if value is None:
                return None
            given[kw.name] = value
    expressions = spec.expression_options
    if any(n in given for n in expressions) and not all(n in given for n in expressions):
        lowerer.error(diag.bad_transform_option(span, spec.name, f"give {', '.join(expressions)} together (one set "
                                                                 "per example, e.g. from the encoder), or none "
                                                                 "(learned parameters)."))
        return None
    options = tuple((o.name, given.get(o.name, o.default)) for o in spec.options)
    return ir.Transform(spec.name, options, span=span)
