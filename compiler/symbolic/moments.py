"""Moment patterns shared by the families' tables, and builders for their values.

The statistics that appear in the catalogue's log-densities, once the derivation splits a
log-density into (coefficient free of X) x (statistic of X), are written here with affine
wildcards, because sympy's canonical form moves constants around: ``-((x - 2)/3)**2/2``
becomes ``(X/3 - 2/3)**2`` while ``-((x - m)/s)**2/2`` keeps ``(X - m)**2``, and one
pattern ``(A*X + B)**2`` matches both. Each builder returns a :class:`Moment` whose value
is None where the expectation has no closed form for those bindings.

Standard sources for the per-family values: Johnson, Kotz & Balakrishnan, *Continuous
Univariate Distributions* vols. 1-2 (2nd ed., 1994-1995), cited as JKB.
"""
from __future__ import annotations

from typing import Callable

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from gmc.compiler.symbolic.functions import log1mexp, log1pexp, polygamma, unheld, xlogy
from gmc.compiler.symbolic.registry import A, B, C, X, Moment, Params

#: E[aX + b] (also matches X itself, with a = 1, b = 0).
LINEAR = A * X + B
#: E[(aX + b)^2] (Normal, Laplace-free quadratic terms; also X**2).
SQUARE = (A * X + B) ** 2
#: E|aX + b| (Laplace).
ABS = sp.Abs(A * X + B)
#: E[a log X + b] (Gamma, LogNormal, Weibull, Beta, Kumaraswamy).
LOG = A * sp.log(X) + B
#: E[(a log X + b)^2] (LogNormal).
LOG_SQUARE = (A * sp.log(X) + B) ** 2
#: E[(aX)^k] (Weibull's (x/scale)**concentration; also X**k).
POWER = (A * X) ** B
#: E[log(1 - X)] as Beta writes it (log1p(-x), accurate for small x) and as written plainly.
LOG1M = log1p(-X)
LOG1M_PLAIN = sp.log(1 - X)
#: E[log(1 - X^a)] as Kumaraswamy writes it: log1mexp(a log x), accurate as x^a -> 1 and -> 0.
LOG1M_POWER = log1mexp(A * sp.log(X))
#: E[log(1 + exp(aX + b))] (Logistic); sympy keeps c*(aX + b) unexpanded for symbolic c.
SOFTPLUS = log1pexp(A * X + B)
SOFTPLUS_SCALED = log1pexp(C * (A * X + B))
#: E[log(1 + k (X - c)^2)] (StudentT), in the two shapes sympy produces.
LOG1P_SQUARE = log1p(B * (X + A) ** 2)
LOG1P_SQUARE_SCALED = log1p(C * (A * X + B) ** 2)

Value = Callable[[Params], "sp.Expr | None"]


def close(a: sp.Expr, b: sp.Expr) -> bool:
    """Whether two bound expressions are the same, without ``simplify``.

    Numbers compare to 1e-12 relative (floats reach here through different products);
    other expressions compare after ``expand``, which is cheap and canonical for the
    rational functions of parameters that moment bindings are."""
    a, b = unheld(sp.sympify(a)), unheld(sp.sympify(b))
    difference = sp.expand(a - b)
    if difference == 0:
        return True
    if difference.is_Number:
        scale = max(abs(float(a)), abs(float(b)), 1e-300) if a.is_Number and b.is_Number else 1.0
        return abs(float(difference)) <= 1e-12 * scale
    return False


def affine(mean: Value, variance: Value, reference: str) -> tuple[Moment, Moment]:
    """E[aX + b] = a E[X] + b and E[(aX + b)^2] = a^2 Var X + (a E[X] + b)^2."""

    def linear(p, w):
        m = mean(p)
        return None if m is None else w[A] * m + w[B]

    def square(p, w):
        m, v = mean(p), variance(p)
        return None if m is None or v is None else w[A] ** 2 * v + (w[A] * m + w[B]) ** 2

    return Moment(LINEAR, linear, reference), Moment(SQUARE, square, reference)


def log_affine(mean_log: Value, variance_log: Value, reference: str) -> tuple[Moment, Moment]:
    """E[a log X + b] and E[(a log X + b)^2] from the mean and variance of log X."""

    def linear(p, w):
        return w[A] * mean_log(p) + w[B]

    def square(p, w):
        return w[A] ** 2 * variance_log(p) + (w[A] * mean_log(p) + w[B]) ** 2

    return Moment(LOG, linear, reference), Moment(LOG_SQUARE, square, reference)


def power(log_raw: Callable[[Params, sp.Expr], "sp.Expr | None"], reference: str) -> Moment:
    """E[(aX)^k] = exp(k log a + log E[X^k]) for a positive variable and a > 0.

    ``log_raw(params, k)`` is log E[X^k]; working in logs keeps large moments finite."""

    def value(p, w):
        raw = log_raw(p, w[B])
        if raw is None:
            return None
        scale = w[A]
        shift = 0 if scale == 1 else w[B] * sp.expand_log(sp.log(scale), force=True)
        return sp.exp(shift + raw)

    return Moment(POWER, value, reference)


def abs_positive(mean: Value, upper: sp.Expr | None, reference: str,
                 inside: Callable[[Params, sp.Expr], "sp.Expr | None"] | None = None) -> Moment:
    """E|aX + b| for X in (0, upper) (upper None: unbounded), i.e. |a| E|X - c| with c = -b/a.

    Closed when c is a known number outside the support (then |X - c| has one sign) or
    when ``inside(params, c)`` gives E|X - c| for a number c inside it; otherwise None."""

    def value(p, w):
        a, b = w[A], w[B]
        if a == 0:
            return sp.Abs(b)
        c = -b / a
        if not c.is_Number:
            return None
        m = mean(p)
        if m is None:
            return None
        if c <= 0:
            return sp.Abs(a) * (m - c)
        if upper is not None and c >= upper:
            return sp.Abs(a) * (c - m)
        folded = None if inside is None else inside(p, c)
        return None if folded is None else sp.Abs(a) * folded

    return Moment(ABS, value, reference)


def affine_of(expr: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """(alpha, beta) with ``expr`` = alpha X + beta (``expr`` affine in X)."""
    expanded = sp.expand(expr)
    return expanded.coeff(X, 1), expanded.coeff(X, 0)


def times_log(mean: Callable[[Params, dict], "sp.Expr | None"], reference: str) -> Moment:
    """E[X log c] = E[X] log c (linearity), written ``xlogy`` so that 0 log 0 = 0 as in a
    probabilities form of the mass; ``mean`` is the family's moment value of X."""

    def value(p, w):
        m = mean(p, w)
        return None if m is None else xlogy(m, w[A])

    return Moment(xlogy(X, A), value, reference)


def digamma(x: sp.Expr) -> sp.Expr:
    return polygamma(0, x)


def trigamma(x: sp.Expr) -> sp.Expr:
    return polygamma(1, x)


__all__ = [
    "ABS", "LINEAR", "LOG", "LOG1M", "LOG1M_PLAIN", "LOG1M_POWER", "LOG1P_SQUARE", "LOG1P_SQUARE_SCALED",
    "LOG_SQUARE", "POWER", "SOFTPLUS", "SOFTPLUS_SCALED", "SQUARE", "abs_positive", "affine", "affine_of",
    "close", "digamma", "expm1", "log1p", "log_affine", "power", "times_log", "trigamma",
]
