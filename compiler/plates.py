"""Plates over a data set: ``plate data(x, y)`` (docs/language.md, "Plates").

A plate says that its variables repeat once per example of a data set whose size N is known
at training time, not in the file. A loss that reads the plate's variables is an objective
of the whole data set: a global latent's terms (``KL[q(w) || p(w)]``) count once, and each
``sum(...)`` over the batch estimates the sum over all N examples by the minibatch sum scaled
by N / B, B the batch size (the subsampling estimator of stochastic variational inference,
Hoffman et al. 2013, eq. 21; Pyro's ``plate(subsample_size=...)`` scale):

    loss = KL[q(w) || p(w)] - sum(E_{q(w)}[log p(y|x,w)])      # nats per data set

The minibatch estimate is unbiased for B examples drawn without replacement, since each
example is in the batch with probability B / N. N is the keyword named after the plate
(``m.loss("loss", x=x, y=y, data=442)``, ``Model(data=442)``); :func:`gmc.runtime.train.fit`
passes the training set's size. Without it the batch is taken to be the whole data set (the
scale is 1), so a call on all the data needs nothing.

This module lowers the declaration and checks it; code generation asks :func:`loss_plate`
which plate scales a loss and :func:`scaled_sum` for the code of one scaled sum.
"""
from __future__ import annotations

from dataclasses import dataclass

from gmc.compiler import diagnostics as diag
from gmc.compiler import ir
from gmc.compiler.dataflow import data_inputs
from gmc.dsl.ast import NO_SPAN, PlateDecl, Span


@dataclass(frozen=True)
class Plate:
    """A plate: its name (the keyword that gives its size N) and the variables that repeat
    once per example of the data set, in written order."""

    name: str
    variables: tuple[str, ...]
    span: Span = NO_SPAN


def lower_plate(lowering, s: PlateDecl) -> None:
    """Record ``plate NAME(VARS)`` in ``lowering.model.plates`` (called by the lowering's
    ``declare``, after the variables are declared). Errors: an undeclared variable or one
    listed twice (the usual name-resolution errors), a global variable in a plate
    (``plate_over_global``), a variable already in another plate (``plate_overlap``)."""
    model = lowering.model
    if lowering.repeated(s.variables, f"plate '{s.name}'"):
        return
    names = [lowering.variable(n) for n in s.variables]
    if None in names:
        return
    owner = {v: p for p in model.plates.values() for v in p.variables}
    ok = True
    for name, v in zip(s.variables, names):
        if model.vars[v].is_global:
            lowering.error(diag.plate_over_global(name.span, s.name, v))
            ok = False
        elif v in owner:
            other = owner[v]
            lowering.error(diag.plate_overlap(name.span, v, s.name, other.name, other.span.line))
            ok = False
    if ok:
        model.plates[s.name] = Plate(s.name, tuple(names), s.span)


def plates_of(model: ir.Model, expr: ir.Expr) -> list[Plate]:
    """The plates whose variables ``expr`` reads from data, in declaration order."""
    inputs = set(data_inputs(model, expr))
    return [p for p in model.plates.values() if inputs & set(p.variables)]


def loss_plate(model: ir.Model, loss: ir.Loss) -> str | None:
    """The name of the plate whose size scales the sums of ``loss``, or None."""
    found = plates_of(model, loss.expr)
    return found[0].name if found else None


def check_plates(model: ir.Model) -> list[diag.Diagnostic]:
    """A loss reading the data of two plates is an error (``plate_loss_mixes``)."""
    errors = []
    for loss in model.losses.values():
        found = plates_of(model, loss.expr)
        if len(found) > 1:
            errors.append(diag.plate_loss_mixes(loss.span, loss.name, found[0].name, found[1].name))
    return errors


def scaled_sum(body: str, plate: str) -> str:
    """Code for ``sum(...)`` of per-example values ``body`` (a tensor over the batch) scaled to
    the data set: ``N * mean`` (= N / B * sum) when the plate's size ``plate`` is given, the
    plain batch sum otherwise."""
    return f"({body}.sum() if {plate} is None else {plate} * {body}.mean())"
