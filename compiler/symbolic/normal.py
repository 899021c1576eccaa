"""Normal(loc, scale): log-density and moments; entropy and KL are derived from them."""
import sympy as sp

from gmc.compiler.symbolic.registry import A, X, Formulas, Moment, Rule, register
from gmc.compiler.symbolic.vector import is_tensor

_HALF_LOG_2PI = sp.log(2 * sp.pi) / 2


def _log_density(x, p):
    # log N(x; m, s) = -((x - m)/s)^2 / 2 - log s - log(2 pi)/2; a constant or param scale is
    # kept out of the square so that it folds into one coefficient: -50.0*(x - m)**2 for s = 0.1
    loc, scale = p["loc"], p["scale"]
    if not is_tensor(scale):
        return -(x - loc) ** 2 / (2 * scale ** 2) - sp.log(scale) - _HALF_LOG_2PI
    return -((x - loc) / scale) ** 2 / 2 - sp.log(scale) - _HALF_LOG_2PI


def _shifted_square(p, w):
    # E[(X + a)^2] = Var X + (E X + a)^2
    return p["scale"] ** 2 + (p["loc"] + w[A]) ** 2


def _power(p, w):
    k = w[A]
    if k == 1:
        return p["loc"]
    if k == 2:
        return p["scale"] ** 2 + p["loc"] ** 2
    return None


def _absolute(p, w):
    # E|X + a| for X ~ N(m, s): the folded normal mean with d = m + a,
    # s sqrt(2/pi) exp(-d^2 / (2 s^2)) + d erf(d / (s sqrt 2)) (Leone, Nelson & Nottingham 1961)
    d, s = p["loc"] + w[A], p["scale"]
    return s * sp.sqrt(2 / sp.pi) * sp.exp(-(d / s) ** 2 / 2) + d * sp.erf(d / (s * sp.sqrt(2)))


register(Formulas(
    family="Normal",
    log_density=Rule(_log_density, "Gaussian density"),
    moments=(
        Moment(X, lambda p, w: p["loc"], "E[X] = loc"),
        Moment((X + A) ** 2, _shifted_square, "E[(X + a)^2] = scale^2 + (loc + a)^2"),
        Moment(X ** A, _power, "E[X^2] = scale^2 + loc^2"),
        Moment(sp.Abs(X + A), _absolute, "folded-normal mean (Leone, Nelson & Nottingham 1961)"),
    ),
))
