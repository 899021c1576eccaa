"""Semantic checks on the IR: is every factorization valid, every support and shape right?

``check(model)`` raises :class:`GmcError` with every error it finds, in source order.
The rules (DESIGN.md section 2):

- products: no variable defined twice (conflict), no cycle among the variables (recursion),
  and the right side defines and needs exactly what the signature says;
- distributions: the family's support equals the variable's declared support, each parameter
  lies in the family's parameter support, and its event shape broadcasts to the variable's;
- nets: inputs have the shapes the net was declared with;
- losses: reduced to one number over the batch; KL and CE compare distributions over the
  same variables; estimators pair a joint with a posterior over some of its variables.
"""
from __future__ import annotations

from gmc.compiler import diagnostics as diag
from gmc.compiler import estimation, ir
from gmc.compiler.families import FAMILIES
from gmc.compiler.types import ShapeError, broadcast, constant_value, infer, per_example


def check(model: ir.Model) -> ir.Model:
    """Return ``model`` unchanged when valid; raise GmcError listing every error otherwise."""
    errors: list[diag.Diagnostic] = []
    for factor in model.factors.values():
        errors += _check_product(model, factor) if factor.is_product else _check_distribution(model, factor)
    for loss in model.losses.values():
        errors += _check_loss(model, loss)
    if errors:
        errors.sort(key=lambda d: (d.span.line, d.span.column))
        raise diag.GmcError(errors, model.source, model.filename)
    assert not model.lint(), model.lint()
    return model


# ---- products ----------------------------------------------------------------------------

def _check_product(model: ir.Model, product: ir.Factor) -> list[diag.Diagnostic]:
    if _defined_through_itself(model, product.signature, ()):
        return [diag.recursion(product.span, [(product.signature, product.signature, product.signature)])]
    defined_by: dict[str, str] = {}
    for leaf in ir.leaves(model, product.signature):
        for out in leaf.outputs:
            if out in defined_by:
                return [diag.conflict(product.span, out, defined_by[out], leaf.signature)]
            defined_by[out] = leaf.signature
    cycle = ir.product_cycle(model, product)
    if cycle:
        return [diag.recursion(product.span, cycle)]
    outputs = set(defined_by)
    needs = {g for leaf in ir.leaves(model, product.signature) for g in leaf.given} - outputs
    if outputs != set(product.outputs) or needs != set(product.given):
        return [diag.signature_mismatch(product.span, product.signature, _names(outputs), _names(needs))]
    return []


def _defined_through_itself(model: ir.Model, sig: str, path: tuple[str, ...]) -> bool:
    if sig in path:
        return True
    f = model.factors[sig]
    return any(_defined_through_itself(model, c, path + (sig,)) for c in f.components)


def _names(names) -> str:
    return "{" + ", ".join(sorted(names)) + "}" if names else "nothing"


# ---- distributions -----------------------------------------------------------------------

def _check_distribution(model: ir.Model, factor: ir.Factor) -> list[diag.Diagnostic]:
    family = FAMILIES[factor.family]
    var = model.vars[factor.outputs[0]]
    errors = []
    if var.type.support != family.support:
        errors.append(diag.support_mismatch(factor.span, family.name, family.support, var.name, str(var.type)))
    for pname, value in factor.params:
        errors += _check_net_calls(model, value)
        try:
            t = infer(model, value)
        except ShapeError as e:
            errors.append(diag.incompatible_shapes(e.node.span, e.node.op, e.left, e.right))
            continue
        needed = family.param(pname).support
        constant = constant_value(value)
        if constant is not None:
            if not _constant_in_support(constant, needed):
                errors.append(diag.invalid_constant_parameter(value.span, family.name, pname, needed, constant))
        elif not ir.within(t.support, needed):
            errors.append(diag.parameter_support_mismatch(value.span, family.name, pname, needed, t.support))
        if broadcast(t.shape, var.type.shape) != var.type.shape:
            errors.append(diag.shape_mismatch(value.span, f"parameter '{pname}' of {family.name}",
                                              t.shape, var.name, var.type.shape))
    return errors


def _constant_in_support(value: float, support: str) -> bool:
    if support == "positive":
        return value > 0
    if support == "unit":
        return 0 <= value <= 1
    return True


def _check_net_calls(model: ir.Model, e: ir.Expr) -> list[diag.Diagnostic]:
    errors = []
    for node in ir.walk(e):
        if isinstance(node, ir.NetCall):
            net = model.nets[node.net]
            for arg, formal in zip(node.args, net.inputs):
                try:
                    got = infer(model, arg).shape
                except ShapeError:
                    continue
                expected = model.vars[formal].type.shape
                if got != expected:
                    errors.append(diag.shape_mismatch(arg.span, f"this input of net '{net.name}'",
                                                      got, formal, expected))
    return errors


# ---- losses ------------------------------------------------------------------------------

def _check_loss(model: ir.Model, loss: ir.Loss) -> list[diag.Diagnostic]:
    errors = _check_net_calls(model, loss.expr)
    if per_example(loss.expr):
        errors.append(diag.loss_not_scalar(loss.expr.span, loss.name))
    for node in ir.walk(loss.expr):
        errors += estimation.check(model, node)
        if isinstance(node, (ir.KL, ir.CrossEntropy, ir.Mmd)):
            first, second = model.factors[node.first], model.factors[node.second]
            if set(first.outputs) != set(second.outputs):
                name = {ir.KL: "KL", ir.CrossEntropy: "CE", ir.Mmd: "mmd"}[type(node)]
                errors.append(diag.functional_over_different_variables(
                    node.span, name, ",".join(first.outputs), ",".join(second.outputs)))
        elif isinstance(node, (ir.Elbo, ir.Iwae, ir.Renyi)):
            joint, posterior = model.factors[node.joint], model.factors[node.posterior]
            latent = set(posterior.outputs)
            if not latent <= set(joint.outputs):
                errors.append(diag.functional_over_different_variables(
                    node.span, type(node).__name__.lower(), ",".join(joint.outputs), ",".join(posterior.outputs)))
        elif isinstance(node, ir.BinOp) or isinstance(node, ir.Apply) and node.func in ir.ELEMENTWISE_N:
            try:
                infer(model, node)
            except ShapeError as e:
                errors.append(diag.incompatible_shapes(e.node.span, e.node.op, e.left, e.right))
    return errors
