"""Categorical over one-hot x (event rank 1): log-density, entropy and KL, reduced over the
last axis with ``vsum`` / ``vlogsumexp`` (kept as size 1).

With logits h: log p(x) = sum_k x_k h_k - logsumexp(h) (x one-hot), without forming
softmax(h). Minimal version from the models branch; the families branch's supersedes it.
"""
import sympy as sp

from gmc.compiler.symbolic.functions import vlogsumexp, vsum, xlogy
from gmc.compiler.symbolic.registry import Formulas, Rule, register


def _log_probs(p):
    """Element-wise log-probabilities of each category."""
    if "logits" in p:
        return p["logits"] - vlogsumexp(p["logits"])
    return sp.log(p["probs"])


def _log_density(x, p):
    if "logits" in p:
        return vsum(x * p["logits"]) - vlogsumexp(p["logits"])
    return vsum(xlogy(x, p["probs"]))


def _entropy(p):
    # H = -sum_k p_k log p_k
    log_p = _log_probs(p)
    return -vsum(sp.exp(log_p) * log_p)


def _kl_categorical(a, b):
    # KL = sum_k a_k (log a_k - log b_k)
    log_a = _log_probs(a)
    return vsum(sp.exp(log_a) * (log_a - _log_probs(b)))


register(Formulas(
    family="Categorical",
    log_density=Rule(_log_density, "categorical mass (logits h: x.h - logsumexp(h))"),
    entropy=Rule(_entropy, "categorical entropy"),
    kl={"Categorical": Rule(_kl_categorical, "definition of KL over K categories")},
    event_rank=1,
))
