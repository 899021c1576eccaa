"""Print sympy expressions as torch code.

Subexpressions with tensors (free symbols other than :class:`Scalar`) become ``torch.*``
calls; constant and scalar ones stay exact ``math.*`` expressions. Symbols print as their names, which code
generation chose as Python identifiers.
"""
from __future__ import annotations

import sympy as sp
from sympy.printing.precedence import precedence
from sympy.printing.str import StrPrinter

from gmc.compiler.symbolic.functions import Scalar, log1pexp, xlogy

_ELEMENTWISE = {"log": "log", "exp": "exp", "Abs": "abs", "tanh": "tanh"}


def _has_tensor(expr) -> bool:
    return any(not isinstance(s, Scalar) for s in expr.free_symbols)


class TorchPrinter(StrPrinter):
    """sympy -> Python source over tensors (``torch``) and floats (``math``)."""

    def _print_Symbol(self, expr):
        return expr.name

    def _print_Float(self, expr):
        return repr(float(expr))

    def _print_Integer(self, expr):
        return str(int(expr))

    def _print_Rational(self, expr):
        return f"{expr.p}/{expr.q}"

    def _print_Pi(self, expr):
        return "math.pi"

    def _print_Exp1(self, expr):
        return "math.e"

    def _print_Function(self, expr):
        name = type(expr).__name__
        args = ", ".join(self._print(a) for a in expr.args)
        if isinstance(expr, log1pexp):
            return f"rt.log1pexp({args})"
        if isinstance(expr, xlogy):
            return f"torch.xlogy({args})"
        if name in _ELEMENTWISE:
            module = "torch" if _has_tensor(expr) else "math"
            return f"{module}.{_ELEMENTWISE[name]}({args})"
        raise NotImplementedError(f"no torch form for sympy function {name}")

    _print_log = _print_exp = _print_Abs = _print_tanh = _print_Function

    def _print_Pow(self, expr, rational=False):
        base, exponent = expr.args
        if exponent == sp.Rational(1, 2):
            module = "torch" if _has_tensor(base) else "math"
            return f"{module}.sqrt({self._print(base)})"
        if exponent == -1:
            return f"1 / {self.parenthesize(base, precedence(expr), strict=False)}"
        return super()._print_Pow(expr, rational)


def to_torch(expr: sp.Expr) -> str:
    """The Python source of ``expr`` (see module docstring)."""
    return TorchPrinter().doprint(expr)
