"""Gamma(concentration, rate): log-density and moments.

log p(x) = concentration log rate + (concentration - 1) log x - rate x - lgamma(concentration)
(JKB vol. 1, ch. 17).

KL[Gamma(a, b) || Gamma(c, d)] derives as (a - c) psi(a) - lgamma(a) + lgamma(c)
+ c log(b/d) + a (d - b)/b, whose terms cancel as (c, d) -> (a, b): relative error 2e-4 at
d/b = 1 + 1e-6 with equal shapes (torch: 4e-5). The rule below states the same value as
lgamma_gap(c, a) + a kl_div(b, d)/b + (c - a) log(b/d), each part computed as one call
(``gmc.runtime.lgamma_gap``, exactly 0 at c = a; ``gmc.runtime.kl_div``, summed stably).
"""
import sympy as sp

from gmc.compiler.symbolic.functions import kl_div, lgamma_gap, loggamma

from gmc.compiler.symbolic.moments import abs_positive, affine, digamma, log_affine, power, trigamma
from gmc.compiler.symbolic.registry import Formulas, Rule, register

_REFERENCE = "gamma moments (JKB vol. 1, ch. 17)"


def _log_density(x, p):
    alpha, rate = p["concentration"], p["rate"]
    return alpha * sp.log(rate) + (alpha - 1) * sp.log(x) - rate * x - loggamma(alpha)


def _mean(p):
    return p["concentration"] / p["rate"]


def _log_raw(p, k):
    return loggamma(p["concentration"] + k) - loggamma(p["concentration"]) - k * sp.log(p["rate"])


def _kl_gamma(q, p):
    a, b, c, d = q["concentration"], q["rate"], p["concentration"], p["rate"]
    return lgamma_gap(c, a) + a * kl_div(b, d) / b + (c - a) * (sp.log(b) - sp.log(d))


register(Formulas(
    family="Gamma",
    log_density=Rule(_log_density, "gamma density"),
    moments=(
        *affine(_mean, lambda p: p["concentration"] / p["rate"] ** 2, _REFERENCE),
        *log_affine(lambda p: digamma(p["concentration"]) - sp.log(p["rate"]),
                    lambda p: trigamma(p["concentration"]),
                    "E[log X] = psi(concentration) - log rate, Var log X = psi'(concentration) (JKB vol. 1, ch. 17)"),
        power(_log_raw, "E[X^k] = Gamma(concentration + k) / (Gamma(concentration) rate^k) "
                        "(k > -concentration; JKB vol. 1, ch. 17)"),
        abs_positive(_mean, None, "E|X - c| = E[X] - c for c <= 0"),
    ),
    kl={"Gamma": Rule(_kl_gamma, "KL[Gamma(a, b) || Gamma(c, d)] = lgamma(c) - lgamma(a) - (c - a) psi(a) "
                                 "+ a kl_div(b, d)/b + (c - a) log(b/d) (JKB vol. 1, ch. 17; parts summed stably)")},
))
