"""Closed forms per family, as sympy expressions in the family's parameters.

Each family module registers a :class:`Formulas` entry: the element-wise log-density of a
value ``X``, a table of :class:`Moment` s (expectations of statistics of ``X`` such as
``E[X]``, ``E[log X]``, ``E[(X - c)**2]``) from which entropies, cross-entropies and KLs are
derived by linearity of expectation (:mod:`gmc.compiler.symbolic.derive`), and optional
hand-written entropy and KL rules that take precedence, each with the reference it comes
from. Parameters arrive as sympy symbols (tensors in generated code) or numbers (constants),
so substituting ``loc=0, scale=1`` folds the constants away without calling ``simplify``.
All values are in nats, per event element; code generation sums them over event dimensions.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import sympy as sp

from gmc.compiler.symbolic.templates import memoize_symbolic

Params = dict[str, sp.Expr]

#: The random value in moment patterns.
X = sp.Symbol("X")
#: Wildcards for the parameters of a moment pattern; they never match ``X``.
A = sp.Wild("A", exclude=[X])
B = sp.Wild("B", exclude=[X])
C = sp.Wild("C", exclude=[X])


@dataclass(frozen=True)
class Rule:
    """A formula and where it comes from (shown in generated comments and ``gmc explain``)."""

    build: Callable[..., sp.Expr]
    reference: str


@dataclass(frozen=True)
class Moment:
    """E[pattern] under a family: ``value(params, wilds)`` with the pattern's wildcards bound.

    ``pattern`` is an expression in :data:`X` and the wildcards :data:`A`, :data:`B`,
    :data:`C`, e.g. ``(X + A)**2`` (E[(X - m)^2] = Var X + (E X - m)^2). ``value`` returns
    None when it has no closed form for those bindings (the derivation then falls back).
    For families with ``event_rank`` 1 the moment is element-wise over the last axis."""

    pattern: sp.Expr
    value: Callable[[Params, dict], "sp.Expr | None"]
    reference: str


@dataclass
class Formulas:
    """Everything symbolic about one family (see the module docstring).

    ``log_density(X, params)`` is element-wise for ``event_rank`` 0; for ``event_rank`` 1 it
    reduces the last axis with :func:`~gmc.compiler.symbolic.functions.vsum` (keeping it
    as size 1). ``bounds(params)`` gives the (low, high) of a support that depends on the
    parameters (Uniform), else None."""

    family: str
    log_density: Rule
    moments: tuple[Moment, ...] = ()
    entropy: Rule | None = None
    kl: dict[str, Rule] = field(default_factory=dict)  # keyed by the second family's name; None: derive
    event_rank: int = 0
    bounds: Callable[[Params], "tuple[sp.Expr, sp.Expr] | None"] | None = None


FORMULAS: dict[str, Formulas] = {}


def register(formulas: Formulas) -> Formulas:
    FORMULAS[formulas.family] = formulas
    return formulas


@memoize_symbolic
def log_density(family: str, value: sp.Expr, params: Params) -> tuple[sp.Expr, str]:
    """Element-wise log-density of ``value`` and its reference."""
    rule = FORMULAS[family].log_density
    return rule.build(value, params), rule.reference
