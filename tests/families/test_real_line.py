"""Laplace, Logistic, StudentT and Uniform: generated log-densities, samplers and sample
gradients against torch.distributions and scipy.stats in float64 (tolerances in
family_tools: 1e-9 absolute for densities, 5 standard errors for sample moments)."""
import numpy as np
import pytest
import scipy.stats
import torch
import torch.distributions as D

import gmc
from family_tools import (EVENT, Spec, check_log_density, check_sample_gradcheck, check_sampling_moments,
                          uniform_in)


pytestmark = pytest.mark.usefixtures("float64")  # tests/conftest.py


def _location_scale(g, n):
    return {"loc": (torch.rand(n, EVENT, generator=g, dtype=torch.float64) - 0.5) * 20,
            "scale": uniform_in(g, n, 1e-2, 1e2, log=True)}


SPECS = {
    "Laplace": Spec(
        "Laplace", {"loc": "real", "scale": "positive"}, _location_scale,
        scipy=lambda p: scipy.stats.laplace(p["loc"], p["scale"]), torch=D.Laplace,
        extreme=[{"loc": 1e6, "scale": 1e-6}, {"loc": -1e3, "scale": 1e6}],
        moments={"loc": [-3.0, 0.0, 2.0, 50.0], "scale": [0.1, 1.0, 3.0, 20.0]}, explicit=("loc", "scale")),
    "Logistic": Spec(
        "Logistic", {"loc": "real", "scale": "positive"}, _location_scale,
        scipy=lambda p: scipy.stats.logistic(p["loc"], p["scale"]), torch=None,
        extreme=[{"loc": 1e6, "scale": 1e-6}, {"loc": -1e3, "scale": 1e6}, {"loc": 800.0, "scale": 1.0}],
        moments={"loc": [-3.0, 0.0, 2.0, 50.0], "scale": [0.1, 1.0, 3.0, 20.0]}, explicit=("loc", "scale")),
    "StudentT": Spec(
        "StudentT", {"df": "positive", "loc": "real", "scale": "positive"},
        lambda g, n: {"df": uniform_in(g, n, 0.1, 1e3, log=True), **_location_scale(g, n)},
        scipy=lambda p: scipy.stats.t(p["df"], p["loc"], p["scale"]), torch=D.StudentT,
        extreme=[{"df": 0.05, "loc": 1e3, "scale": 1e-3}, {"df": 1e4, "loc": -5.0, "scale": 1e3}],
        moments={"df": [5.0, 8.0, 30.0, 1e3], "loc": [-3.0, 0.0, 2.0, 50.0], "scale": [0.1, 1.0, 3.0, 20.0]},
        explicit=("loc", "scale")),
    "Uniform": Spec(
        "Uniform", {"low": "real", "high": "real"},
        lambda g, n: (lambda low: {"low": low, "high": low + uniform_in(g, n, 1e-3, 1e3, log=True)})(
            (torch.rand(n, EVENT, generator=g, dtype=torch.float64) - 0.5) * 20),
        scipy=lambda p: scipy.stats.uniform(p["low"], p["high"] - p["low"]), torch=D.Uniform,
        extreme=[{"low": 1e6, "high": 1e6 + 1e-3}, {"low": -1e8, "high": 1e8}],
        moments={"low": [-3.0, 0.0, 2.0, -50.0], "high": [-2.9, 1.0, 7.0, 50.0]}, explicit=("low", "high")),
}


@pytest.mark.parametrize("family", SPECS)
def test_log_density_matches_reference(family):
    check_log_density(SPECS[family])


def test_logistic_log_density_also_matches_scipy_far_in_the_tails():
    spec = SPECS["Logistic"]
    z = torch.tensor([[-800.0, -40.0, 40.0, 800.0]])
    params = {"loc": torch.full_like(z, 2.0), "scale": torch.full_like(z, 0.5)}
    y = params["loc"] + params["scale"] * z
    got = spec.model.log_prob(spec.factor, y=y, **params)
    expected = scipy.stats.logistic(2.0, 0.5).logpdf(y.numpy()).sum(-1)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-14, atol=1e-9)


@pytest.mark.parametrize("family", SPECS)
def test_sampling_moments(family):
    check_sampling_moments(SPECS[family])


@pytest.mark.parametrize("family", SPECS)
def test_sample_gradcheck(family):
    check_sample_gradcheck(SPECS[family])


@pytest.mark.parametrize("family, call, reference", [
    ("Laplace", "Laplace()", lambda: D.Laplace(0.0, 1.0)),
    ("Logistic", "Logistic()", None),
    ("StudentT", "StudentT(3.0)", lambda: D.StudentT(3.0, 0.0, 1.0)),
    ("Uniform", "Uniform()", lambda: D.Uniform(0.0, 1.0)),
    ("Uniform", "Uniform(high=4)", lambda: D.Uniform(0.0, 4.0)),
])
def test_standard_forms(family, call, reference):
    model = gmc.compile_source(f"var y: real[3]\np(y) = {call}\nloss = mean(log p(y))\n", name="Standard")()
    y = torch.rand(5, 3, dtype=torch.float64)
    got = model.log_prob("p(y)", y=y)
    if reference is None:
        expected = torch.from_numpy(scipy.stats.logistic.logpdf(y.numpy())).sum(-1)
    else:
        expected = reference().log_prob(y).sum(-1)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
    sample = model.sample("p(y)", n=7)["y"]
    assert sample.shape == (7, 3) and torch.isfinite(sample).all()


def test_uniform_with_weight_and_param_bounds_gives_one_value_per_example():
    """-log(high - low) does not depend on the value; it is still one log-density per
    example (broadcast to the value's shape before the event sum)."""
    model = gmc.compile_source("var r: real[3]\nweight lo: real[3] = -1.0\nweight hi: real[3] = 2.0\n"
                               "param a = -2.0\nparam b = 3.0\nd(r) = Uniform(lo, hi)\ne(r) = Uniform(a, b)\n"
                               "loss = mean(log d(r) + log e(r))\n", name="Bounds")()
    r = torch.rand(5, 3, dtype=torch.float64)
    torch.testing.assert_close(model.log_prob("d(r)", r=r), torch.full((5,), -3 * np.log(3.0)))
    torch.testing.assert_close(model.log_prob("e(r)", r=r), D.Uniform(-2.0, 3.0).log_prob(r).sum(-1))
    torch.testing.assert_close(model.log_prob("e(r)", r=r, b=5.0), torch.full((5,), -3 * np.log(7.0)))
    assert model.sample("d(r)", n=4)["r"].shape == (4, 3)
