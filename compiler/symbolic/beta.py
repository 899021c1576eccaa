"""Beta(concentration1, concentration0): log-density and moments.

log p(x) = (a - 1) log x + (b - 1) log1p(-x) + lgamma(a + b) - lgamma(a) - lgamma(b) with
a = concentration1, b = concentration0 (JKB vol. 2, ch. 25); log1p keeps small x accurate.
"""
import sympy as sp

from gmc.compiler.symbolic.functions import loggamma

from gmc.compiler.symbolic.moments import (LOG1M, LOG1M_PLAIN, LOG1M_POWER, abs_positive, affine, digamma,
                                           log1p, log_affine, power, trigamma)
from gmc.compiler.symbolic.registry import A, Formulas, Moment, Rule, register

_REFERENCE = "beta moments (JKB vol. 2, ch. 25)"


def _log_density(x, p):
    a, b = p["concentration1"], p["concentration0"]
    return (a - 1) * sp.log(x) + (b - 1) * log1p(-x) + loggamma(a + b) - loggamma(a) - loggamma(b)


def _mean(p):
    a, b = p["concentration1"], p["concentration0"]
    return a / (a + b)


def _variance(p):
    a, b = p["concentration1"], p["concentration0"]
    return a * b / ((a + b) ** 2 * (a + b + 1))


def _log1m(p):
    # 1 - X ~ Beta(b, a)
    return digamma(p["concentration0"]) - digamma(p["concentration1"] + p["concentration0"])


_LOG1M_REFERENCE = "E[log(1 - X)] = psi(b) - psi(a + b) (1 - X ~ Beta(b, a); JKB vol. 2, ch. 25)"

register(Formulas(
    family="Beta",
    log_density=Rule(_log_density, "beta density"),
    moments=(
        *affine(_mean, _variance, _REFERENCE),
        *log_affine(lambda p: digamma(p["concentration1"]) - digamma(p["concentration1"] + p["concentration0"]),
                    lambda p: trigamma(p["concentration1"]) - trigamma(p["concentration1"] + p["concentration0"]),
                    "E[log X] = psi(a) - psi(a + b), Var log X = psi'(a) - psi'(a + b) (JKB vol. 2, ch. 25)"),
        power(lambda p, k: (loggamma(p["concentration1"] + k) - loggamma(p["concentration1"])
                            + loggamma(p["concentration1"] + p["concentration0"])
                            - loggamma(p["concentration1"] + p["concentration0"] + k)),
              "E[X^k] = B(a + k, b) / B(a, b) (k > -a; JKB vol. 2, ch. 25)"),
        Moment(LOG1M, lambda p, w: _log1m(p), _LOG1M_REFERENCE),
        Moment(LOG1M_PLAIN, lambda p, w: _log1m(p), _LOG1M_REFERENCE),
        Moment(LOG1M_POWER, lambda p, w: _log1m(p) if w[A] == 1 else None, _LOG1M_REFERENCE),
        abs_positive(_mean, 1, "E|X - c| = E[X] - c for c <= 0 and c - E[X] for c >= 1"),
    ),
))
