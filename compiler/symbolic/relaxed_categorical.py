"""RelaxedCategorical(temperature l, probs | logits h): the Concrete (Gumbel-softmax) density.

Maddison, Mnih & Teh 2017, eq. 10; Jang, Gu & Poole 2017, eq. 2. On the K-simplex,
p(x) = (K-1)! l^(K-1) prod_k (e^h_k x_k^(-l-1)) / (sum_k e^h_k x_k^(-l))^K, so
log p(x) = log Gamma(K) + (K-1) log l + sum_k (h_k - (l+1) log x_k) - K logsumexp(h - l log x).
It is unchanged by adding a constant to h, so the logits need not be normalized and
probabilities enter as h = log p. Same density as torch's RelaxedOneHotCategorical.
"""
import sympy as sp

from gmc.compiler.symbolic.functions import loggamma, vsize
from gmc.compiler.symbolic.registry import Formulas, Rule, register
from gmc.compiler.symbolic.vector import vlogsumexp_over, vsum_over


def _log_density(x, p):
    lam = p["temperature"]
    h = p["logits"] if "logits" in p else sp.log(p["probs"])
    k = vsize(x)
    log_x = sp.log(x)
    return (loggamma(k) + (k - 1) * sp.log(lam) + vsum_over(h - (lam + 1) * log_x, x)
            - k * vlogsumexp_over(h - lam * log_x, x))


register(Formulas(
    family="RelaxedCategorical",
    log_density=Rule(_log_density, "Concrete density (Maddison et al. 2017, eq. 10)"),
    event_rank=1,
))
