"""Poisson(rate r) on counts: log-mass and moments.

log p(x) = x log r - r - log Gamma(x + 1) (torch.distributions.Poisson.log_prob), with
``xlogy`` so that x = 0 stays finite as r -> 0. E[log Gamma(X + 1)] has no closed form, so
the entropy does not either (it is estimated by Monte Carlo).

KL[Poisson(q) || Poisson(p)] derives as xlogy(q, q) - xlogy(q, p) - q + p, which cancels
catastrophically when q/p is near 1 (relative error 1.6e-3 at q = 1e6, p = 1e6 + 1); the
rule below states the same value as one stable call, ``kl_div(q, p)`` (``gmc.runtime.kl_div``).
"""

from gmc.compiler.symbolic.functions import kl_div, loggamma, xlogy
from gmc.compiler.symbolic.moments import times_log
from gmc.compiler.symbolic.registry import A, X, Formulas, Moment, Rule, register


def _log_density(x, p):
    r = p["rate"]
    return xlogy(x, r) - r - loggamma(x + 1)


def _mean(p, wilds):
    # E[X] = r (Johnson, Kemp & Kotz 2005, eq. 4.8)
    return p["rate"]


def _second_moment(p, wilds):
    # E[X^2] = Var X + (E X)^2 = r + r^2
    r = p["rate"]
    return r + r ** 2


def _centered_square(p, wilds):
    # E[(X + c)^2] = Var X + (E X + c)^2 = r + (r + c)^2
    r = p["rate"]
    return r + (r + wilds[A]) ** 2


register(Formulas(
    family="Poisson",
    log_density=Rule(_log_density, "Poisson mass"),
    moments=(Moment(X, _mean, "E[X] = rate (Johnson, Kemp & Kotz 2005, eq. 4.8)"),
             Moment(X ** 2, _second_moment, "E[X^2] = rate + rate^2 (variance = rate)"),
             Moment((X + A) ** 2, _centered_square, "E[(X + c)^2] = rate + (rate + c)^2"),
             times_log(_mean, "E[X log c] = rate log c (linearity)")),
    kl={"Poisson": Rule(lambda q, p: kl_div(q["rate"], p["rate"]),
                        "KL[Poisson(q) || Poisson(p)] = q log(q/p) - q + p, summed stably (Loader 2000, bd0)")},
))
