"""What the checker knows about a distribution family: supports and parameters.

Formulas live in :mod:`gmc.compiler.symbolic` and samplers in :mod:`gmc.compiler.codegen`;
this module stays free of sympy and torch so ``gmc check`` starts fast.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ParamSpec:
    """A parameter by its torch.distributions name and the support its values must lie in."""

    name: str
    support: str


@dataclass(frozen=True)
class Family:
    """A distribution family.

    ``params`` are in torch's constructor order (positional arguments follow it);
    ``choices`` lists the accepted parameter sets (Bernoulli takes probs or logits);
    ``reparameterized`` says whether samples are differentiable in the parameters.
    """

    name: str
    support: str
    params: tuple[ParamSpec, ...]
    choices: tuple[frozenset[str], ...]
    reparameterized: bool
    reference: str

    def param(self, name: str) -> ParamSpec:
        return next(p for p in self.params if p.name == name)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def describe_choices(self) -> str:
        return " or ".join("(" + ", ".join(sorted(c, key=self.param_names.index)) + ")" for c in self.choices)


FAMILIES: dict[str, Family] = {}


def register(family: Family) -> Family:
    FAMILIES[family.name] = family
    return family
