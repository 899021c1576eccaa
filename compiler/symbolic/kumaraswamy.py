"""Kumaraswamy(concentration1, concentration0): log-density and moments.

With a = concentration1, b = concentration0: p(x) = a b x^(a-1) (1 - x^a)^(b-1) on (0, 1)
(Kumaraswamy 1980; Jones 2009). log(1 - x^a) is written log1mexp(a log x), accurate
when x^a is close to 1 as well as close to 0. X^a ~ Beta(1, b) gives the log-moments.
"""
import sympy as sp

from gmc.compiler.symbolic.functions import log1mexp, loggamma
from gmc.compiler.symbolic.moments import (LOG1M, LOG1M_PLAIN, LOG1M_POWER, abs_positive, affine, close, digamma,
                                           log_affine, power, trigamma)
from gmc.compiler.symbolic.registry import A, Formulas, Moment, Rule, register


def _log_density(x, p):
    a, b = p["concentration1"], p["concentration0"]
    return sp.log(a) + sp.log(b) + (a - 1) * sp.log(x) + (b - 1) * log1mexp(a * sp.log(x))


def _log_raw(p, k):
    # E[X^k] = b B(1 + k/a, b) (Jones 2009)
    a, b = p["concentration1"], p["concentration0"]
    return sp.log(b) + loggamma(1 + k / a) + loggamma(b) - loggamma(1 + k / a + b)


def _mean(p):
    return sp.exp(_log_raw(p, 1))


def _variance(p):
    return sp.exp(_log_raw(p, 2)) - sp.exp(2 * _log_raw(p, 1))


def _log1m_power(p, power_):
    # 1 - X^a ~ Beta(b, 1), so E[log(1 - X^a)] = psi(b) - psi(b + 1) = -1/b; only for the own a.
    return -1 / p["concentration0"] if close(power_, p["concentration1"]) else None


_LOG1M_REFERENCE = "E[log(1 - X^a)] = -1/b (1 - X^a ~ Beta(b, 1); Jones 2009)"

register(Formulas(
    family="Kumaraswamy",
    log_density=Rule(_log_density, "Kumaraswamy density (Jones 2009)"),
    moments=(
        *affine(_mean, _variance, "E[X^k] = b B(1 + k/a, b) (Jones 2009)"),
        *log_affine(lambda p: (digamma(1) - digamma(p["concentration0"] + 1)) / p["concentration1"],
                    lambda p: (trigamma(1) - trigamma(p["concentration0"] + 1)) / p["concentration1"] ** 2,
                    "log X = log(Y)/a with Y = X^a ~ Beta(1, b) (Jones 2009)"),
        power(_log_raw, "E[X^k] = b B(1 + k/a, b) (Jones 2009)"),
        Moment(LOG1M_POWER, lambda p, w: _log1m_power(p, w[A]), _LOG1M_REFERENCE),
        Moment(LOG1M, lambda p, w: _log1m_power(p, 1), _LOG1M_REFERENCE),
        Moment(LOG1M_PLAIN, lambda p, w: _log1m_power(p, 1), _LOG1M_REFERENCE),
        abs_positive(_mean, 1, "E|X - c| = E[X] - c for c <= 0 and c - E[X] for c >= 1"),
    ),
))
