"""Normal(loc, scale) moments for the statistics of the catalogue's real-line densities.

Kept apart from ``normal.py`` (its density, entropy and KL) so the families added with
this table stay in files of their own; ``normal.py`` registers ``NORMAL_MOMENTS``.
"""
import sympy as sp

from gmc.compiler.symbolic.functions import standardized
from gmc.compiler.symbolic.moments import ABS, affine
from gmc.compiler.symbolic.registry import A, B, Moment


def _abs(p, w):
    # E|Y| for Y = aX + b ~ N(d, (a scale)^2), d = a loc + b: the folded-normal mean
    # s sqrt(2/pi) exp(-d^2 / (2 s^2)) + d erf(d / (s sqrt 2)) with s = |a| scale
    # (Leone, Nelson & Nottingham 1961).
    s = sp.Abs(w[A]) * p["scale"]
    d = w[A] * p["loc"] + w[B]
    z = standardized(d, 0, s)  # d/s with d a difference first (d = h - 1e8 must not expand)
    return s * sp.sqrt(2 / sp.pi) * sp.exp(-z ** 2 / 2) + d * sp.erf(z / sp.sqrt(2))


NORMAL_MOMENTS = (
    *affine(lambda p: p["loc"], lambda p: p["scale"] ** 2, "Gaussian mean and variance"),
    Moment(ABS, _abs, "folded-normal mean (Leone, Nelson & Nottingham 1961)"),
)
