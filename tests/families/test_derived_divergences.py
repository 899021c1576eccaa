"""Entropies and KL divergences implied by the moment tables, derived by the test-local
stand-in of the derivation engine (family_tools.expectation), printed by gmc's printer
and evaluated in float64 against torch.distributions, scipy.stats and numerical
integration.

Parameters are sympy symbols (tensors in the printed code) unless a case makes them
numbers, as constants in a .gm file are (StudentT's moments need a known df).
"""
import math

import numpy as np
import pytest
import scipy.integrate
import scipy.stats
import sympy as sp
import torch
import torch.distributions as D

from family_tools import entropy, evaluate, kl, scalar_log_density

#: family -> (random parameter values, torch distribution or None, scipy frozen distribution)
FAMILIES = {
    "Normal": (lambda r: {"loc": r.uniform(-2, 2), "scale": r.uniform(0.3, 3)}, D.Normal,
               lambda p: scipy.stats.norm(p["loc"], p["scale"])),
    "Laplace": (lambda r: {"loc": r.uniform(-2, 2), "scale": r.uniform(0.3, 3)}, D.Laplace,
                lambda p: scipy.stats.laplace(p["loc"], p["scale"])),
    "Logistic": (lambda r: {"loc": r.uniform(-2, 2), "scale": r.uniform(0.3, 3)}, None,
                 lambda p: scipy.stats.logistic(p["loc"], p["scale"])),
    "StudentT": (lambda r: {"df": r.uniform(0.5, 30), "loc": r.uniform(-2, 2), "scale": r.uniform(0.3, 3)},
                 D.StudentT, lambda p: scipy.stats.t(p["df"], p["loc"], p["scale"])),
    "Uniform": (lambda r: (lambda lo: {"low": lo, "high": lo + r.uniform(0.1, 0.9)})(r.uniform(0.01, 0.09)),
                D.Uniform, lambda p: scipy.stats.uniform(p["low"], p["high"] - p["low"])),
    "Exponential": (lambda r: {"rate": r.uniform(0.3, 3)}, D.Exponential,
                    lambda p: scipy.stats.expon(scale=1 / p["rate"])),
    "Gamma": (lambda r: {"concentration": r.uniform(0.3, 8), "rate": r.uniform(0.3, 3)}, D.Gamma,
              lambda p: scipy.stats.gamma(p["concentration"], scale=1 / p["rate"])),
    "LogNormal": (lambda r: {"loc": r.uniform(-1, 1), "scale": r.uniform(0.2, 1.5)}, D.LogNormal,
                  lambda p: scipy.stats.lognorm(p["scale"], scale=math.exp(p["loc"]))),
    "Weibull": (lambda r: {"scale": r.uniform(0.3, 3), "concentration": r.uniform(0.5, 5)}, D.Weibull,
                lambda p: scipy.stats.weibull_min(p["concentration"], scale=p["scale"])),
    "Beta": (lambda r: {"concentration1": r.uniform(0.3, 6), "concentration0": r.uniform(0.3, 6)}, D.Beta,
             lambda p: scipy.stats.beta(p["concentration1"], p["concentration0"])),
    "Kumaraswamy": (lambda r: {"concentration1": r.uniform(0.3, 6), "concentration0": r.uniform(0.3, 6)},
                    D.Kumaraswamy, None),
}


def _draw(family, seed, n=6):
    """n random parameter sets as float64 tensors [n]."""
    r = np.random.default_rng(seed)
    rows = [FAMILIES[family][0](r) for _ in range(n)]
    return {k: torch.tensor([row[k] for row in rows], dtype=torch.float64) for k in rows[0]}


def _symbols(prefix, values, numeric=()):
    """sympy parameters: symbols named prefix_name, or numbers for the names in ``numeric``."""
    return {k: sp.Float(float(v[0])) if k in numeric else sp.Symbol(f"{prefix}_{k}") for k, v in values.items()}


def _bind(prefix, values):
    return {f"{prefix}_{k}": v for k, v in values.items()}


@pytest.mark.parametrize("family", FAMILIES)
def test_entropy_is_closed_form_and_matches_reference(family):
    values = _draw(family, 1)
    expr = entropy(family, _symbols("q", values))
    assert expr is not None, f"no closed-form entropy for {family}"
    got = evaluate(expr, _bind("q", values))
    draw, torch_dist, scipy_dist = FAMILIES[family]
    if torch_dist is not None:
        expected = torch_dist(**values).entropy()
    else:
        expected = torch.tensor([scipy_dist({k: float(v[i]) for k, v in values.items()}).entropy()
                                 for i in range(len(got))])
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)


# KL pairs with a closed form through the moment tables, checked against torch's KL
TORCH_PAIRS = [
    ("Normal", "Normal"), ("Normal", "Laplace"), ("Laplace", "Laplace"), ("Laplace", "Normal"),
    ("Exponential", "Exponential"), ("Exponential", "Gamma"),
    ("Gamma", "Exponential"), ("Gamma", "Gamma"), ("Gamma", "Normal"), ("Exponential", "Normal"),
    ("Beta", "Beta"), ("Beta", "Normal"), ("Beta", "Exponential"), ("Beta", "Gamma"), ("Beta", "Uniform"),
    ("Uniform", "Gamma"), ("Uniform", "Exponential"), ("Uniform", "Normal"), ("Uniform", "Beta"),
]


@pytest.mark.parametrize("first, second", TORCH_PAIRS)
def test_kl_matches_torch(first, second):
    q_values, p_values = _draw(first, 2), _draw(second, 3)
    if second == "Uniform":  # p's support must contain q's: Uniform(0, 1) for a Beta q
        p_values = {"low": torch.zeros(6, dtype=torch.float64), "high": torch.ones(6, dtype=torch.float64)}
    expr = kl(first, _symbols("q", q_values), second, _symbols("p", p_values))
    assert expr is not None, f"no closed-form KL[{first} || {second}]"
    got = evaluate(expr, {**_bind("q", q_values), **_bind("p", p_values)})
    expected = D.kl_divergence(FAMILIES[first][1](**q_values), FAMILIES[second][1](**p_values))
    torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-10)


# (q, p, parameters of p given as numbers) with a closed form, checked by integration
INTEGRATED_PAIRS = [
    ("Gamma", "LogNormal", ()), ("LogNormal", "Gamma", ()), ("Weibull", "Gamma", ()), ("Gamma", "Weibull", ()),
    ("LogNormal", "Weibull", ()), ("Weibull", "LogNormal", ()), ("LogNormal", "LogNormal", ()),
    ("Weibull", "Weibull", ()), ("Exponential", "Weibull", ()), ("Exponential", "LogNormal", ()),
    ("Logistic", "Normal", ()), ("Logistic", "Laplace", ()), ("StudentT", "Normal", ("df",)),
    ("Uniform", "LogNormal", ()), ("Uniform", "Weibull", ()), ("Uniform", "Laplace", ()),
    ("Exponential", "Laplace", ("loc",)), ("LogNormal", "Laplace", ("loc",)), ("Gamma", "Laplace", ("loc",)),
    ("Beta", "LogNormal", ()), ("Beta", "Weibull", ()), ("Kumaraswamy", "Gamma", ()),
    ("Kumaraswamy", "LogNormal", ()), ("Kumaraswamy", "Normal", ()), ("Beta", "Kumaraswamy", None),
    ("Kumaraswamy", "Beta", None), ("Laplace", "Logistic", None), ("Normal", "Logistic", None),
    ("Normal", "StudentT", None), ("Laplace", "StudentT", None),
]


def _integrand(log_q, log_p, x):
    """q(x) (log q(x) - log p(x)), 0 where q underflows (the tails quad probes)."""
    lq = log_q(x)
    return 0.0 if lq < -745 else math.exp(lq) * (lq - log_p(x))


def _integrated_kl(first, q, second, p):
    log_q, log_p = scalar_log_density(first, q), scalar_log_density(second, p)
    if first == "Uniform":
        lo, hi = q["low"], q["high"]
    elif first == "Kumaraswamy" or first == "Beta":
        lo, hi = 0.0, 1.0
    else:
        lo, hi = FAMILIES[first][2](q).support()
    breaks = [x for x in (p.get("loc"), q.get("loc"), 1.0) if x is not None and lo < x < hi]
    points = [lo, *sorted(set(breaks)), hi]
    total = 0.0
    for a, b in zip(points, points[1:]):
        value, _ = scipy.integrate.quad(lambda x: _integrand(log_q, log_p, x) if lo < x < hi else 0.0,
                                        a, b, limit=400, epsabs=1e-12, epsrel=1e-10)
        total += value
    return total


@pytest.mark.parametrize("first, second, numeric", INTEGRATED_PAIRS)
def test_kl_matches_numerical_integration(first, second, numeric):
    q_values, p_values = _draw(first, 4, n=3), _draw(second, 5, n=3)
    if "df" in q_values:
        q_values["df"] = torch.full((3,), 6.5, dtype=torch.float64)  # finite variance: df > 2
    if numeric is not None and "loc" in numeric:
        p_values["loc"] = torch.full((3,), 0.5 if first != "Gamma" else -0.5, dtype=torch.float64)
    q_symbols = _symbols("q", q_values, numeric=("df",) if numeric and "df" in numeric else ())
    p_symbols = _symbols("p", p_values, numeric=numeric or ())
    expr = kl(first, q_symbols, second, p_symbols)
    if numeric is None:  # no closed form: the derivation must say so rather than guess
        assert expr is None
        return
    assert expr is not None, f"no closed-form KL[{first} || {second}]"
    got = evaluate(expr, {**_bind("q", q_values), **_bind("p", p_values)})
    got = got.expand(3) if got.dim() else got.repeat(3)
    for i in range(3):
        q = {k: float(v[i]) for k, v in q_values.items()}
        p = {k: float(v[i]) for k, v in p_values.items()}
        assert got[i].item() == pytest.approx(_integrated_kl(first, q, second, p), rel=1e-7, abs=1e-8), (q, p)
