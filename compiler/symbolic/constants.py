"""Numeric values of constant sympy expressions, and the rule for printing them.

A constant subexpression of a closed form (no symbols: ``log(1 + e^800)``, ``lgamma(170)``,
``xlogy(0.3, 0.3)``) is printed as exact ``math`` code only when that code runs in float64 and
agrees with the value computed here with 60 significant digits (mpmath); otherwise it is
printed as the float literal of that value. A folded constant is then never less robust than
the tensor code for the same formula: ``math.exp(800)`` overflows, ``math.log`` of a 700-digit
integer prints 700 digits, and a difference of two large ``lgamma`` cancels, while the
literal is correctly rounded. An undefined constant (``log`` of a negative number, ``1/0``)
raises :class:`UndefinedConstant`, which code generation turns into a located error.
"""
from __future__ import annotations

import math

import mpmath as mp
import sympy as sp

_DIGITS = 60
_TOLERANCE = 1e-13  # relative agreement asked of the exact math form (a few ulp of float64)


class UndefinedConstant(ArithmeticError):
    """A constant subexpression with no real value (``zoo``, ``nan``, an imaginary part)."""

    def __init__(self, expr: sp.Expr):
        super().__init__(f"constant {expr} has no real value")
        self.expr = expr
        self.span = None  # set by code generation: the innermost factor or term being emitted

    def locate(self, span) -> None:
        """Record where the constant came from, unless an inner node already did."""
        if self.span is None:
            self.span = span


class _NoValue(Exception):
    """A constant this module cannot evaluate (an unknown function): printed as before."""


def _log1pexp(h):
    return h + mp.log1p(mp.exp(-h)) if h > 0 else mp.log1p(mp.exp(h))


def _xlogy(x, y):
    return mp.mpf(0) if x == 0 else x * mp.log(y)


def _xlog1py(x, y):
    return mp.mpf(0) if x == 0 else x * mp.log1p(y)


def _loggamma(x):
    # torch.lgamma and math.lgamma give log|Gamma(x)|, real also for negative x
    return mp.re(mp.loggamma(x)) if x > 0 else mp.log(abs(mp.gamma(x)))


def _support_escapes(value, q_low, q_high, p_low, p_high):
    return mp.inf if q_low < p_low or q_high > p_high else value


_FUNCTIONS = {
    "log": mp.log, "exp": mp.exp, "Abs": abs, "tanh": mp.tanh, "sin": mp.sin, "cos": mp.cos,
    "loggamma": _loggamma, "gamma": mp.gamma, "log1p": mp.log1p, "expm1": mp.expm1,
    "erf": mp.erf, "erfc": mp.erfc, "polygamma": lambda n, x: mp.psi(int(n), x),
    "log1pexp": _log1pexp, "log1mexp": lambda h: mp.log(-mp.expm1(h)), "sigmoid": lambda h: 1 / (1 + mp.exp(-h)),
    "xlogy": _xlogy, "xmul": lambda x, h: mp.mpf(0) if x == 0 else x * h, "xlog1py": _xlog1py, "bernoulli_nll": lambda x, h: _log1pexp(h) - x * h,
    "support_escapes": _support_escapes,
}


def _value(expr: sp.Expr):
    if expr.is_Integer:
        return mp.mpf(int(expr))
    if expr.is_Rational:
        return mp.mpf(expr.p) / expr.q
    if expr.is_Float:
        return mp.mpf(expr._mpf_)
    if expr in (sp.zoo, sp.nan, sp.I):
        raise UndefinedConstant(expr)
    if expr is sp.oo:
        return mp.inf
    if expr is sp.S.NegativeInfinity:
        return -mp.inf
    if expr is sp.pi:
        return +mp.pi
    if expr is sp.E:
        return +mp.e
    if expr is sp.EulerGamma:
        return +mp.euler
    if expr.is_Add:
        return mp.fsum(_value(a) for a in expr.args)
    if expr.is_Mul:
        return mp.fprod(_value(a) for a in expr.args)
    if expr.is_Pow:
        base, exponent = (_value(a) for a in expr.args)
        if base == 0 and exponent < 0:
            raise UndefinedConstant(expr)
        return mp.power(base, exponent)
    function = _FUNCTIONS.get(type(expr).__name__)
    if function is None:
        raise _NoValue(expr)
    return function(*(_value(a) for a in expr.args))


def real_value(expr: sp.Expr):
    """The value of the constant ``expr`` as an mpmath real with 60 digits, or None when it
    uses a function this module does not know. Raises UndefinedConstant when it has no real
    value (sympy's ``zoo`` or ``nan``, an imaginary part, 0 * inf)."""
    with mp.workdps(_DIGITS):
        try:
            value = _value(expr)
        except _NoValue:
            return None
        except (ZeroDivisionError, ValueError):
            raise UndefinedConstant(expr) from None
        if isinstance(value, mp.mpc):
            if value.imag != 0:
                raise UndefinedConstant(expr)
            value = value.real
        if mp.isnan(value):
            raise UndefinedConstant(expr)
        return value


def float_literal(value) -> str:
    """Python source for the float nearest to ``value`` (an mpmath real), bracketed when
    negative so that it may stand anywhere in an expression; +-inf as ``math.inf``."""
    number = float(value)
    code = ("-math.inf" if number < 0 else "math.inf") if math.isinf(number) else repr(number)
    return f"({code})" if number < 0 else code


def runs_accurately(code: str, value) -> bool:
    """Whether the ``math`` expression ``code`` evaluates in float64 without an error to a
    finite number within a few ulp of ``value``."""
    try:
        got = eval(code, {"__builtins__": {}, "math": math, "abs": abs})  # noqa: S307 (gmc's own printed code)
    except Exception:  # overflow, a math domain error, torch.* that needs tensors
        return False
    if not isinstance(got, (int, float)) or isinstance(got, bool):
        return False
    got = float(got)
    if math.isinf(got) or math.isnan(got):
        return math.isinf(value) and got == float(value)
    return abs(got - float(value)) <= _TOLERANCE * abs(float(value)) or got == float(value)


def ir_number(e) -> sp.Expr | None:
    """A parameter written as arithmetic of numbers and consts (``1.0 + 0.0``, ``2 ** -0.5``)
    as a sympy number, so that closed forms fold and check it like a literal (its math code
    would otherwise run, and could fail, in every call); None for an expression that names a
    param, weight or tensor, applies a function (those are torch code already), or whose value
    underflows or overflows float64 (then it stays run-time code, as before). Raises
    UndefinedConstant, located at ``e``, for one with no real value (``(-1.0) ** 0.5``)."""
    with mp.workdps(_DIGITS):
        try:
            value = _ir_value(e)
        except _NoValue:
            return None
        except (ZeroDivisionError, ValueError):
            value = None
        undefined = (sp.zoo if value is None else sp.I if isinstance(value, mp.mpc)
                     else sp.nan if mp.isnan(value) else None)
        if undefined is not None:
            error = UndefinedConstant(undefined)
            error.locate(e.span)
            raise error
    number = float(value)
    if math.isinf(number) or (number == 0 and value != 0):
        return None
    from gmc.compiler.symbolic.functions import number as as_sympy
    return as_sympy(number)


def _ir_value(e):
    from gmc.compiler import ir

    if isinstance(e, (ir.Num, ir.ConstRef)):
        return mp.mpf(e.value)
    if isinstance(e, ir.Neg):
        return -_ir_value(e.operand)
    if isinstance(e, ir.BinOp) and e.op in ("+", "-", "*", "/", "**"):
        left, right = _ir_value(e.left), _ir_value(e.right)
        if e.op == "/" and right == 0:
            raise ZeroDivisionError
        return {"+": lambda: left + right, "-": lambda: left - right, "*": lambda: left * right,
                "/": lambda: left / right, "**": lambda: mp.power(left, right)}[e.op]()
    raise _NoValue(e)
