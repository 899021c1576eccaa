"""Recurrent sequences: deterministic state through time and products over it (VRNN).

A *recurrence* defines every step of a deterministic sequence from earlier steps, as a paper
writes the state of a recurrent net (Chung et al. 2015, eq. 7, h_t = f(x_t, z_t, h_{t-1})):

    var h[T]: real[H]
    net cell(h, x, z) -> real[H] = GRU()
    h[t] = cell(h[t-1], x[t], z[t])          # h[-1] = 0

Step factors may condition on a recurrent state (``p(z[t]|h[t-1])``); its step -1 is the
zero vector, so such a factor holds at every step 0 .. T-1. A product of step factors that
reads recurrent states is a :class:`RecurrentProduct` (stored with the other products over
time in ``model.step_products``, so LaTeX, ``gmc info`` and the checks of step products apply):

    p(x,z) = p(z[t]|h[t-1]) p(x[t]|z[t],h[t-1])    # prod_t p(z_t|h_{t-1}) p(x_t|z_t,h_{t-1})
    q(z|x) = q(z[t]|x[t],h[t-1])                    # prod_t q(z_t|x_t,h_{t-1})

Its log-density, draws, and ``elbo``/``iwae`` of a pair of them are computed by one loop over
time (:mod:`gmc.compiler.codegen.recurrent`).

Rules (each a located error): a recurrence defines step t (``h[t] = ...``) of a ``real``
sequence, from the current step of other sequences and the previous step of recurrent states
(``sequence_unsupported`` otherwise); ``h[t]`` reading ``h[t]`` is ``sequence_recursion``, a
future step ``sequence_future_step``, sequences of other lengths
``sequence_length_mismatch``; a sequence defined both by a recurrence and by a step factor is
``conflict``. Within one step, factors and recurrences are acyclic (``sequence_recursion``
names the cycle, e.g. ``z[t] -> h[t] -> z[t]``). No torch here (``gmc check`` uses it).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from gmc.compiler import diagnostics as diag
from gmc.compiler import ir
from gmc.compiler.sequences import Step, StepProduct, _INDEX, _cycle, _lag, _same_length, _sequence, slot_name
from gmc.dsl import ast
from gmc.dsl.ast import NO_SPAN, Span

#: The built-in recurrent cells a net may be declared as (``net cell(h, x) -> real[H] = GRU()``).
CELLS = ("GRU", "LSTM")


@dataclass(frozen=True)
class Recurrence:
    """``h[t] = expr``: ``expr`` reads slots (``h__lag1`` for h[t-1], ``x`` for x[t]);
    ``slots`` lists (slot, sequence, lag) for each step it reads."""

    var: str
    expr: ir.Expr
    slots: tuple[tuple[str, str, int], ...]
    span: Span = NO_SPAN

    @property
    def text(self) -> str:
        return f"{self.var}[t]"


@dataclass(frozen=True)
class RecurrentProduct(StepProduct):
    """A product over time of step factors that read recurrent states: ``given`` the
    sequences it is conditioned on, ``states`` the recurrent states its loop carries, and
    ``plan`` the same-step order of its parts, each ("factor", step signature) or
    ("state", recurrent sequence)."""

    given: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    plan: tuple[tuple[str, str], ...] = ()


def _indexed(e) -> list[ast.Indexed]:
    """Every ``v[...]`` inside an AST expression, in source order."""
    out = []
    if isinstance(e, ast.Indexed):
        return [e]
    if dataclasses.is_dataclass(e):
        for f in dataclasses.fields(e):
            if f.name != "span":
                out += _indexed(getattr(e, f.name))
    elif isinstance(e, (tuple, list)):
        for item in e:
            out += _indexed(item)
    return out


def recurrent_names(statements) -> set[str]:
    """The sequences some ``v[t] = ...`` defines."""
    return {s.target.id for s in statements if isinstance(s, ast.RecurrenceDef)}


def lower_recurrence(lowering, s: ast.RecurrenceDef) -> None:
    """``h[t] = expr`` into ``model.recurrences``."""
    from gmc.compiler.lower import _Scope

    model = lowering.model
    target = s.target
    seq = _sequence(lowering, target)
    if seq is None:
        return
    m = _INDEX.match(target.index)
    if m is None or m["name"] is None or m["sign"] is not None:
        lowering.error(diag.sequence_unsupported(target.span, f"The definition {target.text} = ...",
                                                 f"a recurrence defines step t, as {target.id}[t] = "
                                                 f"cell({target.id}[t-1], ...)"))
        return
    if seq.step.support != "real":
        lowering.error(diag.sequence_unsupported(target.span, f"The recurrence {target.text} = ...",
                                                 f"a recurrent state is real, and '{seq.name}' is "
                                                 f"{seq.step.support}"))
        return
    text = f"{target.id}[t]"
    letter = [m["name"]]
    recurrent = recurrent_names(lowering.program.statements)
    slots, items = [], [(target, seq)]
    for n in _indexed(s.value):
        other = _sequence(lowering, n)
        lag = _lag(lowering, n, text, letter)
        if other is None or lag is None:
            return
        if lag == 0 and other.name == seq.name:
            lowering.error(diag.sequence_recursion(n.span, f"{text} depends on {n.text}"))
            return
        if lag == -1 or lag > 1 or (lag == 1 and other.name not in recurrent):
            lowering.error(diag.sequence_unsupported(
                n.span, f"Reading {n.text} in {text} = ...",
                "a recurrence reads the current step of sequences and the previous step t-1 of recurrent states"))
            return
        slots.append((slot_name(other.name, lag), other.name, lag))
        items.append((n, other))
    if not _same_length(lowering, items, s.span):
        return
    if not lowering.claim("factor", text, target.span):
        return
    slots = tuple(dict.fromkeys(slots))
    scope_slots = {n.text: slot_name(q.name, _lag_of(n)) for n, q in items[1:]}
    lowering.step_scope = (scope_slots, letter[0])
    try:
        value = lowering.expr(s.value, _Scope(tuple(sl for sl, _, _ in slots), (seq.name,), text))
    finally:
        lowering.step_scope = None
    if value is not None:
        model.recurrences[seq.name] = Recurrence(seq.name, value, slots, s.span)


def _lag_of(n: ast.Indexed) -> int:
    m = _INDEX.match(n.index)
    return int(m["k"]) if m and m["sign"] == "-" else 0


def lower_cell(lowering, s: ast.NetDecl) -> str | None:
    """``net cell(h, x, ...) -> real[H] = GRU()`` (or ``LSTM()``): the cell's name, or None
    with a located error. The first input is the previous state; a GRU's state is real[H]
    (Cho et al. 2014), an LSTM's the pair (h, c) held as real[2 S] (Hochreiter & Schmidhuber
    1997), and the net's one output is the next state of the same type."""
    body = s.body
    if body.args or body.keywords or body.given is not None:
        lowering.error(diag.bad_recurrent_cell(body.span, s.name, body.func,
                                               f"{body.func}() takes no arguments: its size is the state's"))
        return None
    if s.named_outputs or len(s.outputs) != 1:
        lowering.error(diag.bad_recurrent_cell(s.span, s.name, body.func, "a cell has one output, the next state"))
        return None
    out = lowering.type_of(s.outputs[0].type)
    if out is None:
        return None
    if out.support != "real" or len(out.shape) != 1 or (body.func == "LSTM" and out.shape[0] % 2):
        want = "real[2*S] (the pair h, c of size S)" if body.func == "LSTM" else "real[H]"
        lowering.error(diag.bad_recurrent_cell(s.outputs[0].type.span, s.name, body.func,
                                               f"its output, the next state, must be {want}"))
        return None
    first = s.inputs[0] if s.inputs else None
    var = first.id if first is not None else None
    step = lowering.model.sequences[var].step if var in lowering.model.sequences else (
        lowering.model.vars[var].type if var in lowering.model.vars else None)
    if step is None or step != out or len(s.inputs) < 2:
        lowering.error(diag.bad_recurrent_cell(s.span, s.name, body.func,
                                               "its first input is the previous state, of the output's type, "
                                               "and at least one input follows it"))
        return None
    return body.func


def net_input_shape(model: ir.Model, var: str) -> tuple[int, ...]:
    """The event shape a net input takes: one step of a sequence, else the variable's."""
    seq = model.sequences.get(var)
    return seq.step.shape if seq is not None else model.vars[var].type.shape


# ---- products over time that read recurrent states ---------------------------------------

def reads_state(model: ir.Model, refs) -> bool:
    """True when a step factor among ``refs`` ((call, Step) pairs) reads a recurrent state."""
    return any(seq in model.recurrences for _, step in refs for _, seq, _ in step.slots)


def _node_needs(model: ir.Model, kind: str, key: str) -> tuple[set[str], str | None]:
    """(sequences read at the current step, sequence defined) by one part of a step."""
    if kind == "state":
        rec = model.recurrences[key]
        return {seq for _, seq, lag in rec.slots if lag == 0}, key
    step: Step = model.steps[key]
    f = step.factor
    return {seq for slot, seq, lag in step.slots if lag == 0 and slot in f.given}, step.factor.outputs[0]


def same_step_order(model: ir.Model, nodes, defined) -> list[tuple[str, str]] | None:
    """``nodes`` ((kind, key), each needing what it reads at step t defined first) in an
    order that respects that, starting from ``defined``; None when they are cyclic."""
    done, order, pending = set(defined), [], list(nodes)
    while pending:
        ready = next((n for n in pending if _node_needs(model, *n)[0] <= done), None)
        if ready is None:
            return None
        order.append(ready)
        done.add(_node_needs(model, *ready)[1])
        pending.remove(ready)
    return order


def product_structure(lowering, s: ast.FactorDef, text: str, refs) -> RecurrentProduct | None:
    """``p(x,z) = p(z[t]|h[t-1]) p(x[t]|z[t],h[t-1])``: the structure of a product over time
    whose step factors read recurrent states; None with a located error."""
    model = lowering.model
    bad = lambda reason: lowering.error(diag.sequence_unsupported(s.span, f"The product {text}", reason))  # noqa: E731
    steps = [step for _, step in refs]
    outputs = tuple(n.id for n in s.signature.outputs)
    given = tuple(n.id for n in s.signature.given)
    if s.marginalized or any(st.initial for st in steps):
        bad("a product over recurrent states multiplies factors of step t only, and sums out nothing")
        return None
    defined = [st.factor.outputs[0] for st in steps]
    if sorted(defined) != sorted(set(defined)) or set(defined) != set(outputs):
        bad(f"each of {', '.join(outputs)} needs one factor of step t, and the signature lists exactly the "
            "sequences the product defines")
        return None
    if any(v in model.recurrences for v in outputs + given):
        bad("a recurrent state is computed, not listed in a signature")
        return None
    states: list[str] = []
    pending = [(seq, lag, st.signature) for st in steps for _, seq, lag in st.slots]
    while pending:
        seq, lag, who = pending.pop(0)
        if seq in model.recurrences:
            if seq not in states:
                states.append(seq)
                pending += [(q, lg, f"{seq}[t]") for _, q, lg in model.recurrences[seq].slots]
        elif lag != 0:
            bad(f"{who} reads an earlier step of '{seq}'; with recurrent states, earlier steps are read through "
                "them (h[t-1])")
            return None
        elif seq not in outputs + given:
            bad(f"{who} reads '{seq}', which the product neither defines nor is conditioned on")
            return None
    seqs = sorted({model.sequences[q] for st in steps for _, q, _ in st.slots} | {model.sequences[q] for q in states},
                  key=lambda q: list(model.sequences).index(q.name))
    if not _same_length(lowering, [(None, q) for q in seqs], s.span):
        return None
    nodes = [("factor", st.signature) for st in steps] + [("state", v) for v in states]
    order = same_step_order(model, nodes, given)
    if order is None:
        edges = set()
        for kind, key in nodes:
            needs, out = _node_needs(model, kind, key)
            edges |= {(n, out) for n in needs if n not in given}
        lowering.error(diag.sequence_recursion(s.span, " -> ".join(f"{v}[t]" for v in _cycle(edges))))
        return None
    return RecurrentProduct(text, outputs, (), tuple(k for kind, k in order if kind == "factor"),
                            seqs[0].length, s.span, given, tuple(states), tuple(order))


# ---- checks --------------------------------------------------------------------------------

def check_recurrences(model: ir.Model) -> list[diag.Diagnostic]:
    """A sequence defined twice (recurrence and step factor); the recurrences' shapes; and
    ``elbo``/``iwae`` over recurrent products pairing a model with its posterior."""
    from gmc.compiler.types import ShapeError, infer

    errors = []
    for var, rec in model.recurrences.items():
        other = next((st for st in model.steps.values() if st.factor.outputs[0] == var), None)
        if other is not None:
            errors.append(diag.conflict(rec.span, var, f"{var}[t] = ...", other.signature))
            continue
        step = recurrence_model(model)
        try:
            got = infer(step, rec.expr)
        except ShapeError as error:
            errors.append(diag.sequence_unsupported(rec.span, f"The recurrence {rec.text} = ...", str(error)))
            continue
        want = model.sequences[var].step
        if got.shape != want.shape:
            errors.append(diag.sequence_unsupported(
                rec.span, f"The recurrence {rec.text} = ...",
                f"its value has shape {list(got.shape)}, and a step of '{var}' {list(want.shape)}"))
    return errors


def functional_error(model: ir.Model, node: ir.Expr) -> diag.Diagnostic | None:
    """None when ``node`` is ``elbo``/``iwae`` of a recurrent model and its posterior that
    the time loop computes; else the reason it is not, as a located error."""
    if not isinstance(node, (ir.Elbo, ir.Iwae)):
        return diag.sequence_unsupported(node.span, "Using a product over time here",
                                         "it is used through log p(...), elbo(p, q) or iwae(p, q, k=K) only")
    p, q = model.step_products.get(node.joint), model.step_products.get(node.posterior)
    what = f"{type(node).__name__.lower()}({node.joint}, {node.posterior})"
    if not isinstance(p, RecurrentProduct) or not isinstance(q, RecurrentProduct):
        return diag.sequence_unsupported(node.span, what, "both are products over recurrent states")
    latent = set(q.outputs)
    if p.given or not latent < set(p.outputs) or set(q.given) != set(p.outputs) - latent:
        return diag.sequence_unsupported(node.span, what,
                                         f"{node.posterior} defines latent sequences of {node.joint} given the "
                                         "others")
    from gmc.compiler.families import FAMILIES

    if not all(FAMILIES[model.steps[s].factor.family].reparameterized for s in q.order):
        return diag.sequence_unsupported(node.span, what, "the posterior's step factors are reparameterized")
    return None


def loop_method(model: ir.Model, node: ir.Expr) -> str:
    """How ``gmc info`` describes ``elbo``/``iwae`` over recurrent products: one loop over
    time, and for the ELBO whether every step's KL[q || p] has a closed form (the derivation
    engine, asked as the code generator asks it, on the step model)."""
    if isinstance(node, ir.Iwae):
        return "one loop over time, monte-carlo"
    from gmc.compiler.info import closed_form

    q, p = model.step_products[node.posterior], model.step_products[node.joint]
    prior = {model.steps[s].factor.outputs[0]: s for s in p.order}
    steps = recurrence_model(model)
    closed = all(closed_form(steps, ir.KL(s, prior[model.steps[s].factor.outputs[0]])) for s in q.order)
    return "one loop over time, per-step KL closed-form" if closed else "one loop over time, monte-carlo"


def recurrence_model(model: ir.Model) -> ir.Model:
    """The step model (:func:`gmc.compiler.sequences.step_model`: every sequence at its step
    type, every slot a step factor or recurrence reads): what code of one step comes from."""
    from gmc.compiler.sequences import step_model

    return step_model(model)


def recurrence_latex(model: ir.Model, rec: Recurrence) -> str:
    """``h_t = \\mathrm{cell}(h_{t-1}, x_t, z_t)``."""
    from gmc.compiler import latex
    from gmc.compiler.renaming import rename_expr

    names = {slot: f"{seq}_{'t' if lag == 0 else f't-{lag}'}" for slot, seq, lag in rec.slots}
    expr = rename_expr(rec.expr, {k: (v, rec.expr.span) for k, v in names.items()})
    return f"{latex._var(rec.var + '_t')} = {latex.expr(model, expr)}"
