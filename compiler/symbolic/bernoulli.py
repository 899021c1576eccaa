"""Bernoulli(probs | logits): log-mass and its moment; entropy and KL are derived from them.

The logits form log p(x) = x h - log(1 + e^h) avoids computing sigmoid(h) and its log,
which lose all precision for |h| beyond about 36 in float64.
"""
import sympy as sp

from gmc.compiler.symbolic.functions import log1pexp, sigmoid, xlog1py, xlogy
from gmc.compiler.symbolic.registry import X, Formulas, Moment, Rule, register


def _log_density(x, p):
    if "logits" in p:
        return x * p["logits"] - log1pexp(p["logits"])
    # log(1 - p) as log1p(-p): exact for p near 0, where 1 - p would round
    return xlogy(x, p["probs"]) + xlog1py(1 - x, -p["probs"])


def _mean(p, w):
    return p["probs"] if "probs" in p else sigmoid(p["logits"])


register(Formulas(
    family="Bernoulli",
    log_density=Rule(_log_density, "Bernoulli mass (logits h: x h - log(1 + e^h))"),
    moments=(Moment(X, _mean, "E[X] = probs = sigmoid(logits)"),
             # log(x!) is 0 at both x = 0 and x = 1 (meets Poisson's and Multinomial's log x! terms)
             Moment(sp.loggamma(X + 1), lambda p, w: sp.Integer(0), "log x! = 0 for x in {0, 1}")),
))
