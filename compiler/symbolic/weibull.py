"""Weibull(scale, concentration): log-density and moments.

log p(x) = log k - k log scale + (k - 1) log x - (x/scale)^k with k the concentration
(JKB vol. 1, ch. 21).
"""
import sympy as sp

from gmc.compiler.symbolic.functions import loggamma

from gmc.compiler.symbolic.moments import abs_positive, affine, log_affine, power
from gmc.compiler.symbolic.registry import Formulas, Rule, register

_REFERENCE = "Weibull moments: E[X^m] = scale^m Gamma(1 + m/k) (JKB vol. 1, ch. 21)"


def _log_density(x, p):
    scale, k = p["scale"], p["concentration"]
    return sp.log(k) - k * sp.log(scale) + (k - 1) * sp.log(x) - (x / scale) ** k


def _gamma(x):
    # Gamma(x) as exp(loggamma(x)), built unevaluated: evaluating exp here simplifies nothing
    return sp.exp(loggamma(x), evaluate=False)


def _raw(p, m):
    return p["scale"] ** m * _gamma(1 + m / p["concentration"])


def _mean(p):
    return _raw(p, 1)


def _variance(p):
    k = p["concentration"]
    return p["scale"] ** 2 * (_gamma(1 + 2 / k) - _gamma(1 + 1 / k) ** 2)


register(Formulas(
    family="Weibull",
    log_density=Rule(_log_density, "Weibull density"),
    moments=(
        *affine(_mean, _variance, _REFERENCE),
        *log_affine(lambda p: sp.log(p["scale"]) - sp.EulerGamma / p["concentration"],
                    lambda p: sp.pi ** 2 / (6 * p["concentration"] ** 2),
                    "E[log X] = log scale - gamma/k, Var log X = pi^2/(6 k^2) (JKB vol. 1, ch. 21)"),
        power(lambda p, m: m * sp.log(p["scale"]) + loggamma(1 + m / p["concentration"]), _REFERENCE),
        abs_positive(_mean, None, "E|X - c| = E[X] - c for c <= 0"),
    ),
))
