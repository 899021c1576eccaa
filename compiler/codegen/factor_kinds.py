"""How each kind of factor is lowered: one registry, consulted in one explicit order.

A factor of the IR is one of several kinds: a hidden Markov chain summed by the forward
algorithm, a product over time of step factors, an exact marginal over enumerated discrete
variables, a product of other factors, a normalizing flow, or a single distribution. Each
kind says how to emit its log-density (code of a ``[*particles, *batch]`` tensor, in nats,
and a comment naming the method or reference) and, where a factor of that kind is drawn as a
whole rather than leaf by leaf in ancestral order, how to sample it.

:data:`KINDS` lists the kinds in the order they are tried: the first whose ``applies`` holds
owns the factor. The order matters because the predicates overlap (a chain also has
marginalized variables; a flow is also a single distribution); it is written here, once, so
that a reader sees it and a new construct is one entry, not another branch in the emitter.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gmc.compiler import ir
from gmc.compiler.codegen import forward_algorithm, marginal, step_products
from gmc.compiler.codegen.vectorize import product_parts
from gmc.compiler.transforms import codegen as flows

if TYPE_CHECKING:
    from gmc.compiler.codegen.emitter import Emitter
    from gmc.compiler.codegen.env import Env

#: Python's compiler recurses once per ``+`` of a chain: past a few thousand terms it
#: overflows, so longer products sum a flat tuple instead (the same additions, in order).
MAX_PLUS_CHAIN = 256

LogDensity = Callable[["Emitter", str, "Env"], tuple[str, "str | None"]]
WholeSampler = Callable[["Emitter", str, "Env"], "Env"]


@dataclass(frozen=True)
class FactorKind:
    """One kind of factor.

    ``applies(model, sig)`` says whether the factor of signature ``sig`` is of this kind; ``log_density(emitter,
    sig, env)`` returns the code of its log-density, shape ``[*particles, *batch]`` in nats,
    and a comment for the generated line; ``sample(emitter, sig, env)``, where not None,
    emits a draw of all the factor's variables at once and returns ``env`` with them bound
    (None: the emitter draws its leaves one by one in ancestral order)."""

    name: str
    applies: Callable[[ir.Model, str], bool]
    log_density: LogDensity
    sample: WholeSampler | None = None


def _chain_log_density(emitter: Emitter, sig: str, env: Env) -> tuple[str, str]:
    factor = emitter.model.factors[sig]
    return (forward_algorithm.log_chain(emitter, sig, env),
            f"exact: sum over {factor.marginalized[0]} by the forward algorithm")


def _step_product_log_density(emitter: Emitter, sig: str, env: Env) -> tuple[str, str]:
    return step_products.log_product(emitter, sig, env), "sum over the steps"


def _marginal_log_density(emitter: Emitter, sig: str, env: Env) -> tuple[str, str]:
    factor = emitter.model.factors[sig]
    return marginal.log_marginal(emitter, sig, env), f"exact: sum over {', '.join(factor.marginalized)}"


def _product_log_density(emitter: Emitter, sig: str, env: Env) -> tuple[str, None]:
    parts = product_parts(emitter, sig, env)  # repeated leaves: one stacked term per group
    total = " + ".join(parts) if len(parts) <= MAX_PLUS_CHAIN else f"sum(({', '.join(parts)}))"
    return total, None


def _flow_log_density(emitter: Emitter, sig: str, env: Env) -> tuple[str, str]:
    return flows.log_density(emitter, emitter.model.factors[sig], env)


def _leaf_log_density(emitter: Emitter, sig: str, env: Env) -> tuple[str, str]:
    factor = emitter.model.factors[sig]
    return emitter.leaf_log_density(factor, env.name(factor.outputs[0]), env)


#: The kinds, in the order they are tried (see the module docstring for why order matters).
KINDS: tuple[FactorKind, ...] = (
    FactorKind("hidden Markov chain", lambda model, sig: sig in model.chains,
               _chain_log_density, forward_algorithm.sample_chain),
    FactorKind("product over time", lambda model, sig: sig in model.step_products,
               _step_product_log_density, step_products.sample_product),
    FactorKind("exact marginal", lambda model, sig: bool(model.factors[sig].marginalized), _marginal_log_density),
    FactorKind("product", lambda model, sig: model.factors[sig].is_product, _product_log_density),
    FactorKind("flow", lambda model, sig: bool(model.factors[sig].flow), _flow_log_density),
    FactorKind("distribution", lambda model, sig: True, _leaf_log_density),
)


def kind_of(model: ir.Model, sig: str) -> FactorKind:
    """The first kind in :data:`KINDS` that owns the factor ``sig`` (the last accepts every factor)."""
    return next(kind for kind in KINDS if kind.applies(model, sig))
