"""LogNormal(loc, scale): log-density and moments.

log p(x) = -((log x - loc)/scale)^2/2 - log x - log scale - log(2 pi)/2 (JKB vol. 1, ch. 14).
"""
import sympy as sp

from gmc.compiler.symbolic.functions import standardized
from gmc.compiler.symbolic.moments import abs_positive, affine, expm1, log_affine, power
from gmc.compiler.symbolic.registry import Formulas, Rule, register

_REFERENCE = "lognormal moments (JKB vol. 1, ch. 14)"


def _log_density(x, p):
    z = standardized(sp.log(x), p["loc"], p["scale"])
    return -z ** 2 / 2 - sp.log(x) - sp.log(p["scale"]) - sp.log(2 * sp.pi) / 2


def _mean(p):
    return sp.exp(p["loc"] + p["scale"] ** 2 / 2)


def _variance(p):
    return expm1(p["scale"] ** 2) * sp.exp(2 * p["loc"] + p["scale"] ** 2)


def _inside(p, c):
    # E|X - c| = c - E[X] + 2 E[(X - c)^+], E[(X - c)^+] = E[X] Phi(d1) - c Phi(d2) with
    # d1 = (loc + scale^2 - log c)/scale, d2 = d1 - scale (the Black-Scholes call price);
    # with Phi(d) = (1 + erf(d/sqrt 2))/2 this is E[X] erf(d1/sqrt 2) - c erf(d2/sqrt 2).
    loc, scale = p["loc"], p["scale"]
    d2 = standardized(loc, sp.log(c), scale)
    return _mean(p) * sp.erf((d2 + scale) / sp.sqrt(2)) - c * sp.erf(d2 / sp.sqrt(2))


register(Formulas(
    family="LogNormal",
    log_density=Rule(_log_density, "lognormal density"),
    moments=(
        *affine(_mean, _variance, _REFERENCE),
        *log_affine(lambda p: p["loc"], lambda p: p["scale"] ** 2, "log X ~ Normal(loc, scale)"),
        power(lambda p, k: k * p["loc"] + (k * p["scale"]) ** 2 / 2,
              "E[X^k] = exp(k loc + k^2 scale^2 / 2) (JKB vol. 1, ch. 14)"),
        abs_positive(_mean, None, "E|X - c|: E[X] - c for c <= 0, else via E[(X - c)^+] (Black & Scholes 1973)",
                     _inside),
    ),
))
