"""Closed forms per family, as sympy expressions in the family's parameters.

Each family module registers a :class:`Formulas` entry: the element-wise log-density, the
element-wise entropy and KL divergences to other families, each with the reference it comes
from. Parameters arrive as sympy symbols (tensors in generated code) or numbers (constants),
so substituting ``loc=0, scale=1`` folds the constants away without calling ``simplify``.
All values are in nats, per event element; code generation sums them over event dimensions.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import sympy as sp

Params = dict[str, sp.Expr]


@dataclass(frozen=True)
class Rule:
    """A formula and where it comes from (shown in generated comments and ``gmc explain``)."""

    build: Callable[..., sp.Expr]
    reference: str


@dataclass
class Formulas:
    family: str
    log_density: Rule
    entropy: Rule | None = None
    kl: dict[str, Rule] = field(default_factory=dict)  # keyed by the second family's name


FORMULAS: dict[str, Formulas] = {}


def register(formulas: Formulas) -> Formulas:
    FORMULAS[formulas.family] = formulas
    return formulas


def log_density(family: str, value: sp.Expr, params: Params) -> tuple[sp.Expr, str]:
    """Element-wise log-density of ``value`` and its reference."""
    rule = FORMULAS[family].log_density
    return rule.build(value, params), rule.reference


def entropy(family: str, params: Params) -> tuple[sp.Expr, str] | None:
    rule = FORMULAS[family].entropy
    return None if rule is None else (rule.build(params), rule.reference)


def kl(first: str, first_params: Params, second: str, second_params: Params) -> tuple[sp.Expr, str] | None:
    """Element-wise KL[first || second], or None when no closed form is registered."""
    rule = FORMULAS[first].kl.get(second)
    return None if rule is None else (rule.build(first_params, second_params), rule.reference)


def has_closed_kl(first: str, second: str) -> bool:
    return second in FORMULAS[first].kl
