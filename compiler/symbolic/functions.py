"""sympy functions that stand for numerically stable torch primitives.

They are left unevaluated by sympy and printed by :mod:`gmc.compiler.symbolic.printer`.
"""
import sympy as sp


class log1pexp(sp.Function):
    """log(1 + exp(h)), i.e. softplus, computed without overflow (``gmc.runtime.log1pexp``)."""

    nargs = 1

    @classmethod
    def eval(cls, h):
        if h.is_Number:
            return sp.log(1 + sp.exp(h))
        return None


class xlogy(sp.Function):
    """x * log(y) with 0 * log(0) = 0 (``torch.xlogy``)."""

    nargs = 2

    @classmethod
    def eval(cls, x, y):
        if x.is_zero:
            return sp.Integer(0)
        if x.is_Number and y.is_Number:
            return x * sp.log(y)
        return None


class Scalar(sp.Symbol):
    """A symbol bound to a Python number (a param), not a tensor: printed with ``math``."""


class vsum(sp.Function):
    """Sum over the last (event) axis, keeping it as size 1: ``t.sum(-1, keepdim=True)``."""

    nargs = 1


class vlogsumexp(sp.Function):
    """log-sum-exp over the last axis, keeping it: ``torch.logsumexp(t, -1, keepdim=True)``."""

    nargs = 1


class log1mexp(sp.Function):
    """log(1 - exp(h)) for h < 0, accurate for h near 0 and very negative
    (``gmc.runtime.log1mexp``; Maechler 2012). Kumaraswamy writes log(1 - x^a) as
    log1mexp(a log x), which sympy would otherwise fold into log(1 - x**a) for a number a."""

    nargs = 1

    @classmethod
    def eval(cls, h):
        if h.is_Number:
            return sp.log(1 - sp.exp(h))
        return None
