"""StudentT(df, loc, scale): log-density and moments.

log p(x) = lgamma((df+1)/2) - lgamma(df/2) - log(df pi)/2 - log scale
           - (df+1)/2 log1p(((x - loc)/scale)^2 / df)           (JKB vol. 2, ch. 28)
"""
import sympy as sp

from gmc.compiler.symbolic.functions import loggamma, standardized
from sympy.codegen.cfunctions import log1p

from gmc.compiler.symbolic.moments import LOG1P_SQUARE, LOG1P_SQUARE_SCALED, affine, close, digamma
from gmc.compiler.symbolic.registry import A, B, C, Formulas, Moment, Rule, register


def _log_density(x, p):
    df = p["df"]
    return (loggamma((df + 1) / 2) - loggamma(df / 2) - sp.log(df * sp.pi) / 2 - sp.log(p["scale"])
            - (df + 1) / 2 * log1p(standardized(x, p["loc"], p["scale"]) ** 2 / df))


def _known_above(df, bound):
    """df is a number above ``bound``: the moment exists. A tensor df is not known at
    compile time, so its moment is left to Monte Carlo rather than risk a finite value
    for an infinite expectation."""
    return df.is_Number and df > bound


def _mean(p):
    return p["loc"] if _known_above(p["df"], 1) else None


def _variance(p):
    df = p["df"]
    return p["scale"] ** 2 * df / (df - 2) if _known_above(df, 2) else None


def _log1p_square(p, k, c):
    # For T standard with df degrees of freedom, df/(df + T^2) ~ Beta(df/2, 1/2), so
    # E[log(1 + T^2/df)] = psi((df+1)/2) - psi(df/2); closed only for the family's own k, c.
    df = p["df"]
    if close(c, p["loc"]) and close(k, 1 / (df * p["scale"] ** 2)):
        return digamma((df + 1) / 2) - digamma(df / 2)
    return None


_LOG1P_REFERENCE = "E[log(1 + T^2/df)] = psi((df+1)/2) - psi(df/2) (df/(df+T^2) ~ Beta(df/2, 1/2); JKB vol. 2, ch. 28)"

register(Formulas(
    family="StudentT",
    log_density=Rule(_log_density, "Student t density"),
    moments=(
        *affine(_mean, _variance,
                "Student t mean loc (df > 1), variance scale^2 df/(df-2) (df > 2) (JKB vol. 2, ch. 28)"),
        # log1p(B (X + A)^2): shift c = -A, factor k = B; log1p(C (A X + B)^2): c = -B/A, k = C A^2
        Moment(LOG1P_SQUARE, lambda p, w: _log1p_square(p, w[B], -w[A]), _LOG1P_REFERENCE),
        Moment(LOG1P_SQUARE_SCALED,
               lambda p, w: None if w[A] == 0 else _log1p_square(p, w[C] * w[A] ** 2, -w[B] / w[A]),
               _LOG1P_REFERENCE),
    ),
))
