"""Every message gmc prints about a user's program, in one place.

A :class:`Diagnostic` is a located message; :class:`GmcError` carries one or more of them and
renders them in the style of the Stan compiler (stanc3): a header naming the file, line and
columns, the source lines with a caret under the span, a blank line, then the message and,
where one exists, a hint such as ``Did you mean 'enc'?``.

Each kind of error has exactly one constructor below; passes never format messages
themselves, so wording stays consistent and golden transcripts change in one file. Every
constructor stamps its own name on the diagnostic (``Diagnostic.kind``); :data:`KINDS` lists
them all, and ``tests/test_diagnostics.py`` checks each has a golden transcript.

Severity: a diagnostic whose phase is ``'Warning'`` does not stop compilation (unused
declarations); every other phase is an error.
"""
from __future__ import annotations

import difflib
import functools
import inspect
from dataclasses import dataclass, field, replace
from typing import Iterable

from gmc.dsl.ast import NO_SPAN, Span

_RULE = "   " + "-" * 49
_CONTEXT_LINES = 2


@dataclass(frozen=True)
class Diagnostic:
    """One located message. ``phase`` is 'Syntax error', 'Semantic error' or 'Warning'."""

    phase: str
    span: Span
    message: str
    hint: str | None = None
    kind: str = field(default="", compare=False)  # the constructor's name, e.g. 'undefined_name'

    @property
    def is_error(self) -> bool:
        return self.phase != "Warning"

    @property
    def severity(self) -> str:
        """'error' or 'warning'."""
        return "error" if self.is_error else "warning"

    def render(self, source: str, filename: str, source_lines: list[str] | None = None) -> str:
        """The full transcript of this diagnostic for ``source`` read from ``filename``
        (``source_lines``: ``source`` already split at newlines, when several are rendered)."""
        lines = [self._header(filename)]
        if self.span.line > 0:
            text = source.split("\n") if source_lines is None else source_lines
            lines += [_RULE, *_excerpt(text, self.span), _RULE, ""]
        lines.append(self.message)
        if self.hint:
            lines.append(self.hint)
        return "\n".join(lines)

    def _header(self, filename: str) -> str:
        where = f"{self.phase} in {filename!r}"  # repr: control characters in a file name stay inert
        s = self.span
        if s.line <= 0:
            return where + ":"
        if s.end_line != s.line:
            return f"{where}, line {s.line}, column {s.column} to line {s.end_line}, column {s.end_column}:"
        if s.end_column > s.column:
            return f"{where}, line {s.line}, column {s.column} to column {s.end_column}:"
        return f"{where}, line {s.line}, column {s.column}:"


#: Source lines longer than this are shown cut: the span's line as a window around the span.
_WIDE = 200


def _excerpt(text: list[str], span: Span) -> list[str]:
    """Numbered source lines up to the span's and a caret line; ``text`` is the source split at
    newlines only, as the lexer counts lines (splitlines also breaks at '\x85'). A line longer
    than ``_WIDE`` characters is cut with '...': the span's line around the span, the others
    at their end (a mutated file can hold a 40,000-character line, and 10,000 errors on it)."""
    first = max(1, span.line - _CONTEXT_LINES)
    last = min(len(text), span.line)
    width = len(str(last))
    line = text[span.line - 1] if text else ""
    start = 0
    if len(line) > _WIDE:
        start = max(0, min(span.column - 1 - _WIDE // 2, len(line) - _WIDE))
    out = []
    for number in range(first, last + 1):
        offset = start if number == span.line else 0
        full = text[number - 1]
        shown = ("..." if offset else "") + full[offset:offset + _WIDE] + ("..." if len(full) > offset + _WIDE else "")
        out.append(f"   {number:>{width}}:  {shown}".rstrip())
    end = span.end_column if span.end_line == span.line else len(line) if text else span.column
    carets = "^" * max(1, min(end, start + _WIDE) - span.column + 1)
    out.append(" " * (3 + width + 3 + span.column - 1 - start + (3 if start else 0)) + carets)
    return out


class GmcError(Exception):
    """A program gmc cannot compile, with every error found (warnings are kept alongside).

    Attributes: ``diagnostics`` (list of :class:`Diagnostic`), ``source`` and ``filename``.
    ``str(error)`` is the full transcript the command line prints.
    """

    def __init__(self, diagnostics: Iterable[Diagnostic], source: str = "", filename: str = "<string>"):
        self.diagnostics = list(diagnostics)
        self.source = source
        self.filename = filename
        super().__init__(self.render())

    def render(self) -> str:
        return render_all(self.diagnostics, self.source, self.filename)

    def __str__(self) -> str:
        return self.render()


#: At most this many diagnostics are shown; the rest are counted in one closing line.
MAX_SHOWN = 100


def render_all(diagnostics: Iterable[Diagnostic], source: str, filename: str) -> str:
    """The transcripts of several diagnostics, separated by blank lines (warnings included);
    past :data:`MAX_SHOWN`, a line saying how many more there are."""
    diagnostics = list(diagnostics)
    lines = source.split("\n")
    text = "\n\n".join(d.render(source, filename, lines) for d in diagnostics[:MAX_SHOWN])
    hidden = len(diagnostics) - MAX_SHOWN
    return text + (f"\n\n... and {hidden} more error{'s' if hidden > 1 else ''} not shown." if hidden > 0 else "")


def _did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    return _closest(name, tuple(sorted(set(candidates))))


@functools.lru_cache(maxsize=1024)
def _closest(name: str, candidates: tuple[str, ...]) -> str | None:
    """The did-you-mean hint, memoized: a file that repeats one mistake thousands of times
    asks the same question each time."""
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.5)
    return f"Did you mean '{close[0]}'?" if close else None


def _hint(name: str, candidates: list[str], listing: str) -> str:
    """Did-you-mean when a candidate is close, else ``listing: a, b, c.``"""
    return _did_you_mean(name, candidates) or f"{listing}: " + ", ".join(candidates) + "."


def _error(span: Span, message: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic("Semantic error", span, message, hint)


def _warning(span: Span, message: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic("Warning", span, message, hint)


def _shape(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


# ---- syntax ----------------------------------------------------------------------------

def syntax_error(span: Span, found: str, expected: Iterable[str]) -> Diagnostic:
    expected = sorted(set(expected))
    message = f"Ill-formed statement: unexpected {found}."
    hint = None
    if expected:
        shown = ", ".join(expected[:8]) + (", ..." if len(expected) > 8 else ".")
        hint = f"Expected one of: {shown}"
    return Diagnostic("Syntax error", span, message, hint)


def unexpected_character(span: Span, char: str) -> Diagnostic:
    return Diagnostic("Syntax error", span, f"Unexpected character {char!r}.")


def not_utf8(span: Span, byte: int) -> Diagnostic:
    return Diagnostic("Syntax error", span, f"The byte 0x{byte:02x} is not valid UTF-8.",
                      "Save the file as UTF-8.")


def unbalanced_bracket(span: Span, bracket: str) -> Diagnostic:
    return Diagnostic("Syntax error", span, f"This {bracket!r} is never closed.")


# ---- names -----------------------------------------------------------------------------

def undefined_name(span: Span, name: str, candidates: Iterable[str]) -> Diagnostic:
    return _error(span, f"Identifier '{name}' is not defined.", _did_you_mean(name, candidates))


def undefined_factor(span: Span, signature: str, defined: Iterable[str]) -> Diagnostic:
    defined = sorted(defined)
    hint = _did_you_mean(signature, defined)
    if hint is None and defined:
        hint = "Defined factors: " + ", ".join(defined) + "."
    return _error(span, f"Factor '{signature}' is not defined.", hint)


def duplicate_definition(span: Span, what: str, name: str, first_line: int) -> Diagnostic:
    return _error(span, f"The {what} '{name}' is already defined on line {first_line}.",
                  "Rename one of them, or remove this definition.")


def unknown_distribution(span: Span, name: str, known: Iterable[str]) -> Diagnostic:
    return _error(span, f"Unknown distribution '{name}'.", _hint(name, sorted(known), "Known distributions"))


def unknown_parameter(span: Span, family: str, name: str, accepted: Iterable[str]) -> Diagnostic:
    return _error(span, f"Distribution {family} has no parameter '{name}'.",
                  _hint(name, list(accepted), f"{family} takes"))


def unknown_function(span: Span, name: str, known: Iterable[str]) -> Diagnostic:
    return _error(span, f"Unknown function '{name}'.", _hint(name, sorted(set(known)), "Known functions"))


def unknown_support(span: Span, name: str, known: Iterable[str]) -> Diagnostic:
    return _error(span, f"Unknown support '{name}'.", _hint(name, list(known), "Supports"))


def unknown_net_output(span: Span, net: str, name: str, outputs: Iterable[str]) -> Diagnostic:
    outputs = list(outputs)
    if not outputs:
        return _error(span, f"Net '{net}' has a single unnamed output; use '{net}(...)' without '.{name}'.")
    return _error(span, f"Net '{net}' has no output '{name}'.", _hint(name, outputs, "Its outputs"))


def unknown_functional(span: Span, name: str) -> Diagnostic:
    return _error(span, f"Unknown functional '{name}[...]'.",
                  _did_you_mean(name, ["KL", "H", "CE"]) or "Functionals are KL[a || b], H[a] and CE[a || b].")


def unknown_net_body(span: Span, name: str) -> Diagnostic:
    return _error(span, f"Unknown built-in net '{name}'.",
                  _did_you_mean(name, ["MLP", "GRU", "LSTM"]) or "The built-in nets are MLP(hidden sizes...) and the "
                  "recurrent cells GRU() and LSTM(); "
                  "leave out '= ...' to pass your own module at construction.")


# ---- arity and form --------------------------------------------------------------------

def bad_arguments(span: Span, what: str, detail: str) -> Diagnostic:
    return _error(span, f"Wrong arguments to {what}: {detail}")


def missing_parameter(span: Span, family: str, options: str) -> Diagnostic:
    return _error(span, f"{family} needs {options}.")


def not_a_constant(span: Span, what: str) -> Diagnostic:
    return _error(span, f"{what} must be a compile-time constant: a number, a const or arithmetic of them.",
                  "Params and weights may change at run time; declare a fixed value with 'const NAME = VALUE'.")


def not_a_positive_integer(span: Span, what: str, value: object) -> Diagnostic:
    shown = f"{value:.6g}" if isinstance(value, float) else value
    return _error(span, f"{what} must be a positive integer, got {shown}.", "Use a whole number of at least 1.")


def not_a_variable(span: Span, name: str, kind: str) -> Diagnostic:
    return _error(span, f"'{name}' is a {kind}, but a random variable declared with 'var' is needed here.",
                  "Declare the variable with 'var NAME: TYPE', e.g. 'var z: real[8]'.")


def net_input_mismatch(span: Span, net: str, expected: int, got: int, inputs: Iterable[str] = ()) -> Diagnostic:
    inputs = list(inputs)
    return _error(span, f"Net '{net}' takes {expected} input(s) but is called with {got}.",
                  f"It is declared as {net}({', '.join(inputs)})." if inputs else None)


def net_needs_attribute(span: Span, net: str, outputs: Iterable[str]) -> Diagnostic:
    names = list(outputs)
    return _error(span, f"Net '{net}' has named outputs; pick one, e.g. '{net}(...).{names[0]}'.",
                  "Its outputs: " + ", ".join(names) + ".")


def not_a_factor_reference(span: Span, text: str) -> Diagnostic:
    return _error(span, f"Expected a factor such as p(x|z) here, found '{text}'.")


def factor_arguments_must_be_variables(span: Span) -> Diagnostic:
    return _error(span, "A factor's arguments must be variable names, as in p(x, z | y).")


def distribution_defines_one_variable(span: Span, signature: str, family: str) -> Diagnostic:
    return _error(span, f"'{signature}' lists several variables, but {family} defines one; "
                        "write a product of factors instead, as in p(x,z) = p(x|z) p(z).")


def loss_not_scalar(span: Span, name: str) -> Diagnostic:
    return _error(span, f"Loss '{name}' is one value per example; reduce it over the batch.",
                  "Wrap it in mean(...) or sum(...).")


def functional_over_different_variables(span: Span, functional: str, first: str, second: str) -> Diagnostic:
    return _error(span, f"{functional} compares distributions over different variables: '{first}' and '{second}'.",
                  "Both sides must be distributions over the same variables, as in KL[q(z|x) || p(z)].")


# ---- factorization ---------------------------------------------------------------------

def conflict(span: Span, variable: str, first: str, second: str) -> Diagnostic:
    return _error(span, f"Conflicting definitions of '{variable}': both {first} and {second} define it.",
                  "Each variable of a product must be defined by exactly one factor.")


def recursion(span: Span, cycle: list[tuple[str, str, str]]) -> Diagnostic:
    path = " -> ".join([cycle[0][0]] + [edge[1] for edge in cycle])
    why = "; ".join(f"{factor} defines '{out}' from '{given}'" for given, out, factor in cycle)
    return _error(span, f"The factorization is recursive: {path} ({why}).",
                  "A product of factors must be acyclic: order the variables so each depends only on earlier ones.")


def signature_mismatch(span: Span, signature: str, defines: str, needs: str) -> Diagnostic:
    return _error(span, f"The right side does not match '{signature}': it defines {defines} and is conditioned on {needs}.",
                  "List what the product defines before '|' and what it still needs after it.")


def out_of_scope(span: Span, variable: str, signature: str, given: Iterable[str]) -> Diagnostic:
    given = list(given)
    scope = ", ".join(f"'{g}'" for g in given) if given else "no variables"
    return _error(span, f"Variable '{variable}' is not in the conditioning set of {signature}, which has {scope}.",
                  _did_you_mean(variable, given) if given else None)


def self_dependency(span: Span, variable: str, signature: str) -> Diagnostic:
    return _error(span, f"{signature} defines '{variable}' in terms of itself.",
                  "Condition on another variable, or use a weight for a learned value.")


# ---- supports and shapes ---------------------------------------------------------------

def support_mismatch(span: Span, family: str, family_support: str, variable: str, declared: str) -> Diagnostic:
    return _error(span, f"{family} is a distribution over {family_support} values, but '{variable}' is declared {declared}.",
                  f"Declare '{variable}' as {family_support}[...] or pick a distribution over {declared} values.")


def parameter_support_mismatch(span: Span, family: str, parameter: str, needed: str, got: str) -> Diagnostic:
    return _error(span, f"Parameter '{parameter}' of {family} must be {needed}, but this expression is {got}.",
                  f"Declare the net output as {needed}[...], or transform it (e.g. softplus or exp for positive).")


def shape_mismatch(span: Span, what: str, got: tuple[int, ...], variable: str, expected: tuple[int, ...]) -> Diagnostic:
    return _error(span, f"Shape mismatch: {what} has event shape {_shape(got)}, but '{variable}' has event shape {_shape(expected)}.",
                  f"Make it produce {_shape(expected)} values.")


def incompatible_shapes(span: Span, op: str, left: tuple[int, ...], right: tuple[int, ...]) -> Diagnostic:
    return _error(span, f"Shapes {_shape(left)} and {_shape(right)} do not broadcast under '{op}'.",
                  "Each trailing dimension must be equal, or 1 on one side.")


def matmul_axes(span: Span, left: tuple[int, ...], right: tuple[int, ...]) -> Diagnostic:
    """'@' on event shapes whose contracted axes (or leading event axes) disagree."""
    contracted = right[0] if len(right) == 1 else right[-2]
    if left[-1] != contracted:
        which = "only" if len(right) == 1 else "second-to-last"
        detail = (f"the left operand's last event axis has size {left[-1]} (event shape {_shape(left)}), "
                  f"but the right operand's {which} event axis has size {contracted} (event shape {_shape(right)}).")
    else:
        detail = (f"the leading event axes {_shape(left[:-2])} and {_shape(right[:-2])} of the operands "
                  f"(event shapes {_shape(left)} and {_shape(right)}) do not broadcast.")
    return _error(span, f"'@' contracts event axes, and they disagree: {detail}",
                  "Batch axes are never contracted: each example's value is multiplied on its own.")


def no_event_axis(span: Span, what: str, support_type: str) -> Diagnostic:
    """A function of event axes (softmax, dot, sum_event, '@') given a value with none."""
    return _error(span, f"{what}, but this operand is {support_type}: it has no event axis, only the batch axis.",
                  "Batch axes never mix with event axes: reduce over the batch with mean(...) or sum(...), "
                  "or scale by a per-example scalar with '*'.")


def loss_has_event_axes(span: Span, name: str, shape: tuple[int, ...]) -> Diagnostic:
    return _error(span, f"Loss '{name}' has event shape {_shape(shape)}, but a loss is one number.",
                  "Reduce the event axes first, with sum_event(...), mean_event(...) or dot(a, b).")


def invalid_constant_parameter(span: Span, family: str, parameter: str, needed: str, value: float) -> Diagnostic:
    return _error(span, f"Parameter '{parameter}' of {family} must be {needed}, got {value:g}.")


def empty_interval(span: Span, family: str, low: float, high: float) -> Diagnostic:
    """Constant bounds of a family on [low, high) with high <= low: no value has any density."""
    return _error(span, f"{family} needs low < high, got low = {low:g} and high = {high:g}.",
                  "Swap the bounds, or make them differ.")


_UNDEFINED = {"zoo": "a division by zero or the log of 0", "nan": "0/0 or inf - inf",
              "I": "the log or square root of a negative number"}


def undefined_constant(span: Span, constant: str) -> Diagnostic:
    """A constant part of a closed form with no real value (sympy's ``zoo``, ``nan`` or
    ``I``), found while generating code for a program the checker accepted."""
    reason = _UNDEFINED.get(constant, constant)
    return _error(span, f"The closed form of this definition has a constant with no real value ({reason}).",
                  "Check its constant parameters: a bound, scale or probability is at the edge of its range.")


# ---- estimators -----------------------------------------------------------------------

def bad_option_value(span: Span, what: str, option: str, value: str, allowed: Iterable[str]) -> Diagnostic:
    allowed = list(allowed)
    return _error(span, f"Option '{option}' of {what} takes one of: {', '.join(allowed)}; got '{value}'.",
                  _did_you_mean(value, allowed))


def not_reparameterizable(span: Span, what: str, family: str, signature: str) -> Diagnostic:
    hint = ("Use the score function (estimator=reinforce, the default for such latents) or a relaxed family "
            "such as RelaxedBernoulli." if what.startswith("estimator") else
            "Use a reparameterized family (such as Normal) or a relaxed one (such as RelaxedBernoulli).")
    return _error(span, f"{what} needs reparameterized samples, but {family} in {signature} is not reparameterizable.",
                  hint)


def vimco_needs_particles(span: Span, k: int) -> Diagnostic:
    return _error(span, f"estimator=vimco needs k >= 2 samples for its leave-one-out baselines, got k={k}.")


def baseline_without_score_function(span: Span, method: str) -> Diagnostic:
    return _error(span, f"A baseline applies to the score-function estimator only, not to estimator={method}.",
                  "Remove 'baseline=...' or use estimator=reinforce.")


# ---- declarations (more) -----------------------------------------------------------------

def cannot_read(path: str, reason: str) -> Diagnostic:
    return Diagnostic("Error", NO_SPAN, f"Cannot read '{path}': {reason}.")


def duplicate_model(span: Span, first: str, first_line: int) -> Diagnostic:
    return _error(span, f"The model is already named '{first}' on line {first_line}; a file names one model.")


def duplicate_net_output(span: Span, net: str, name: str) -> Diagnostic:
    return _error(span, f"Net '{net}' declares the output '{name}' twice.", "Give each output its own name.")


def repeated_variable(span: Span, variable: str, where: str) -> Diagnostic:
    return _error(span, f"Variable '{variable}' appears more than once in {where}.",
                  "List each variable once.")


def reserved_name(span: Span, what: str, name: str, reason: str) -> Diagnostic:
    """A declared name the generated Python cannot use (see gmc.compiler.names); ``reason``
    completes "it ..."."""
    suggestion = (name.strip("_") or "v") + "_"
    return _error(span, f"The {what} name '{name}' cannot be used: it {reason}.",
                  f"Rename it, e.g. '{suggestion}'.")


def method_name_clash(span: Span, signature: str, method: str, other: str) -> Diagnostic:
    return _error(span, f"The factor {signature} would get the generated method '{method}', which {other} has "
                        "already.", "Rename one of the two factors or their variables.")


# ---- data flow in losses -----------------------------------------------------------------

def unsupplied_variable(span: Span, loss: str, variable: str, sampler: str) -> Diagnostic:
    return _error(span, f"Loss '{loss}' needs '{variable}' here, but nothing supplies it: '{variable}' is a latent "
                        f"variable of this loss, drawn from {sampler} only inside its own term.",
                  f"Move this term inside E_{{{sampler}}}[...], or use a factor that does not mention '{variable}'.")


def sampler_needs_unavailable(span: Span, sampler: str, variable: str, source: str) -> Diagnostic:
    return _error(span, f"Sampling from {sampler} needs '{variable}', which this loss does not have here: "
                        f"'{variable}' is not data but is drawn from {source}, which is not in scope.",
                  f"Sample '{variable}' first, as in E_{{{source}}}[E_{{{sampler}}}[...]].")


# ---- warnings ----------------------------------------------------------------------------

_UNUSED_HINTS = {
    "var": "Use it in a factor, or remove it.",
    "factor": "Use it in a loss or a product, or remove it.",
    "net": "Call it in a factor or a loss, or remove it.",
}


def unused(span: Span, what: str, name: str) -> Diagnostic:
    """A declaration nothing refers to; ``what`` is var, const, param, weight, net or factor."""
    noun = {"var": "variable"}.get(what, what)
    return _warning(span, f"The {noun} '{name}' is never used.", _UNUSED_HINTS.get(what, "Remove it."))


def _stamp(kind: str, constructor):
    @functools.wraps(constructor)
    def build(*args, **kwargs) -> Diagnostic:
        return replace(constructor(*args, **kwargs), kind=kind)
    return build


def _register_kinds() -> tuple[str, ...]:
    """Wrap every public constructor (a function returning a Diagnostic) so it stamps its kind."""
    kinds = []
    for name, value in list(globals().items()):
        if (not name.startswith("_") and inspect.isfunction(value) and value.__module__ == __name__
                and value.__annotations__.get("return") == "Diagnostic"):
            globals()[name] = _stamp(name, value)
            kinds.append(name)
    return tuple(kinds)


def global_given_local(span: Span, variable: str, signature: str, local: str) -> Diagnostic:
    return _error(span, f"Global variable '{variable}' has one value per data set, so {signature} cannot be "
                        f"conditioned on '{local}', which has one value per example.",
                  f"Declare '{local}' global too, or drop 'global' from '{variable}'.")


def estimator_over_global(span: Span, estimator: str, variable: str) -> Diagnostic:
    return _error(span, f"{estimator}(...) is a per-example bound, but '{variable}' is global (one value per "
                        "data set): its prior and posterior would be counted once per example.",
                  "Write the bound over the data set instead, e.g. "
                  "KL[q(w) || p(w)] / N - mean(E_{q(w)}[log p(y|x,w)]) with param N the number of examples.")


def marginal_in_product(span: Span, marginal: str) -> Diagnostic:
    return _error(span, f"The marginal {marginal} cannot be a factor of a product.",
                  "Write the whole product inside the sum, as in p(x,w) = sum_{y} p(x|y,w) p(y) p(w).")


def marginalized_not_defined(span: Span, variable: str, signature: str) -> Diagnostic:
    return _error(span, f"{signature} sums out '{variable}', but none of its factors defines '{variable}'.")


def marginal_density_not_enumerable(span: Span, signature: str, variable: str, declared: str) -> Diagnostic:
    return _error(span, f"log {signature} has no exact form: '{variable}' is {declared}, and only binary or "
                        f"categorical[K] variables are summed out exactly (by enumeration). {signature} can "
                        "still be sampled.",
                  f"Bound it instead with iwae(...) over the joint and a posterior q({variable}|...), "
                  f"e.g. iwae(p(x,{variable}), q({variable}|x), k=50).")


def expert_not_normal(span: Span, expert: str, family: str) -> Diagnostic:
    return _error(span, f"Every expert of a product of experts must be a Normal distribution, but {expert} is "
                        f"{family}.",
                  "Only Normal experts have a Normal product (precisions add); write the posterior directly "
                  "otherwise.")


def experts_over_different_variables(span: Span, signature: str, expert: str, variables: str,
                                     expected: str) -> Diagnostic:
    return _error(span, f"{signature} is a product of experts over '{expected}', but the expert {expert} is a "
                        f"distribution over '{variables}'.",
                  f"Every expert, and the left-hand side, must define the same single variable '{expected}'.")


def rename_unknown_variable(span: Span, variable: str, factor: str, variables: Iterable[str]) -> Diagnostic:
    names = ", ".join(f"'{v}'" for v in variables)
    return _error(span, f"{factor} has no variable '{variable}' to rename.",
                  _did_you_mean(variable, variables) or f"Its variables are {names}.")


def marginalized_absent(span: Span, variable: str, signature: str) -> Diagnostic:
    return _error(span, f"{signature} sums out '{variable}', which does not occur in any of its factors.",
                  f"Remove '{variable}' from the sum, or add the factors that involve it.")


# ---- limits (docs/language.md, "Limits") -------------------------------------------------

def expression_too_deep(span: Span, limit: int) -> Diagnostic:
    return _error(span, f"This expression is nested more than {limit} levels deep (brackets, calls and signs, "
                        "with every let expanded).",
                  "A let does not help (it is expanded where it is used): compute it in fewer nested steps "
                  "(a long chain a + b + c + ... is not nesting).")


def expression_too_large(span: Span, limit: int) -> Diagnostic:
    return _error(span, f"This expression has more than {limit} names, numbers and operators (every let "
                        "counted in full at each use).",
                  "Split the model into smaller expressions, or express repetition with a product of "
                  "factors (p(x1,...,xn) = p(x1) ... p(xn)), whose log-density has no such limit.")


def number_out_of_range(span: Span, text: str) -> Diagnostic:
    return _error(span, f"The number {text} is too large for a 64-bit float (at most about 1.8e308).",
                  "Write a smaller number.")


def constant_out_of_range(span: Span, what: str) -> Diagnostic:
    return _error(span, f"{what} is out of range: constants are integers of magnitude below 2**63 or "
                        "finite 64-bit floats.",
                  "Use a smaller value (a power is judged from its size before it is computed).")


def size_too_large(span: Span, what: str, value: int, limit: int) -> Diagnostic:
    return _error(span, f"{what} is {value}, more than the largest size gmc accepts, {limit} (2**31 - 1, "
                        "the range of 32-bit indices).",
                  "Use smaller dimensions.")


def undefined_arithmetic(span: Span, what: str) -> Diagnostic:
    return _error(span, f"{what} is undefined: a division by zero or a complex power.",
                  "Check the constants it uses.")


# ---- adversarial models (games, data distributions, critics; compiler/adversarial.py) ----------

def bad_game_term(span: Span) -> Diagnostic:
    return _error(span, "A game's objective is a weighted sum of named losses and adversarial divergences.",
                  "Write terms like 'vae + gamma * JS[p_data(x) || p(x), critic=disc]', where 'vae' is a loss "
                  "and each weight a number, const or param.")


def untrained_net(span: Span, net: str, game: str) -> Diagnostic:
    return _error(span, f"Net '{net}' is read by game '{game}', but no player trains it.",
                  f"List '{net}' in min_{{...}} (the side that minimizes) or max_{{...}} (the critic's side).")


def idle_player_net(span: Span, net: str, game: str) -> Diagnostic:
    return _error(span, f"Net '{net}' is listed as a player of game '{game}', which does not read it: "
                        "no objective trains it.",
                  "Remove it from the player, or use it in the game's objective.")


def critic_on_wrong_side(span: Span, net: str, game: str, needed: str) -> Diagnostic:
    return _error(span, f"Net '{net}' is a critic in game '{game}', so it must be trained by {needed}.",
                  "The critic maximizes the divergence it estimates; the other nets minimize it.")


def critic_support_mismatch(span: Span, critic: str, divergence: str, got: str, needed: str) -> Diagnostic:
    return _error(span, f"The critic '{critic}' of {divergence}[...] returns {got}, but {divergence} needs {needed}.",
                  "Declare the net's output as one number per example, e.g. 'net disc(x) -> real = MLP(128)'.")


def critic_cannot_see(span: Span, critic: str, variable: str, reads: Iterable[str]) -> Diagnostic:
    read = ", ".join(f"'{v}'" for v in reads) or "nothing"
    return _error(span, f"The divergence compares distributions over '{variable}', but its critic '{critic}' "
                        f"reads only {read}: it cannot tell them apart on '{variable}'.",
                  f"Give '{critic}' every variable of the data distribution as input.")


def critic_reads_unknown(span: Span, critic: str, variable: str, variables: Iterable[str]) -> Diagnostic:
    return _error(span, f"The critic '{critic}' reads '{variable}', which the divergence does not compare "
                        f"(it compares {', '.join(repr(v) for v in variables)}).",
                  "A critic reads the variables of the data distribution, nothing else.")


# ---- normalizing flows (issue 15: Flow(Base(...), T1, T2, ...); compiler/transforms/) ----

def flow_needs_base(span: Span) -> Diagnostic:
    return _error(span, "Flow(...) takes a base distribution first, then one or more transforms.",
                  "Write e.g. Flow(Normal(loc=enc(x).loc, scale=enc(x).scale), 4 * Planar).")


def flow_discrete_base(span: Span, family: str, support: str) -> Diagnostic:
    return _error(span, f"A flow's base must be a continuous distribution, but {family} is over {support} values: "
                        "the change of variables a flow's density rests on needs a density.",
                  "Use a base over real, positive or unit values (Normal, LogNormal, Beta, ...).")


def unknown_transform(span: Span, name: str, known: Iterable[str]) -> Diagnostic:
    return _error(span, f"Unknown transform '{name}'.", _hint(name, sorted(known), "Known transforms"))


def bad_transform_option(span: Span, transform: str, detail: str) -> Diagnostic:
    return _error(span, f"Wrong option to transform {transform}: {detail}")


def transform_domain(span: Span, transform: str, domain: str, got: str, step: str) -> Diagnostic:
    return _error(span, f"Transform {transform} maps {domain} values, but its input is {got} ({step}).",
                  f"Put a transform onto {domain} values before it (Exp or Softplus onto positive, Sigmoid onto "
                  "unit), or remove it.")


def flow_support_mismatch(span: Span, variable: str, declared: str, got: str, chain: str) -> Diagnostic:
    wanted = declared.split("[")[0]
    return _error(span, f"This flow gives {got} values ({chain}), but '{variable}' is declared {declared}.",
                  f"Declare '{variable}' as {got}[...], or end the flow with a transform onto {wanted} values.")


def transform_needs_vector(span: Span, transform: str, variable: str, declared: str) -> Diagnostic:
    return _error(span, f"Transform {transform} acts on vector events (real[D]), but '{variable}' is {declared}.",
                  "Declare the variable as a vector, or use element-wise transforms (Exp, Sigmoid, Affine, ...).")


def transform_too_small(span: Span, transform: str, needed: int, variable: str, size: int) -> Diagnostic:
    return _error(span, f"Transform {transform} needs at least {needed} dimensions: one part conditions the "
                        f"other, but '{variable}' has {size}.",
                  "Use Planar, Radial or element-wise transforms for one-dimensional variables.")


def mask_does_not_split(span: Span, transform: str, split: int, size: int) -> Diagnostic:
    return _error(span, f"The mask of {transform} must split the event into two non-empty parts, but split={split} "
                        f"of {size} dimensions leaves one part empty.",
                  f"Choose split between 1 and {size - 1}.")


def flow_without_inverse(span: Span, factor: str, transform: str, why: str, where: str) -> Diagnostic:
    return _error(span, f"{where} needs the log-density of {factor} at given values, which runs the flow backwards, "
                        f"but {why}.",
                  "A flow scores only its own samples one pass at a time (log q(z|x) inside E_{q(z|x)}[...], "
                  "elbo, iwae, KL[q || p]); to score data, use transforms with a cheap inverse (Coupling, MAF, "
                  "Reverse, element-wise).")


# ---- MCMC (gmc mcmc, gmc.mcmc): which latents NUTS can sample -------------------------------

def mcmc_discrete_latent(span: Span, variable: str, support: str) -> Diagnostic:
    return _error(span, f"MCMC moves through continuous latents only, but '{variable}' is {support} and the data "
                        "does not give it.",
                  f"Sum it out in the joint (p(x) = sum_{{{variable}}} p(x|{variable}) p({variable})), or give it "
                  "as data.")


def mcmc_latent_without_density(span: Span, variable: str, joint: str, reason: str) -> Diagnostic:
    return _error(span, f"'{variable}' is a latent of {joint} with no density to sample from: {reason}.",
                  f"Give '{variable}' as data, or add a factor with a density for it (p({variable}) = ...) "
                  "to the joint.")


def mcmc_latent_fixed_by_data(span: Span, variable: str) -> Diagnostic:
    return _error(span, f"The data gives '{variable}', but '{variable}' is a global latent (var global), the kind "
                        "of variable MCMC samples.",
                  f"Remove '{variable}' from the data to sample it; to hold it at a value, declare it a param.")


def mcmc_local_latent(span: Span, variable: str, joint: str) -> Diagnostic:
    return _error(span, f"MCMC samples global latents only, but '{variable}' in {joint} has one value per example "
                        "and the data does not give it.",
                  f"Declare it 'var global {variable}', give it as data, or sum it out.")


def mcmc_nothing_to_sample(span: Span, joint: str) -> Diagnostic:
    return _error(span, f"{joint} has no latent left to sample: the data gives every variable it defines.",
                  "Declare the parameters to infer as 'var global' and leave them out of the data.")


def mcmc_ambiguous_joint(span: Span, variable: str, first: str, second: str) -> Diagnostic:
    return _error(span, f"Both {first} and {second} define '{variable}', so the log-joint to sample is ambiguous.",
                  "Write the joint as one product, e.g. p(y,w|x) = p(y|x,w) p(w), and choose it with --factor.")


# ---- plates (issue 14; gmc.compiler.plates) -----------------------------------------------

def plate_over_global(span: Span, plate: str, variable: str) -> Diagnostic:
    return _error(span, f"Variable '{variable}' is global (one value per data set), so it cannot repeat once per "
                        f"example in plate '{plate}'.",
                  f"Remove '{variable}' from the plate, or declare it without 'global'.")


def plate_overlap(span: Span, variable: str, plate: str, other: str, other_line: int) -> Diagnostic:
    return _error(span, f"Variable '{variable}' is in plate '{other}' (line {other_line}) already; a variable "
                        f"repeats over one data set, so it cannot be in plate '{plate}' too.",
                  "List each variable in one plate.")


def plate_loss_mixes(span: Span, loss: str, plate: str, other: str) -> Diagnostic:
    return _error(span, f"Loss '{loss}' reads data of plate '{plate}' and of plate '{other}'; a batch comes from "
                        "one data set, so its sums cannot be scaled to both.",
                  "Write one loss per data set and add them in the training loop.")


# ---- sequences (issue 14; gmc.compiler.sequences) -----------------------------------------

def sequence_future_step(span: Span, step: str, signature: str) -> Diagnostic:
    return _error(span, f"{signature} depends on {step}, a future step: a factor may depend on the current and "
                        "earlier steps only.",
                  "Condition on t or t-k; to run a model backwards, reverse the sequence in the data.")


def sequence_recursion(span: Span, path: str) -> Diagnostic:
    return _error(span, f"The factorization is recursive through time: {path} at the same step t.",
                  "Within one step the factors must be acyclic: make one of them depend on the previous step "
                  "(t-1) instead.")


def sequence_length_mismatch(span: Span, first: str, first_length: int, second: str, second_length: int) -> Diagnostic:
    return _error(span, f"Sequences of different lengths meet here: '{first}' has {first_length} steps and "
                        f"'{second}' has {second_length}.",
                  "Declare them with the same length, e.g. var x[T] and var z[T].")


def sequence_unsupported(span: Span, what: str, reason: str) -> Diagnostic:
    return _error(span, f"{what} is not supported: {reason}.",
                  "See docs/language.md, \"Sequences\", for the forms gmc compiles.")


def bad_recurrent_cell(span: Span, net: str, cell: str, reason: str) -> Diagnostic:
    article = "an" if cell[0] in "AEFHILMNORSX" else "a"  # said letter by letter: "an LSTM", "a GRU"
    return _error(span, f"The net '{net}' cannot be {article} {cell} cell: {reason}.",
                  f"Declare a cell as net {net}(h, x) -> real[H] = {cell}(), h the previous state "
                  "(see docs/language.md, \"Sequences\").")


#: The name of every diagnostic constructor, in source order.
KINDS = _register_kinds()

__all__ = [name for name in dir() if not name.startswith("_")] + ["NO_SPAN"]
