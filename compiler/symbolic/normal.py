"""Normal(loc, scale): log-density, entropy and KL to a Normal."""
import sympy as sp

from gmc.compiler.symbolic.registry import Formulas, Rule, register
from gmc.compiler.symbolic.vector import is_tensor

_HALF_LOG_2PI = sp.log(2 * sp.pi) / 2


def _log_density(x, p):
    # log N(x; m, s) = -((x - m)/s)^2 / 2 - log s - log(2 pi)/2; a constant or param scale is
    # kept out of the square so that it folds into one coefficient: -50.0*(x - m)**2 for s = 0.1
    loc, scale = p["loc"], p["scale"]
    if not is_tensor(scale):
        return -(x - loc) ** 2 / (2 * scale ** 2) - sp.log(scale) - _HALF_LOG_2PI
    return -((x - loc) / scale) ** 2 / 2 - sp.log(scale) - _HALF_LOG_2PI


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
    entropy=Rule(_entropy, "Gaussian entropy (Cover & Thomas 2006, eq. 8.4)"),
    kl={"Normal": Rule(_kl_normal, "Gaussian KL (Kingma & Welling 2014, Appendix B)")},
))
