"""What MCMC samples: the log-joint's terms and its latents, checked against the data's names.

``gmc mcmc`` targets p(latents | data) for one joint factor of the model. The joint is the
factor named by ``--factor``, else the largest product named ``p``, else every distribution
named ``p`` (each variable defined once). It is expanded into its leaves (distributions, and
marginals, whose exact log-density sums a discrete variable out). A leaf whose outputs are
global is counted once; a per-example leaf is summed over the examples, so the log-joint is

    log p(w, D) = sum_{global leaves} log p(.) + sum_{n} sum_{per-example leaves} log p(. | x_n, w)

(nats). The latents are the variables the joint defines and the data does not give. Each must
be a ``var global`` with a continuous support and a density; every other case is a located
error (docs/cli.md, "gmc mcmc").
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from gmc.compiler import diagnostics as diag
from gmc.compiler import ir
from gmc.compiler.symbolic.bijections import CONTINUOUS

#: Families whose "density" is a point mass: MCMC cannot move a variable they define.
_NO_DENSITY = {"Deterministic": "a Deterministic factor is a point mass"}


@dataclass(frozen=True)
class Term:
    """One leaf factor of the joint: summed over examples when ``per_example``."""

    signature: str
    per_example: bool


@dataclass(frozen=True)
class Latent:
    """A variable NUTS samples: its support and event shape."""

    name: str
    support: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class McmcPlan:
    joint: str
    terms: tuple[Term, ...]
    latents: tuple[Latent, ...]
    data: tuple[str, ...]  # the variables the log-joint reads from data, in declaration order


def plan(model: ir.Model, data_names: Iterable[str], factor: str | None = None) -> McmcPlan:
    """The :class:`McmcPlan` of ``model`` with data for ``data_names``.

    Raises GmcError (located) for a latent that is discrete, per-example, without a density,
    or given by the data although global; for an ambiguous joint; or when nothing is left to
    sample. ``factor`` must be a signature of the model (the caller checks the name)."""
    given_names = set(data_names)
    joint, leaves = _joint(model, factor)
    defined = {v: sig for sig in leaves for v in model.factors[sig].outputs}
    errors: list[diag.Diagnostic] = []
    latents = []
    for name in _in_declaration_order(model, defined):
        var = model.vars[name]
        if name in given_names:
            if var.is_global:
                errors.append(diag.mcmc_latent_fixed_by_data(var.span, name))
            continue
        family = model.factors[defined[name]].family
        if not var.is_global:
            errors.append(diag.mcmc_local_latent(var.span, name, joint))
        elif var.type.support not in CONTINUOUS:
            errors.append(diag.mcmc_discrete_latent(var.span, name, str(var.type)))
        elif family in _NO_DENSITY:
            errors.append(diag.mcmc_latent_without_density(var.span, name, joint, _NO_DENSITY[family]))
        else:
            latents.append(Latent(name, var.type.support, var.type.shape))
    needed = {v for sig in leaves for v in model.factors[sig].given} - set(defined)
    for name in _in_declaration_order(model, needed - given_names):
        errors.append(diag.mcmc_latent_without_density(model.vars[name].span, name, joint,
                                                       f"no factor of the joint defines '{name}'"))
    if not errors and not latents:
        errors.append(diag.mcmc_nothing_to_sample(_span_of(model, joint), joint))
    if errors:
        raise diag.GmcError(errors, model.source, model.filename)
    terms = tuple(Term(sig, any(not model.vars[v].is_global for v in model.factors[sig].outputs)) for sig in leaves)
    reads = (set(defined) | needed) & given_names
    return McmcPlan(joint, terms, tuple(latents), tuple(_in_declaration_order(model, reads)))


def _joint(model: ir.Model, factor: str | None) -> tuple[str, list[str]]:
    """(the joint's display name, its leaf signatures in written order)."""
    if factor is not None:
        return factor, _leaves(model, factor)
    products = [sig for sig, f in model.factors.items() if f.is_product and f.name == "p"]
    if products:
        best = max(products, key=lambda s: len(_leaves(model, s)))  # first of the largest
        return best, _leaves(model, best)
    leaves = [sig for sig, f in model.factors.items() if not f.is_product and f.name == "p"]
    owner: dict[str, str] = {}
    for sig in leaves:
        for v in model.factors[sig].outputs:
            if v in owner:
                raise diag.GmcError([diag.mcmc_ambiguous_joint(model.factors[sig].span, v, owner[v], sig)],
                                    model.source, model.filename)
            owner[v] = sig
    return " ".join(leaves), leaves


def _leaves(model: ir.Model, sig: str) -> list[str]:
    f = model.factors[sig]
    if not f.is_product or f.marginalized:  # a marginal's own log-density sums its variable out
        return [sig]
    return [leaf for c in f.components for leaf in _leaves(model, c)]


def _in_declaration_order(model: ir.Model, names) -> list[str]:
    return [v for v in model.vars if v in names]


def _span_of(model: ir.Model, joint: str):
    f = model.factors.get(joint)
    return f.span if f is not None else model.factors[joint.split(" ")[0]].span


__all__ = ["Latent", "McmcPlan", "Term", "plan"]
