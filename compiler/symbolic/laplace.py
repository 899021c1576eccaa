"""Laplace(loc, scale): log-density and moments.

log p(x) = -|x - loc| / scale - log(2 scale) (JKB vol. 2, ch. 24).
"""
import sympy as sp

from gmc.compiler.symbolic.moments import ABS, affine
from gmc.compiler.symbolic.registry import A, B, Formulas, Moment, Rule, register

_REFERENCE = "Laplace moments (JKB vol. 2, ch. 24)"


def _log_density(x, p):
    return -sp.Abs(x - p["loc"]) / p["scale"] - sp.log(2 * p["scale"])


def _abs(p, w):
    # E|X - c| = |loc - c| + scale exp(-|loc - c| / scale), by integrating each side of loc;
    # for aX + b take c = -b/a and multiply by |a|.
    a, d = w[A], sp.Abs(w[A] * p["loc"] + w[B])
    return d + sp.Abs(a) * p["scale"] * sp.exp(-d / (sp.Abs(a) * p["scale"]))


register(Formulas(
    family="Laplace",
    log_density=Rule(_log_density, "Laplace density"),
    moments=(
        *affine(lambda p: p["loc"], lambda p: 2 * p["scale"] ** 2, _REFERENCE),
        Moment(ABS, _abs, "E|X - c| = |loc - c| + scale exp(-|loc - c|/scale) (integration of the density)"),
    ),
))
