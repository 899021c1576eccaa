"""Logistic(loc, scale): log-density and moments (scipy.stats.logistic's parametrization).

With z = (x - loc)/scale, log p(x) = -z - 2 log(1 + e^(-z)) - log scale (JKB vol. 2,
ch. 23). ``log1pexp`` keeps it exact in float64 for any z: for z -> -inf the two terms
are z and -2z, each computed to full relative precision.
"""
import sympy as sp

from gmc.compiler.symbolic.functions import log1pexp, standardized
from gmc.compiler.symbolic.moments import ABS, SOFTPLUS, SOFTPLUS_SCALED, affine, affine_of, close
from gmc.compiler.symbolic.registry import A, B, C, X, Formulas, Moment, Rule, register

_REFERENCE = "Logistic moments: mean loc, variance (pi scale)^2/3 (JKB vol. 2, ch. 23)"


def _standardized(x, p):
    return standardized(x, p["loc"], p["scale"])


def _log_density(x, p):
    z = _standardized(x, p)
    return -z - 2 * log1pexp(-z) - sp.log(p["scale"])


def _abs(p, w):
    # E|Z - t| = softplus(t) + softplus(-t) for Z standard logistic: split the integral at t,
    # E|Z - t| = int_{-inf}^t F + int_t^inf (1 - F), and int sigmoid = softplus.
    a = w[A]
    t = standardized(p["loc"], -w[B] / a, p["scale"])  # (a loc + b)/(a scale), a difference first
    return sp.Abs(a) * p["scale"] * (log1pexp(t) + log1pexp(-t))


def _softplus(p, w, argument):
    # E[log(1 + e^(-Z))] = E[log(1 + e^Z)] = 1 for Z standard logistic: the entropy of the
    # standard logistic is 2 (JKB vol. 2, ch. 23) and E[Z] = 0. Other arguments have no
    # closed form (they lead to dilogarithms).
    alpha, beta = affine_of(argument)
    own_alpha, own_beta = affine_of(-_standardized(X, p))
    if (close(alpha, own_alpha) and close(beta, own_beta)) or (close(alpha, -own_alpha) and close(beta, -own_beta)):
        return sp.Integer(1)
    return None


register(Formulas(
    family="Logistic",
    log_density=Rule(_log_density, "logistic density (scipy.stats.logistic)"),
    moments=(
        *affine(lambda p: p["loc"], lambda p: (sp.pi * p["scale"]) ** 2 / 3, _REFERENCE),
        Moment(ABS, _abs, "E|Z - t| = softplus(t) + softplus(-t) (integration of the CDF)"),
        Moment(SOFTPLUS, lambda p, w: _softplus(p, w, w[A] * X + w[B]),
               "E[log(1 + exp(-(X - loc)/scale))] = 1 (from the logistic entropy, JKB vol. 2, ch. 23)"),
        Moment(SOFTPLUS_SCALED, lambda p, w: _softplus(p, w, w[C] * (w[A] * X + w[B])),
               "E[log(1 + exp(-(X - loc)/scale))] = 1 (from the logistic entropy, JKB vol. 2, ch. 23)"),
    ),
))
