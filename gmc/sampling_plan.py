"""Ancestral sampling plans for ``gmc sample``: which factors to draw, in which order.

A model need not define the joint of what ``gmc sample`` draws: M2 has ``p(x|y,z)``, ``p(z)``
and ``p(y)`` but no ``p(x,y,z)``. :func:`plan` chains the factors instead, drawing each
conditioning variable first from a factor of its own (ancestral sampling, Koller and
Friedman 2009, section 12.1.1), and names the variables nothing draws, so that the command
can ask for them as ``--given``.
"""
from __future__ import annotations

from dataclasses import dataclass

from gmc.compiler import ir


@dataclass(frozen=True)
class Plan:
    """``steps``: factor signatures in drawing order (each factor's conditioning variables are
    given or drawn by an earlier step); empty when ``missing`` is not.
    ``missing``: variables nothing in the model draws that ``target`` depends on; they must be
    given."""

    steps: tuple[str, ...]
    missing: tuple[str, ...]


def plan(model: ir.Model, target: str, given=()) -> Plan:
    """How to draw ``target`` given the variables ``given``.

    For each variable to draw, candidate factors are those that output it and no variable
    already given or drawn; generative factors (``p``) are preferred to inference ones, then
    factors whose conditioning variables are all available, then joints with more outputs
    (one factor instead of a chain). A candidate whose conditioning variables cannot be
    drawn is skipped; when none works, the variables that would have to be given are
    reported in ``missing`` (those of the preferred candidate)."""
    available: set[str] = set(given)
    steps: list[str] = []

    def draw(var: str, visiting: frozenset) -> tuple[str, ...]:
        if var in available:
            return ()
        candidates = [f for f in model.factors.values()
                      if var in f.outputs and not available & set(f.outputs) and var not in f.given]
        if not candidates:
            return (var,)
        candidates.sort(key=lambda f: (f.name != "p", not set(f.given) <= available, -len(f.outputs)))
        first_missing: tuple[str, ...] | None = None
        for factor in candidates:
            if visiting & set(factor.given):  # a cycle through q(z|x), p(x|z)
                continue
            saved_steps, saved_available = list(steps), set(available)
            missing: tuple[str, ...] = ()
            for parent in factor.given:
                missing += draw(parent, visiting | {var})
            if not missing:
                steps.append(factor.signature)
                available.update(factor.outputs)
                return ()
            steps[:], available.clear()
            available.update(saved_available)
            steps.extend(saved_steps)
            if first_missing is None:
                first_missing = missing
        return first_missing if first_missing is not None else (var,)

    missing = draw(target, frozenset())
    if missing:
        return Plan((), tuple(dict.fromkeys(missing)))
    return Plan(tuple(steps), ())


def sampled_variable(model: ir.Model, loss_inputs: tuple[str, ...], preferred: str) -> str:
    """The variable ``gmc sample`` draws: ``preferred`` (the one the data's features train)
    when a generative factor draws it, else the first of the loss's data inputs that one
    draws (a regression's ``y``), else ``preferred``."""
    def generated(var: str) -> bool:
        return any(f.name == "p" and var in f.outputs for f in model.factors.values())

    if generated(preferred):
        return preferred
    return next((v for v in loss_inputs if generated(v)), preferred)


def example_value(var: ir.Var) -> str:
    """A value to show in a ``--given`` hint: a label for ``categorical[K]``, else a number."""
    if var.type.support == "categorical":
        k = var.type.shape[-1] if var.type.shape else 1
        return str(min(3, k - 1))
    if var.type.support in ("positive", "count"):
        return "1"
    if var.type.support == "unit":
        return "0.5"
    return "0"
