"""Code generation for flow factors (docs/language.md "Flows").

Sampling runs the flow forwards in one pass and keeps each layer's log-determinant, so the
log-density of the draw is known without any inverse (Rezende & Mohamed 2015, eq. 13):

    log q(z_K) = log q0(z_0) - sum_k log |det dz_k / dz_{k-1}|

:func:`sample` emits the draw and records it under the key ``Emitter.log_prob`` looks up,
so ``elbo``, ``iwae`` and ``E_{q}[... log q ...]`` get log q from it with no inverse.
:func:`log_density` scores given values by running the inverse (coupling, MAF, Reverse and
element-wise transforms have a one-pass inverse; the checker rejects the others,
:mod:`.checks`): log p(y) = log p0(f^-1(y)) + sum_k log |det d f_k^-1 / d y_k|.

Element-wise transforms are inlined from their sympy derivations (:mod:`.symbolic`);
structured ones call the layers of ``self.<layer_attribute>`` (``rt.flow_layers``).
"""
from __future__ import annotations

import sympy as sp

from gmc.compiler import ir, symbolic as closed_forms
from gmc.compiler.codegen import text
from gmc.compiler.names import flow_attribute
from gmc.compiler.transforms import symbolic
from gmc.compiler.transforms.checks import amortized
from gmc.compiler.transforms.registry import TRANSFORMS


def owner(model: ir.Model, factor: ir.Factor) -> ir.Factor:
    """The factor whose layers ``factor`` uses: itself, or for a renamed flow
    (``q(z|w) = q(z|x)[x -> w]``) the flow it was renamed from, which it shares them with."""
    while factor.renamed_from is not None:
        factor = model.factors[factor.renamed_from[0]]
    return factor


def layer_attribute(model: ir.Model, factor: ir.Factor) -> str:
    """The module attribute holding a flow factor's learned layers."""
    return flow_attribute(owner(model, factor).signature)


def learned(factor: ir.Factor) -> list[ir.Transform]:
    """The transforms with a runtime module (parameters or a conditioner), in flow order;
    a transform whose parameters are expressions (``Planar(u=..., w=..., b=...)``) has none."""
    return [t for t in factor.flow if TRANSFORMS[t.kind].runtime_kind is not None and not amortized(t)]


def init_lines(model: ir.Model) -> list[str]:
    """``__init__`` statements building each flow factor's layers."""
    out = []
    for factor in model.factors.values():
        layers = learned(factor)
        if not layers or factor.renamed_from is not None:
            continue
        shape = model.vars[factor.outputs[0]].type.shape
        specs = tuple((TRANSFORMS[t.kind].runtime_kind, _runtime_options(t)) for t in layers)
        out.append(f"self.{layer_attribute(model, factor)} = rt.flow_layers({text.literal(shape)}, {text.literal(specs)})")
    return out


def _runtime_options(t: ir.Transform) -> dict:
    options = {k: v for k, v in t.options if not isinstance(v, ir.Expr)}
    if "hidden" in options:
        options["hidden"] = (options.pop("hidden"),) * options.pop("depth")
    return {k: v for k, v in options.items() if v is not None}


def _layer_refs(model: ir.Model, factor: ir.Factor) -> dict[int, str]:
    """Position in the flow -> code of that transform's runtime module."""
    refs, j = {}, 0
    for i, t in enumerate(factor.flow):
        if TRANSFORMS[t.kind].runtime_kind is not None and not amortized(t):
            refs[i] = f"self.{layer_attribute(model, factor)}[{j}]"
            j += 1
    return refs


def _elementwise(t: ir.Transform, module: str | None):
    derived = symbolic.derive(t.kind)
    params = (f"{module}.loc", f"{module}.log_scale") if t.kind == "Affine" else (None, None)
    return (lambda expr, value: symbolic.code(expr, value, *params)), derived


def _event_sum(emitter, code: str, value: str, var: ir.Var) -> str:
    """A per-element log-determinant summed over the event (broadcast to the value's shape first
    when it does not depend on it, as Affine's log_scale)."""
    if value not in code:
        code = f"({code}) + torch.zeros_like({value})"
    rank = len(var.type.shape)
    if not rank:
        return code
    dims = "-1" if rank == 1 else "(" + ", ".join(str(-i) for i in range(rank, 0, -1)) + ")"
    return f"({code}).sum({dims})"


def sample(emitter, leaf: ir.Factor, env, base_code: str) -> str:
    """Emit a draw of the flow ``leaf`` from its base sampler's code; returns the draw's name.

    The draw's log-density is not computed here (a ``sample_`` method never needs it): the
    names it needs are recorded, and :func:`log_density` emits it from them when a loss asks
    for log ``leaf`` at this very draw."""
    fb = emitter.fb
    var = emitter.model.vars[leaf.outputs[0]]
    value = fb.assign(f"{var.name}_0", base_code, leaf.span, "base draw of the flow")
    base, log_dets = value, []
    refs = _layer_refs(emitter.model, leaf)
    for i, t in enumerate(leaf.flow):
        target = var.name if i == len(leaf.flow) - 1 else f"{var.name}_{i + 1}"
        if amortized(t):
            args = ", ".join(emitter.value(e, env)[0] for _, e in t.options)
            out, log_det = fb.ns.fresh(target), fb.ns.fresh(f"log_det_{i + 1}")
            fb.emit(f"{out}, {log_det} = rt.{TRANSFORMS[t.kind].runtime_kind}({value}, {args})  "
                    f"# {text.comment(TRANSFORMS[t.kind].reference)}, amortized")
            log_dets.append((log_det, None))
        elif i in refs and TRANSFORMS[t.kind].permutation:  # log |det| = 0: nothing to accumulate
            out = fb.ns.fresh(target)
            fb.emit(f"{out} = {TRANSFORMS[t.kind].permutation.format(value)}  # {text.comment(TRANSFORMS[t.kind].reference)}")
        elif i in refs and not TRANSFORMS[t.kind].elementwise:
            out, log_det = fb.ns.fresh(target), fb.ns.fresh(f"log_det_{i + 1}")
            fb.emit(f"{out}, {log_det} = {refs[i]}({value})  # {text.comment(TRANSFORMS[t.kind].reference)}")
            log_dets.append((log_det, None))
        else:
            printed, derived = _elementwise(t, refs.get(i))
            log_dets.append((_event_sum(emitter, printed(derived.log_det, value), value, var), t.kind))
            out = fb.assign(target, printed(derived.forward, value))
        value = out
    bound = env.bind(var.name, value, env.particles is not None)
    fb.memo[("flow_draw", leaf.signature, bound.key(leaf.variables))] = (base, tuple(log_dets))
    return value


def _log_density_of_draw(emitter, leaf: ir.Factor, env, draw) -> tuple[str, str]:
    """log q(z_K) = log q0(z_0) - sum_k log |det dz_k/dz_{k-1}| from a recorded draw."""
    base, log_dets = draw
    terms = [emitter.leaf_log_density(leaf, base, env)[0]]
    for i, (code, elementwise) in enumerate(log_dets):
        terms.append(code if elementwise is None else emitter.fb.assign(
            f"log_det_{i + 1}", code, comment=f"{elementwise}: log |dy/dx| derived by sympy"))
    return " - ".join(terms), "flow: base log-density minus the log-determinants (Rezende & Mohamed 2015, eq. 13)"


def log_density(emitter, leaf: ir.Factor, env) -> tuple[str, str]:
    """Code of log ``leaf`` at the values bound in ``env`` and a comment: from the draw's own
    log-determinants when the value is a draw of this flow, else through the inverse."""
    draw = emitter.fb.memo.get(("flow_draw", leaf.signature, env.key(leaf.variables)))
    if draw is not None:
        return _log_density_of_draw(emitter, leaf, env, draw)
    fb = emitter.fb
    var = emitter.model.vars[leaf.outputs[0]]
    value = env.name(var.name)
    refs = _layer_refs(emitter.model, leaf)
    terms = []
    for i in range(len(leaf.flow) - 1, -1, -1):
        t = leaf.flow[i]
        if i in refs and not TRANSFORMS[t.kind].elementwise:
            before, log_det = fb.ns.fresh(f"{var.name}_{i}"), fb.ns.fresh(f"log_det_inverse_{i + 1}")
            fb.emit(f"{before}, {log_det} = {refs[i]}.inverse({value})  # {text.comment(TRANSFORMS[t.kind].reference)}",
                    leaf.span)
            terms.append(f" + {log_det}")
        else:
            printed, derived = _elementwise(t, refs.get(i))
            before = fb.assign(f"{var.name}_{i}", printed(derived.inverse, value), leaf.span)
            log_det = fb.assign(f"log_det_{i + 1}", _event_sum(emitter, printed(derived.log_det, before), before, var),
                                comment=f"{t.kind}: log |dy/dx| derived by sympy, at the pre-image")
            terms.append(f" - {log_det}")
        value = before
    base, _ = emitter.leaf_log_density(leaf, value, env)
    return base + "".join(reversed(terms)), "flow scored through its inverse (change of variables)"


def base_kl(emitter, e: ir.FlowBaseKL, env) -> str:
    """Name of KL[q0 || p] in closed form, q0 the base distribution of the flow ``e.first``
    (its family and parameters are the factor's own), p = ``e.second``; one value per example."""

    q, p = emitter.model.factors[e.first], emitter.model.factors[e.second]
    key = ("flow_base_kl", e.first, e.second, env.key(q.given + p.given))
    if key in emitter.fb.memo:
        return emitter.fb.memo[key]
    derivation = closed_forms.kl(q.family, emitter.params(q, env), p.family, emitter.params(p, env))
    code = emitter.event_sum(derivation.expr, q.outputs[0], env, q.family)
    if emitter._batch_free((e.first, e.second), env):  # a learned (not amortized) base: spread over the batch
        code = f"({code}).expand({emitter.sample_shape(env)})"
    name = emitter.fb.assign(f"kl_base_{e.first.split('(')[0]}", code, e.span,
                             f"closed form of the flow's base: {derivation.reference}")
    emitter.fb.memo[key] = name
    return name


def residual(emitter, e: ir.FlowResidual, env) -> str:
    """Name of log p(z_K) - log p(z_0) + sum_k log |det dz_k/dz_(k-1)| at the draw of the flow
    ``e.first`` bound in ``env`` (the ELBO rewrite puts it inside the expectation over that flow)."""
    flow, prior = emitter.model.factors[e.first], emitter.model.factors[e.second]
    draw = emitter.fb.memo.get(("flow_draw", flow.signature, env.key(flow.variables)))
    if draw is None:
        raise AssertionError(f"{e.first}: a flow residual outside the expectation over the flow")
    base, log_dets = draw
    fb = emitter.fb
    # log p(z_K) - log p(z_0) as one sympy expression: the normalizing constants cancel
    params, var = emitter.params(prior, env), prior.outputs[0]
    at_k, _ = closed_forms.log_density(prior.family, sp.Symbol(env.name(var)), params)
    at_0, _ = closed_forms.log_density(prior.family, sp.Symbol(base), params)
    terms = [emitter.event_sum(sp.factor_terms(sp.expand(at_k - at_0)), var, env, prior.family)]
    terms += [code if kind is None else fb.assign(f"log_det_{i + 1}", code, comment=f"{kind}: log |dy/dx| derived by sympy")
              for i, (code, kind) in enumerate(log_dets)]
    return fb.assign("flow_residual", " + ".join(terms), e.span,
                     "log p(z_K) - log p(z_0) + sum of log-determinants (the base's KL is closed form)")


#: Code of the flow ELBO's terms (:mod:`gmc.compiler.rewrites.elbo`), by IR node.
ELBO_TERMS = {ir.FlowBaseKL: base_kl, ir.FlowResidual: residual}
