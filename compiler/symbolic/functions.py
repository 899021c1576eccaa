"""sympy functions that stand for numerically stable torch primitives.

They are left unevaluated by sympy and printed by :mod:`gmc.compiler.symbolic.printer`.
"""
import sympy as sp


class log1pexp(sp.Function):
    """log(1 + exp(h)), i.e. softplus, computed without overflow (``gmc.runtime.log1pexp``)."""

    nargs = 1

    def _latex(self, printer):
        return r"\log\left(1 + e^{%s}\right)" % printer._print(self.args[0])

    @classmethod
    def eval(cls, h):
        if h.is_Number:
            return sp.log(1 + sp.exp(h))
        return None


class bernoulli_nll(sp.Function):
    """log(1 + e^h) - x h: the Bernoulli negative log-mass (binary cross-entropy) at x with
    logits h (``gmc.runtime.bernoulli_nll``, one fused torch op). Made only by the printer
    from the two terms of the log-mass it stands for; nothing derives with it."""

    nargs = 2

    def _latex(self, printer):
        x, h = (printer._print(a) for a in self.args)
        return r"\log\left(1 + e^{%s}\right) - %s %s" % (h, x, h)


class xlogy(sp.Function):
    """x * log(y) with 0 * log(0) = 0 (``torch.xlogy``)."""

    nargs = 2

    def _latex(self, printer):
        x, y = (printer._print(a) for a in self.args)
        return r"\left(%s\right) \log\left(%s\right)" % (x, y)

    @classmethod
    def eval(cls, x, y):
        if x.is_zero:
            return sp.Integer(0)
        if x.is_number and y.is_number and x.is_zero is False:
            return x * sp.log(y)
        return None


class xmul(sp.Function):
    """x * h with 0 * h = 0 also for h = -inf (``gmc.runtime.xmul``): a category of logit
    -inf has probability 0, and its term of a one-hot mass or a KL must be 0, not NaN
    (torch.distributions masks the same way)."""

    nargs = 2

    def _latex(self, printer):
        x, h = (printer._print(a) for a in self.args)
        return r"%s %s" % (x, h)

    @classmethod
    def eval(cls, x, h):
        if x.is_zero:
            return sp.Integer(0)
        if x.is_number and h.is_number:
            return x * h
        return None


class xlog1py(sp.Function):
    """x * log(1 + y) with 0 * log(1 + y) = 0 (``torch.special.xlog1py``): log(1 - p) stays
    accurate when p is tiny (as -p), where log of the rounded 1 - p would not."""

    nargs = 2

    def _latex(self, printer):
        x, y = (printer._print(a) for a in self.args)
        return r"\left(%s\right) \log\left(1 + %s\right)" % (x, y)

    @classmethod
    def eval(cls, x, y):
        if x.is_zero:
            return sp.Integer(0)
        if x.is_number and y.is_number and x.is_zero is False:
            return x * sp.log(1 + y)
        return None


class kl_div(sp.Function):
    """q log(q/p) - q + p, the KL divergence between Poisson laws of rates q and p
    (``scipy.special.kl_div``; ``gmc.runtime.kl_div``, accurate when q/p is near 1, where the
    plain form cancels). Numbers are evaluated at 40 digits from their exact values."""

    nargs = 2

    def _latex(self, printer):
        q, p = (printer._print(a) for a in self.args)
        if self.args[0] == 1:  # the Normal KL's v - 1 - log v
            return r"\left(%s - 1 - \log\left(%s\right)\right)" % (p, p)
        return r"\left(%s \log\frac{%s}{%s} - %s + %s\right)" % (q, q, p, q, p)

    @classmethod
    def eval(cls, q, p):
        if q.is_zero:
            return p
        if q == p:
            return sp.Integer(0)
        if q.is_Number and p.is_Number:
            if p.is_zero:
                return sp.oo
            exact_q, exact_p = sp.Rational(q), sp.Rational(p)
            return sp.Float((exact_q * sp.log(exact_q / exact_p) - exact_q + exact_p).evalf(40), 17)
        return None


class lgamma_gap(sp.Function):
    """lgamma(c) - lgamma(a) - (c - a) psi(a), the shape terms of KL[Gamma(a, .) || Gamma(c, .)]
    (``gmc.runtime.lgamma_gap``): one call, so that it is exactly 0 at c = a instead of two
    large lgammas cancelling around a small rate term. Numbers are evaluated at 40 digits."""

    nargs = 2

    def _latex(self, printer):
        c, a = (printer._print(x) for x in self.args)
        return (r"\left(\log\Gamma\left(%s\right) - \log\Gamma\left(%s\right) - \left(%s - %s\right)"
                r" \psi\left(%s\right)\right)" % (c, a, c, a, a))

    @classmethod
    def eval(cls, c, a):
        if c == a:
            return sp.Integer(0)
        if c.is_Number and a.is_Number:
            exact_c, exact_a = sp.Rational(c), sp.Rational(a)
            gap = sp.loggamma(exact_c) - sp.loggamma(exact_a) - (exact_c - exact_a) * sp.polygamma(0, exact_a)
            return sp.Float(gap.evalf(40), 17)
        return None


class Scalar(sp.Symbol):
    """A symbol bound to a Python number (a param), not a tensor: printed with ``math``."""


class Held(Scalar):
    """A number kept as an atom whose name is its Python literal (so it prints as itself).

    sympy distributes a number over a sum: ``(x - 1e8)/0.001`` becomes ``1000.0*x - 1e11``,
    which cancels catastrophically in float64 (and in sympy's own 53-bit folding of the
    constants around it). A held divisor is a symbol, so ``(x - 1e8)/0.001`` stays a
    difference first, then a division. Made by :func:`standardized`."""


def held(value: sp.Expr) -> sp.Expr:
    """``value`` (a sympy Integer or Float) as a :class:`Held` atom; other expressions as they are."""
    if not (value.is_Integer or value.is_Float):
        return value
    literal = str(int(value)) if value.is_Integer else repr(float(value))
    return Held(literal, positive=True) if value > 0 else Held(literal, real=True)


def _held_value(symbol: sp.Symbol) -> float | None:
    """The number a :class:`Held` atom stands for; None for any other symbol (also for a
    template placeholder of a held atom, which has no value of its own)."""
    if not isinstance(symbol, Held):
        return None
    try:
        return float(symbol.name)
    except ValueError:
        return None


def unheld(expr: sp.Expr) -> sp.Expr:
    """``expr`` with each :class:`Held` atom replaced by its number (for comparisons)."""
    if not isinstance(expr, sp.Basic):
        return expr
    atoms = {s: sp.Integer(s.name) if s.name.lstrip("-").isdigit() else sp.Float(s.name)
             for s in expr.free_symbols if _held_value(s) is not None}
    return expr.xreplace(atoms) if atoms else expr


def _is_held_constant(expr: sp.Expr) -> bool:
    return all(_held_value(s) is not None for s in expr.free_symbols)


def fold_held(expr: sp.Expr) -> sp.Expr:
    """``expr`` with the constant terms of each sum that mention a :class:`Held` atom joined
    into one Float, evaluated at 30 digits with each atom as the exact value of its float:
    an entropy's ``3.56 + 0.245/0.7**2`` prints as one literal, as it did before the scale
    was held. Products keep their held factors (that is what holding is for)."""
    if expr.is_Atom or not expr.has(Held):
        return expr
    if _is_held_constant(expr):
        return _exact_float(expr)
    return _fold_held_terms(expr)


def _fold_held_terms(expr: sp.Expr) -> sp.Expr:
    if expr.is_Atom or not expr.has(Held):
        return expr
    args = tuple(_fold_held_terms(a) for a in expr.args)
    if args != expr.args:
        expr = expr.func(*args)
    if expr.is_Add:
        constants = [a for a in expr.args if _is_held_constant(a)]
        if len(constants) > 1 and any(a.free_symbols for a in constants):
            rest = [a for a in expr.args if not _is_held_constant(a)]
            return sp.Add(_exact_float(sp.Add(*constants)), *rest)
    return expr


def _exact_float(constant: sp.Expr) -> sp.Expr:
    exact = {s: sp.Rational(_held_value(s)) for s in constant.free_symbols}
    return sp.Float(constant.xreplace(exact).evalf(30), 17)


def standardized(x: sp.Expr, loc: sp.Expr, scale: sp.Expr) -> sp.Expr:
    """(x - loc)/scale, computed as a difference first: a number ``scale`` other than 1 is
    :func:`held` when x - loc is a sum, else sympy would expand it into ``x/scale - loc/scale``
    (relative error 1e-6 in a Logistic log-density at loc = 1e8, scale = 1e-3)."""
    difference = x - loc
    if scale.is_Number and scale.is_positive and scale != 1 and difference.is_Add:
        scale = held(scale)
    return difference / scale


class vsum(sp.Function):
    """Sum over the last (event) axis, keeping it as size 1: ``t.sum(-1, keepdim=True)``."""

    nargs = 1

    def _latex(self, printer):
        return r"\sum_{k}\left(%s\right)" % printer._print(self.args[0])
    @classmethod
    def eval(cls, t):
        if t.is_zero:
            return sp.Integer(0)
        return None


class vlogsumexp(sp.Function):
    """log-sum-exp over the last axis, keeping it: ``torch.logsumexp(t, -1, keepdim=True)``."""

    nargs = 1

    def _latex(self, printer):
        return r"\log\sum_{k} e^{%s}" % printer._print(self.args[0])


class sigmoid(sp.Function):
    """The logistic function 1 / (1 + exp(-h)) (``torch.sigmoid``)."""

    nargs = 1

    def _latex(self, printer):
        return r"\sigma\left(%s\right)" % printer._print(self.args[0])

    @classmethod
    def eval(cls, h):
        if h.is_Number:
            return 1 / (1 + sp.exp(-h))
        return None


class support_escapes(sp.Function):
    """``value`` where the interval (low_q, high_q) lies inside (low_p, high_p), else +inf.

    Wraps a KL or cross-entropy whose supports depend on parameters (Uniform)."""

    nargs = 5

    @classmethod
    def eval(cls, value, q_low, q_high, p_low, p_high):
        # Decided at compile time when every bound is a number (two constant point masses).
        bounds = (q_low, q_high, p_low, p_high)
        if all(b.is_comparable or b.is_infinite for b in bounds):
            return sp.oo if bool(q_low < p_low) or bool(q_high > p_high) else value
        return None

    def _latex(self, printer):
        value, a, b, c, d = (printer._print(x) for x in self.args)
        return r"%s + \infty \cdot \left[%s < %s \lor %s > %s\right]" % (value, a, c, b, d)

class vsize(sp.Function):
    """The length K of a tensor's last (event) axis, a Python int: ``t.shape[-1]``.

    It does not depend on the tensor's values: the printer treats it as a number (``math``)."""

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


#: Gamma-type functions are evaluated exactly by sympy only at numbers up to this size:
#: ``loggamma(10000)`` would be the log of a 35,660-digit integer, ``digamma(10**6)`` a harmonic
#: number of a million terms (minutes), ``loggamma(10**30)`` never ends. Larger arguments stay
#: unevaluated and print as ``math.lgamma(...)`` or as a float computed by mpmath.
EXACT_ARGUMENT_LIMIT = 64


def _exact(x: sp.Expr) -> bool:
    return x.is_Number and abs(x) <= EXACT_ARGUMENT_LIMIT


def loggamma(x) -> sp.Expr:
    """sympy's ``loggamma``, evaluated only at small numbers (``loggamma(2)`` is 0; see
    EXACT_ARGUMENT_LIMIT). At a symbolic argument its evaluation never simplifies anything in
    gmc's formulas, yet costs 5-10 ms of assumption queries, which was most of a cold
    derivation of the Weibull, Kumaraswamy and Beta closed forms."""
    x = sp.sympify(x)
    return sp.loggamma(x) if _exact(x) else sp.loggamma(x, evaluate=False)


def polygamma(order: int, x) -> sp.Expr:
    """sympy's ``polygamma(order, x)``, evaluated exactly only at small numbers (see
    EXACT_ARGUMENT_LIMIT): ``digamma(2)`` is ``1 - EulerGamma``."""
    x = sp.sympify(x)
    if x.is_Number and not _exact(x):
        return sp.polygamma(order, x, evaluate=False)
    return sp.polygamma(order, x)


def number(value: float) -> sp.Expr:
    """A compile-time constant as sympy: an Integer when whole and at most 2**53 (so ``2``
    prints as ``2``, and sympy simplifies ``x**2`` exactly), a Float otherwise (``1e30`` stays
    a float: as an Integer it would print as 31 digits that overflow torch's int64)."""
    value = float(value)
    if abs(value) > 2 ** 53:  # whole; with 40 digits, so that df + 1 is not df (StudentT(1e30))
        return sp.Float(value, 40)
    return sp.Integer(int(value)) if value.is_integer() else sp.Float(value)
