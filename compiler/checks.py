"""Semantic checks on the IR: is every factorization valid, every support and shape right?

``check(model)`` raises :class:`GmcError` with every error it finds, in source order.
The rules (docs/design.md section 2):

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
from gmc.compiler.names import reserved_name_errors
from gmc.compiler.flow_checks import check_loss_flow
from gmc.compiler.transforms.checks import check_flow_factor, check_flow_scoring
from gmc.compiler.plates import check_plates
from gmc.compiler.sequences import check_sequences
from gmc.compiler.types import EventAxisError, ShapeError, broadcast, folded_value, infer, per_example


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
        if factor.signature in model.chains or factor.signature in model.step_products:  # gmc.compiler.sequences
            continue
        errors += _check_product(model, factor) if factor.is_product else _check_distribution(model, factor)
    errors += check_sequences(model)
    errors += _check_definition_cycles(model, errors)
    errors += reserved_name_errors(model)
    errors += check_plates(model)
    for loss in model.losses.values():
        errors += _check_loss(model, loss)
        errors += check_loss_flow(model, loss)
        errors += check_flow_scoring(model, loss)
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
    """Recursion among the separate definitions of one model (docs/design.md section 2): the
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
    if factor.flow:  # the support a flow ends in is checked with its transforms
        errors += check_flow_factor(model, factor)
    elif var.type.support != family.support:
        errors.append(diag.support_mismatch(factor.span, family.name, family.support, var.name, str(var.type)))
    for pname, value in factor.params:
        errors += _check_net_calls(model, value)
        try:
            t = infer(model, value)
        except ShapeError as e:
            errors.append(_shape_error(model, e))
            continue
        spec = family.param(pname)
        needed = spec.support
        constant = folded_value(value)
        if spec.constant and constant is None:
            errors.append(diag.not_a_constant(value.span, f"Parameter '{pname}' of {family.name}"))
        elif constant is not None:
            if not _constant_in_support(constant, needed):
                errors.append(diag.invalid_constant_parameter(value.span, family.name, pname, needed, constant))
            elif needed == "simplex" and not _shared_simplex(constant, var.type.shape):
                k = var.type.shape[-1]
                errors.append(diag.invalid_constant_parameter(
                    value.span, family.name, pname, f"1/{k} (one value for all {k} categories, summing to 1)", constant))
        elif not ir.within(t.support, needed):
            errors.append(diag.parameter_support_mismatch(value.span, family.name, pname, needed, t.support))
        if broadcast(t.shape, var.type.shape) != var.type.shape:
            errors.append(diag.shape_mismatch(value.span, f"parameter '{pname}' of {family.name}",
                                              t.shape, var.name, var.type.shape))
        elif family.event_rank and _is_tensor(value) and not _event_axis_fits(t.shape, var.type.shape, spec):
            expected = var.type.shape[:-1] + ((1,) if spec.shared else var.type.shape[-1:])
            errors.append(diag.shape_mismatch(value.span, f"parameter '{pname}' of {family.name}",
                                              t.shape, var.name, expected))
    return errors + _check_interval(family.name, factor)


def _check_interval(family: str, factor: ir.Factor) -> list[diag.Diagnostic]:
    """Constant bounds of a family on [low, high) (Uniform) must satisfy low < high."""
    bounds = {pname: folded_value(value) for pname, value in factor.params}
    low, high = bounds.get("low"), bounds.get("high")
    if low is None or high is None or low < high:
        return []
    return [diag.empty_interval(factor.span, family, low, high)]


def _is_tensor(e: ir.Expr) -> bool:
    return any(isinstance(n, (ir.VarRef, ir.NetCall, ir.WeightRef)) for n in ir.walk(e))


def _event_axis_fits(got: tuple[int, ...], declared: tuple[int, ...], spec) -> bool:
    """A tensor parameter of a family of event rank 1 has the variable's last axis (one value
    per category), or a last axis of 1 for a parameter shared by the whole event."""
    return bool(got) and bool(declared) and got[-1] == (1 if spec.shared else declared[-1])


def _shared_simplex(value: float, shape: tuple[int, ...]) -> bool:
    """A constant ``probs`` stands for K equal probabilities: they sum to 1 only when it is
    1/K (torch would renormalise any value to 1/K; gmc reports it instead)."""
    return not shape or abs(value * shape[-1] - 1) <= 1e-6


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
    shape_errors: dict[tuple, diag.Diagnostic] = {}
    typed: dict = {}  # infer's cache: each node typed once, however deep the loss
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
    else:
        try:
            shape = infer(model, loss.expr, typed).shape
        except ShapeError:
            shape = ()  # reported below, at the node whose operands disagree
        if shape:
            errors.append(diag.loss_has_event_axes(loss.expr.span, loss.name, shape))
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
        elif isinstance(node, (ir.BinOp, ir.Apply)):
            try:
                infer(model, node, typed)
            except ShapeError as e:
                # each failing node once, however many of its ancestors are walked
                shape_errors.setdefault((e.node.span, type(e).__name__), _shape_error(model, e))
    return errors + list(shape_errors.values())


def _shape_error(model: ir.Model, e: ShapeError) -> diag.Diagnostic:
    """The diagnostic of a :class:`ShapeError` from :func:`infer`."""
    if isinstance(e, EventAxisError):
        try:
            operand = str(infer(model, e.operand))
        except ShapeError:
            operand = "a value without event axes"
        return diag.no_event_axis(e.operand.span, e.what, f"{operand}, one value per example"
                                  if per_example(e.operand, model) else operand)
    if isinstance(e.node, ir.BinOp) and e.node.op == "@":
        return diag.matmul_axes(e.node.span, e.left, e.right)
    return diag.incompatible_shapes(e.node.span, e.node.op, e.left, e.right)
