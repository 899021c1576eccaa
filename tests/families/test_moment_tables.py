"""Every moment of every family's table against numerical integration of scipy.stats's
density (scipy.integrate.quad, relative error about 1e-9), at random parameters and
random bindings of the pattern's wildcards.

A moment whose value is None for some bindings (no closed form there) is skipped for
those; each moment must give a value for at least one binding set.
"""
import math

import numpy as np
import pytest
import scipy.integrate
import scipy.special
import scipy.stats
import sympy as sp
from sympy.codegen.cfunctions import log1p

from gmc.compiler.symbolic import FORMULAS
from gmc.compiler.symbolic.functions import log1mexp, log1pexp
from gmc.compiler.symbolic.moments import LOG1M, LOG1M_PLAIN
from family_tools import scalar_log_density
from gmc.compiler.symbolic.registry import A, B, C, X

RNG = np.random.default_rng(11)


def _pdf(name):
    """Scalar density (see family_tools.scalar_log_density; checked against scipy below)."""
    return lambda p: (lambda log_density: lambda x: math.exp(log_density(x)))(scalar_log_density(name, p))


#: family -> (parameter draw, scipy reference or None, support, extra breakpoints for quad)
FAMILIES = {
    "Normal": (lambda: {"loc": RNG.uniform(-3, 3), "scale": RNG.uniform(0.3, 3)},
               lambda p: scipy.stats.norm(p["loc"], p["scale"]), (-np.inf, np.inf), lambda p: [p["loc"]]),
    "Laplace": (lambda: {"loc": RNG.uniform(-3, 3), "scale": RNG.uniform(0.3, 3)},
                lambda p: scipy.stats.laplace(p["loc"], p["scale"]), (-np.inf, np.inf), lambda p: [p["loc"]]),
    "Logistic": (lambda: {"loc": RNG.uniform(-3, 3), "scale": RNG.uniform(0.3, 3)},
                 lambda p: scipy.stats.logistic(p["loc"], p["scale"]), (-np.inf, np.inf), lambda p: [p["loc"]]),
    "StudentT": (lambda: {"df": RNG.uniform(4.5, 12), "loc": RNG.uniform(-3, 3), "scale": RNG.uniform(0.3, 3)},
                 lambda p: scipy.stats.t(p["df"], p["loc"], p["scale"]), (-np.inf, np.inf), lambda p: [p["loc"]]),
    "Uniform": (lambda: (lambda lo: {"low": lo, "high": lo + RNG.uniform(0.1, 0.9)})(RNG.uniform(0.01, 0.1)),
                lambda p: scipy.stats.uniform(p["low"], p["high"] - p["low"]), None, lambda p: []),
    "Exponential": (lambda: {"rate": RNG.uniform(0.3, 3)},
                    lambda p: scipy.stats.expon(scale=1 / p["rate"]), (0, np.inf), lambda p: [1 / p["rate"]]),
    "Gamma": (lambda: {"concentration": RNG.uniform(0.5, 6), "rate": RNG.uniform(0.3, 3)},
              lambda p: scipy.stats.gamma(p["concentration"], scale=1 / p["rate"]), (0, np.inf),
              lambda p: [p["concentration"] / p["rate"]]),
    "LogNormal": (lambda: {"loc": RNG.uniform(-1, 1), "scale": RNG.uniform(0.2, 0.8)},
                  lambda p: scipy.stats.lognorm(p["scale"], scale=math.exp(p["loc"])), (0, np.inf),
                  lambda p: [math.exp(p["loc"])]),
    "Weibull": (lambda: {"scale": RNG.uniform(0.3, 3), "concentration": RNG.uniform(0.8, 4)},
                lambda p: scipy.stats.weibull_min(p["concentration"], scale=p["scale"]), (0, np.inf),
                lambda p: [p["scale"]]),
    "Beta": (lambda: {"concentration1": RNG.uniform(0.7, 5), "concentration0": RNG.uniform(0.7, 5)},
             lambda p: scipy.stats.beta(p["concentration1"], p["concentration0"]), (0, 1), lambda p: [0.5]),
    "Kumaraswamy": (lambda: {"concentration1": RNG.uniform(0.7, 5), "concentration0": RNG.uniform(0.7, 5)},
                    None, (0, 1), lambda p: [0.5]),
}


@pytest.mark.parametrize("family", [f for f in FAMILIES if FAMILIES[f][1] is not None])
def test_densities_match_scipy(family):
    draw, reference, support, _ = FAMILIES[family]
    p = draw()
    frozen = reference(p)
    xs = frozen.ppf(np.linspace(0.01, 0.99, 25))
    np.testing.assert_allclose([_pdf(family)(p)(x) for x in xs], frozen.pdf(xs), rtol=1e-12)


def test_kumaraswamy_density_integrates_to_its_cdf():
    a, b = 2.5, 3.5
    for x in (0.2, 0.5, 0.9):
        value, _ = scipy.integrate.quad(_pdf("Kumaraswamy")({"concentration1": a, "concentration0": b}), 0, x,
                                        epsabs=1e-14, epsrel=1e-12)
        assert value == pytest.approx(1 - (1 - x ** a) ** b, rel=1e-10)


def _bindings(family: str, pattern: sp.Expr, p: dict) -> list[dict]:
    """Binding sets to try for ``pattern``: random ones, plus the family's own for the
    moments that exist only there (Logistic's softplus, StudentT's log1p, Kumaraswamy's
    log(1 - X^a))."""
    s = {k: sp.Float(v) for k, v in p.items()}
    r = lambda lo, hi: sp.Float(RNG.uniform(lo, hi))  # noqa: E731
    wilds = pattern.atoms(sp.Wild)
    out = []
    if pattern.has(log1pexp):
        own = {A: -1 / s["scale"], B: s["loc"] / s["scale"]}
        out += [own, {A: 1 / s["scale"], B: -s["loc"] / s["scale"]}] if C not in wilds else \
            [{C: -1 / s["scale"], A: sp.Integer(1), B: -s["loc"]}, {C: r(0.5, 2), A: r(0.5, 2), B: r(-1, 1)}]
    elif pattern.has(log1p) and pattern.has(A) and family == "StudentT":
        k = 1 / (s["df"] * s["scale"] ** 2)
        out += [{A: -s["loc"], B: k}] if C not in wilds else [{C: k * 4, A: sp.Float(0.5), B: -s["loc"] / 2}]
    elif pattern.has(log1mexp):
        out += [{A: sp.Integer(1)}] + ([{A: s["concentration1"]}] if family == "Kumaraswamy" else [])
    elif pattern == (A * X) ** B:
        out += [{A: r(0.3, 3), B: r(0.3, 3)}, {A: sp.Integer(1), B: sp.Integer(2)}]
    elif pattern.has(sp.Abs):
        out += [{A: r(-2, 2), B: r(-2, 2)} for _ in range(3)] + [{A: r(0.5, 2), B: r(0.5, 2)},  # c < 0
                                                                   {A: sp.Integer(1), B: r(-0.9, -0.1)},  # 0 < c < 1
                                                                   {A: sp.Integer(-1), B: r(1.1, 3)}]  # c > 1
    else:
        out += [{w: r(-2, 2) for w in wilds} for _ in range(2)] + ([{A: sp.Integer(1), B: sp.Integer(0)}]
                                                                   if wilds == {A, B} else [])
    return out


def _integrate(family: str, statistic: sp.Expr, p: dict) -> float:
    draw, _, support, breaks = FAMILIES[family]
    f = sp.lambdify(X, statistic, modules=[{"log1pexp": lambda h: float(np.logaddexp(0, h)), "log1p": math.log1p,
                                            "log1mexp": lambda h: math.log(-math.expm1(h))}, "math"])
    pdf = _pdf(family)(p)
    lo, hi = support if support is not None else (p["low"], p["high"])
    points = sorted({lo, hi, *[b for b in breaks(p) if lo < b < hi]} | _kinks(statistic, lo, hi))
    total = 0.0
    for a, b in zip(points, points[1:]):
        value, error = scipy.integrate.quad(lambda x: f(x) * pdf(x), a, b, limit=400, epsabs=1e-13, epsrel=1e-11)
        total += value
    return total


def _kinks(statistic, lo, hi):
    """Where |aX + b| bends, so quad integrates each smooth piece."""
    out = set()
    for node in statistic.atoms(sp.Abs):
        a, b = sp.Poly(node.args[0], X).all_coeffs()
        root = float(-b / a)
        if lo < root < hi:
            out.add(root)
    return out


CASES = [(family, i) for family in FAMILIES for i in range(len(FORMULAS[family].moments))]


@pytest.mark.parametrize("family, index", CASES, ids=[f"{f}-{i}" for f, i in CASES])
def test_moment_matches_numerical_integration(family, index):
    moment = FORMULAS[family].moments[index]
    checked = 0
    for _ in range(2):
        p = FAMILIES[family][0]()
        if family == "Kumaraswamy" and moment.pattern in (LOG1M, LOG1M_PLAIN):
            p["concentration1"] = 1.0  # log(1 - X) has a closed form only at a = 1 (Beta(1, b))
        params = {k: sp.Float(v) for k, v in p.items()}
        for bindings in _bindings(family, moment.pattern, p):
            value = moment.value(params, bindings)
            if value is None:
                continue
            statistic = moment.pattern.xreplace(bindings)
            expected = _integrate(family, statistic, p)
            got = float(sp.N(value, 20))
            assert got == pytest.approx(expected, rel=1e-7, abs=1e-9), (moment.reference, bindings, p)
            checked += 1
    assert checked, f"{family}: {moment.pattern} never had a value"
