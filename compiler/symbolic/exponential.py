"""Exponential(rate): log-density and moments.

log p(x) = log rate - rate x (JKB vol. 1, ch. 19). Exponential(rate) is Gamma(1, rate), so
the log-moments are the Gamma ones at concentration 1.

KL[Exponential(a) || Exponential(b)] derives as log a - log b + b/a - 1, which cancels when
b/a is near 1 (as torch.distributions' form does); the rule below states the same value as
kl_div(a, b)/a (= log(a/b) - 1 + b/a), summed stably by ``gmc.runtime.kl_div``.
"""
import sympy as sp

from gmc.compiler.symbolic.functions import kl_div, loggamma

from gmc.compiler.symbolic.moments import abs_positive, affine, log_affine, power
from gmc.compiler.symbolic.registry import Formulas, Rule, register

_REFERENCE = "exponential moments (JKB vol. 1, ch. 19)"


def _log_density(x, p):
    return sp.log(p["rate"]) - p["rate"] * x


def _mean(p):
    return 1 / p["rate"]


def _inside(p, c):
    # E|X - c| = c - 1/rate + 2 E[(X - c)^+] and E[(X - c)^+] = e^(-rate c)/rate (memorylessness)
    rate = p["rate"]
    return c - 1 / rate + 2 * sp.exp(-rate * c) / rate


register(Formulas(
    family="Exponential",
    log_density=Rule(_log_density, "exponential density"),
    moments=(
        *affine(_mean, lambda p: 1 / p["rate"] ** 2, _REFERENCE),
        *log_affine(lambda p: -sp.EulerGamma - sp.log(p["rate"]), lambda p: sp.pi ** 2 / 6,
                    "E[log X] = -gamma - log rate, Var log X = pi^2/6 (Gamma(1, rate); JKB vol. 1, ch. 17)"),
        power(lambda p, k: loggamma(1 + k) - k * sp.log(p["rate"]),
              "E[X^k] = Gamma(1 + k) / rate^k (k > -1; JKB vol. 1, ch. 19)"),
        abs_positive(_mean, None, "E|X - c| = c - 1/rate + 2 e^(-rate c)/rate for c > 0 (memorylessness)", _inside),
    ),
    kl={"Exponential": Rule(lambda q, p: kl_div(q["rate"], p["rate"]) / q["rate"],
                            "KL[Exp(a) || Exp(b)] = log(a/b) - 1 + b/a = kl_div(a, b)/a, summed stably")},
))
