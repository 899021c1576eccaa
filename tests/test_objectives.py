"""Objectives and loss terms: IWAE and Renyi bounds on a linear-Gaussian model with an exact
log-marginal, MMD against a direct numpy computation, detach/min/max/clamp in generated code,
and the runtime helpers (VIMCO leave-one-out, Renyi bound) against brute force."""
import math

import numpy as np
import pytest
import torch

import gmc
from gmc import runtime as rt
from gmc.compiler import driver

torch.set_num_threads(1)

# p(x) = N(0, 2) exactly (variance 2); q is deliberately off so the ELBO is loose.
LINEAR_GAUSSIAN = """
var x: real[1]
var z: real[1]
p(z) = Normal(0, 1)
p(x|z) = Normal(z, 1)
p(x,z) = p(x|z) p(z)
q(z|x) = Normal(loc=0.3 * x, scale=1.2)
loss elbo = mean(elbo(p(x,z), q(z|x)))
loss elbo_mc = mean(E_{q(z|x)}[log p(x,z) - log q(z|x)])
loss iw = mean(iwae(p(x,z), q(z|x), k=64))
loss r0 = mean(renyi(p(x,z), q(z|x), alpha=0, k=64))
loss r1 = mean(renyi(p(x,z), q(z|x), alpha=1, k=64))
loss r1_single = mean(renyi(p(x,z), q(z|x), alpha=1, k=1))
loss r_half = mean(renyi(p(x,z), q(z|x), alpha=0.5, k=64))
"""


@pytest.fixture(scope="module")
def linear_gaussian():
    return gmc.compile_source(LINEAR_GAUSSIAN, name="LinearGaussian")().double()


def _per_example(model, name, x, seed):
    torch.manual_seed(seed)
    with torch.no_grad():
        return model.loss(name, x=x).item()


def test_iwae_closes_most_of_the_gap_to_the_exact_log_marginal(linear_gaussian):
    x = torch.full((20000, 1), 1.5, dtype=torch.float64)
    exact = torch.distributions.Normal(0.0, math.sqrt(2.0)).log_prob(torch.tensor(1.5)).item()
    elbo = _per_example(linear_gaussian, "elbo", x, 0)
    iw = _per_example(linear_gaussian, "iw", x, 1)
    half = _per_example(linear_gaussian, "r_half", x, 2)
    assert elbo < half < iw < exact + 1e-3  # L_alpha decreases in alpha (Li & Turner 2016, Theorem 1)
    assert exact - iw < 0.2 * (exact - elbo)


def test_renyi_at_alpha_0_is_iwae_on_the_same_draws(linear_gaussian):
    x = torch.randn(50, 1, dtype=torch.float64)
    assert _per_example(linear_gaussian, "r0", x, 7) == pytest.approx(_per_example(linear_gaussian, "iw", x, 7),
                                                                      abs=1e-12)


def test_renyi_at_alpha_1_is_the_elbo(linear_gaussian):
    x = torch.randn(50, 1, dtype=torch.float64)
    # one particle, same draw: exactly the one-sample ELBO estimate
    assert _per_example(linear_gaussian, "r1_single", x, 8) == pytest.approx(
        _per_example(linear_gaussian, "elbo_mc", x, 8), abs=1e-12)
    # K particles: the ELBO averaged over them, so its mean is the ELBO (closed-form KL here)
    big = torch.full((4000, 1), 0.7, dtype=torch.float64)
    torch.manual_seed(9)
    with torch.no_grad():
        zs = linear_gaussian.sample("q(z|x)", x=big)["z"]
        log_w = linear_gaussian.log_prob("p(x,z)", x=big, z=zs) - linear_gaussian.log_prob("q(z|x)", z=zs, x=big)
    se = log_w.std().item() / math.sqrt(len(big) * 64)
    r1 = _per_example(linear_gaussian, "r1", big, 10)
    elbo = _per_example(linear_gaussian, "elbo", big, 11)
    assert abs(r1 - elbo) < 5 * math.hypot(se, log_w.std().item() / math.sqrt(len(big)))


def test_renyi_bound_helper_matches_brute_force():
    g = torch.Generator().manual_seed(0)
    log_w = torch.randn(5, 3, generator=g, dtype=torch.float64)
    for alpha in (0.0, 0.5, 2.0, -1.0):
        brute = torch.log((torch.exp(log_w) ** (1 - alpha)).mean(0)) / (1 - alpha)
        assert torch.allclose(rt.renyi_bound(log_w, alpha), brute)
    assert torch.allclose(rt.renyi_bound(log_w, 1.0), log_w.mean(0))
    assert torch.allclose(rt.renyi_bound(log_w, 1.0 - 1e-7), log_w.mean(0), atol=1e-5)


def test_leave_one_out_replaces_each_weight_by_the_geometric_mean_of_the_others():
    g = torch.Generator().manual_seed(1)
    log_w = torch.randn(4, 2, generator=g, dtype=torch.float64)
    loo = rt.leave_one_out(log_w, 0.0)
    for k in range(4):
        others = torch.cat([log_w[:k], log_w[k + 1:]])
        replaced = torch.cat([others, others.mean(0, keepdim=True)])
        assert torch.allclose(loo[k], torch.logsumexp(replaced, 0) - math.log(4))
    with pytest.raises(ValueError, match="at least 2"):
        rt.leave_one_out(log_w[:1])


def _numpy_mmd(a, b, kernel, c):
    def k(u, v):
        d = ((u[:, None, :] - v[None, :, :]) ** 2).sum(-1)
        return np.exp(-d / c) if kernel == "gaussian" else c / (c + d)
    n, m = len(a), len(b)
    kaa, kbb = k(a, a), k(b, b)
    return ((kaa.sum() - np.trace(kaa)) / (n * (n - 1)) + (kbb.sum() - np.trace(kbb)) / (m * (m - 1))
            - 2 * k(a, b).mean())


@pytest.mark.parametrize("kernel", ["gaussian", "imq"])
def test_mmd_helper_matches_numpy(kernel):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(7, 3)), rng.normal(1.0, 2.0, size=(5, 3))
    got = rt.mmd(torch.from_numpy(a), torch.from_numpy(b), kernel, 2.5).item()
    assert got == pytest.approx(_numpy_mmd(a, b, kernel, 2.5), rel=1e-12)


MMD_MODEL = """
var x: real[3]
var z: real[2]
net enc(x) -> (loc: real[2], scale: positive[2]) = MLP(8)
q(z|x) = Normal(enc(x).loc, enc(x).scale)
p(z) = Normal(0, 1)
loss = mmd(q(z|x), p(z))
loss imq = mean(0 * x) + mmd(q(z|x), p(z), kernel=imq, scale=3)
"""


def test_generated_mmd_compares_the_batch_posterior_samples_with_prior_samples():
    model = gmc.compile_source(MMD_MODEL, name="Info")().double()
    x = torch.randn(6, 3, dtype=torch.float64)
    for name, kernel, c in (("loss", "gaussian", 4.0), ("imq", "imq", 3.0)):
        torch.manual_seed(4)
        value = model.loss(name, x=x).item()
        torch.manual_seed(4)  # the generated code draws q's samples, then the prior's
        zq = model.sample("q(z|x)", x=x)["z"].detach().numpy()
        zp = model.sample("p(z)", n=6)["z"].numpy()
        assert value == pytest.approx(_numpy_mmd(zq, zp, kernel, c), rel=1e-10)


def test_mmd_is_a_batch_scalar_and_has_gradients():
    model = gmc.compile_source(MMD_MODEL, name="Info")()
    loss = model.loss("loss", x=torch.randn(16, 3))
    loss.backward()
    assert loss.shape == () and model.enc.out.weight.grad.abs().sum() > 0


ELEMENTWISE = """
param C = 0.5
var x: real[2]
weight w: real[2] = 1.0
p(x) = Normal(w, 1)
loss d = mean(detach(log p(x)) + log p(x))
loss lo = mean(min(log p(x), -2.0))
loss hi = mean(max(x @ w, log p(x)))
loss cl = mean(clamp(log p(x), -3, C)) + min(C, 0.25)
loss cap = mean(abs(-log p(x) - C))
"""


def test_detach_min_max_clamp_in_generated_code():
    text = driver.python_source(driver.compile_model(ELEMENTWISE))
    assert "log_p_x.detach() + log_p_x" in text
    assert "torch.clamp(log_p_x, max=-2)" in text
    assert "torch.maximum(x @ self.w, log_p_x)" in text
    assert "torch.clamp(log_p_x, -3, C)" in text and "min(C, 0.25)" in text
    model = gmc.compile_source(ELEMENTWISE, name="Elementwise")().double()
    x = torch.randn(5, 2, dtype=torch.float64)
    lp = torch.distributions.Normal(model.w, 1.0).log_prob(x).sum(-1)
    assert model.loss("lo", x=x).item() == pytest.approx(torch.clamp(lp, max=-2.0).mean().item())
    assert model.loss("hi", x=x).item() == pytest.approx(torch.maximum(x @ model.w, lp).mean().item())
    assert model.loss("cl", x=x, C=0.1).item() == pytest.approx(torch.clamp(lp, -3, 0.1).mean().item() + 0.1)
    assert model.loss("cap", x=x, C=2.0).item() == pytest.approx((-lp - 2.0).abs().mean().item())
    model.loss("d", x=x).backward()
    direct = torch.autograd.grad(lp.mean(), model.w)[0]
    assert torch.allclose(model.w.grad, direct)  # the detached copy adds value, not gradient
