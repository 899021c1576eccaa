"""Beta and Kumaraswamy: generated log-densities, samplers and sample gradients against
torch.distributions, scipy.stats and (Kumaraswamy, which scipy lacks) a 50-digit mpmath
evaluation of its density, in float64."""
import mpmath
import numpy as np
import pytest
import scipy.special
import scipy.stats
import torch
import torch.distributions as D

import gmc
from gmc import runtime as rt
from gmc.compiler import driver
from family_tools import EVENT, Spec, check_log_density, check_sample_gradcheck, check_sampling_moments, uniform_in


pytestmark = pytest.mark.usefixtures("float64")  # tests/conftest.py


class _Kumaraswamy:
    """Kumaraswamy(a, b) for the shared checks: inverse-CDF draws, CDF, mean and variance
    from E[X^k] = b B(1 + k/a, b) (Jones 2009)."""

    def __init__(self, a, b):
        self.a, self.b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)

    def rvs(self, random_state):
        u = random_state.uniform(size=np.broadcast(self.a, self.b).shape)
        return (-np.expm1(np.log1p(-u) / self.b)) ** (1 / self.a)

    def cdf(self, x):
        return -np.expm1(self.b * np.log1p(-x ** self.a))

    def raw(self, k):
        return self.b * scipy.special.beta(1 + k / self.a, self.b)

    def mean(self):
        return self.raw(1)

    def var(self):
        return self.raw(2) - self.raw(1) ** 2


def _kumaraswamy_log_density(params, y):
    """log(a b x^(a-1) (1 - x^a)^(b-1)) element-wise, in 50-digit arithmetic."""
    a, b = params["concentration1"].numpy(), params["concentration0"].numpy()
    out = np.empty(y.shape)
    with mpmath.workdps(50):
        for i in np.ndindex(y.shape):
            x, ai, bi = mpmath.mpf(float(y[i])), mpmath.mpf(float(a[i])), mpmath.mpf(float(b[i]))
            out[i] = float(mpmath.log(ai * bi) + (ai - 1) * mpmath.log(x) + (bi - 1) * mpmath.log(1 - x ** ai))
    return torch.from_numpy(out)


def _concentrations(g, n):
    return {"concentration1": uniform_in(g, n, 1e-2, 1e2, log=True),
            "concentration0": uniform_in(g, n, 1e-2, 1e2, log=True)}


SPECS = {
    "Beta": Spec(
        "Beta", {"concentration1": "positive", "concentration0": "positive"}, _concentrations,
        scipy=lambda p: scipy.stats.beta(p["concentration1"], p["concentration0"]), torch=D.Beta,
        extreme=[{"concentration1": 1e-3, "concentration0": 1e3}, {"concentration1": 1e4, "concentration0": 0.5}],
        moments={"concentration1": [0.1, 1.0, 2.0, 300.0], "concentration0": [0.3, 1.0, 5.0, 100.0]}),
    "Kumaraswamy": Spec(
        "Kumaraswamy", {"concentration1": "positive", "concentration0": "positive"},
        lambda g, n: {k: v.clamp(0.05, 50) for k, v in _concentrations(g, n).items()},
        scipy=lambda p: _Kumaraswamy(p["concentration1"], p["concentration0"]), torch=D.Kumaraswamy,
        extreme=[{"concentration1": 0.05, "concentration0": 200.0}, {"concentration1": 100.0, "concentration0": 0.05}],
        moments={"concentration1": [0.3, 1.0, 2.0, 30.0], "concentration0": [0.5, 1.0, 5.0, 80.0]},
        log_density=_kumaraswamy_log_density, explicit=("concentration1", "concentration0")),
}


@pytest.mark.parametrize("family", SPECS)
def test_log_density_matches_reference(family):
    check_log_density(SPECS[family], n=100)


@pytest.mark.parametrize("family", SPECS)
def test_log_density_near_the_edges(family):
    """Values 1e-12 and 1 - 1e-12 from the edges, where log(1 - x) and log(1 - x^a) lose
    digits unless computed as log1p(-x) and log1mexp(a log x)."""
    spec = SPECS[family]
    y = torch.tensor([[1e-12, 1e-6, 1 - 1e-6, 1 - 1e-12]] * 3)
    params = {"concentration1": torch.tensor([[0.5], [2.0], [7.0]]).expand(3, EVENT),
              "concentration0": torch.tensor([[3.0], [0.2], [9.0]]).expand(3, EVENT)}
    got = spec.model.log_prob(spec.factor, y=y, **params)
    reference = _kumaraswamy_log_density(params, y) if family == "Kumaraswamy" else \
        torch.from_numpy(scipy.stats.beta(params["concentration1"].numpy(), params["concentration0"].numpy())
                         .logpdf(y.numpy()))
    torch.testing.assert_close(got, reference.sum(-1), rtol=1e-12, atol=1e-9)


def test_kumaraswamy_matches_torch_loosely():
    """torch's Kumaraswamy is a transformed distribution: accurate to about 1e-6 for
    moderate parameters, -inf where x^a underflows in its transform (a = 50, x = 0.2)."""
    spec = SPECS["Kumaraswamy"]
    g = torch.Generator().manual_seed(4)
    params = {k: uniform_in(g, 100, 0.2, 5.0, log=True) for k in spec.params}
    y = torch.rand(100, EVENT, generator=g) * 0.98 + 0.01
    expected = D.Kumaraswamy(params["concentration1"], params["concentration0"]).log_prob(y).sum(-1)
    torch.testing.assert_close(spec.model.log_prob(spec.factor, y=y, **params), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("family", SPECS)
def test_sampling_moments(family):
    check_sampling_moments(SPECS[family])


def test_kumaraswamy_sample_gradcheck():
    check_sample_gradcheck(SPECS["Kumaraswamy"])


def test_beta_sample_gradient_is_the_implicit_reparameterization():
    """dx/da = -(dF/da)/p(x) and dx/db = -(dF/db)/p(x) at each drawn x (Figurnov et al.
    2018), with F = scipy's regularized incomplete beta differentiated by central
    differences; torch's Dirichlet gradient is accurate to about 1e-4 relative."""
    spec = SPECS["Beta"]
    torch.manual_seed(5)
    a = torch.tensor([[0.3, 1.0, 4.0, 60.0]]).expand(50, EVENT).clone().requires_grad_()
    b = torch.tensor([[2.0, 0.5, 4.0, 30.0]]).expand(50, EVENT).clone().requires_grad_()
    y = spec.model.sample(spec.factor, concentration1=a, concentration0=b)["y"]
    grad_a, grad_b = torch.autograd.grad(y.sum(), (a, b))
    an, bn, x = a.detach().numpy(), b.detach().numpy(), y.detach().numpy()
    density = scipy.stats.beta.pdf(x, an, bn)
    for grad, da, db in ((grad_a, 1e-6 * an, 0), (grad_b, 0, 1e-6 * bn)):
        h = da + db
        dF = (scipy.special.betainc(an + da, bn + db, x) - scipy.special.betainc(an - da, bn - db, x)) / (2 * h)
        np.testing.assert_allclose(grad.numpy(), -dF / density, rtol=1e-3, atol=1e-9)


def test_kumaraswamy_with_constant_concentration_stays_accurate_near_one():
    """With a number for a, sympy would fold log(-expm1(a log x)) into log(1 - x**a);
    log1mexp keeps the form, so x = 1 - 1e-12 is still exact."""
    text = "var u: unit[4]\nvar b: positive[4]\np(u|b) = Kumaraswamy(0.5, b)\nloss = mean(log p(u|b))\n"
    model = gmc.compile_source(text, name="Kuma")()
    u = torch.tensor([[1e-12, 0.3, 1 - 1e-6, 1 - 1e-12]])
    b = torch.full((1, EVENT), 3.0)
    expected = _kumaraswamy_log_density({"concentration1": torch.full((1, EVENT), 0.5), "concentration0": b}, u)
    torch.testing.assert_close(model.log_prob("p(u|b)", u=u, b=b), expected.sum(-1), rtol=1e-13, atol=1e-12)
    assert "rt.log1mexp(0.5*torch.log(u))" in driver.python_source(driver.compile_model(text, name="Kuma"))


def test_log1mexp_matches_mpmath():
    h = -torch.logspace(-20, 2.8, 200, dtype=torch.float64)
    got = rt.log1mexp(h)
    with mpmath.workdps(320):  # 1 - exp(-630) needs 274 digits before the log sees anything
        expected = torch.tensor([float(mpmath.log(1 - mpmath.exp(mpmath.mpf(float(v))))) for v in h])
    torch.testing.assert_close(got, expected, rtol=1e-14, atol=0)
