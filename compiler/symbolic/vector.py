"""Helpers for families of event rank 1, whose formulas reduce the last event axis.

A parameter may be a tensor (one value per category) or a number or param broadcast over
the K categories. ``vsum`` and ``vlogsumexp`` need a tensor, so a non-tensor argument is
reduced in closed form with K = ``vsize(x)`` (x is the value, whose last axis has K entries):
sum_k c = K c and log sum_k e^c = c + log K.
"""
from __future__ import annotations

import sympy as sp

from gmc.compiler.symbolic.functions import Scalar, vlogsumexp, vsize, vsum


def is_tensor(expr: sp.Expr) -> bool:
    """True when ``expr`` mentions a tensor symbol (not only numbers, params and ``vsize``)."""
    if isinstance(expr, vsize):
        return False
    if isinstance(expr, sp.Symbol):
        return not isinstance(expr, Scalar)
    return any(is_tensor(a) for a in expr.args)


def vsum_over(t: sp.Expr, x: sp.Expr) -> sp.Expr:
    """sum_k t_k over the last axis of the value ``x`` (size-1 axis kept)."""
    return vsum(t) if is_tensor(t) else vsize(x) * t


def vlogsumexp_over(h: sp.Expr, x: sp.Expr) -> sp.Expr:
    """log sum_k exp(h_k) over the last axis of the value ``x`` (size-1 axis kept)."""
    return vlogsumexp(h) if is_tensor(h) else h + sp.log(vsize(x))


def softmax(h: sp.Expr) -> sp.Expr | None:
    """exp(h - logsumexp(h)) for a tensor h; None for a constant (its K is unknown here)."""
    return sp.exp(h - vlogsumexp(h)) if is_tensor(h) else None


def with_category_count(expr: sp.Expr, k: int) -> sp.Expr:
    """``expr`` once the number of categories K is known (code generation knows the variable):
    sum_k c of a constant c becomes K c. A derivation reduces the last axis with ``vsum`` before
    it knows whether the summand stays a tensor; with constant parameters it does not."""
    return expr.replace(lambda e: isinstance(e, vsum) and not is_tensor(e.args[0]), lambda e: k * e.args[0])
