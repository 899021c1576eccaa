"""Normal(loc, scale): log-density and moments; entropy and KL are derived from them."""
import sympy as sp

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


register(Formulas(
    family="Normal",
    log_density=Rule(_log_density, "Gaussian density"),
    moments=NORMAL_MOMENTS,
))
