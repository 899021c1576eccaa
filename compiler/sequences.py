"""Sequences: variables indexed by time, step factors, and exact sums over discrete chains.

``var z[T]: categorical[K]`` declares a sequence of T steps, each a ``categorical[K]`` value; as
data or a draw it is a tensor ``[batch, T, *event]``. A *step factor* is written for one step t
and holds for every step where its indices exist:

    p(z[0]) = Categorical(logits=init_logits)                    # the first step
    p(z[t]|z[t-1]) = Categorical(logits=z[t-1] @ trans_logits)   # steps 1 .. T-1
    p(x[t]|z[t]) = Normal(loc=z[t] @ mu, scale=exp(z[t] @ log_sd))  # steps 0 .. T-1

and a *chain* multiplies step factors over all steps and sums the latent sequence out:

    p(x) = sum_{z} p(z[0]) p(z[t]|z[t-1]) p(x[t]|z[t])

which is a hidden Markov model; its log-density is computed exactly by the forward algorithm
(:mod:`gmc.compiler.codegen.forward_algorithm`) in O(T K^2), never by listing the K^T paths.

Rules (the checker's, each a located error): a factor depends on the current and earlier
steps only (``sequence_future_step``); within one step the factors are acyclic
(``sequence_recursion``: ``p(z[t]|z[t])``, or ``p(z[t]|x[t])`` with ``p(x[t]|z[t])``); the
sequences a factor or chain relates have one length (``sequence_length_mismatch``). A chain
is compiled when it has this form (else ``sequence_unsupported`` says what differs): one
latent sequence of ``categorical[K]`` steps with an initial factor ``p(z[0])``, a first-order
transition ``p(z[t]|z[t-1])`` and one or more emissions ``p(x[t]|z[t])`` of observed
sequences, none conditioned on anything else (weights, params and consts may appear in their
parameters). A chain is used through ``log p(x)`` in losses, ``log_prob``, ``sample`` and
``posterior_marginals`` (forward-backward).

Step factors live in ``model.steps`` (not ``model.factors``), with their variables renamed to
*slots*: ``z[t]`` is ``z``, ``z[t-k]`` is ``z__lag{k}``; :func:`step_model` gives the model in
which they are ordinary factors over per-step variables, so the usual checks and code
generation apply to them unchanged. No torch or sympy here (``gmc check`` uses it).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from gmc.compiler import diagnostics as diag
from gmc.compiler import ir
from gmc.dsl import ast
from gmc.dsl.ast import NO_SPAN, Span


@dataclass(frozen=True)
class Sequence:
    """A sequence variable: ``length`` steps, each of type ``step`` (the variable's own type
    in ``model.vars`` is ``[length, *step.shape]``)."""

    name: str
    length: int
    step: ir.Type
    span: Span = NO_SPAN


@dataclass(frozen=True)
class Step:
    """A step factor: ``factor`` over slot names; ``slots`` maps each slot to (sequence, lag),
    lag 0 the current step; ``initial`` for a factor of step 0 (``p(z[0])``)."""

    signature: str
    factor: ir.Factor
    slots: tuple[tuple[str, str, int], ...]
    initial: bool = False
    span: Span = NO_SPAN

    def lag(self, slot: str) -> int:
        return next(lag for s, _, lag in self.slots if s == slot)


@dataclass(frozen=True)
class Chain:
    """``p(x) = sum_{z} p(z[0]) p(z[t]|z[t-1]) p(x[t]|z[t])``: latent z, its initial and
    transition step factors, the emissions (step signatures) and the observed sequences."""

    signature: str
    latent: str
    initial: str
    transition: str
    emissions: tuple[str, ...]
    observed: tuple[str, ...]
    length: int
    span: Span = NO_SPAN


_INDEX = re.compile(r"^(?:(?P<fixed>\d+)|(?P<name>[A-Za-z_]\w*)(?:(?P<sign>[-+])(?P<k>\d+))?)$")


def slot_name(var: str, lag: int) -> str:
    """The slot of ``var[t - lag]``: the variable's own name for the current step."""
    return var if lag == 0 else f"{var}__lag{lag}"


def _seq_name(slot: str) -> str:
    return slot.split("__lag")[0]


def item_text(n: ast.Name) -> str:
    """``z`` or ``z[t-1]`` as written in a signature or factor reference."""
    return n.text if isinstance(n, ast.Indexed) else n.id


def is_step(s: ast.FactorDef) -> bool:
    sig = s.signature
    return any(isinstance(n, ast.Indexed) for n in sig.outputs + sig.given)


def is_chain(s: ast.FactorDef) -> bool:
    return not is_step(s) and any(isinstance(a, ast.Indexed) for t in s.terms for a in t.args + (t.given or ()))


def declare_sequence(lowering, s: ast.SequenceDecl) -> None:
    """``var z[T]: TYPE``: record the sequence and the variable ``z: TYPE[T, ...]``."""
    length = lowering.positive_int(s.length, "The length of a sequence")
    step = lowering.type_of(s.type)
    if length is None or step is None:
        return
    from gmc.dsl.limits import MAX_SIZE

    if length * step.size > MAX_SIZE:
        lowering.error(diag.size_too_large(s.span, "The number of elements of this sequence", length * step.size,
                                           MAX_SIZE))
        return
    model = lowering.model
    model.sequences[s.name] = Sequence(s.name, length, step, s.span)
    model.vars[s.name] = ir.Var(s.name, ir.Type(step.support, (length, *step.shape)), s.span)


def _lag(lowering, n: ast.Indexed, signature: str, letter: list) -> int | None:
    """The lag of ``n`` (0 for t, k for t-k, -1 for step 0); None with an error otherwise."""
    m = _INDEX.match(n.index)
    if m is None:
        return None
    if m["fixed"] is not None:
        if int(m["fixed"]) != 0:
            lowering.error(diag.sequence_unsupported(n.span, f"The fixed step {n.text}",
                                                     "only step 0 may be named, for the initial factor"))
            return None
        return -1
    if letter and letter[0] != m["name"]:
        lowering.error(diag.sequence_unsupported(n.span, f"The index '{m['name']}'",
                                                 f"a factor uses one time index, here '{letter[0]}'"))
        return None
    letter.append(m["name"])
    if m["sign"] == "+" and int(m["k"]) > 0:
        lowering.error(diag.sequence_future_step(n.span, n.text, signature))
        return None
    return int(m["k"]) if m["sign"] == "-" else 0


def _sequence(lowering, n: ast.Name) -> Sequence | None:
    var = lowering.variable(n)
    if var is None:
        return None
    seq = lowering.model.sequences.get(var)
    if seq is None:
        lowering.error(diag.sequence_unsupported(n.span, f"'{n.text if isinstance(n, ast.Indexed) else n.id}'",
                                                 f"'{var}' is not a sequence (declare it as var {var}[T]: ...)"))
    return seq


def _same_length(lowering, items, span: Span) -> bool:
    first = None
    for n, seq in items:
        if first is None:
            first = seq
        elif seq.length != first.length:
            lowering.error(diag.sequence_length_mismatch(span, first.name, first.length, seq.name, seq.length))
            return False
    return True


def lower_step(lowering, s: ast.FactorDef) -> None:
    """A step factor (its signature indexes a sequence) into ``model.steps``."""
    sig = s.signature
    text = f"{sig.name}(" + ",".join(map(item_text, sig.outputs)) + (
        "|" + ",".join(map(item_text, sig.given)) if sig.given else "") + ")"
    if len(sig.outputs) != 1 or not isinstance(sig.outputs[0], ast.Indexed):
        lowering.error(diag.sequence_unsupported(sig.span, f"The step factor {text}",
                                                 "it defines one step of one sequence, as p(z[t]|...)"))
        return
    if len(s.terms) != 1 or s.proportional or s.renames or s.marginalized:
        lowering.error(diag.sequence_unsupported(s.span, f"The step factor {text}",
                                                 "a step factor is one distribution"))
        return
    letter: list[str] = []
    slots, items = [], []
    for n in sig.outputs + sig.given:
        if not isinstance(n, ast.Indexed):
            lowering.error(diag.sequence_unsupported(n.span, f"Conditioning {text} on '{n.id}'",
                                                     "a step factor relates steps of sequences only"))
            return
        seq = _sequence(lowering, n)
        lag = _lag(lowering, n, text, letter)
        if seq is None or lag is None:
            return
        slots.append((n, seq, lag))
        items.append((n, seq))
    if not _same_length(lowering, items, sig.span):
        return
    out, out_seq, out_lag = slots[0]
    initial = out_lag == -1
    if initial and len(slots) > 1:
        lowering.error(diag.sequence_unsupported(sig.span, f"The step factor {text}",
                                                 "the initial factor p(z[0]) is conditioned on nothing"))
        return
    for n, seq, lag in slots[1:]:
        if lag == 0 and seq.name == out_seq.name:
            lowering.error(diag.sequence_recursion(n.span, f"{out.text} depends on {n.text}"))
            return
        if lag == -1:
            lowering.error(diag.sequence_unsupported(n.span, f"Conditioning on {n.text}",
                                                     "a factor of step t depends on steps t, t-1, ... only"))
            return
    outputs = (slot_name(out_seq.name, 0),)
    given = tuple(slot_name(seq.name, lag) for _, seq, lag in slots[1:])
    if len(set(given)) != len(given):
        lowering.error(diag.repeated_variable(sig.span, given[0], text))
        return
    taken = [g for g in given if g != slot_name(_seq_name(g), 0) and g in lowering.model.vars]
    if taken:  # the slot of an earlier step is named like a declared variable
        lowering.error(diag.sequence_unsupported(sig.span, f"The step factor {text}",
                                                 f"gmc names an earlier step '{taken[0]}', which is declared as a "
                                                 "variable; rename that variable"))
        return
    if not lowering.claim("factor", text, sig.span):
        return
    scope_slots = {item_text(n): slot_name(seq.name, max(lag, 0)) for n, seq, lag in slots}
    lowering.step_scope = (scope_slots, letter[0] if letter else None)
    try:
        factor = lowering.distribution(s.terms[0], sig.name, outputs, given, text, s.span)
    finally:
        lowering.step_scope = None
    if factor is not None:
        table = tuple((slot_name(seq.name, max(lag, 0)), seq.name, max(lag, 0)) for _, seq, lag in slots)
        lowering.model.steps[text] = Step(text, factor, table, initial, s.span)


def indexed_ref(lowering, e: ast.Indexed, scope) -> ir.Expr | None:
    """``z[t-1]`` inside a step factor's parameters: a reference to its slot."""
    state = getattr(lowering, "step_scope", None)
    if scope is None or state is None:
        lowering.error(diag.sequence_unsupported(e.span, f"The step {e.text}",
                                                 "steps are named inside step factors only; a loss reads "
                                                 "whole sequences"))
        return None
    slots, letter = state
    m = _INDEX.match(e.index)
    if m is not None and m["sign"] == "+" and int(m["k"]) > 0:
        lowering.error(diag.sequence_future_step(e.span, e.text, scope.signature))
        return None
    slot = slots.get(e.text)
    if slot is None or m is None or (m["name"] is not None and m["name"] != letter):
        lowering.error(diag.out_of_scope(e.span, e.text, scope.signature,
                                         [k for k, v in slots.items() if v in scope.given]))
        return None
    if slot in scope.outputs:
        lowering.error(diag.self_dependency(e.span, e.text, scope.signature))
        return None
    return ir.VarRef(slot, span=e.span)


def lower_chain(lowering, s: ast.FactorDef) -> None:
    """``p(x) = sum_{z} p(z[0]) p(z[t]|z[t-1]) p(x[t]|z[t])`` into ``model.factors`` (a marginal
    with no components) and ``model.chains`` (its structure)."""
    from gmc.compiler import recurrence

    model = lowering.model
    sig = s.signature
    text = ir.signature(sig.name, tuple(n.id for n in sig.outputs), tuple(n.id for n in sig.given))
    refs = []
    for call in s.terms:
        names = list(call.args) + list(call.given or ())
        if call.keywords or not all(isinstance(a, ast.Name) for a in names):
            lowering.error(diag.factor_arguments_must_be_variables(call.span))
            return
        ref = f"{call.func}(" + ",".join(map(item_text, call.args)) + (
            "|" + ",".join(map(item_text, call.given)) if call.given else "") + ")"
        if ref not in model.steps:
            if ref not in lowering.signature_set:
                lowering.error(diag.undefined_factor(call.span, ref, lowering.all_signatures))
            return  # a step factor that failed to lower: reported already
        refs.append((call, model.steps[ref]))
    if not lowering.claim("factor", text, sig.span):
        return
    if model.recurrences and recurrence.reads_state(model, refs):  # a VRNN's p(x,z), q(z|x)
        product = recurrence.product_structure(lowering, s, text, refs)
        if product is not None:
            model.step_products[text] = product
            model.factors[text] = ir.Factor(sig.name, product.outputs, product.given, span=s.span)
        return
    if not s.marginalized:
        product = _product_structure(lowering, s, text, refs)
        if product is not None:
            model.step_products[text] = product
            model.factors[text] = ir.Factor(sig.name, product.outputs, (), span=s.span)
        return
    chain = _chain_structure(lowering, s, text, refs)
    if chain is None:
        return
    model.chains[text] = chain
    model.factors[text] = ir.Factor(sig.name, tuple(n.id for n in sig.outputs), (), span=s.span,
                                    marginalized=(chain.latent,), marginal_kind="sum")


def _chain_structure(lowering, s: ast.FactorDef, text: str, refs) -> Chain | None:
    model = lowering.model
    bad = lambda reason: lowering.error(diag.sequence_unsupported(s.span, f"The chain {text}", reason))  # noqa: E731
    # Recursion through time: a cycle among the variables of one step (lag-0 edges).
    edges = {(g, step.factor.outputs[0]) for _, step in refs for g in step.factor.given
             if step.lag(g) == 0 and not step.initial}
    cycle = _cycle(edges)
    if cycle:
        lowering.error(diag.sequence_recursion(s.span, " -> ".join(f"{v}[t]" for v in cycle)))
        return None
    seqs = {model.sequences[seq] for _, step in refs for _, seq, _ in step.slots}
    items = sorted(seqs, key=lambda q: list(model.sequences).index(q.name))
    if not _same_length(lowering, [(None, q) for q in items], s.span):
        return None
    if s.marginal_kind != "sum" or len(s.marginalized) != 1:
        bad("a chain sums out one latent sequence, as sum_{z}")
        return None
    latent = s.marginalized[0].id
    seq = model.sequences.get(latent)
    if seq is None or seq.step.support != "categorical" or len(seq.step.shape) != 1:
        bad(f"the summed-out '{latent}' must be a sequence of categorical[K] steps")
        return None
    initial = [st for _, st in refs if st.factor.outputs[0] == latent and st.initial]
    transition = [st for _, st in refs if st.factor.outputs[0] == latent and not st.initial]
    emissions = [st for _, st in refs if st.factor.outputs[0] != latent]
    if len(initial) != 1 or len(transition) != 1:
        bad(f"it needs one initial factor p({latent}[0]) and one transition p({latent}[t]|{latent}[t-1])")
        return None
    if transition[0].factor.given != (slot_name(latent, 1),):
        bad(f"the transition must be conditioned on {latent}[t-1] only")
        return None
    observed = tuple(st.factor.outputs[0] for st in emissions)
    if not emissions or any(st.factor.given != (latent,) for st in emissions) or len(set(observed)) != len(observed):
        bad(f"each emission is p(x[t]|{latent}[t]), one per observed sequence")
        return None
    outputs = tuple(n.id for n in s.signature.outputs)
    if set(outputs) != set(observed) or s.signature.given:
        bad(f"its signature must list the observed sequences {', '.join(observed)} and nothing else")
        return None
    return Chain(text, latent, initial[0].signature, transition[0].signature,
                 tuple(st.signature for st in emissions), outputs, seq.length, s.span)


@dataclass(frozen=True)
class StepProduct:
    """``p(x) = p(x[0]) p(x[t]|x[t-1])``: a product of step factors over whole sequences, its
    log-density the sum over steps (one batched term per step factor), sampled step by step.
    ``order``: the step factors other than the initial ones, each after those it needs at the
    same step; ``initial``: the initial factors."""

    signature: str
    outputs: tuple[str, ...]
    initial: tuple[str, ...]
    order: tuple[str, ...]
    length: int
    span: Span = NO_SPAN


def _product_structure(lowering, s: ast.FactorDef, text: str, refs) -> StepProduct | None:
    model = lowering.model
    bad = lambda reason: lowering.error(diag.sequence_unsupported(s.span, f"The product {text}", reason))  # noqa: E731
    steps = [step for _, step in refs]
    edges = {(g, step.factor.outputs[0]) for step in steps for g in step.factor.given
             if step.lag(g) == 0 and not step.initial}
    cycle = _cycle(edges)
    if cycle:
        lowering.error(diag.sequence_recursion(s.span, " -> ".join(f"{v}[t]" for v in cycle)))
        return None
    seqs = sorted({model.sequences[seq] for step in steps for _, seq, _ in step.slots},
                  key=lambda q: list(model.sequences).index(q.name))
    if not _same_length(lowering, [(None, q) for q in seqs], s.span):
        return None
    outputs = tuple(n.id for n in s.signature.outputs)
    initial = [st for st in steps if st.initial]
    rest = [st for st in steps if not st.initial]
    defined = [st.factor.outputs[0] for st in rest]
    if (sorted(defined) != sorted(set(defined)) or set(defined) != set(outputs) or s.signature.given
            or any(i.factor.outputs[0] not in defined for i in initial)):
        bad(f"each of {', '.join(outputs)} needs one factor of step t, and the signature lists exactly the "
            "sequences the product defines")
        return None
    for st in rest:
        own = st.factor.outputs[0]
        own_lag = max((st.lag(g) for g in st.factor.given), default=0)  # 1: it holds from step 1 on
        starts = [i for i in initial if i.factor.outputs[0] == st.factor.outputs[0]]
        if any(_seq_of(st, g) not in outputs for g in st.factor.given):
            bad(f"{st.signature} is conditioned on a sequence the product does not define")
            return None
        if own_lag > 1:
            bad(f"{st.signature} looks back more than one step; a product of step factors is first-order")
            return None
        if own_lag == 1 and len(starts) != 1:
            bad(f"{st.signature} needs the first step p({st.factor.outputs[0]}[0])")
            return None
        if own_lag == 0 and starts:
            bad(f"{own} has a factor for every step, so p({own}[0]) defines its first step twice")
            return None
    order = _same_step_order(rest)
    return StepProduct(text, outputs, tuple(st.signature for st in initial), tuple(st.signature for st in order),
                       seqs[0].length if seqs else 0, s.span)


def _seq_of(step: Step, slot: str) -> str:
    return next(seq for s, seq, _ in step.slots if s == slot)


def _same_step_order(rest: list[Step]) -> list[Step]:
    """The step factors ordered so that each comes after the ones defining what it reads at the
    same step (the lag-0 edges are acyclic, checked before)."""
    done: set[str] = set()
    order, pending = [], list(rest)
    while pending:
        ready = next(st for st in pending
                     if all(st.lag(g) != 0 or _seq_of(st, g) in done for g in st.factor.given))
        order.append(ready)
        done.add(ready.factor.outputs[0])
        pending.remove(ready)
    return order


def _cycle(edges) -> list[str]:
    """The variables of a directed cycle among ``edges`` in a fixed order, or []."""
    succ: dict[str, list[str]] = {}
    for a, b in sorted(edges):
        succ.setdefault(a, []).append(b)
    for start in sorted(succ):
        path, seen = [start], {start}
        node = start
        while node in succ:
            node = succ[node][0]
            if node == start:
                return path + [start]
            if node in seen:
                break
            path.append(node)
            seen.add(node)
    return []


def step_model(model: ir.Model) -> ir.Model:
    """``model`` with per-step variables (each sequence's step type, one slot per lag used)
    and the step factors as its factors: what checks and code generation of steps work on."""
    variables = {name: v for name, v in model.vars.items() if name not in model.sequences}
    for step in model.steps.values():
        for slot, seq, _ in step.slots:
            s = model.sequences[seq]
            variables[slot] = ir.Var(slot, s.step, s.span)
    for name, seq in model.sequences.items():  # a net over a sequence takes one step of it
        variables.setdefault(name, ir.Var(name, seq.step, seq.span))
    for rec in model.recurrences.values():  # the slots h[t] = ... reads (gmc.compiler.recurrence)
        for slot, seq, _ in rec.slots:
            variables.setdefault(slot, ir.Var(slot, model.sequences[seq].step, model.sequences[seq].span))
    factors = {sig: step.factor for sig, step in model.steps.items()}
    return replace(model, vars=variables, factors=factors, losses={}, steps={}, chains={}, step_products={})


def check_sequences(model: ir.Model) -> list[diag.Diagnostic]:
    """Supports and shapes of the step factors (the usual rules, per step), and chains used
    only through ``log p(...)``."""
    from gmc.compiler import recurrence
    from gmc.compiler.checks import _check_distribution

    errors = []
    if model.steps:
        steps = step_model(model)
        for factor in steps.factors.values():
            errors += _check_distribution(steps, factor)
    for loss in model.losses.values():
        for node in ir.walk(loss.expr):
            sigs = [getattr(node, a, None) for a in ("factor", "first", "second", "joint", "posterior")]
            used = [s for s in sigs if isinstance(s, str) and (s in model.chains or s in model.step_products)]
            if used and not isinstance(node, ir.LogProb):
                if model.recurrences:  # elbo/iwae over a recurrent model (gmc.compiler.recurrence)
                    error = recurrence.functional_error(model, node)
                    errors += [error] if error is not None else []
                    continue
                errors.append(diag.sequence_unsupported(node.span, f"Using {used[0]} here",
                                                        "a product over time is used through log p(...) only"))
    if model.recurrences:
        errors += recurrence.check_recurrences(model)
    return errors


# ---- showing steps and chains (gmc latex, gmc info) --------------------------------------

def _step_names(step: Step) -> dict[str, str]:
    """slot -> its name in LaTeX (``z_t``, ``z_t-1``, ``z_0``; :func:`gmc.compiler.latex._var`
    subscripts what follows the first underscore)."""
    def index(lag: int) -> str:
        return "0" if step.initial else ("t" if lag == 0 else f"t-{lag}")
    return {slot: f"{seq}_{index(lag)}" for slot, seq, lag in step.slots}


def step_latex(model: ir.Model, step: Step) -> str:
    """``p(z_t | z_{t-1}) = Categorical(...)``: one step factor as one equation."""
    from gmc.compiler import latex
    from gmc.compiler.renaming import rename_expr

    names = _step_names(step)
    f = step.factor
    renamed = replace(f, outputs=tuple(names[v] for v in f.outputs), given=tuple(names[v] for v in f.given),
                      params=tuple((p, rename_expr(e, {k: (v, e.span) for k, v in names.items()}))
                                   for p, e in f.params))
    return f"{latex.factor(renamed.signature)} = {latex.definition(model, renamed)}"


def chain_latex(model: ir.Model, chain: Chain) -> str:
    """``\\sum_{z} p(z_0) \\prod_{t=1}^{T-1} p(z_t | z_{t-1}) \\prod_{t=0}^{T-1} p(x_t | z_t)``."""
    from gmc.compiler import latex

    def ref(sig: str) -> str:
        step = model.steps[sig]
        names = _step_names(step)
        f = step.factor
        return latex.factor(ir.signature(f.name, tuple(names[v] for v in f.outputs),
                                         tuple(names[v] for v in f.given)))
    last = chain.length - 1
    emissions = r"\,".join(ref(e) for e in chain.emissions)
    return (r"\sum_{" + latex._var(chain.latent) + "} " + ref(chain.initial)
            + rf"\,\prod_{{t=1}}^{{{last}}} " + ref(chain.transition)
            + rf"\,\prod_{{t=0}}^{{{last}}} "
            + (emissions if len(chain.emissions) == 1 else f"\\left({emissions}\\right)"))


def product_latex(model: ir.Model, product: StepProduct) -> str:
    """``p(x_0) \\prod_{t=1}^{T-1} p(x_t | x_{t-1}) ...``: each step factor over the steps it covers."""
    from gmc.compiler import latex

    last = product.length - 1
    parts = []
    for sig in (*product.initial, *product.order):
        step = model.steps[sig]
        names = _step_names(step)
        f = step.factor
        ref = latex.factor(ir.signature(f.name, tuple(names[v] for v in f.outputs), tuple(names[v] for v in f.given)))
        # a recurrent state's step -1 is its zero start (gmc.compiler.recurrence): no later first step
        first = max((step.lag(g) for g in f.given if _seq_of(step, g) not in model.recurrences), default=0)
        parts.append(ref if step.initial else rf"\prod_{{t={first}}}^{{{last}}} " + ref)
    return r"\,".join(parts)
