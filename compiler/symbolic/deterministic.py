"""Deterministic(value v): a point mass at v.

The log-density is 0: the density of a point mass relative to itself (counting measure at
v, as pyro.distributions.Delta). It is only meaningful at x = v; the value is never
compared. Every expectation is the statistic evaluated at v.
"""
import sympy as sp

from gmc.compiler.symbolic.functions import support_escapes
from gmc.compiler.symbolic.registry import A, X, Formulas, Moment, Rule, register


def _log_density(x, p):
    return sp.Integer(0)


def _at_value(pattern):
    # E[f(X)] = f(v) for a point mass at v
    return lambda p, wilds: pattern.xreplace(wilds).subs(X, p["value"])


register(Formulas(
    family="Deterministic",
    log_density=Rule(_log_density, "point mass: log-density 0 at the point"),
    moments=tuple(Moment(pattern, _at_value(pattern), "E[f(X)] = f(value) for a point mass")
                  for pattern in (X, X ** A, sp.log(X), (X + A) ** 2)),
    # two point masses: KL 0 where they sit at the same value, +inf elsewhere
    kl={"Deterministic": Rule(lambda q, p: support_escapes(sp.Integer(0), q["value"], q["value"], p["value"],
                                                           p["value"]),
                              "point masses: 0 at equal values, else +inf")},
))
