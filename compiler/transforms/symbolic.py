"""Element-wise transforms as sympy: each definition f, its inverse, and log |f'(x)| derived
by differentiation and rewritten into a stable form, then printed as torch code.

The stable rewrites (:func:`stable_log`) split the log of a product or quotient into a sum of
logs and replace each log that over- or underflows with a stable primitive:
log(e^a) = a, log(1 + e^a) = log1pexp(a) (softplus), log(e^a - 1) = a + log1mexp(-a),
log(1 - e^a) = log1mexp(a), log(1 + u) = log1p(u). Afterwards softplus(a) = a + softplus(-a)
is applied wherever it removes terms (x - softplus(x) becomes -softplus(-x)). So
log sigmoid'(x) = log(e^-x / (1 + e^-x)^2) is derived as ``x - 2 softplus(x)``, finite for
every finite x in float64, where the textbook log(sigmoid(x) (1 - sigmoid(x))) is -inf beyond
|x| = 37 (and log(1 - tanh(x)^2) beyond |x| = 19).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp
from sympy.codegen.cfunctions import log1p

from gmc.compiler.symbolic.functions import log1mexp, log1pexp, sigmoid
from gmc.compiler.symbolic.printer import to_torch

X = sp.Symbol("x", real=True)
LOC = sp.Symbol("loc", real=True)
LOG_SCALE = sp.Symbol("log_scale", real=True)

#: name -> (definition f(x), inverse f^-1(y) written in x): plain sympy, as in the papers.
DEFINITIONS: dict[str, tuple[sp.Expr, sp.Expr]] = {
    "Affine": (LOC + sp.exp(LOG_SCALE) * X, (X - LOC) * sp.exp(-LOG_SCALE)),
    "Exp": (sp.exp(X), sp.log(X)),
    "Log": (sp.log(X), sp.exp(X)),
    "Sigmoid": (1 / (1 + sp.exp(-X)), sp.log(X) - sp.log(1 - X)),
    "Logit": (sp.log(X) - sp.log(1 - X), 1 / (1 + sp.exp(-X))),
    "Softplus": (sp.log(1 + sp.exp(X)), sp.log(sp.exp(X) - 1)),
    "SoftplusInverse": (sp.log(sp.exp(X) - 1), sp.log(1 + sp.exp(X))),
    "Tanh": (sp.tanh(X), sp.atanh(X)),
    "Atanh": (sp.atanh(X), sp.tanh(X)),
}


@dataclass(frozen=True)
class Derived:
    """One element-wise transform: forward value, inverse value and log |dy/dx| at x, as
    stable sympy expressions in :data:`X` (and :data:`LOC`, :data:`LOG_SCALE` for Affine)."""

    name: str
    forward: sp.Expr
    inverse: sp.Expr
    log_det: sp.Expr


@lru_cache(maxsize=None)
def derive(name: str) -> Derived:
    """Derive ``name``'s log |f'(x)| from its definition: d/dx by sympy, then
    :func:`stable_log` (the derivative of every transform here is positive)."""
    forward, inverse = DEFINITIONS[name]
    derivative = sp.diff(forward, X)
    if derivative.has(sp.tanh):  # 1 - tanh(x)^2: in exponentials, so the log splits into stable parts
        derivative = derivative.rewrite(sp.exp)
    return Derived(name, stable_value(forward), stable_value(inverse), reduce_softplus(stable_log(derivative)))


def stable_value(expr: sp.Expr) -> sp.Expr:
    """A value in stable primitives: 1/(1 + e^-a) as sigmoid(a), logs by :func:`stable_log`,
    atanh(u) as (log1p(u) - log1p(-u))/2 (torch has atanh, the printer prints logs)."""
    expr = expr.replace(lambda e: isinstance(e, sp.atanh), lambda e: (log1p(e.args[0]) - log1p(-e.args[0])) / 2)
    expr = expr.replace(lambda e: isinstance(e, sp.log), lambda e: stable_log(e.args[0]))
    a = sp.Wild("a")
    return expr.replace(1 / (1 + sp.exp(-a)), sigmoid(a))


def stable_log(arg: sp.Expr) -> sp.Expr:
    """log(arg) as a sum of stable terms (module docstring); ``arg`` must be positive."""
    numerator, denominator = sp.fraction(sp.together(sp.powsimp(arg)))
    return sp.expand(_log_polynomial(numerator) - _log_polynomial(denominator))


def _log_polynomial(expr: sp.Expr) -> sp.Expr:
    coefficient, factors = sp.factor_list(expr)
    if coefficient < 0:  # -(x - 1): turn one factor round, (1 - x), so every log is of a positive value
        index = next(i for i, (_, k) in enumerate(factors) if k % 2)
        base, k = factors[index]
        factors[index] = (-base, k)
        coefficient = -coefficient
    total = sp.log(coefficient) if coefficient != 1 else sp.Integer(0)
    for base, k in factors:
        total += k * _log_factor(base)
    return total


def _log_factor(base: sp.Expr) -> sp.Expr:
    a = sp.Wild("a")
    if isinstance(base, sp.exp):
        return base.args[0]
    if base.is_Pow and isinstance(base.base, sp.exp):
        return base.exp * base.base.args[0]
    for pattern, stable in ((1 + sp.exp(a), lambda m: log1pexp(m[a])),
                            (sp.exp(a) - 1, lambda m: m[a] + log1mexp(-m[a])),
                            (1 - sp.exp(a), lambda m: log1mexp(m[a]))):
        match = base.match(pattern)
        if match and match[a] != 0:
            return stable(match)
    if base.is_Add and 1 in base.args:
        return log1p(base - 1)
    return sp.log(base)


def reduce_softplus(expr: sp.Expr) -> sp.Expr:
    """Apply softplus(a) = a + softplus(-a) to each softplus term where the sum gets fewer terms."""
    changed = True
    while changed:
        changed = False
        for term in sp.Add.make_args(expr):
            for call in term.atoms(log1pexp):
                candidate = sp.expand(expr.subs(call, call.args[0] + log1pexp(-call.args[0])))
                if len(sp.Add.make_args(candidate)) < len(sp.Add.make_args(expr)):
                    expr, changed = candidate, True
                    break
            if changed:
                break
    return expr


def code(expr: sp.Expr, value: str, loc: str | None = None, log_scale: str | None = None) -> str:
    """Torch code of a derived expression with x named ``value`` (and Affine's parameters)."""
    names = {X: sp.Symbol(value)}
    if loc is not None:
        names.update({LOC: sp.Symbol(loc), LOG_SCALE: sp.Symbol(log_scale)})
    return to_torch(expr.xreplace(names))
