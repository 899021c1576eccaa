"""Which summed-out variables have an exact marginal: enumerable supports.

A marginal ``p(x) = sum_{y} p(x|y) p(y)`` has an exact log-density when ``y`` takes few
values: ``categorical[K]`` (K one-hot vectors) or a single ``binary`` value (0 and 1);
log p(x) = logsumexp_y [log p(x|y) + log p(y)]. An expectation ``E_{q(y|x)}[f(y)]`` over
such a variable is likewise the exact sum ``sum_y q(y|x) f(y)`` (Kingma et al. 2014, eq. 7).
No torch or sympy here: ``gmc check`` uses it.
"""
from __future__ import annotations

from gmc.compiler import ir


def enumerable_count(var: ir.Var) -> int | None:
    """The number of values of ``var`` when it is enumerable, else None."""
    t = var.type
    if t.support == "categorical" and len(t.shape) == 1:
        return t.shape[0]
    if t.support == "binary" and t.size == 1:
        return 2
    return None


def exact_marginal(model: ir.Model, sig: str) -> str | None:
    """None when ``sig``'s log-density is exact; else the variable that prevents it."""
    f = model.factors[sig]
    if not f.marginalized or sig in model.chains:  # a chain: the forward algorithm (gmc.compiler.sequences)
        return None
    if len(f.marginalized) > 1:
        return f.marginalized[1]
    v = f.marginalized[0]
    return None if enumerable_count(model.vars[v]) is not None else v


def enumerated_expectation(model: ir.Model, sig: str) -> str | None:
    """The variable an ``E_{sig}[...]`` sums over exactly: ``sig`` is one discrete
    distribution (not reparameterizable) over an enumerable variable; else None."""
    f = model.factors[sig]
    if f.is_product or f.family not in ("Categorical", "Bernoulli"):
        return None
    v = f.outputs[0]
    return v if enumerable_count(model.vars[v]) is not None else None
