"""RelaxedBernoulli(temperature l, probs | logits h): the binary Concrete density on (0, 1).

Maddison, Mnih & Teh 2017, eq. 26 (binary Concrete with location e^h and temperature l):
p(x) = l e^h x^(-l-1) (1-x)^(-l-1) / (e^h x^(-l) + (1-x)^(-l))^2. Dividing numerator and
denominator by (1-x)^(-2l) gives the stable log form used here,
log p(x) = log l + h - (l+1) log x + (l-1) log(1-x) - 2 log(1 + exp(h - l logit(x))),
with logit(x) = log x - log(1-x); no exponential can overflow. Probabilities enter as
h = log p - log(1-p). Same density as torch.distributions.RelaxedBernoulli.
"""
import sympy as sp
from sympy.codegen.cfunctions import log1p

from gmc.compiler.symbolic.functions import log1pexp
from gmc.compiler.symbolic.registry import Formulas, Rule, register


def logits_of(p) -> sp.Expr:
    """The logits of a binary probability parameter set: h, or log p - log(1 - p)."""
    if "logits" in p:
        return p["logits"]
    return sp.log(p["probs"]) - log1p(-p["probs"])


def _log_density(x, p):
    lam, h = p["temperature"], logits_of(p)
    log_x, log_1mx = sp.log(x), log1p(-x)
    return (sp.log(lam) + h - (lam + 1) * log_x + (lam - 1) * log_1mx
            - 2 * log1pexp(h - lam * (log_x - log_1mx)))


register(Formulas(
    family="RelaxedBernoulli",
    log_density=Rule(_log_density, "binary Concrete density (Maddison et al. 2017, eq. 26)"),
))
