"""What a rewrite rule is, and the record of one firing (shown by ``gmc explain``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from gmc.compiler import ir
from gmc.dsl.ast import Span


@dataclass(frozen=True)
class Rule:
    """An expression rewrite: ``apply(model, node)`` returns the replacement or None."""

    name: str
    identity: str   # the identity it uses, as text
    reference: str  # where the identity comes from
    apply: Callable[[ir.Model, ir.Expr], "ir.Expr | None"]


@dataclass(frozen=True)
class FactorRule:
    """A rewrite of a distribution's parameters: ``apply(model, factor)`` returns a new factor or None."""

    name: str
    identity: str
    reference: str
    apply: Callable[[ir.Model, ir.Factor], "ir.Factor | None"]


@dataclass(frozen=True)
class Fired:
    """One application of a rule at a source location, in the order rules fired."""

    rule: str
    identity: str
    reference: str
    span: Span
    where: str  # the factor signature or loss name it changed
