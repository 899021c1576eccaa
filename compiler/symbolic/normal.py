"""Normal(loc, scale): log-density and moments; entropy and KL are derived from them.

Against a Normal whose scale is not a number, the derived KL
log c - log b + (b^2 + (a - h)^2)/(2 c^2) - 1/2 subtracts logs and halves computed apart:
at b/c = 1 + 1e-7 it had no correct digit (torch.distributions: 3e-7). The rule below writes
it as (v - 1 - log v)/2 + (a - h)^2/(2 c^2), v = (b/c)^2, with v - 1 - log v = kl_div(1, v)
summed stably (``gmc.runtime.kl_div``). Against a number scale (the N(0, 1) prior of a VAE)
the derived form is as accurate as torch's and is kept.
"""
import sympy as sp

from gmc.compiler.symbolic.functions import kl_div
from gmc.compiler.symbolic.normal_moments import NORMAL_MOMENTS
from gmc.compiler.symbolic.registry import Formulas, Rule, register
from gmc.compiler.symbolic.vector import is_tensor

_HALF_LOG_2PI = sp.log(2 * sp.pi) / 2
_FOLDABLE_SCALE = (1e-15, 1e15)


def _log_density(x, p):
    # log N(x; m, s) = -((x - m)/s)^2 / 2 - log s - log(2 pi)/2; a constant or param scale is
    # kept out of the square so that it folds into one coefficient: -50.0*(x - m)**2 for s = 0.1.
    # Only for scales whose 1/(2 s^2) fits float32 well inside its range: at s = 1e-30 the
    # coefficient 5e59 is inf in float32 and inf * 0 is NaN at x = m, while ((x - m)/s)**2 is 0.
    loc, scale = p["loc"], p["scale"]
    if not is_tensor(scale) and not (scale.is_Number and not _FOLDABLE_SCALE[0] <= abs(scale) <= _FOLDABLE_SCALE[1]):
        return -(x - loc) ** 2 / (2 * scale ** 2) - sp.log(scale) - _HALF_LOG_2PI
    return -((x - loc) / scale) ** 2 / 2 - sp.log(scale) - _HALF_LOG_2PI


def _kl_normal(q, p):
    if p["scale"].is_Number:
        return None
    v = (q["scale"] / p["scale"]) ** 2
    return kl_div(1, v) / 2 + (q["loc"] - p["loc"]) ** 2 / (2 * p["scale"] ** 2)


register(Formulas(
    family="Normal",
    log_density=Rule(_log_density, "Gaussian density"),
    moments=NORMAL_MOMENTS,
    kl={"Normal": Rule(_kl_normal, "KL[N(a, b) || N(h, c)] = (v - 1 - log v)/2 + (a - h)^2/(2 c^2), v = (b/c)^2 "
                                   "(v - 1 - log v = kl_div(1, v), summed stably)")},
))
