"""Exponential, Gamma, LogNormal and Weibull: generated log-densities, samplers and
sample gradients against torch.distributions and scipy.stats in float64 (tolerances in
family_tools: 1e-9 absolute for densities, 5 standard errors for sample moments)."""

import numpy as np
import pytest
import scipy.special
import scipy.stats
import torch
import torch.distributions as D

import gmc
from family_tools import (EVENT, Spec, check_log_density, check_sample_gradcheck, check_sampling_moments,
                          uniform_in)


pytestmark = pytest.mark.usefixtures("float64")  # tests/conftest.py


def _positive(g, n):
    return uniform_in(g, n, 1e-2, 1e2, log=True)


SPECS = {
    "Exponential": Spec(
        "Exponential", {"rate": "positive"}, lambda g, n: {"rate": _positive(g, n)},
        scipy=lambda p: scipy.stats.expon(scale=1 / p["rate"]), torch=D.Exponential,
        extreme=[{"rate": 1e-8}, {"rate": 1e8}],
        moments={"rate": [0.01, 0.5, 1.0, 30.0]}, explicit=("rate",)),
    "Gamma": Spec(
        "Gamma", {"concentration": "positive", "rate": "positive"},
        lambda g, n: {"concentration": uniform_in(g, n, 1e-2, 1e3, log=True), "rate": _positive(g, n)},
        scipy=lambda p: scipy.stats.gamma(p["concentration"], scale=1 / p["rate"]), torch=D.Gamma,
        extreme=[{"concentration": 1e-3, "rate": 1e3}, {"concentration": 1e4, "rate": 1e-3}],
        moments={"concentration": [0.05, 0.7, 3.0, 200.0], "rate": [1.0, 0.1, 2.0, 50.0]}, explicit=("rate",)),
    "LogNormal": Spec(
        "LogNormal", {"loc": "real", "scale": "positive"},
        lambda g, n: {"loc": (torch.rand(n, EVENT, generator=g, dtype=torch.float64) - 0.5) * 10,
                      "scale": uniform_in(g, n, 1e-2, 3.0, log=True)},
        scipy=lambda p: scipy.stats.lognorm(p["scale"], scale=np.exp(p["loc"])), torch=D.LogNormal,
        extreme=[{"loc": 300.0, "scale": 1e-6}, {"loc": -300.0, "scale": 10.0}],
        moments={"loc": [-3.0, 0.0, 1.0, 5.0], "scale": [0.05, 0.3, 0.5, 0.8]}, explicit=("loc", "scale")),
    "Weibull": Spec(
        "Weibull", {"scale": "positive", "concentration": "positive"},
        lambda g, n: {"scale": _positive(g, n), "concentration": uniform_in(g, n, 0.2, 50.0, log=True)},
        scipy=lambda p: scipy.stats.weibull_min(p["concentration"], scale=p["scale"]), torch=D.Weibull,
        extreme=[{"scale": 1e-6, "concentration": 200.0}, {"scale": 1e6, "concentration": 0.1}],
        moments={"scale": [0.01, 1.0, 3.0, 100.0], "concentration": [0.7, 1.0, 2.5, 40.0]},
        explicit=("scale", "concentration")),
}


@pytest.mark.parametrize("family", SPECS)
def test_log_density_matches_reference(family):
    check_log_density(SPECS[family])


@pytest.mark.parametrize("family", SPECS)
def test_log_density_matches_scipy(family):
    """A second, independent reference (torch's Weibull is itself a transformed distribution)."""
    spec = SPECS[family]
    g = torch.Generator().manual_seed(10)
    params = spec.draw(g, 200)
    ref = spec.scipy({k: v.numpy() for k, v in params.items()})
    y = torch.from_numpy(ref.rvs(random_state=np.random.default_rng(10))).clamp(min=1e-300)
    got = spec.model.log_prob(spec.factor, y=y, **params)
    np.testing.assert_allclose(got.numpy(), ref.logpdf(y.numpy()).sum(-1), rtol=1e-11, atol=1e-8)


@pytest.mark.parametrize("family", SPECS)
def test_sampling_moments(family):
    check_sampling_moments(SPECS[family])


@pytest.mark.parametrize("family", SPECS)
def test_sample_gradcheck(family):
    check_sample_gradcheck(SPECS[family])


def test_gamma_sample_gradient_is_the_implicit_reparameterization():
    """dx/d concentration = -(dF/d concentration) / p(x) at each drawn x (Figurnov et al.
    2018), with F the gamma CDF differentiated by central differences in scipy. torch
    computes it with approximations accurate to about 2e-4 relative, hence rtol 1e-3."""
    spec = SPECS["Gamma"]
    torch.manual_seed(3)
    alpha = torch.tensor([[0.3, 1.0, 4.0, 60.0]], dtype=torch.float64).expand(50, EVENT).clone().requires_grad_()
    rate = torch.full((50, EVENT), 2.0, dtype=torch.float64)
    y = spec.model.sample(spec.factor, concentration=alpha, rate=rate)["y"]
    (grad,) = torch.autograd.grad(y.sum(), alpha)
    a, x = alpha.detach().numpy(), (y * rate).detach().numpy()  # standard gamma draws
    h = 1e-6 * a
    dF = (scipy.special.gammainc(a + h, x) - scipy.special.gammainc(a - h, x)) / (2 * h)
    expected = -dF / scipy.stats.gamma.pdf(x, a) / rate.numpy()
    np.testing.assert_allclose(grad.numpy(), expected, rtol=1e-3, atol=1e-10)


@pytest.mark.parametrize("call, reference", [
    ("Exponential()", lambda: D.Exponential(1.0)),
    ("Gamma(2.5)", lambda: D.Gamma(2.5, 1.0)),
    ("LogNormal()", lambda: D.LogNormal(0.0, 1.0)),
    ("Weibull(concentration=1.5)", lambda: D.Weibull(1.0, 1.5)),
])
def test_standard_forms(call, reference):
    model = gmc.compile_source(f"var y: positive[3]\np(y) = {call}\nloss = mean(log p(y))\n", name="Standard")()
    y = torch.rand(5, 3, dtype=torch.float64) * 3 + 0.01
    torch.testing.assert_close(model.log_prob("p(y)", y=y), reference().log_prob(y).sum(-1), rtol=1e-12, atol=1e-12)
    sample = model.sample("p(y)", n=7)["y"]
    assert sample.shape == (7, 3) and (sample > 0).all()
