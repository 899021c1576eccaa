"""What the checker knows about a distribution family: supports and parameters.

Formulas live in :mod:`gmc.compiler.symbolic` and samplers in :mod:`gmc.compiler.codegen`;
this module stays free of sympy and torch so ``gmc check`` starts fast.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ParamSpec:
    """A parameter by its torch.distributions name and the support its values must lie in.

    ``shared``: one value for the whole event rather than one per element (temperature,
    total_count); in a family of event rank 1 a tensor value then has a last axis of size 1.
    ``constant``: the value must be a compile-time constant (Multinomial's total_count)."""

    name: str
    support: str
    default: float | None = None  # standard form: Normal() is Normal(0, 1)
    shared: bool = False
    constant: bool = False


@dataclass(frozen=True)
class Family:
    """A distribution family.

    ``params`` are in torch's constructor order (positional arguments follow it);
    ``choices`` lists the accepted parameter sets (Bernoulli takes probs or logits);
    ``reparameterized`` says whether samples are differentiable in the parameters;
    ``event_rank`` is 0 for element-wise families and 1 for those whose log-density couples
    the last event axis (Categorical, Dirichlet, Multinomial, RelaxedCategorical).
    A parameter with a ``default`` may be left out (the family's standard form).
    """

    name: str
    support: str
    params: tuple[ParamSpec, ...]
    choices: tuple[frozenset[str], ...]
    reparameterized: bool
    reference: str
    event_rank: int = 0

    def param(self, name: str) -> ParamSpec:
        return next(p for p in self.params if p.name == name)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def complete(self, given: frozenset[str]) -> frozenset[str] | None:
        """The parameter set ``given`` stands for once defaults are filled in, or None.

        The first choice (in declaration order) that contains ``given`` and whose other
        parameters all have defaults wins."""
        for choice in self.choices:
            if given <= choice and all(self.param(n).default is not None for n in choice - given):
                return choice
        return None

    def describe_choices(self) -> str:
        return " or ".join("(" + ", ".join(sorted(c, key=self.param_names.index)) + ")" for c in self.choices)


FAMILIES: dict[str, Family] = {}


def register(family: Family) -> Family:
    FAMILIES[family.name] = family
    return family
