"""Uniform(low, high): log-density, bounds and moments.

log p(x) = -log(high - low) on [low, high). The support depends on the parameters, so the
density is written without the indicator (the value's range is the user's responsibility)
and ``bounds`` tells the derivation where the support lies.
"""
import sympy as sp

from gmc.compiler.symbolic.functions import xlogy
from gmc.compiler.symbolic.moments import ABS, LOG, LOG1M, LOG1M_PLAIN, LOG1M_POWER, LOG_SQUARE, POWER, affine
from gmc.compiler.symbolic.registry import A, B, Formulas, Moment, Rule, register

_REFERENCE = "uniform moments (JKB vol. 2, ch. 26)"


def _log_density(x, p):
    return -sp.log(p["high"] - p["low"])


def _mean_log(lo, hi):
    # E[log X] = (hi log hi - lo log lo)/(hi - lo) - 1 for 0 <= lo < hi (int log = x log x - x)
    return (xlogy(hi, hi) - xlogy(lo, lo)) / (hi - lo) - 1


def _mean_log_square(lo, hi):
    # int log^2 x dx = x (log^2 x - 2 log x + 2); the antiderivative is 0 at x = 0.
    def antiderivative(x):
        return 0 if x == 0 else x * sp.log(x) ** 2 - 2 * xlogy(x, x) + 2 * x
    return (antiderivative(hi) - antiderivative(lo)) / (hi - lo)


def _log(p, w):
    return w[A] * _mean_log(p["low"], p["high"]) + w[B]


def _log_square(p, w):
    lo, hi = p["low"], p["high"]
    return w[A] ** 2 * _mean_log_square(lo, hi) + 2 * w[A] * w[B] * _mean_log(lo, hi) + w[B] ** 2


def _power(p, w):
    # E[(aX)^k] = a^k (hi^(k+1) - lo^(k+1)) / ((k + 1)(hi - lo)), k != -1 (lo >= 0 unless k is an integer)
    lo, hi, k = p["low"], p["high"], w[B]
    return w[A] ** k * (hi ** (k + 1) - lo ** (k + 1)) / ((k + 1) * (hi - lo))


def _abs(p, w):
    # int |a x + b| dx = (a x + b)|a x + b| / (2a), so no case split on where the kink lies
    a, lo, hi = w[A], p["low"], p["high"]
    if a == 0:
        return sp.Abs(w[B])
    d_hi, d_lo = a * hi + w[B], a * lo + w[B]
    return (d_hi * sp.Abs(d_hi) - d_lo * sp.Abs(d_lo)) / (2 * a * (hi - lo))


def _log1m(p):
    # 1 - X ~ Uniform(1 - high, 1 - low)
    return _mean_log(1 - p["high"], 1 - p["low"])


register(Formulas(
    family="Uniform",
    log_density=Rule(_log_density, "uniform density on [low, high)"),
    moments=(
        *affine(lambda p: (p["low"] + p["high"]) / 2, lambda p: (p["high"] - p["low"]) ** 2 / 12, _REFERENCE),
        Moment(ABS, _abs, "E|aX + b| from int |a x + b| dx = (a x + b)|a x + b|/(2a) (integration)"),
        Moment(LOG, _log, "E[log X] = (h log h - l log l)/(h - l) - 1 (integration, 0 <= l)"),
        Moment(LOG_SQUARE, _log_square, "E[log^2 X] from int log^2 x = x(log^2 x - 2 log x + 2) (0 <= l)"),
        Moment(POWER, _power, "E[X^k] = (h^(k+1) - l^(k+1)) / ((k+1)(h - l)) (integration)"),
        Moment(LOG1M, lambda p, w: _log1m(p), "E[log(1 - X)], 1 - X uniform on (1 - h, 1 - l] (h <= 1)"),
        Moment(LOG1M_PLAIN, lambda p, w: _log1m(p), "E[log(1 - X)], 1 - X uniform on (1 - h, 1 - l] (h <= 1)"),
        Moment(LOG1M_POWER, lambda p, w: _log1m(p) if w[A] == 1 else None,
               "E[log(1 - X)], 1 - X uniform on (1 - h, 1 - l] (h <= 1)"),
    ),
    bounds=lambda p: (p["low"], p["high"]),
))
