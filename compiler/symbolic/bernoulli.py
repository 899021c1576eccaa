"""Bernoulli(probs | logits): log-density, entropy and KL to a Bernoulli.

The logits form log p(x) = x h - log(1 + e^h) avoids computing sigmoid(h) and its log,
which lose all precision for |h| beyond about 36 in float64.
"""
import sympy as sp

from gmc.compiler.symbolic.functions import log1pexp, xlogy
from gmc.compiler.symbolic.registry import A, X, Formulas, Moment, Rule, register


def _logits(p):
    return p["logits"] if "logits" in p else None


def _log_density(x, p):
    h = _logits(p)
    if h is not None:
        return x * h - log1pexp(h)
    return xlogy(x, p["probs"]) + xlogy(1 - x, 1 - p["probs"])


def _entropy(p):
    h = _logits(p)
    if h is not None:
        # H = log(1 + e^h) - sigmoid(h) h
        return log1pexp(h) - h / (1 + sp.exp(-h))
    q = p["probs"]
    return -xlogy(q, q) - xlogy(1 - q, 1 - q)


def _kl_bernoulli(a, b):
    # KL = sum_x a(x) (log a(x) - log b(x)) over x in {0, 1}
    pa = a["probs"] if "probs" in a else 1 / (1 + sp.exp(-a["logits"]))
    return _log_density(1, a) * pa + _log_density(0, a) * (1 - pa) \
        - (_log_density(1, b) * pa + _log_density(0, b) * (1 - pa))


def _mean(p, wilds):
    # E[X] = P(X = 1)
    return p["probs"] if "probs" in p else 1 / (1 + sp.exp(-p["logits"]))


register(Formulas(
    family="Bernoulli",
    log_density=Rule(_log_density, "Bernoulli mass (logits h: x h - log(1 + e^h))"),
    moments=(Moment(X, _mean, "E[X] = probs = sigmoid(logits)"),
             # the two terms of the probs form of the mass, x log p + (1 - x) log(1 - p)
             Moment(xlogy(X, A), lambda p, w: xlogy(_mean(p, w), w[A]), "E[X log c] = E[X] log c"),
             Moment(xlogy(1 - X, A), lambda p, w: xlogy(1 - _mean(p, w), w[A]), "E[(1 - X) log c] = (1 - E[X]) log c")),
    entropy=Rule(_entropy, "Bernoulli entropy"),
    kl={"Bernoulli": Rule(_kl_bernoulli, "definition of KL over {0, 1}")},
))
