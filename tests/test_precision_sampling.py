"""Samplers at tiny parameters: no spurious atoms, distributions as scipy.stats says.

torch's Dirichlet sampler divides Gamma draws that underflow to 0 for small concentrations:
Beta(1e-3, 1e-3) gave exactly 1/2 for a quarter of the draws (variance 0.188 against 0.2495)
and Dirichlet(1e-3, 1e-3, 1e-3) exactly (1/3, 1/3, 1/3) for 12%; Weibull with concentration
0.01 gave exact zeros (log-density +inf). gmc now draws the Gammas in log space
(``rt.log_standard_gamma``) and Weibull as exp(log scale + log(E)/k) clamped to the dtype's
range. Each sample is checked with a Kolmogorov-Smirnov test against scipy.stats (fixed seeds,
20,000 draws, p > 1e-4) and with mean and variance within 5 standard errors; the implicit
reparameterization gradients are checked against scipy's CDF and by gradcheck.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special
import scipy.stats
import torch

import gmc
from gmc import runtime as rt

N = 20000

SOURCE = """
var x: unit[1]
var s: simplex[3]
var y: positive[1]
param a1 = 1.0
param a0 = 1.0
param c = 1.0
param k = 1.0
param scale = 1.0
b(x) = Beta(a1, a0)
d(s) = Dirichlet(c)
w(y) = Weibull(scale, k)
loss = mean(log b(x) + log d(s) + log w(y))
"""


@pytest.fixture(scope="module")
def model():
    return gmc.compile_source(SOURCE, name="Tiny")().double()


def _draw(model, factor: str, seed: int, **params) -> np.ndarray:
    torch.manual_seed(seed)
    value = next(iter(model.sample(factor, n=N, **params).values()))
    assert value.dtype == torch.float64
    return value.numpy()


def _within_5_se(samples: np.ndarray, expected: float, what: str) -> None:
    se = samples.std() / math.sqrt(len(samples))
    assert abs(samples.mean() - expected) <= 5 * se, (what, samples.mean(), expected, se)


def _mean_and_variance(samples: np.ndarray, mean: float, variance: float) -> None:
    _within_5_se(samples, mean, "mean")
    _within_5_se((samples - mean) ** 2, variance, "variance")


def _ks(samples: np.ndarray, cdf) -> None:
    p_value = scipy.stats.kstest(samples, cdf).pvalue
    assert p_value > 1e-4, p_value


_UNIT_GRID = [1e-300, 1e-100, 1e-20, 1e-5, 0.1, 0.3, 0.5 - 1e-9, 0.5 + 1e-9, 0.7, 0.9, 1 - 1e-5, 1 - 1e-12]


def _unit_distribution(samples: np.ndarray, reference) -> None:
    """KS against ``reference`` where float64 can hold the law; when a visible part of its
    mass lies within tiny of 0 or within eps of 1 (tiny concentrations), float64 draws sit at
    tiny and at 1 - eps/2 there, so KS would test the rounding: then the fraction of draws
    below each point of a grid (which brackets 1/2 closely) is compared with the CDF, within
    5 binomial standard errors, and the mass at the top end with 1 - F(1 - eps)."""
    edge = 1 - np.finfo(np.float64).eps
    if reference.cdf(np.finfo(np.float64).tiny) < 1e-6 and reference.sf(edge) < 1e-6:
        _ks(samples, reference.cdf)
        return
    for point, cdf in [(q, reference.cdf(q)) for q in _UNIT_GRID] + [(edge, reference.cdf(edge))]:
        fraction = (samples < point).mean()
        assert abs(fraction - cdf) <= 5 * math.sqrt(cdf * (1 - cdf) / len(samples)) + 1e-12, (point, fraction, cdf)


@pytest.mark.parametrize("a1,a0", [(1e-3, 1e-3), (1e-2, 5.0), (0.5, 2.0), (2.0, 3.0)])
def test_beta_samples(model, a1, a0):
    x = _draw(model, "b(x)", 11, a1=a1, a0=a0).ravel()
    reference = scipy.stats.beta(a1, a0)
    assert (x > 0).all() and (x < 1).all()
    assert not (x == 0.5).any()
    _unit_distribution(x, reference)
    _mean_and_variance(x, reference.mean(), reference.var())
    log_density = model.log_prob("b(x)", x=torch.from_numpy(x[:, None]), a1=a1, a0=a0)
    assert torch.isfinite(log_density).all()


@pytest.mark.parametrize("c", [1e-3, 0.05, 1.0, 4.0])
def test_dirichlet_samples(model, c):
    s = _draw(model, "d(s)", 12, c=c)
    assert s.shape == (N, 3)
    np.testing.assert_allclose(s.sum(-1), 1.0, rtol=1e-12)
    assert not np.isclose(s, 1 / 3, rtol=0, atol=0).all(-1).any()  # no exact (1/3, 1/3, 1/3)
    marginal = scipy.stats.beta(c, 2 * c)  # each coordinate of a symmetric Dirichlet
    for coordinate in range(3):
        _unit_distribution(s[:, coordinate], marginal)
        _mean_and_variance(s[:, coordinate], marginal.mean(), marginal.var())
    assert torch.isfinite(model.log_prob("d(s)", s=torch.from_numpy(s), c=c)).all()


@pytest.mark.parametrize("scale,k", [(1.0, 0.01), (1e-3, 0.05), (2.0, 0.5), (1.5, 3.0)])
def test_weibull_samples(model, scale, k):
    y = _draw(model, "w(y)", 13, scale=scale, k=k).ravel()
    reference = scipy.stats.weibull_min(k, scale=scale)
    tiny = np.finfo(np.float64).tiny
    assert (y >= tiny).all() and np.isfinite(y).all()
    # below tiny the true law has mass 1 - exp(-(tiny/scale)^k): the clamped draws sit there
    below = (y == tiny).mean()
    expected = -math.expm1(-(tiny / scale) ** k)
    assert abs(below - expected) <= 5 * math.sqrt(expected * (1 - expected) / N) + 1e-12, (below, expected)
    _ks(y, reference.cdf)
    if k >= 0.5:  # the moments of k = 0.01 are astronomically heavy-tailed
        _mean_and_variance(y, reference.mean(), reference.var())
    log_density = model.log_prob("w(y)", y=torch.from_numpy(y[:, None]), scale=scale, k=k)
    assert torch.isfinite(log_density).all()


def test_weibull_sample_gradient():
    torch.manual_seed(14)
    u = torch.rand(6, dtype=torch.float64)
    scale = torch.tensor([0.5, 1.0, 2.0, 3.0, 0.7, 1.2], dtype=torch.float64, requires_grad=True)
    k = torch.tensor([0.3, 0.8, 1.0, 2.5, 4.0, 1.7], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda s, c: rt.weibull(u, s, c), (scale, k))
    # the same draws and gradients as torch.distributions.Weibull's transform of the noise
    e = -torch.log(u)
    torch_draw = scale * e ** (1 / k)
    torch.testing.assert_close(rt.weibull(u, scale, k), torch_draw, rtol=1e-13, atol=0)


@pytest.mark.parametrize("a,b", [(0.05, 0.08), (0.7, 2.0)])
def test_beta_gradient_is_implicit_at_small_concentrations(a, b):
    """dx/da = -(dF/da)/p(x) at the drawn x (Figurnov et al. 2018), F scipy's regularized
    incomplete beta differentiated by central differences."""
    torch.manual_seed(15)
    at = torch.full((400,), a, dtype=torch.float64, requires_grad=True)
    bt = torch.full((400,), b, dtype=torch.float64, requires_grad=True)
    x = rt.sample_beta(at, bt, (400,), at)
    grad_a, grad_b = torch.autograd.grad(x.sum(), (at, bt))
    xs = x.detach().numpy()
    keep = (xs > 1e-6) & (xs < 1 - 1e-6)  # where central differences of F are accurate
    assert keep.sum() > 50
    density = scipy.stats.beta.pdf(xs[keep], a, b)
    h = 1e-6
    d_a = (scipy.special.betainc(a + h, b, xs[keep]) - scipy.special.betainc(a - h, b, xs[keep])) / (2 * h)
    d_b = (scipy.special.betainc(a, b + h, xs[keep]) - scipy.special.betainc(a, b - h, xs[keep])) / (2 * h)
    np.testing.assert_allclose(grad_a.numpy()[keep], -d_a / density, rtol=1e-4, atol=1e-8)
    np.testing.assert_allclose(grad_b.numpy()[keep], -d_b / density, rtol=1e-4, atol=1e-8)


def test_dirichlet_gradient_is_unbiased_at_small_concentrations():
    """d/dc E[w . X] is the gradient of w . c / sum(c): per-sample implicit gradients average to it."""
    torch.manual_seed(16)
    c = torch.tensor([0.05, 0.2, 0.5], dtype=torch.float64)
    w = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    rows = c.expand(N, 3).clone().requires_grad_()
    s = rt.dirichlet(rows, (N, 3), rows)
    per_sample = torch.autograd.grad((s @ w).sum(), rows)[0]
    c.requires_grad_()
    exact = torch.autograd.grad((w * c / c.sum()).sum(), c)[0]
    error = (per_sample.mean(0) - exact).abs()
    se = per_sample.std(0) / math.sqrt(N)
    assert (error <= 5 * se).all(), (error, se)
