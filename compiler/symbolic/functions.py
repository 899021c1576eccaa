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


class log_bernoulli(sp.Function):
    """x h - log(1 + e^h): the Bernoulli log-mass at x with logits h (``gmc.runtime.log_bernoulli``,
    one fused torch op). Made only by the printer from the two terms it stands for; nothing
    derives with it."""

    nargs = 2

    def _latex(self, printer):
        x, h = (printer._print(a) for a in self.args)
        return r"%s %s - \log\left(1 + e^{%s}\right)" % (x, h, h)


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


class Scalar(sp.Symbol):
    """A symbol bound to a Python number (a param), not a tensor: printed with ``math``."""


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
