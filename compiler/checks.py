"""Semantic checks on the IR: is every factorization valid, every support and shape right?

``check(model)`` raises :class:`GmcError` with every error it finds, in source order.
The rules (DESIGN.md section 2):

- products: no variable defined twice (conflict), no cycle among the variables (recursion),
  and the right side defines and needs exactly what the signature says;
- distributions: the family's support equals the variable's declared support, each parameter
  lies in the family's parameter support, and its event shape broadcasts to the variable's;
- nets: inputs have the shapes the net was declared with;
- definitions: the distributions sharing a name (all the ``p``s) define no variable through
  itself, even when no product multiplies them;
- losses: reduced to one number over the batch; KL and CE compare distributions over the
  same variables; estimators pair a joint with a posterior over some of its variables;
  every variable a term reads is data or drawn in scope (:mod:`gmc.compiler.flow_checks`).
"""
from __future__ import annotations

from gmc.compiler import diagnostics as diag
from gmc.compiler import estimation, ir
from gmc.compiler.families import FAMILIES
from gmc.compiler.marginals import exact_marginal
from gmc.compiler.flow_checks import check_loss_flow
from gmc.compiler.types import ShapeError, broadcast, constant_value, infer, per_example


def check(model: ir.Model) -> ir.Model:
    """Return ``model`` unchanged when valid; raise GmcError listing every error otherwise."""
    errors = check_errors(model)
    if errors:
        raise diag.GmcError(errors, model.source, model.filename)
    assert not model.lint(), model.lint()
    return model


def check_errors(model: ir.Model) -> list[diag.Diagnostic]:
    """Every semantic error of ``model`` (possibly a partial model from lowering), in source order."""
    errors: list[diag.Diagnostic] = []
    for factor in model.factors.values():
        errors += _check_product(model, factor) if factor.is_product else _check_distribution(model, factor)
    errors += _check_definition_cycles(model, errors)
    for loss in model.losses.values():
        errors += _check_loss(model, loss)
        errors += check_loss_flow(model, loss)
    return sorted(errors, key=lambda d: (d.span.line, d.span.column))


# ---- products ----------------------------------------------------------------------------

def _check_product(model: ir.Model, product: ir.Factor) -> list[diag.Diagnostic]:
    if _defined_through_itself(model, product.signature, ()):
        return [diag.recursion(product.span, [(product.signature, product.signature, product.signature)])]
    nested = next((c for c in product.components if model.factors[c].marginalized), None)
    if nested is not None:
        return [diag.marginal_in_product(product.span, nested)]
    defined_by: dict[str, str] = {}
    for leaf in ir.leaves(model, product.signature):
        for out in leaf.outputs:
            if out in defined_by:
                return [diag.conflict(product.span, out, defined_by[out], leaf.signature)]
            defined_by[out] = leaf.signature
    cycle = ir.product_cycle(model, product)
    if cycle:
        return [diag.recursion(product.span, cycle)]
    occurring = {v for leaf in ir.leaves(model, product.signature) for v in leaf.variables}
    for v in product.marginalized:
        if v not in occurring:
            return [diag.marginalized_absent(product.span, v, product.signature)]
        if v not in defined_by:
            return [diag.marginalized_not_defined(product.span, v, product.signature)]
    needs = {g for leaf in ir.leaves(model, product.signature) for g in leaf.given} - set(defined_by)
    outputs = set(defined_by) - set(product.marginalized)
    if outputs != set(product.outputs) or needs != set(product.given):
        return [diag.signature_mismatch(product.span, product.signature, _names(outputs), _names(needs))]
    return []


def _check_definition_cycles(model: ir.Model, found: list[diag.Diagnostic]) -> list[diag.Diagnostic]:
    """Recursion among the separate definitions of one model (DESIGN.md section 2): the
    distributions named ``p`` must not define ``x`` from ``z`` and ``z`` from ``x``. Reported
    once, at the definition that closes the cycle, unless a product holding all its factors
    already has an error (which names the cycle)."""
    edges_by_name: dict[str, list[tuple[str, str]]] = {}
    for f in model.factors.values():
        if not f.is_product:
            edges_by_name.setdefault(f.name, []).extend((given, out) for given in f.given for out in f.outputs)
    if not any(ir.find_cycle_edges(edges) for edges in edges_by_name.values()):
        return []  # the common case; networkx (150 ms to import) only finds and reports a cycle
    import networkx as nx

    products = [{leaf.signature for leaf in ir.leaves(model, sig)} for sig, f in model.factors.items()
                if f.is_product and any(d.span == f.span for d in found)]
    errors = []
    for name in dict.fromkeys(f.name for f in model.factors.values()):
        g = nx.DiGraph()
        for f in model.factors.values():
            if f.name == name and not f.is_product:
                for given in f.given:
                    for out in f.outputs:
                        g.add_edge(given, out, factor=f)
        try:
            edges = nx.find_cycle(g)
        except nx.NetworkXNoCycle:
            continue
        factors = [g.edges[a, b]["factor"] for a, b in edges]
        closing = max(factors, key=lambda f: (f.span.line, f.span.column))
        if not any({f.signature for f in factors} <= leaves for leaves in products):
            errors.append(diag.recursion(closing.span, [(a, b, g.edges[a, b]["factor"].signature) for a, b in edges]))
    return errors


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
    if var.is_global:
        local = [g for g in factor.given if not model.vars[g].is_global]
        if local:
            errors.append(diag.global_given_local(factor.span, var.name, factor.signature, local[0]))
    if var.type.support != family.support:
        errors.append(diag.support_mismatch(factor.span, family.name, family.support, var.name, str(var.type)))
    for pname, value in factor.params:
        errors += _check_net_calls(model, value)
        try:
            t = infer(model, value)
        except ShapeError as e:
            errors.append(diag.incompatible_shapes(e.node.span, e.node.op, e.left, e.right))
            continue
        spec = family.param(pname)
        needed = spec.support
        constant = constant_value(value)
        if spec.constant and constant is None:
            errors.append(diag.not_a_constant(value.span, f"Parameter '{pname}' of {family.name}"))
        elif constant is not None:
            if not _constant_in_support(constant, needed):
                errors.append(diag.invalid_constant_parameter(value.span, family.name, pname, needed, constant))
        elif not ir.within(t.support, needed):
            errors.append(diag.parameter_support_mismatch(value.span, family.name, pname, needed, t.support))
        if broadcast(t.shape, var.type.shape) != var.type.shape:
            errors.append(diag.shape_mismatch(value.span, f"parameter '{pname}' of {family.name}",
                                              t.shape, var.name, var.type.shape))
        elif family.event_rank and _is_tensor(value) and not _event_axis_fits(t.shape, var.type.shape, spec):
            expected = var.type.shape[:-1] + ((1,) if spec.shared else var.type.shape[-1:])
            errors.append(diag.shape_mismatch(value.span, f"parameter '{pname}' of {family.name}",
                                              t.shape, var.name, expected))
    return errors


def _is_tensor(e: ir.Expr) -> bool:
    return any(isinstance(n, (ir.VarRef, ir.NetCall, ir.WeightRef)) for n in ir.walk(e))


def _event_axis_fits(got: tuple[int, ...], declared: tuple[int, ...], spec) -> bool:
    """A tensor parameter of a family of event rank 1 has the variable's last axis (one value
    per category), or a last axis of 1 for a parameter shared by the whole event."""
    return bool(got) and bool(declared) and got[-1] == (1 if spec.shared else declared[-1])


def _constant_in_support(value: float, support: str) -> bool:
    if support == "positive":
        return value > 0
    if support == "unit":
        return 0 <= value <= 1
    if support == "count":
        return value >= 0 and float(value).is_integer()
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
    operands: set[int] = set()  # ids of the operands of arithmetic nodes seen so far
    for node in ir.walk(loss.expr):
        # Every functional but E_{...}[...] needs the log-density of the factors it names.
        if isinstance(node, ir.Expect):
            continue
        for sig in (getattr(node, a, None) for a in ("factor", "first", "second", "joint", "posterior")):
            if sig is None:
                continue
            blocking = exact_marginal(model, sig)
            if blocking is not None:
                errors.append(diag.marginal_density_not_enumerable(node.span, sig, blocking,
                                                                   str(model.vars[blocking].type)))
    if per_example(loss.expr, model):
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
            global_latents = [v for v in posterior.outputs if model.vars[v].is_global]
            if global_latents:
                errors.append(diag.estimator_over_global(
                    node.span, "elbo" if isinstance(node, ir.Elbo) else "iwae", global_latents[0]))
            elif not latent <= set(joint.outputs):
                errors.append(diag.functional_over_different_variables(
                    node.span, type(node).__name__.lower(), ",".join(joint.outputs), ",".join(posterior.outputs)))
        elif isinstance(node, ir.BinOp) or isinstance(node, ir.Apply) and node.func in ir.ELEMENTWISE_N:
            # Inferred once from the outermost operator: inferring at every operator of a
            # chain of N terms was O(N^2) and reported an inner mismatch once per enclosing one.
            operands.update(map(id, ir.children(node)))
            if id(node) in operands:
                continue
            try:
                infer(model, node)
            except ShapeError as e:
                errors.append(diag.incompatible_shapes(e.node.span, e.node.op, e.left, e.right))
    return errors
