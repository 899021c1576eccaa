"""Print sympy expressions as torch code.

Subexpressions with tensors (free symbols other than :class:`Scalar`) become ``torch.*``
calls; scalar ones (params, Python floats) ``math.*`` expressions, or torch ones on a float64
``torch.as_tensor`` where ``math`` lacks a stable form (softplus, xlogy). A constant
subexpression prints as exact ``math`` code when that runs accurately in float64, else as
the float literal of its 60-digit value (:mod:`gmc.compiler.symbolic.constants`); integers
and rationals beyond 2**53 print as floats. Symbols print as their names, which code
generation chose as Python identifiers.
"""
from __future__ import annotations

import math

import sympy as sp
from sympy.printing.precedence import precedence
from sympy.printing.str import StrPrinter

from gmc.compiler.symbolic.constants import UndefinedConstant, float_literal, real_value, runs_accurately
from gmc.compiler.symbolic.functions import (Scalar, bernoulli_nll, log1mexp, log1pexp, sigmoid, support_escapes,
                                             vlogsumexp, vsize, vsum, xlog1py, xlogy, xmul)
from gmc.compiler.symbolic.templates import memoize_printer

# sympy function -> (torch form, math form or None when math lacks it)
_ELEMENTWISE = {
    "log": ("torch.log", "math.log"), "exp": ("torch.exp", "math.exp"), "Abs": ("torch.abs", "abs"),
    "tanh": ("torch.tanh", "math.tanh"), "loggamma": ("torch.lgamma", "math.lgamma"),
    "log1p": ("torch.log1p", "math.log1p"), "expm1": ("torch.expm1", "math.expm1"),
    "erf": ("torch.erf", "math.erf"), "erfc": ("torch.erfc", "math.erfc"),
    "sin": ("torch.sin", "math.sin"), "cos": ("torch.cos", "math.cos"),
}


def _has_tensor(expr) -> bool:
    """True when ``expr`` is a tensor: it mentions a tensor symbol outside ``vsize`` (an int)."""
    if isinstance(expr, vsize):
        return False
    if expr.is_Symbol:
        return not isinstance(expr, Scalar)
    return any(_has_tensor(a) for a in expr.args)


_EXACT_INTEGER = 2 ** 53  # beyond it integers are not exact in float64 and overflow torch's int64


def _float(value: float) -> str:
    """A float as code; ``repr`` would print ``inf`` and ``nan``, names (a user's variable may be
    called ``inf``), so non-finite values go through ``math``."""
    if value != value:
        return "math.nan"
    if value in (math.inf, -math.inf):
        return "math.inf" if value > 0 else "(-math.inf)"
    return repr(value)


class TorchPrinter(StrPrinter):
    """sympy -> Python source over tensors (``torch``) and floats (``math``)."""

    def _print(self, expr, **kwargs):
        if expr in (sp.zoo, sp.nan, sp.I):  # never printed as names that do not exist at run time
            raise UndefinedConstant(expr)
        return super()._print(expr, **kwargs)

    def _print_Symbol(self, expr):
        return expr.name

    def _print_Float(self, expr):
        return _float(float(expr))  # beyond float64's range: math.inf, never the name inf

    def _print_Integer(self, expr):
        n = int(expr)
        return str(n) if abs(n) <= _EXACT_INTEGER else float_literal(real_value(expr))

    def _print_Rational(self, expr):
        if max(abs(expr.p), expr.q) > _EXACT_INTEGER:
            return float_literal(real_value(expr))
        return f"{expr.p}/{expr.q}"

    def _print_Pi(self, expr):
        return "math.pi"

    def _print_Exp1(self, expr):
        return "math.e"

    def _print_Function(self, expr):
        name = type(expr).__name__
        if not expr.free_symbols and (name not in _ELEMENTWISE or _ELEMENTWISE[name][1] is None):
            value = real_value(expr)  # a number math cannot compute (digamma(2), ...)
            return float_literal(value) if value is not None else _float(float(expr.evalf(17)))
        args = ", ".join(self._print(a) for a in expr.args)
        if isinstance(expr, log1pexp):
            return f"rt.log1pexp({self._tensor(expr.args[0])})"
        if isinstance(expr, xmul):
            return f"rt.xmul({args})"
        if isinstance(expr, bernoulli_nll):
            return f"rt.bernoulli_nll({args})"
        if isinstance(expr, log1mexp):
            return f"rt.log1mexp({self._tensor(expr.args[0])})"
        if isinstance(expr, (xlogy, xlog1py)):
            function = "torch.xlogy" if isinstance(expr, xlogy) else "torch.special.xlog1py"
            x, y = expr.args
            return f"{function}({self._tensor(x) if not _has_tensor(y) else self._print(x)}, {self._print(y)})"
        if isinstance(expr, sigmoid):
            return f"torch.sigmoid({self._tensor(expr.args[0])})"
        if isinstance(expr, support_escapes):
            value, q_low, q_high, p_low, p_high = (self._print(a) for a in expr.args)
            if _has_tensor(expr):
                escapes = f"torch.as_tensor({q_low} < {p_low}) | torch.as_tensor({q_high} > {p_high})"
                return f"torch.where({escapes}, math.inf, {value})"
            return f"(math.inf if {q_low} < {p_low} or {q_high} > {p_high} else {value})"
        if isinstance(expr, vsum):
            return f"({args}).sum(-1, keepdim=True)"
        if isinstance(expr, vsize):
            return f"{args}.shape[-1]"
        if isinstance(expr, vlogsumexp):
            return f"torch.logsumexp({args}, -1, keepdim=True)"
        if name == "polygamma":
            order, value = expr.args
            if order == 0:
                return f"torch.digamma({self._tensor(value)})"
            return f"torch.polygamma({self._print(order)}, {self._tensor(value)})"
        if name == "gamma":
            return f"torch.exp(torch.lgamma({self._tensor(expr.args[0])}))" if _has_tensor(expr) \
                else f"math.gamma({args})"
        if name in _ELEMENTWISE:
            torch_form, math_form = _ELEMENTWISE[name]
            return f"{torch_form if _has_tensor(expr) else math_form}({args})"
        raise NotImplementedError(f"no torch form for sympy function {name}")

    def _print_kl_div(self, expr):
        # one call: rt.kl_div sums a series where q log(q/p) - q + p would cancel
        return f"rt.kl_div({', '.join(self._print(a) for a in expr.args)})"

    def _print_lgamma_gap(self, expr):
        # one call: exactly 0 when both shapes are equal (KL between Gammas of one shape)
        return f"rt.lgamma_gap({', '.join(self._print(a) for a in expr.args)})"

    def _tensor(self, value) -> str:
        """Code for ``value`` as a tensor argument: a param is a Python float, made a float64
        tensor (a 0-dim tensor takes the dtype of the tensors it meets)."""
        code = self._print(value)
        return code if _has_tensor(value) else f"torch.as_tensor({code}, dtype=torch.float64)"

    _print_log = _print_exp = _print_Abs = _print_tanh = _print_loggamma = _print_polygamma = _print_Function
    _print_gamma = _print_erf = _print_erfc = _print_sin = _print_cos = _print_Function

    def _print_Infinity(self, expr):
        return "math.inf"

    def _print_NegativeInfinity(self, expr):
        return "(-math.inf)"

    def _print_NaN(self, expr):
        return "math.nan"

    _print_ComplexInfinity = _print_NaN  # zoo: no real value

    def _print_EulerGamma(self, expr):
        return _float(float(expr.evalf(17)))

    def _print_NumberSymbol(self, expr):
        return _float(float(expr.evalf(17)))

    def _print_Mul(self, expr):
        # a tensor scaled by p/2^k prints as a multiplication by its float (exact: p/2^k is a
        # float64 when p < 2^53), which takes the sign too: -z**2/2 was a negation and a
        # division, -0.5*z**2 is one multiplication. x/(2*s**2) becomes 0.5*x/s**2: (x/2)/s^2
        # and x/(2 s^2) are both the correct rounding of one real number.
        coefficient, rest = expr.as_coeff_Mul()
        if _binary_fraction(coefficient) and _has_tensor(rest):
            if rest.is_Pow and rest.exp == -1:
                return f"{_float(float(coefficient))}/{self.parenthesize(rest.base, precedence(rest), strict=False)}"
            body = self._print(rest)
            return f"{_float(float(coefficient))}*{f'({body})' if rest.is_Add else body}"
        return super()._print_Mul(expr)

    def _print_Pow(self, expr, rational=False):
        base, exponent = expr.args
        if exponent == sp.Rational(1, 2):
            module = "torch" if _has_tensor(base) else "math"
            return f"{module}.sqrt({self._print(base)})"
        if exponent == -1:
            return f"1 / {self.parenthesize(base, precedence(expr), strict=False)}"
        return super()._print_Pow(expr, rational)


def _binary_fraction(c) -> bool:
    """True for a non-integer rational p/2^k with |p| < 2^53: exactly a float64."""
    return bool(c.is_Rational and not c.is_Integer and c.q & (c.q - 1) == 0 and abs(c.p) < _EXACT_INTEGER)


def fold_constants(expr: sp.Expr) -> sp.Expr:
    """``expr`` with each constant subexpression whose exact ``math`` code would fail or lose
    accuracy in float64 (``log(1 + e^800)``, ``lgamma(1e6 + 1/2) - lgamma(1e6)``) replaced by
    the float of its 60-digit value; constants that print accurately are left exact. Raises
    UndefinedConstant for a constant with no real value."""
    if expr.is_Atom:
        if expr in (sp.zoo, sp.nan, sp.I):
            raise UndefinedConstant(expr)
        return expr
    if not expr.free_symbols:
        value = real_value(expr)
        if value is None:
            return expr
        try:
            code = TorchPrinter().doprint(expr)
        except (ValueError, OverflowError):  # an integer too long to print or convert
            code = None
        if code is not None and runs_accurately(code, value):
            return expr
        if math.isinf(float(value)):  # beyond float64 (exp(800) alone): what the tensor code gives
            return sp.oo if value > 0 else -sp.oo
        return sp.Float(value, 17)
    args = tuple(fold_constants(a) for a in expr.args)
    return expr.func(*args) if args != expr.args else expr


def fold_floats(expr: sp.Expr) -> sp.Expr:
    """``expr`` with the number terms of each sum combined into one float when one of them
    is already a float (a decimal constant such as ``scale=0.1``): ``-log(0.1) - log(2 pi)/2``
    prints as one literal; also when adding them in float64 would cancel digits
    (``lgamma(170.5) - lgamma(170)``). Exact sums (``log(2 pi)/2`` alone) are left as they are."""
    if expr.is_Atom:
        return expr
    args = tuple(fold_floats(a) for a in expr.args)
    if args != expr.args:
        expr = expr.func(*args)
    if expr.is_Add:
        numbers = [a for a in expr.args if not a.free_symbols]
        if len(numbers) > 1:
            total = sp.Add(*numbers)
            value = real_value(total)
            if any(a.has(sp.Float) for a in numbers) or (value is not None and _cancels(total, value)):
                rest = [a for a in expr.args if a.free_symbols]
                return sp.Add(sp.Float(value if value is not None else total.evalf(17), 17), *rest)
    return expr


def _cancels(total: sp.Expr, value) -> bool:
    """Whether the constant terms ``total`` of a sum, added in float64, miss their exact sum
    ``value``: ``lgamma(500000.5) - lgamma(500000)`` (StudentT(1e6)) loses 6 digits."""
    return not runs_accurately(TorchPrinter().doprint(total), value)


def fuse_bernoulli(expr: sp.Expr) -> sp.Expr:
    """``expr`` with each pair of terms ``c x h - c log(1 + e^h)`` of a sum (x a tensor
    variable) replaced by ``-c bernoulli_nll(x, h)``, which prints as one call of torch's fused
    ``binary_cross_entropy_with_logits``: one op and one autograd node where the two terms
    take three of each. The log-mass (c = 1) prints negated, ``-rt.bernoulli_nll(x, h)``, and
    the emitter moves that sign past the event sum, onto one value per example (negation is
    exact, so the sum is the same bit for bit), as hand-written code negates the summed
    cross-entropy. Other uses of ``log1pexp`` are left alone."""
    if expr.is_Atom:
        return expr
    args = tuple(fuse_bernoulli(a) for a in expr.args)
    if args != expr.args:
        expr = expr.func(*args)
    if not expr.is_Add:
        return expr
    softplus = {}
    for term in expr.args:
        coefficient, rest = term.as_coeff_Mul()
        if isinstance(rest, log1pexp) and _has_tensor(rest):
            softplus.setdefault(rest.args[0], (coefficient, term))
    if not softplus:
        return expr
    terms, fused = list(expr.args), []
    for term in expr.args:
        coefficient, rest = term.as_coeff_Mul()
        if not (rest.is_Mul and len(rest.args) == 2):
            continue
        for x, h in (rest.args, rest.args[::-1]):
            pair = softplus.get(h)
            if pair and pair[0] == -coefficient and x.is_Symbol and _has_tensor(x) and pair[1] in terms:
                terms.remove(term)
                terms.remove(pair[1])
                fused.append(-coefficient * bernoulli_nll(x, h))
                break
    return sp.Add(*fused, *terms) if fused else expr


def _exact_scale(c) -> bool:
    """True for a rational other than +-1 whose numerator and denominator are powers of two:
    scaling by it is exact in binary floating point."""
    def power_of_two(n):
        return n > 0 and n & (n - 1) == 0
    return c.is_Rational and abs(c) != 1 and power_of_two(abs(c.p)) and power_of_two(c.q)


def group_scaled_terms(expr: sp.Expr) -> sp.Expr:
    """``expr`` with the tensor terms of each sum that share a power-of-two coefficient
    grouped under it: ``a**2/2 + b**2/2`` prints as ``(a**2 + b**2)/2``, one element-wise op
    and one autograd node fewer per group (the Gaussian KL of every VAE has one). Scaling by
    a power of two is exact, so each group equals its terms bit for bit; the sum around it
    may add in another order (a few ulp). The result is left unevaluated, as sympy would
    distribute the coefficient again: print it, do not rewrite it."""
    if expr.is_Atom:
        return expr
    args = tuple(group_scaled_terms(a) for a in expr.args)
    if args != expr.args:
        expr = expr.func(*args, evaluate=False)
    if not expr.is_Add:
        return expr
    groups: dict = {}
    for term in expr.args:
        coefficient, rest = term.as_coeff_Mul()
        if _exact_scale(coefficient) and _has_tensor(rest):
            groups.setdefault(coefficient, []).append(rest)
    grouped = {c: terms for c, terms in groups.items() if len(terms) > 1}
    if not grouped:
        return expr
    kept = [t for t in expr.args if t.as_coeff_Mul()[0] not in grouped or not _has_tensor(t.as_coeff_Mul()[1])]
    scaled = [sp.Mul(c, sp.Add(*terms, evaluate=False), evaluate=False) for c, terms in grouped.items()]
    return sp.Add(*scaled, *kept, evaluate=False)


@memoize_printer
def to_torch(expr: sp.Expr) -> str:
    """The Python source of ``expr`` (see module docstring)."""
    return TorchPrinter().doprint(group_scaled_terms(fuse_bernoulli(fold_floats(fold_constants(expr)))))
