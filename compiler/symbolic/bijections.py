"""Bijections from unconstrained reals onto each continuous support, for MCMC.

NUTS moves in R^n; a latent with support ``positive`` or ``unit`` is sampled as an
unconstrained ``u`` and mapped through ``x = f(u)``. The change of variables adds
``log |df/du|`` to the log-joint (Stan Reference Manual, "Constraint transforms"; the
transforms are the standard ones: identity, exp, logistic). The log-Jacobian is derived
here by sympy (differentiate, take the log, expand), then rewritten into stable primitives
(``log(1 + e^a)`` -> ``log1pexp(a)``) and printed as torch code over the tensor ``u``.
``simplex`` uses torch's stick-breaking transform (not element-wise, so not derived here).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import sympy as sp

from gmc.compiler.symbolic.functions import log1pexp
from gmc.compiler.symbolic.printer import to_torch

U = sp.Symbol("u", real=True)
X = sp.Symbol("x", positive=True)

#: support -> (constraining map f(u), its inverse as an expression in x, reference)
_MAPS = {
    "real": (U, X, "identity"),
    "positive": (sp.exp(U), sp.log(X), "x = exp(u)"),
    "unit": (1 / (1 + sp.exp(-U)), sp.log(X) - sp.log(1 - X), "x = logistic(u) = 1/(1 + e^-u)"),
}

#: Supports MCMC moves through a bijection; ``simplex`` is handled by torch's
#: StickBreakingTransform (gmc.runtime.mcmc).
CONTINUOUS = ("real", "positive", "unit", "simplex")


@dataclass(frozen=True)
class Bijection:
    """Code for one support's transform; every string is a torch expression.

    ``constrain`` maps the tensor ``u`` to ``x``; ``unconstrain`` maps ``x`` back;
    ``log_det`` is ``log |dx/du|`` element-wise (nats), so the log-joint of ``u`` is
    ``log p(f(u)) + log_det(u).sum()``. ``derivation`` is the sympy expression of log_det."""

    support: str
    constrain: str
    unconstrain: str
    log_det: str
    derivation: sp.Expr
    reference: str


def _stable(expr: sp.Expr) -> sp.Expr:
    """log(1 + exp(a)) -> log1pexp(a): exact, and finite for large a."""
    def rewrite(node):
        if isinstance(node, sp.log) and node.args[0].is_Add:
            terms = node.args[0].args
            if len(terms) == 2 and sp.Integer(1) in terms:
                other = terms[0] if terms[1] == 1 else terms[1]
                if isinstance(other, sp.exp):
                    return log1pexp(other.args[0])
        return node
    return expr.replace(lambda n: isinstance(n, sp.log), rewrite)


def log_det_jacobian(support: str) -> sp.Expr:
    """log |d f(u) / du| for the support's map f, derived and rewritten stably (a sympy
    expression in ``U``). KeyError for a support without an element-wise map."""
    forward = _MAPS[support][0]
    derivative = sp.diff(forward, U)
    return _stable(sp.expand_log(sp.log(derivative), force=True))


@functools.cache
def bijection(support: str) -> Bijection:
    """The :class:`Bijection` of an element-wise support (``real``, ``positive``, ``unit``)."""
    forward, inverse, reference = _MAPS[support]
    log_det = log_det_jacobian(support)
    constrain = "torch.sigmoid(u)" if support == "unit" else to_torch(forward)
    unconstrain = "torch.logit(x)" if support == "unit" else to_torch(inverse)
    return Bijection(support, constrain, unconstrain, to_torch(log_det), log_det, reference)


__all__ = ["Bijection", "CONTINUOUS", "U", "X", "bijection", "log_det_jacobian"]
