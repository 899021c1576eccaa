"""Markov chains written factor by factor, recognised and emitted as one batched log-density.

A product such as

    p(x0) = Normal(0, 1)
    p(x1|x0) = Normal(x0, 1)   ...   p(x999|x998) = Normal(x998, 1)
    p(x0,...,x999) = p(x999|x998) ... p(x1|x0) p(x0)

holds a *run*: leaves ``p(v_k | v_{k-1})``, k = 1 .. m, of one family whose parameters are
the same expression of the previous variable (``v_{k-1}`` substituted for ``v_0``), so that
log p(v_1..v_m | v_0) = sum_k log f(v_k; theta(v_{k-1})) is one element-wise density over
the whole run. It is emitted as

    x0_chain = torch.stack((x0, x1, ..., x999))           # [m + 1, *batch, *event], one copy
    log_x1_chain = (<log f at x0_chain[1:] given x0_chain[:-1]>).sum(0)     # [*batch]

the values stacked once (on a new *leading* axis: each input is one contiguous block of the
result, about 3x cheaper than stacking on a last axis) and the previous values read as a view
of the same tensor, instead of m copies of the term (or two stacks, values and previous
values, as :mod:`gmc.compiler.codegen.vectorize` would group them). The first factor ``p(v_0)``
is emitted as written. The terms are the ones the straight-line code computes, summed in
another order (floating-point rounding may differ in the last bits).

Interface: :func:`find_runs` recognises the runs of a product's leaves (IR only, no code;
:func:`product_runs` caches it per model and product); :func:`log_prob` emits one run's
log-density. :func:`gmc.compiler.codegen.vectorize.product_parts` calls both and leaves every
leaf outside a run to its grouping or to straight-line code.

A leaf may join a run when its family's log-density is element-wise (event rank 0, support
independent of the parameters, not a flow), it has one output, and its parameters hold only
constants, params, weights, element-wise functions and arithmetic of its variables (no nets:
a net's input axes are fixed); variables other than the previous one are shared by the whole
run. No variable of a run may carry particles (IWAE's leading K axis): such products keep the
grouped form.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from gmc.compiler import ir, symbolic
from gmc.compiler.renaming import rename_expr
from gmc.dsl.ast import NO_SPAN

#: Shortest run worth the stacked form (the straight-line code is as fast below it).
MIN_RUN = 8

_PREVIOUS = "\x00previous"  # a name no variable can have: the previous variable, in run keys
_ALLOWED = (ir.Num, ir.ConstRef, ir.ParamRef, ir.WeightRef, ir.VarRef, ir.Apply, ir.BinOp, ir.Neg)


@dataclass(frozen=True)
class Run:
    """Leaves ``p(v_k | v_{k-1}, shared)``, k = 1 .. m, in chain order; ``variables`` is
    (v_0, v_1, ..., v_m): the previous variable of the first leaf, then each leaf's output."""

    leaves: tuple[ir.Factor, ...]
    variables: tuple[str, ...]


def _previous(model: ir.Model, leaf: ir.Factor, uses: dict[str, int]) -> str | None:
    """The variable a leaf's output follows: its only given variable of the output's type,
    or, among several, the only one no other leaf is given (a variable every step reads,
    like a shared drift, is given to many)."""
    var_type = model.vars[leaf.outputs[0]].type
    same = [g for g in leaf.given if model.vars[g].type == var_type]
    if len(same) == 1:
        return same[0]
    once = [g for g in same if uses[g] == 1]
    return once[0] if len(once) == 1 else None


def _key(model: ir.Model, leaf: ir.Factor, previous: str, env) -> tuple | None:
    """Leaves of one run have equal keys: the family, the output's type and each parameter
    with the previous variable renamed to one placeholder; None when the leaf cannot join."""
    formulas = symbolic.FORMULAS.get(leaf.family)
    if (formulas is None or formulas.event_rank != 0 or formulas.bounds is not None or len(leaf.outputs) != 1
            or leaf.flow or set(leaf.variables) & env.particle_vars):
        return None
    for _, expr in leaf.params:
        if not all(isinstance(node, _ALLOWED) for node in ir.walk(expr)):
            return None
    mapping = {previous: (_PREVIOUS, NO_SPAN)}
    params = tuple((name, rename_expr(expr, mapping)) for name, expr in leaf.params)
    return (leaf.family, model.vars[leaf.outputs[0]].type, params)


def find_runs(model: ir.Model, leaves: list[ir.Factor], env) -> list[Run]:
    """The runs of at least :data:`MIN_RUN` leaves among ``leaves`` (a product's leaf
    factors), in the order of each run's first leaf in ``leaves``. Linear in the number of
    leaves. A variable two leaves follow (a branch) ends the run before it; a run never
    revisits a variable."""
    uses: dict[str, int] = {}  # variable -> how many leaves are given it
    for leaf in leaves:
        for g in leaf.given:
            uses[g] = uses.get(g, 0) + 1
    info: dict[str, tuple[ir.Factor, str, tuple, int]] = {}  # output -> (leaf, previous, key, position)
    interned: dict[tuple, tuple] = {}  # equal keys made one object: runs compare them with "is"
    for i, leaf in enumerate(leaves):
        if leaf.is_product or len(leaf.outputs) != 1:
            continue
        previous = _previous(model, leaf, uses)
        key = None if previous is None else _key(model, leaf, previous, env)
        if key is not None:
            info[leaf.outputs[0]] = (leaf, previous, interned.setdefault(key, key), i)
    followers: dict[str, list[str]] = {}
    for out, (_, previous, _, _) in info.items():
        followers.setdefault(previous, []).append(out)

    def link(prev: str) -> str | None:
        """The output following ``prev`` within the same run, if exactly one leaf follows it."""
        nxt = followers.get(prev, ())
        return nxt[0] if len(nxt) == 1 else None

    runs: list[tuple[int, Run]] = []  # (position of the run's first leaf in leaves, run)
    for out, (_, previous, key, _) in info.items():
        head = info.get(previous)
        if head is not None and head[2] is key and link(previous) == out:
            continue  # not a first leaf: it continues its previous variable's run
        chain, seen = [out], {previous, out}
        nxt = link(out)
        while nxt is not None and nxt not in seen and info[nxt][2] is key:
            chain.append(nxt)
            seen.add(nxt)
            nxt = link(nxt)
        if len(chain) >= MIN_RUN:
            first = min(info[v][3] for v in chain)
            runs.append((first, Run(tuple(info[v][0] for v in chain), (previous, *chain))))
    return [run for _, run in sorted(runs, key=lambda pair: pair[0])]


def product_runs(model: ir.Model, sig: str, env) -> list[Run]:
    """:func:`find_runs` of the product ``sig``'s leaves, computed once per model and product
    (a product is emitted in its log-density, its loss terms and their gradients' methods).
    Cached on the model object itself, so the cache lives exactly as long as the model."""
    cache = model.__dict__.setdefault("_markov_chain_runs", {})
    key = (sig, env.particle_vars)
    if key not in cache:
        leaves = ir.leaves(model, sig)
        cache[key] = find_runs(model, leaves, env) if len(leaves) >= MIN_RUN else []
    return cache[key]


def log_prob(emitter, run: Run, env, span) -> str:
    """Emit the run's log-density, ``[*batch]`` nats: sum over k of log p(v_k | v_{k-1}),
    with the values stacked once on a new leading axis. Returns the name of the result."""
    fb, first = emitter.fb, run.leaves[0]
    key = ("markov_chain", run.variables, env.key(run.variables))
    if key in fb.memo:
        return fb.memo[key]
    m = len(run.leaves)
    head = run.variables[0]
    stacked = fb.assign(f"{head}_chain", f"torch.stack(({', '.join(env.name(v) for v in run.variables)},))", span,
                        f"{head} .. {run.variables[-1]}: a Markov chain of {m} {first.family} factors")
    values = fb.assign(f"{first.outputs[0]}_chain", f"{stacked}[1:]", span)
    previous = fb.assign(f"{head}_chain_previous", f"{stacked}[:-1]", span)
    chain_env = env.bind_all(((head, previous, False), (first.outputs[0], values, False)))
    density, reference = symbolic.log_density(first.family, sp.Symbol(values), emitter.params(first, chain_env))
    if sp.Symbol(values) not in density.free_symbols:  # no family of the runs does this: kept safe
        terms = ", ".join(emitter.log_prob(leaf.signature, env) for leaf in run.leaves)
        return fb.assign(f"log_{first.outputs[0]}_chain", f"sum(({terms},))", span)
    # Numbers added to every term (-log(2 pi)/2) are added once, times the number of terms, and
    # a constant factor (-1/2) multiplies the [*batch] sum: two passes over [m, *batch] fewer.
    constant, varying = density.as_independent(*density.free_symbols, as_Add=True)
    factor, core = varying.as_coeff_Mul()
    shape = emitter.model.vars[first.outputs[0]].type.shape
    axes = "0" if not shape else "(" + ", ".join(["0"] + [str(-i) for i in range(len(shape), 0, -1)]) + ")"
    code = f"({symbolic.to_torch(core)}).sum({axes})"
    if factor != 1:
        code = f"{symbolic.to_torch(factor)} * {code}"
    if constant != 0:
        code = f"{code} + {m * emitter.model.vars[first.outputs[0]].type.size} * ({symbolic.to_torch(constant)})"
    name = fb.assign(f"log_{first.outputs[0]}_chain", code, span, f"{reference}, summed over the chain's {m} steps")
    fb.memo[key] = name
    return name
