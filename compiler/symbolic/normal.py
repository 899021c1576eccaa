"""Normal(loc, scale): log-density, entropy and KL to a Normal."""
import sympy as sp

from gmc.compiler.symbolic.normal_moments import NORMAL_MOMENTS
from gmc.compiler.symbolic.registry import Formulas, Rule, register

_HALF_LOG_2PI = sp.log(2 * sp.pi) / 2


def _log_density(x, p):
    # log N(x; m, s) = -((x - m)/s)^2 / 2 - log s - log(2 pi)/2
    return -((x - p["loc"]) / p["scale"]) ** 2 / 2 - sp.log(p["scale"]) - _HALF_LOG_2PI


def _entropy(p):
    # H[N(m, s)] = 1/2 + log(2 pi)/2 + log s
    return sp.Rational(1, 2) + _HALF_LOG_2PI + sp.log(p["scale"])


def _kl_normal(q, p):
    # KL[N(mq, sq) || N(mp, sp)] = log(sp/sq) + (sq^2 + (mq - mp)^2) / (2 sp^2) - 1/2;
    # written with ratios so it stays accurate when the means are large.
    return (sp.log(p["scale"]) - sp.log(q["scale"])
            + ((q["scale"] / p["scale"]) ** 2 + ((q["loc"] - p["loc"]) / p["scale"]) ** 2) / 2
            - sp.Rational(1, 2))


register(Formulas(
    family="Normal",
    log_density=Rule(_log_density, "Gaussian density"),
    moments=NORMAL_MOMENTS,
    entropy=Rule(_entropy, "Gaussian entropy (Cover & Thomas 2006, eq. 8.4)"),
    kl={"Normal": Rule(_kl_normal, "Gaussian KL (Kingma & Welling 2014, Appendix B)")},
))
