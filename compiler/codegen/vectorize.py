"""Repeated structure in a product, vectorized: one stacked log-density instead of N copies.

A product such as the chain ``p(x_{N-1}|x_{N-2}) ... p(x1|x0) p(x0)`` has many leaves that
differ only in which variables they read: the same family, the same constant parameters,
and variables of one shape in the other parameters. Such a *group* is emitted as

    values = torch.stack((x1, x2, ...), -1)       # [*batch, *event, G]
    loc = torch.stack((x0, x1, ...), -1)
    log_group = (<the family's log-density of values given loc, ...>).sum((..., -1))

so the density is a handful of tensor operations on [batch, G] whatever G is, instead of G
copies of the same statements (and a G-term sum). The result is the same sum of the same
terms (reassociated: floating-point rounding may differ in the last bits).

Only families whose log-density is element-wise (event rank 0, no parameter-dependent
support) are grouped, and only groups of at least :data:`MIN_GROUP` leaves: small products,
like every VAE, keep their one-statement-per-factor code.
"""
from __future__ import annotations

import sympy as sp

from gmc.compiler import ir, symbolic
from gmc.compiler.codegen import markov_chain
from gmc.compiler.symbolic.functions import number
from gmc.compiler.types import constant_value

#: Smallest group worth a stacked form (below it, straight-line code is as fast and clearer).
MIN_GROUP = 8


def _param_kind(model: ir.Model, expr: ir.Expr, env, shape: tuple[int, ...]) -> tuple | None:
    """("const", value) or ("var", carries particles), or None when not groupable.

    A variable parameter must have the output's event shape: stacked on a new last axis,
    shapes that merely broadcast would no longer line up."""
    value = constant_value(expr)
    if value is not None:
        return ("const", value)
    if isinstance(expr, ir.VarRef) and model.vars[expr.name].type.shape == shape:
        return ("var", expr.name in env.particle_vars)
    return None


def group_key(model: ir.Model, leaf: ir.Factor, env) -> tuple | None:
    """Leaves with equal keys can share one stacked log-density; None: never grouped."""
    formulas = symbolic.FORMULAS.get(leaf.family)
    if (formulas is None or formulas.event_rank != 0 or formulas.bounds is not None or len(leaf.outputs) != 1
            or leaf.flow):
        return None
    out = leaf.outputs[0]
    shape = model.vars[out].type.shape
    kinds = []
    for pname, expr in leaf.params:
        kind = _param_kind(model, expr, env, shape)
        if kind is None:
            return None
        kinds.append((pname, kind))
    return (leaf.family, shape, out in env.particle_vars, tuple(kinds))


def product_parts(emitter, sig: str, env) -> list[str]:
    """Names of the terms whose sum is log ``sig``: one per group of repeated leaves, one
    per other leaf, in the order of each group's first leaf."""
    model = emitter.model
    leaves = ir.leaves(model, sig)
    runs = markov_chain.product_runs(model, sig, env)
    run_of = {leaf.signature: run for run in runs for leaf in run.leaves}
    groups: dict[object, list[ir.Factor]] = {}
    order: list[object] = []
    for i, leaf in enumerate(leaves):
        run = run_of.get(leaf.signature)
        if run is not None:  # a Markov chain: one stacked term for the whole run
            if run.leaves[0].signature not in groups:
                groups[run.leaves[0].signature] = [run]
                order.append(run.leaves[0].signature)
            continue
        key = group_key(model, leaf, env)
        key = key if key is not None else ("single", i)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(leaf)
    if not runs and all(len(g) < MIN_GROUP for g in groups.values()):  # the common case: as written
        return [emitter.log_prob(leaf.signature, env) for leaf in leaves]
    parts = []
    span = model.factors[sig].span
    for key in order:
        group = groups[key]
        if isinstance(group[0], markov_chain.Run):
            parts.append(markov_chain.log_prob(emitter, group[0], env, span))
        elif len(group) < MIN_GROUP:
            parts += [emitter.log_prob(leaf.signature, env) for leaf in group]
        else:
            parts.append(_stacked_log_prob(emitter, group, env, span))
    return parts


def _stack(names: list[str]) -> str:
    return f"torch.stack(({', '.join(names)}), -1)"


def _stacked_log_prob(emitter, group: list[ir.Factor], env, span) -> str:
    fb, first = emitter.fb, group[0]
    key = ("stacked_log_prob", tuple(leaf.signature for leaf in group), env.key(
        tuple(v for leaf in group for v in leaf.variables)))
    if key in fb.memo:
        return fb.memo[key]
    values = fb.assign(f"{first.name}_values", _stack([env.name(leaf.outputs[0]) for leaf in group]), span,
                       f"{len(group)} {first.family} factors, stacked on a last axis")
    params = {}
    for j, (pname, expr) in enumerate(first.params):
        value = constant_value(expr)
        if value is not None:
            params[pname] = number(value)
        else:
            names = [env.name(leaf.params[j][1].name) for leaf in group]
            params[pname] = sp.Symbol(fb.assign(f"{first.name}_{pname}s", _stack(names), span))
    density = symbolic.log_density_code(first.family, sp.Symbol(values), params)
    rank = len(emitter.model.vars[first.outputs[0]].type.shape)
    dims = "-1" if rank == 0 else "(" + ", ".join(str(-i) for i in range(rank + 1, 0, -1)) + ")"
    name = fb.assign(f"log_{first.name}_group", f"({density.code}).sum({dims})", span,
                     f"{density.reference}, summed over the {len(group)} factors")
    fb.memo[key] = name
    return name
