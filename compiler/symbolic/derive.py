"""Expectation algebra: entropies, cross-entropies and KL divergences derived, not tabulated.

For X ~ q, every quantity here is an expectation of a log-density:

    H[q]       = -E_q[log q(X)]
    CE[q || p] = -E_q[log p(X)]
    KL[q || p] =  E_q[log q(X) - log p(X)]

The integrand is built from the families' log-densities (:mod:`gmc.compiler.symbolic.registry`)
at the symbol :data:`X`; sympy cancels identical terms first (Poisson's log x!, the Normal's
log 2 pi), so they never need a moment. What is left is split into additive terms, each
factored as (coefficient free of X) x (statistic of X), and every statistic is looked up in
q's moment table by pattern matching (``sympy.Expr.match``). Expectation is linear, so the
result is the sum of coefficient x moment (any textbook, e.g. Bishop 2006, eq. 1.33).
Linearity also passes through ``vsum`` (sums over a vector event's last axis) and through
``xlogy(u, v)`` and ``xlog1py(u, v)`` when ``v`` is free of X. No ``sympy.integrate`` and no ``sympy.simplify``:
both are slow, and simplify produces expanded, overflow-prone forms.

When q's support is not contained in p's (a Normal against a Gamma), or one is discrete and
the other continuous (the measures are mutually singular), the KL is +inf; a derivation
returns that with a note. When a statistic has no moment, the derivation returns None and
code generation falls back to a Monte-Carlo estimate. Results are element-wise over the event
(reduced over the last axis for families of event rank 1), in nats, and cached.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from gmc.compiler.families import FAMILIES
from gmc.compiler.ir import within
from gmc.compiler.symbolic.functions import fold_held, support_escapes, vsum, xlog1py, xlogy, xmul
from gmc.compiler.symbolic.registry import FORMULAS, X, Params

_DISCRETE = {"binary", "categorical", "count"}


@dataclass(frozen=True)
class Derivation:
    """A derived closed form: ``expr`` in the parameters' symbols, the rules behind it, a note."""

    expr: sp.Expr
    references: tuple[str, ...]
    note: str = ""

    @property
    def reference(self) -> str:
        return "; ".join(self.references)


class _NoMoment(Exception):
    """A statistic of X that q's moment table does not cover."""


def expectation(family: str, params: Params, integrand: sp.Expr) -> tuple[sp.Expr, tuple[str, ...]] | None:
    """E[integrand(X)] for X ~ family(params), with the moment references used; None if not closed."""
    used: list[str] = []
    try:
        value = _expect(family, params, integrand, used)
    except _NoMoment:
        return None
    return fold_held(value), tuple(dict.fromkeys(used))


def _expect(family: str, params: Params, f: sp.Expr, used: list[str]) -> sp.Expr:
    total = sp.Integer(0)
    for term in _terms(f):
        if term == 0:
            continue
        coefficient, statistic = term.as_independent(X, as_Add=False)
        total += coefficient * _moment(family, params, statistic, used)
    return total


def _terms(f: sp.Expr) -> list[sp.Expr]:
    """Additive terms of ``f``, distributing products over sums that contain X (only those)."""
    out: list[sp.Expr] = []
    for term in sp.Add.make_args(f):
        if isinstance(term, sp.Mul):
            sums = [a for a in term.args if isinstance(a, sp.Add) and a.has(X)]
            if sums:
                first = sums[0]
                rest = sp.Mul(*[a for a in term.args if a is not first])
                out.extend(t for part in first.args for t in _terms(rest * part))
                continue
        out.append(term)
    return out


def _moment(family: str, params: Params, statistic: sp.Expr, used: list[str]) -> sp.Expr:
    if statistic == 1:
        return sp.Integer(1)
    if isinstance(statistic, vsum):
        return vsum(_expect(family, params, statistic.args[0], used))
    if isinstance(statistic, (xlogy, xlog1py, xmul)) and not statistic.args[1].has(X):
        # x log y is linear in x for fixed y (with 0 log 0 = 0 kept by xlogy)
        return type(statistic)(_expect(family, params, statistic.args[0], used), statistic.args[1])
    scale, statistic = _monic(statistic)
    if scale != 1:
        return scale * _moment(family, params, statistic, used)
    for moment in FORMULAS[family].moments:
        if not _may_match(moment.pattern, statistic):
            continue
        bindings = statistic.match(moment.pattern)
        if bindings is None:
            continue
        value = moment.value(params, bindings)
        if value is not None:
            used.append(moment.reference)
            return value
    raise _NoMoment(statistic)


def _may_match(pattern: sp.Expr, statistic: sp.Expr) -> bool:
    """A cheap necessary condition for ``statistic.match(pattern)`` (matching costs ~1 ms):
    a function application only matches the same function; a power matches a power or X
    (X = X**1); an affine pattern (sum or product) matches X, a sum or a product."""
    if isinstance(pattern, sp.Function) or isinstance(pattern, sp.Abs):
        return statistic.func == pattern.func
    if isinstance(pattern, sp.Pow):
        return isinstance(statistic, sp.Pow) or statistic == X or isinstance(statistic, sp.Mul)
    if isinstance(pattern, (sp.Add, sp.Mul)):
        return statistic == X or isinstance(statistic, (sp.Add, sp.Mul, sp.Function, sp.Pow))
    return True


def _monic(statistic: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """(c**k, (u + d/c)**k) for (c*u + d)**k, and (|c|, |u + d/c|) for |c*u + d|, with u the
    X-dependent part; sympy distributes numeric factors into sums ((X - m)/1.5 becomes
    0.667*X - 0.667*m), which would hide the moment pattern."""
    if isinstance(statistic, sp.Pow) and statistic.exp.is_Number:
        base, power = statistic.base, statistic.exp
    elif isinstance(statistic, sp.Abs):
        base, power = statistic.args[0], None
    else:
        return sp.Integer(1), statistic
    if not isinstance(base, sp.Add):
        return sp.Integer(1), statistic
    offset, varying = base.as_independent(X, as_Add=True)
    coefficient, atom = varying.as_independent(X, as_Add=False)
    if coefficient == 1 or coefficient == 0 or isinstance(atom, sp.Add):
        return sp.Integer(1), statistic
    inner = atom + offset / coefficient
    if power is None:
        return sp.Abs(coefficient), sp.Abs(inner)
    return coefficient ** power, inner ** power


def _log_density(family: str, params: Params) -> tuple[sp.Expr, str]:
    rule = FORMULAS[family].log_density
    return rule.build(X, params), rule.reference


def entropy(family: str, params: Params) -> Derivation | None:
    """H[q] = -E_q[log q(X)], element-wise in nats; None when no closed form is derivable."""
    return _entropy(family, _key(params))


def cross_entropy(first: str, first_params: Params, second: str, second_params: Params) -> Derivation | None:
    """CE[q || p] = -E_q[log p(X)], element-wise in nats; +inf when the supports differ."""
    return _cross_entropy(first, _key(first_params), second, _key(second_params))


def kl(first: str, first_params: Params, second: str, second_params: Params) -> Derivation | None:
    """KL[q || p] = E_q[log q(X) - log p(X)], element-wise in nats; +inf when the supports differ."""
    return _kl(first, _key(first_params), second, _key(second_params))


def _key(params: Params) -> tuple[tuple[str, sp.Expr], ...]:
    return tuple(sorted(params.items()))


@lru_cache(maxsize=None)
def _entropy(family: str, key) -> Derivation | None:
    params = dict(key)
    rule = FORMULAS[family].entropy
    if rule is not None:
        return Derivation(rule.build(params), (rule.reference,))
    log_q, density = _log_density(family, params)
    found = expectation(family, params, log_q)
    if found is None:
        return None
    value, moments = found
    return Derivation(-value, ("H[q] = -E_q[log q]", density, *moments))


@lru_cache(maxsize=None)
def _cross_entropy(first: str, first_key, second: str, second_key) -> Derivation | None:
    q, p = dict(first_key), dict(second_key)
    infinite = _singular(first, second)
    if infinite is not None:
        return infinite
    log_p, density = _log_density(second, p)
    found = expectation(first, q, log_p)
    if found is None:
        return None
    value, moments = found
    return _with_penalty(-value, ("CE[q, p] = -E_q[log p]", density, *moments), first, q, second, p)


@lru_cache(maxsize=None)
def _kl(first: str, first_key, second: str, second_key) -> Derivation | None:
    q, p = dict(first_key), dict(second_key)
    rule = FORMULAS[first].kl.get(second)
    stated = None if rule is None else rule.build(q, p)  # a rule may decline (None): derive then
    if stated is not None:
        return Derivation(stated, (rule.reference,))
    infinite = _singular(first, second)
    if infinite is not None:
        return infinite
    log_q, q_density = _log_density(first, q)
    log_p, p_density = _log_density(second, p)
    found = expectation(first, q, log_q - log_p)
    if found is None:
        return None
    value, moments = found
    references = ("KL[q || p] = E_q[log q - log p]", *dict.fromkeys((q_density, p_density)), *moments)
    return _with_penalty(value, references, first, q, second, p)


#: Families whose distribution is a point mass (singular with respect to any density).
_POINT_MASSES = {"Deterministic"}


def _singular(first: str, second: str) -> Derivation | None:
    """+inf when q puts mass where p has none, judged from the declared supports.

    A point mass (Deterministic) and a continuous density are mutually singular: the point
    has Lebesgue measure 0, and the density's mass lies off the point, so KL is +inf in both
    directions (Cover & Thomas 2006, eq. 8.47 needs q << p). Two point masses are decided
    by Deterministic's own KL rule (0 at equal values, else +inf)."""
    a, b = FAMILIES[first].support, FAMILIES[second].support
    point_q, point_p = first in _POINT_MASSES, second in _POINT_MASSES
    if point_q != point_p and a not in _DISCRETE and b not in _DISCRETE:
        mass, density = (first, second) if point_q else (second, first)
        return Derivation(sp.oo, ("mutually singular measures",),
                          f"{mass} is a point mass and {density} a continuous density: KL is +inf")
    if (a in _DISCRETE) != (b in _DISCRETE):
        return Derivation(sp.oo, ("mutually singular measures",),
                          f"{first} is {'discrete' if a in _DISCRETE else 'continuous'} and {second} is not: "
                          "KL is +inf")
    if FORMULAS[first].bounds is None and not within(a, b):
        return Derivation(sp.oo, ("support mismatch",), f"{first}'s support ({a}) is not within {second}'s ({b}): "
                          "KL is +inf")
    return None


_SUPPORT_BOUNDS = {"real": (-sp.oo, sp.oo), "positive": (sp.Integer(0), sp.oo), "unit": (sp.Integer(0), sp.Integer(1))}


def _bounds(family: str, params: Params) -> tuple[sp.Expr, sp.Expr]:
    own = FORMULAS[family].bounds
    return own(params) if own is not None else _SUPPORT_BOUNDS.get(FAMILIES[family].support, (-sp.oo, sp.oo))


def _with_penalty(value: sp.Expr, references: tuple[str, ...], first: str, q: Params, second: str,
                  p: Params) -> Derivation:
    """``value``, guarded by +inf where q's support leaves p's, when either depends on parameters."""
    if FORMULAS[first].bounds is None and FORMULAS[second].bounds is None:
        return Derivation(value, references)  # static supports: _singular decided already
    (q_low, q_high), (p_low, p_high) = _bounds(first, q), _bounds(second, p)
    if (q_low == -sp.oo and p_low != -sp.oo) or (q_high == sp.oo and p_high != sp.oo):
        return Derivation(sp.oo, ("support mismatch",),
                          f"{first}'s support is unbounded where {second}'s is not: KL is +inf")
    if p_low == -sp.oo and p_high == sp.oo:
        return Derivation(value, references)
    return Derivation(support_escapes(value, q_low, q_high, p_low, p_high), references)


def generic_params(family: str, names: frozenset[str] | None = None, prefix: str = "q") -> Params:
    """Symbols for a family's parameters (positive where the support says so), for questions
    such as "is there a closed form?" that do not depend on the values."""
    spec = FAMILIES[family]
    chosen = names if names is not None else spec.choices[0]
    out = {}
    for param in spec.params:
        if param.name in chosen:
            assumptions = {"positive": True} if within(param.support, "positive") else {"real": True}
            out[param.name] = sp.Symbol(f"{prefix}_{param.name}", **assumptions)
    return out


def has_closed_kl(first: str, second: str) -> bool:
    """True when KL[first || second] has a derivable closed form (for generic parameters)."""
    return kl(first, generic_params(first), second, generic_params(second, prefix="p")) is not None


def mutually_singular(first: str, second: str) -> bool:
    """True when KL[first || second] is +inf because one is a point mass and the other a
    continuous density, or one is discrete and the other continuous: under each family's
    log-density convention (Deterministic's is 0 at its point) a Monte Carlo term
    log q - log p stays finite there, so a rewrite must not trade one for the other."""
    singular = _singular(first, second)
    return singular is not None and "mutually singular measures" in singular.references


def has_closed_entropy(family: str) -> bool:
    return entropy(family, generic_params(family)) is not None
