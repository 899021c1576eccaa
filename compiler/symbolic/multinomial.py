"""Multinomial(total_count n, probs | logits) on count vectors x with sum_k x_k = n.

log p(x) = log Gamma(n + 1) - sum_k log Gamma(x_k + 1) + sum_k x_k log p_k (Bishop 2006,
eq. 2.34); with logits h the last term is sum_k x_k h_k - n logsumexp(h). torch's
Multinomial.log_prob uses sum_k x_k in place of n; they agree on the support.
"""

from gmc.compiler.symbolic.functions import loggamma, xlogy, xmul
from gmc.compiler.symbolic.moments import times_log
from gmc.compiler.symbolic.registry import X, Formulas, Moment, Rule, register
from gmc.compiler.symbolic.vector import is_tensor, softmax, vlogsumexp_over, vsum_over


def _times(x, h):
    # x h with 0 (-inf) = 0: tensor logits may be -inf for an impossible category
    return xmul(x, h) if is_tensor(h) else x * h


def _log_density(x, p):
    n = p["total_count"]
    if "logits" in p:
        h = p["logits"]
        mass = vsum_over(_times(x, h), x) - n * vlogsumexp_over(h, x)
    else:
        mass = vsum_over(xlogy(x, p["probs"]), x)
    return loggamma(n + 1) - vsum_over(loggamma(x + 1), x) + mass


def _mean(p, wilds):
    # E[X_k] = n p_k (Bishop 2006, eq. 2.35)
    probs = p["probs"] if "probs" in p else softmax(p["logits"])
    return None if probs is None else p["total_count"] * probs


register(Formulas(
    family="Multinomial",
    log_density=Rule(_log_density, "multinomial mass (Bishop 2006, eq. 2.34)"),
    moments=(Moment(X, _mean, "E[X] = n probs (Bishop 2006, eq. 2.35)"),
             times_log(_mean, "E[X log c] = E[X] log c (linearity)")),
    event_rank=1,
))
