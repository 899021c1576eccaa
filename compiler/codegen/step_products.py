"""Code for products of step factors over whole sequences (gmc.compiler.sequences.StepProduct),
``p(x) = p(x[0]) p(x[t]|x[t-1])``: a Markov chain written once, for every step.

Log-density, vectorized over time: each step factor is emitted once with its slots bound to
slices of the sequences along the time axis (``x[t]`` to ``x.narrow(axis, 1, T - 1)``,
``x[t-1]`` to ``x.narrow(axis, 0, T - 1)``; time is a batch axis), and its [batch, T - L]
log-densities are summed over time; an initial factor reads ``x.select(axis, 0)``. So a
1,000-step chain is a few tensor operations, not 1,000 copies of a term.

Sampling is ancestral and needs the previous step, so it is one Python loop over time in the
generated method: step 0 straight-line (initial factors, then the factors of every step), then
``for t in rt.time_steps(1, T)`` with the step factors' sampling code in its body, then one
``torch.stack`` per sequence.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from gmc.compiler.codegen.env import Env
from gmc.compiler.recurrence import RecurrentProduct
from gmc.compiler.sequences import step_model

if TYPE_CHECKING:
    from gmc.compiler.codegen.emitter import Emitter

_INDENT = "    "


def _axis(model, var: str) -> int:
    """The time axis of a sequence's tensor, counted from the end (before its event axes)."""
    return -(len(model.sequences[var].step.shape) + 1)


def _max_lag(step) -> int:
    return max((step.lag(g) for g in step.factor.given), default=0)


def log_product(emitter: Emitter, sig: str, env: Env) -> str:
    """Code of log ``sig`` ([batch], nats): one batched term per step factor, summed over time."""
    model, fb = emitter.model, emitter.fb
    product = model.step_products[sig]
    if isinstance(product, RecurrentProduct):  # reads recurrent states: one loop over time
        from gmc.compiler.codegen import recurrent  # imports the emitter

        return recurrent.log_product(emitter, sig, env)
    steps = emitter.for_model(step_model(model))
    length = product.length
    parts = []
    for initial in product.initial:
        v = model.steps[initial].factor.outputs[0]
        first = fb.assign(f"{v}_first", f"{env.name(v)}.select({_axis(model, v)}, 0)", product.span,
                          f"step 0 of {v}")
        parts.append(steps.log_prob(initial, Env({v: first}, env.batch, env.ref)))
    for step_sig in product.order:
        step = model.steps[step_sig]
        lag = _max_lag(step)
        names = {}
        for slot, seq, slot_lag in step.slots:
            if lag == 0:
                names[slot] = env.name(seq)
            else:
                start = lag - slot_lag
                names[slot] = fb.assign(f"{seq}_from{start}",
                                        f"{env.name(seq)}.narrow({_axis(model, seq)}, {start}, {length - lag})",
                                        product.span, f"steps {start} .. {start + length - lag - 1} of {seq}")
        log = steps.log_prob(step_sig, Env(names, f"{env.batch} + ({length - lag},)", env.ref))
        parts.append(f"{log}.sum(-1)")
    return " + ".join(parts)


def sample_product(emitter: Emitter, sig: str, env: Env) -> Env:
    """Emit ancestral draws of every sequence of ``sig``; returns env with them bound."""
    model, fb = emitter.model, emitter.fb
    product = model.step_products[sig]
    if isinstance(product, RecurrentProduct):  # reads recurrent states: one loop over time
        from gmc.compiler.codegen import recurrent  # imports the emitter

        return recurrent.sample_product(emitter, sig, env)
    steps = emitter.for_model(step_model(model))
    for p in model.params:  # bound before the loop: the emitter inserts param bindings at the top
        steps.param(p)
    current: dict[str, str] = {}
    for initial in product.initial:
        leaf = steps.model.factors[initial]
        var, name = steps.sample_leaf(leaf, Env({}, env.batch, env.ref))
        current[var] = name
    for step_sig in product.order:  # step 0 of the sequences defined at every step
        step = model.steps[step_sig]
        if _max_lag(step) == 0:
            var, name = steps.sample_leaf(steps.model.factors[step_sig], Env(dict(current), env.batch, env.ref))
            current[var] = name
    lists = {v: fb.assign(f"{v}_steps", f"[{current[v]}]", product.span, f"the steps of {v}, in order")
             for v in product.outputs}
    before, memo = len(fb.lines), set(fb.memo)
    previous = dict(current)
    # The loop rebinds the previous step's names at the end of each step, so a value computed
    # before the loop from one of them (a net call, a parameter's code) is that of step 0 only:
    # inside the loop, and after it, it must be computed again, not found in the memo.
    _forget_entries_reading(fb.memo, {previous[v] for v in product.outputs})
    now: dict[str, str] = {}
    for step_sig in product.order:
        step = model.steps[step_sig]
        names = {slot: (now[seq] if lag == 0 else previous[seq])
                 for slot, seq, lag in step.slots if slot in step.factor.given}
        var, name = steps.sample_leaf(steps.model.factors[step_sig], Env(names, env.batch, env.ref))
        now[var] = name
    for v in product.outputs:
        fb.emit(f"{lists[v]}.append({now[v]})")
        if previous[v] != now[v]:
            fb.emit(f"{previous[v]} = {now[v]}")
    body = fb.lines[before:]
    del fb.lines[before:]
    for key in set(fb.memo) - memo:  # values of the loop body are not reused after it
        del fb.memo[key]
    step = fb.ns.fresh("t")  # a fresh name: '_' or 't' may be a user's variable, 'range' shadowed
    fb.emit(f"for {step} in rt.time_steps(1, {product.length}):")
    fb.lines += [_INDENT + line for line in body]
    bound = []
    for v in product.outputs:
        name = fb.assign(v, f"torch.stack({lists[v]}, dim={_axis(model, v)})", product.span,
                         f"[batch, {product.length}, ...]")
        bound.append((v, name, False))
    return env.bind_all(bound)


def _forget_entries_reading(memo: dict, names: set[str]) -> None:
    """Remove from ``memo`` the entries whose key mentions one of ``names`` (as a whole word
    anywhere in its strings: a variable's name, a net's argument, a code text)."""
    if not names:
        return
    word = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, sorted(names))) + r")(?![A-Za-z0-9_])")

    def mentions(key) -> bool:
        if isinstance(key, str):
            return word.search(key) is not None
        if isinstance(key, (tuple, list, frozenset, set)):
            return any(mentions(k) for k in key)
        return False

    for key in [k for k in memo if mentions(k)]:
        del memo[key]
