"""Poisson, Deterministic, Normal with a constant or param scale, and Bernoulli's E[X].

References: torch.distributions and scipy.stats in float64, closed-form moments.
"""
import math

import numpy as np
import pytest
import scipy.stats
import sympy as sp
import torch
import torch.distributions as D
from torch import nn

import gmc
from famb_helpers import assert_close_64, assert_mean_and_variance, assert_mean_within_5_se, moment
from gmc.compiler.symbolic.functions import xlogy
from gmc.compiler.symbolic.registry import A, X

POISSON = gmc.compile_source("""
var n: count[3]
var rate: positive[3]
p(n|rate) = Poisson(rate)
c(n) = Poisson(rate=2.5)
loss = mean(log p(n|rate))
""", name="Poissons")

DETERMINISTIC = gmc.compile_source("""
var d: real[3]
var v: real[3]
p(d|v) = Deterministic(v)
c(d) = Deterministic(value=1.5)
loss = mean(log p(d|v))
""", name="Points")

NORMAL_SOURCE = """
var x: real[5]
var z: real[2]
var m: real[5]
param sigma = 0.3
net dec(z) -> real[5]
p(x|z) = Normal(loc=dec(z), scale=0.1)
q(x|m) = Normal(m, sigma)
loss = mean(log p(x|z) + log q(x|m))
"""
NORMAL = gmc.compile_source(NORMAL_SOURCE, name="ConstantScale")


pytestmark = pytest.mark.usefixtures("float64")  # tests/conftest.py


def _gen(seed):
    return torch.Generator().manual_seed(seed)


# ---- Poisson -----------------------------------------------------------------------------

@pytest.mark.parametrize("rate_scale", [1e-6, 1.0, 50.0, 1e4])
def test_poisson_log_mass_matches_torch_and_scipy(rate_scale):
    rate = torch.rand(2000, 3, generator=_gen(0)) * rate_scale + 1e-300
    n = torch.poisson(rate * torch.rand(2000, 3, generator=_gen(1)) * 2, generator=_gen(2))
    got = POISSON().log_prob("p(n|rate)", n=n, rate=rate)
    assert got.shape == (2000,)
    expected = D.Poisson(rate).log_prob(n).sum(-1)
    assert_close_64(got, expected, atol=max(1e-9, 1e-13 * expected.abs().max().item()))
    reference = scipy.stats.poisson(rate.numpy()).logpmf(n.numpy()).sum(-1)
    np.testing.assert_allclose(got.numpy(), reference, rtol=1e-10, atol=1e-9)


def test_poisson_constant_rate_matches_torch():
    n = torch.poisson(torch.full((500, 3), 2.5), generator=_gen(3))
    assert_close_64(POISSON().log_prob("c(n)", n=n), D.Poisson(2.5).log_prob(n).sum(-1))


def test_poisson_samples_have_mean_and_variance_rate():
    torch.manual_seed(4)
    rate = torch.tensor([0.3, 4.0, 25.0])
    n = POISSON().sample("p(n|rate)", rate=rate.expand(40000, 3))["n"]
    assert n.shape == (40000, 3) and (n == n.round()).all() and (n >= 0).all()
    assert_mean_and_variance(n, rate, rate)
    constant = POISSON().sample("c(n)", n=20000)["n"]
    assert constant.shape == (20000, 3)
    assert_mean_and_variance(constant, torch.full((3,), 2.5), torch.full((3,), 2.5))


def test_poisson_moments_match_scipy():
    rate = torch.rand(20, 3, generator=_gen(5)) * 10 + 0.1
    law = scipy.stats.poisson(rate.numpy())
    np.testing.assert_allclose(moment("Poisson", X, {"rate": rate}).numpy(), law.mean(), rtol=1e-12)
    np.testing.assert_allclose(moment("Poisson", X ** 2, {"rate": rate}).numpy(), law.moment(2), rtol=1e-12)
    c = -1.7  # E[(X - 1.7)^2] = Var X + (E X - 1.7)^2
    got = moment("Poisson", (X + A) ** 2, {"rate": rate}, {A: sp.Float(c)})
    np.testing.assert_allclose(got.numpy(), law.var() + (law.mean() + c) ** 2, rtol=1e-12)
    torch.manual_seed(6)
    other = torch.rand(20, 3, generator=_gen(7)) * 5 + 0.1
    closed = moment("Poisson", xlogy(X, A), {"rate": rate}, {A: other})
    assert_mean_within_5_se(torch.xlogy(torch.poisson(rate.expand(20000, 20, 3)), other), closed, "E[X log c]")


# ---- Deterministic -----------------------------------------------------------------------

def test_deterministic_samples_the_value_with_gradient_and_log_density_zero():
    v = torch.randn(7, 3, generator=_gen(6), requires_grad=True)
    model = DETERMINISTIC()
    d = model.sample("p(d|v)", v=v)["d"]
    assert d.shape == (7, 3)
    torch.testing.assert_close(d, v, rtol=0, atol=0)
    torch.testing.assert_close(torch.autograd.grad(d.sum(), v)[0], torch.ones(7, 3))
    log_density = model.log_prob("p(d|v)", d=d.detach(), v=v.detach())
    assert log_density.shape == (7,) and (log_density == 0).all()
    constant = model.sample("c(d)", n=4)["d"]
    assert constant.shape == (4, 3) and (constant == 1.5).all()
    assert model.log_prob("c(d)", d=constant).shape == (4,)


def test_deterministic_moments_evaluate_the_statistic_at_the_value():
    v = torch.rand(4, 3, generator=_gen(7)) + 0.5
    torch.testing.assert_close(moment("Deterministic", X, {"value": v}), v)
    torch.testing.assert_close(moment("Deterministic", sp.log(X), {"value": v}), torch.log(v))
    torch.testing.assert_close(moment("Deterministic", X ** A, {"value": v}, {A: sp.Integer(3)}), v ** 3)
    torch.testing.assert_close(moment("Deterministic", (X + A) ** 2, {"value": v}, {A: sp.Float(-0.5)}),
                               (v - 0.5) ** 2)


# ---- Normal with a constant variance -----------------------------------------------------

def test_constant_and_param_scales_fold_into_clean_code(tmp_path):
    path = tmp_path / "normal.gm"
    path.write_text(NORMAL_SOURCE)
    code = gmc.to_python(path)
    lines = [line for line in code.splitlines() if line.strip().startswith("log_")]
    constant = next(line for line in lines if "log_p_x_given_z =" in line)
    # one coefficient for 1 / (2 * 0.1^2) and one literal for 5 (-log(0.1) - log(2 pi) / 2), the
    # constant added once to the event sum over x's 5 elements, not once per element
    assert "*(-dec_z + x)**2" in constant and "math." not in constant and constant.count("0.1") == 0
    literal = float(constant.split("+")[-1].split("#")[0])
    assert literal == pytest.approx(5 * (-math.log(0.1) - math.log(2 * math.pi) / 2), rel=1e-15)
    param = next(line for line in lines if "log_q_x_given_m =" in line)
    assert "math.log(sigma)" in param and "sigma**2" in param and "torch.log" not in param


def test_constant_and_param_scales_match_torch():
    dec = nn.Linear(2, 5)
    model = NORMAL(dec=dec)
    z = torch.randn(1000, 2, generator=_gen(8))
    m = torch.randn(1000, 5, generator=_gen(9)) * 3
    x = m + torch.randn(1000, 5, generator=_gen(10))
    got = model.log_prob("p(x|z)", x=x, z=z)
    assert_close_64(got, D.Normal(dec(z), 0.1).log_prob(x).sum(-1), atol=1e-9 * got.abs().max().item())
    for sigma in (0.3, 1e-3, 40.0):
        got = model.log_prob("q(x|m)", x=x, m=m, sigma=sigma)
        expected = D.Normal(m, sigma).log_prob(x).sum(-1)
        assert_close_64(got, expected, atol=1e-12 * expected.abs().max().item())


def test_constant_scale_samples_have_that_variance():
    torch.manual_seed(11)
    model = NORMAL(dec=nn.Linear(2, 5))
    z = torch.randn(1, 2).expand(40000, 2)
    x = model.sample("p(x|z)", z=z)["x"]
    assert x.shape == (40000, 5)
    assert_mean_and_variance(x, model.dec(z[:1])[0].detach(), torch.full((5,), 0.01))
    q = model.sample("q(x|m)", m=torch.zeros(40000, 5), sigma=2.0)["x"]
    assert_mean_and_variance(q, torch.zeros(5), torch.full((5,), 4.0))


# ---- Bernoulli's mean --------------------------------------------------------------------

def test_bernoulli_mean_moment_matches_torch():
    h = torch.randn(100, 3, generator=_gen(12)) * 30
    torch.testing.assert_close(moment("Bernoulli", X, {"logits": h}), D.Bernoulli(logits=h).mean)
    p = torch.rand(100, 3, generator=_gen(13))
    torch.testing.assert_close(moment("Bernoulli", X, {"probs": p}), p)
    # E[X log c] and E[(1 - X) log(1 + c)] need no moment: the derivation is linear through
    # xlogy and xlog1py (tests/symbolic/test_derive.py covers the probs-form KLs)
    extreme = moment("Bernoulli", X, {"logits": torch.tensor([800.0, -800.0])})
    torch.testing.assert_close(extreme, torch.tensor([1.0, 0.0]))
