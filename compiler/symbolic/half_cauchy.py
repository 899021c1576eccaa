"""HalfCauchy(scale): log-density.

log p(x) = log(2/pi) - log scale - log1p((x/scale)^2) for x >= 0 (the Cauchy density folded
at 0; JKB vol. 1, ch. 16). Its mean and variance are infinite, so no moments are listed and
every expectation over it is estimated by Monte Carlo.
"""
import sympy as sp
from sympy.codegen.cfunctions import log1p

from gmc.compiler.symbolic.registry import Formulas, Rule, register


def _log_density(x, p):
    return sp.log(2 / sp.pi) - sp.log(p["scale"]) - log1p((x / p["scale"]) ** 2)


register(Formulas(
    family="HalfCauchy",
    log_density=Rule(_log_density, "half-Cauchy density"),
))
