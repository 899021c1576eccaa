"""Categorical(probs | logits) on one-hot values x: log-mass and E[X].

log p(x) = sum_k x_k log p_k, and with logits h (p = softmax(h)):
log p(x) = sum_k x_k h_k - logsumexp(h), which stays finite for any finite logits
(torch.distributions.OneHotCategorical.log_prob; Bishop 2006, eq. 2.26).
``probs`` must already sum to 1 (the checker asks for a ``simplex`` expression).
"""
from gmc.compiler.symbolic.functions import xlogy, xmul
from gmc.compiler.symbolic.moments import times_log
from gmc.compiler.symbolic.registry import X, Formulas, Moment, Rule, register
from gmc.compiler.symbolic.vector import is_tensor, softmax, vlogsumexp_over, vsum_over


def _times(x, h):
    # x h with 0 (-inf) = 0: tensor logits may be -inf for an impossible category
    return xmul(x, h) if is_tensor(h) else x * h


def _log_density(x, p):
    if "logits" in p:
        return vsum_over(_times(x, p["logits"]), x) - vlogsumexp_over(p["logits"], x)
    return vsum_over(xlogy(x, p["probs"]), x)


def _mean(p, wilds):
    # E[X_k] = p_k (Bishop 2006, eq. 2.27); softmax of the logits otherwise
    return p["probs"] if "probs" in p else softmax(p["logits"])


register(Formulas(
    family="Categorical",
    log_density=Rule(_log_density, "one-hot categorical mass (logits h: sum x h - logsumexp(h))"),
    moments=(Moment(X, _mean, "E[X] = probs (Bishop 2006, eq. 2.27)"),
             times_log(_mean, "E[X log c] = E[X] log c (linearity)")),
    event_rank=1,
))
