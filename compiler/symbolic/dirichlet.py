"""Dirichlet(concentration a) on the simplex: log-density, E[X] and E[log X].

log p(x) = log Gamma(sum_k a_k) - sum_k log Gamma(a_k) + sum_k (a_k - 1) log x_k
(Bishop 2006, eq. 2.38; torch.distributions.Dirichlet.log_prob).
"""
import sympy as sp

from gmc.compiler.symbolic.functions import loggamma, vsum
from gmc.compiler.symbolic.registry import X, Formulas, Moment, Rule, register
from gmc.compiler.symbolic.vector import is_tensor, vsum_over


def _log_density(x, p):
    a = p["concentration"]
    return (loggamma(vsum_over(a, x)) - vsum_over(loggamma(a), x)
            + vsum_over((a - 1) * sp.log(x), x))


def _mean(p, wilds):
    # E[X_k] = a_k / a_0 with a_0 = sum_k a_k (Bishop 2006, eq. B.17); needs K for a constant a
    a = p["concentration"]
    return a / vsum(a) if is_tensor(a) else None


def _mean_log(p, wilds):
    # E[log X_k] = digamma(a_k) - digamma(a_0) (Blei, Ng & Jordan 2003, eq. 8)
    a = p["concentration"]
    return sp.polygamma(0, a) - sp.polygamma(0, vsum(a)) if is_tensor(a) else None


register(Formulas(
    family="Dirichlet",
    log_density=Rule(_log_density, "Dirichlet density (Bishop 2006, eq. 2.38)"),
    moments=(Moment(X, _mean, "E[X] = a / sum(a) (Bishop 2006, eq. B.17)"),
             Moment(sp.log(X), _mean_log, "E[log X] = digamma(a) - digamma(sum(a)) (Blei et al. 2003, eq. 8)")),
    event_rank=1,
))
