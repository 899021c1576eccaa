"""Checks of flow factors (docs/language.md "Flows"), all located errors:

- the base is a continuous distribution (real, positive or unit values);
- supports: each transform's input lies in its domain (Log needs positive values), and the
  support the last transform maps into equals the variable's declared support;
- event shapes: structured transforms (planar, radial, coupling, MAF, IAF, Reverse) act on
  vector events ``real[D]``; coupling and autoregressive layers need D >= 2 (one part
  conditions the other), and a coupling mask must split the event into two non-empty parts;
- scoring: a loss may evaluate the log-density of a flow without a cheap inverse (planar,
  radial, IAF) only at that flow's own samples (inside ``E_{q}``, ``elbo``, ``iwae``,
  ``renyi``, ``KL[q || .]``, ``H[q]``), where the log-determinant is accumulated while
  sampling; anywhere else the values are given (data, or another factor's samples) and the
  flow would have to be run backwards.
"""
from __future__ import annotations

from gmc.compiler import diagnostics as diag
from gmc.compiler import ir
from gmc.compiler.families import FAMILIES
from gmc.compiler.transforms.registry import TRANSFORMS

#: Supports a flow's base may have: a density on them makes the change of variables valid.
CONTINUOUS = ("real", "positive", "unit")


def check_flow_factor(model: ir.Model, factor: ir.Factor) -> list[diag.Diagnostic]:
    """The support and shape errors of one flow factor, in the order of its transforms."""
    var = model.vars[factor.outputs[0]]
    support = FAMILIES[factor.family].support
    step = f"the base {factor.family} gives {support} values"
    chain = [factor.family]
    if support not in CONTINUOUS:
        return [diag.flow_discrete_base(factor.span, factor.family, support)]
    errors = []
    for t in factor.flow:
        spec = TRANSFORMS[t.kind]
        if not ir.within(support, spec.domain):
            errors.append(diag.transform_domain(t.span, t.kind, spec.domain, support, step))
            return errors
        if not spec.elementwise:
            errors += _shape_errors(t, spec, var, model)
        support = spec.codomain
        step = f"after {t.kind}"
        chain.append(t.kind)
    if support != var.type.support:
        errors.append(diag.flow_support_mismatch(factor.span, var.name, str(var.type), support, " -> ".join(chain)))
    return errors


def amortized(t: ir.Transform) -> bool:
    """Whether the transform's parameters are expressions (per example) rather than learned."""
    return any(isinstance(v, ir.Expr) for _, v in t.options)


def _expression_errors(model: ir.Model, t: ir.Transform, spec, var: ir.Var) -> list[diag.Diagnostic]:
    """Shapes of parameters given as expressions: vectors like the variable, scalars one per example."""
    from gmc.compiler.checks import _check_net_calls, _shape_error
    from gmc.compiler.types import ShapeError, broadcast, infer

    errors = []
    kinds = {o.name: o.kind for o in spec.options}
    for name, value in t.options:
        if not isinstance(value, ir.Expr):
            continue
        errors += _check_net_calls(model, value)
        try:
            shape = infer(model, value).shape
        except ShapeError as e:
            errors.append(_shape_error(model, e))
            continue
        wanted = var.type.shape if kinds[name] == "vector" else ()
        if broadcast(shape, wanted) != wanted:
            errors.append(diag.shape_mismatch(value.span, f"parameter '{name}' of {t.kind}", shape, var.name, wanted))
    return errors


def _shape_errors(t: ir.Transform, spec, var: ir.Var, model: ir.Model) -> list[diag.Diagnostic]:
    if len(var.type.shape) != 1:
        return [diag.transform_needs_vector(t.span, t.kind, var.name, str(var.type))]
    if amortized(t):
        return _expression_errors(model, t, spec, var)
    size = var.type.shape[0]
    if size < spec.min_size:
        return [diag.transform_too_small(t.span, t.kind, spec.min_size, var.name, size)]
    options = dict(t.options)
    split = options.get("split")
    if split is not None and options.get("mask") in ("half", "half_last") and not 1 <= split < size:
        return [diag.mask_does_not_split(t.span, t.kind, split, size)]
    return []


def uninvertible(model: ir.Model, sig: str) -> list[tuple[ir.Factor, ir.Transform]]:
    """The flow leaves of ``sig`` without a cheap inverse, each with its first such transform."""
    out = []
    for leaf in ir.leaves(model, sig):
        bad = next((t for t in leaf.flow if not TRANSFORMS[t.kind].cheap_inverse), None)
        if bad is not None:
            out.append((leaf, bad))
    return out


def check_flow_scoring(model: ir.Model, loss: ir.Loss) -> list[diag.Diagnostic]:
    """Errors for each log-density of a flow without a cheap inverse at values it did not draw."""
    if not any(f.flow for f in model.factors.values()):
        return []
    errors: list[diag.Diagnostic] = []
    _visit(model, loss.expr, frozenset(), errors)
    return errors


def _sampled_leaves(model: ir.Model, sig: str) -> frozenset[str]:
    return frozenset(leaf.signature for leaf in ir.leaves(model, sig))


def _visit(model: ir.Model, e: ir.Expr, drawn: frozenset[str], errors: list) -> None:
    scored: list[tuple[str, frozenset[str], str]] = []
    inner = drawn
    if isinstance(e, ir.Expect):
        inner = drawn | _sampled_leaves(model, e.factor)
    elif isinstance(e, ir.LogProb):
        scored.append((e.factor, drawn, f"log {e.factor}"))
    elif isinstance(e, (ir.KL, ir.CrossEntropy)):
        name = "KL" if isinstance(e, ir.KL) else "CE"
        scored.append((e.second, drawn | _sampled_leaves(model, e.first), f"{name}[{e.first} || {e.second}]"))
    elif isinstance(e, (ir.Elbo, ir.Iwae, ir.Renyi)):
        what = type(e).__name__.lower()
        scored.append((e.joint, drawn | _sampled_leaves(model, e.posterior), f"{what}({e.joint}, {e.posterior})"))
    elif isinstance(e, ir.Mmd):
        pass
    for sig, available, where in scored:
        for leaf, t in uninvertible(model, sig):
            if leaf.signature not in available:
                why = TRANSFORMS[t.kind].why_no_inverse
                errors.append(diag.flow_without_inverse(e.span, leaf.signature, t.kind, why, where))
    for child in ir.children(e):
        _visit(model, child, inner, errors)
