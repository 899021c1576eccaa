"""Generated densities, divergences, samplers and losses against independent references.

References: torch.distributions and scipy.stats in float64. Monte-Carlo checks use a
tolerance of 5 standard errors (a false failure about once in 1.7 million runs), and fixed
seeds so a run is reproducible.
"""
import math

import numpy as np
import pytest
import scipy.stats
import torch
import torch.distributions as D

import gmc



pytestmark = pytest.mark.usefixtures("float64")  # tests/conftest.py

NORMALS = gmc.compile_source("""
var z: real[3]
var m: real[3]
var s: positive[3]
var m2: real[3]
var s2: positive[3]
q(z|m,s) = Normal(m, s)
p(z|m2,s2) = Normal(loc=m2, scale=s2)
loss kl = sum(KL[q(z|m,s) || p(z|m2,s2)])
loss kl_mc = sum(E_{q(z|m,s)}[log q(z|m,s) - log p(z|m2,s2)])
loss h = sum(H[q(z|m,s)])
""", name="Normals")

BERNOULLIS = gmc.compile_source("""
var x: binary[4]
var h: real[4]
var r: unit[4]
p(x|h) = Bernoulli(logits=h)
q(x|r) = Bernoulli(probs=r)
loss kl = sum(KL[p(x|h) || q(x|r)])
loss h_logits = sum(H[p(x|h)])
loss h_probs = sum(H[q(x|r)])
""", name="Bernoullis")


def _normal_params(n, seed):
    g = torch.Generator().manual_seed(seed)
    m = torch.randn(n, 3, generator=g) * 3
    s = torch.rand(n, 3, generator=g) * 2 + 0.05
    return m, s


def test_normal_log_density_matches_torch_and_scipy():
    m, s = _normal_params(2000, 0)
    z = m + s * torch.randn(2000, 3) * 2
    got = NORMALS().log_prob("q(z|m,s)", z=z, m=m, s=s)
    assert got.dtype == torch.float64 and got.shape == (2000,)
    torch.testing.assert_close(got, D.Normal(m, s).log_prob(z).sum(-1), rtol=0, atol=1e-9)
    expected = scipy.stats.norm(m.numpy(), s.numpy()).logpdf(z.numpy()).sum(-1)
    np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-9)


def test_normal_kl_and_entropy_match_torch():
    model = NORMALS()
    for seed in range(5):
        m, s = _normal_params(400, seed)
        m2, s2 = _normal_params(400, seed + 100)
        kl = model.loss("kl", m=m, s=s, m2=m2, s2=s2)
        expected = D.kl_divergence(D.Normal(m, s), D.Normal(m2, s2)).sum()
        torch.testing.assert_close(kl, expected, rtol=1e-12, atol=1e-10)
        torch.testing.assert_close(model.loss("h", m=m, s=s), D.Normal(m, s).entropy().sum(), rtol=1e-12, atol=1e-10)


def test_normal_kl_per_example_matches_torch():
    model = NORMALS()
    m, s = _normal_params(50, 7)
    m2, s2 = _normal_params(50, 8)
    for i in range(50):
        got = model.loss("kl", m=m[i:i + 1], s=s[i:i + 1], m2=m2[i:i + 1], s2=s2[i:i + 1])
        expected = D.kl_divergence(D.Normal(m[i], s[i]), D.Normal(m2[i], s2[i])).sum()
        assert abs(got.item() - expected.item()) <= 1e-10


def test_monte_carlo_kl_agrees_with_closed_form():
    torch.manual_seed(1)
    model = NORMALS()
    m, s = _normal_params(1, 3)
    m2, s2 = _normal_params(1, 4)
    m, s, m2, s2 = (t.expand(20000, 3) for t in (m, s, m2, s2))
    closed = model.loss("kl", m=m[:1], s=s[:1], m2=m2[:1], s2=s2[:1]).item()
    zs = model.sample("q(z|m,s)", m=m, s=s)["z"]
    estimates = model.log_prob("q(z|m,s)", z=zs, m=m, s=s) - model.log_prob("p(z|m2,s2)", z=zs, m2=m2, s2=s2)
    se = estimates.std().item() / math.sqrt(len(estimates))
    assert abs(estimates.mean().item() - closed) < 5 * se
    # the loss itself: a sum of one-sample estimates over the batch
    total = model.loss("kl_mc", m=m, s=s, m2=m2, s2=s2).item() / len(m)
    assert abs(total - closed) < 5 * se


@pytest.mark.parametrize("logit_scale", [1.0, 30.0, 800.0])
def test_bernoulli_logits_log_density_matches_torch(logit_scale):
    g = torch.Generator().manual_seed(2)
    h = torch.randn(3000, 4, generator=g) * logit_scale
    x = torch.bernoulli(torch.full((3000, 4), 0.5), generator=g)
    got = BERNOULLIS().log_prob("p(x|h)", x=x, h=h)
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got, D.Bernoulli(logits=h).log_prob(x).sum(-1), rtol=1e-12, atol=1e-9)


def test_bernoulli_probs_log_density_matches_scipy():
    g = torch.Generator().manual_seed(3)
    r = torch.rand(2000, 4, generator=g).clamp(1e-12, 1 - 1e-12)
    x = torch.bernoulli(torch.full((2000, 4), 0.5), generator=g)
    got = BERNOULLIS().log_prob("q(x|r)", x=x, r=r)
    expected = scipy.stats.bernoulli(r.numpy()).logpmf(x.numpy()).sum(-1)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12, atol=1e-9)


def test_bernoulli_kl_and_entropies_match_torch():
    g = torch.Generator().manual_seed(4)
    h = torch.randn(500, 4, generator=g) * 4
    r = torch.rand(500, 4, generator=g) * 0.98 + 0.01
    model = BERNOULLIS()
    torch.testing.assert_close(model.loss("kl", h=h, r=r),
                               D.kl_divergence(D.Bernoulli(logits=h), D.Bernoulli(probs=r)).sum(), rtol=1e-10, atol=1e-9)
    torch.testing.assert_close(model.loss("h_logits", h=h), D.Bernoulli(logits=h).entropy().sum(), rtol=1e-10, atol=1e-9)
    torch.testing.assert_close(model.loss("h_probs", r=r), D.Bernoulli(probs=r).entropy().sum(), rtol=1e-10, atol=1e-9)


def test_normal_sampling_moments():
    torch.manual_seed(5)
    n = 40000
    m = torch.tensor([[-2.0, 0.0, 5.0]]).expand(n, 3)
    s = torch.tensor([[0.5, 1.0, 3.0]]).expand(n, 3)
    z = NORMALS().sample("q(z|m,s)", m=m, s=s)["z"]
    assert z.shape == (n, 3)
    se_mean = s[0] / math.sqrt(n)
    assert ((z.mean(0) - m[0]).abs() < 5 * se_mean).all()
    se_var = s[0] ** 2 * math.sqrt(2 / (n - 1))
    assert ((z.var(0) - s[0] ** 2).abs() < 5 * se_var).all()


def test_bernoulli_sampling_moments():
    torch.manual_seed(6)
    n = 40000
    h = torch.tensor([[-2.0, 0.0, 1.0, 3.0]]).expand(n, 4)
    x = BERNOULLIS().sample("p(x|h)", h=h)["x"]
    p = torch.sigmoid(h[0])
    se = torch.sqrt(p * (1 - p) / n)
    assert set(x.unique().tolist()) <= {0.0, 1.0}
    assert ((x.mean(0) - p).abs() < 5 * se).all()


def test_reparameterized_gradients_pass_gradcheck():
    model = NORMALS()
    z = torch.randn(4, 3)
    m = torch.randn(4, 3, requires_grad=True)
    s = (torch.rand(4, 3) + 0.5).requires_grad_()
    s2 = torch.rand(4, 3) + 0.5
    assert torch.autograd.gradcheck(lambda m, s: model.log_prob("q(z|m,s)", z=z, m=m, s=s), (m, s))
    assert torch.autograd.gradcheck(lambda m, s: model.loss("kl", m=m, s=s, m2=z, s2=s2), (m, s))

    def sampled(m, s):
        torch.manual_seed(0)
        return model.sample("q(z|m,s)", m=m, s=s)["z"]
    assert torch.autograd.gradcheck(sampled, (m, s))


POINT_MASSES = gmc.compile_source("""
var z: real
var v: real[2]
var a: real[2]
var b: real[2]
q(z) = Normal(0, 1)
p(z) = Deterministic(0)
d(z) = Deterministic(0)
e(z) = Deterministic(1)
u(v|a) = Deterministic(a)
w(v|b) = Deterministic(b)
loss density_point = mean(KL[q(z) || p(z)])
loss point_density = mean(KL[p(z) || q(z)])
loss same_points = mean(KL[p(z) || d(z)])
loss other_points = mean(KL[p(z) || e(z)])
loss tensor_points = sum(KL[u(v|a) || w(v|b)])
""", name="PointMasses")


def test_point_mass_divergences_follow_the_definition():
    """KL between a point mass and a density is +inf both ways (they are mutually singular;
    it was -H[Normal] = -1.4189 and -log N(0; 0, 1) = 0.9189); between point masses 0 at equal
    values, else +inf, decided per element for tensors."""
    m = POINT_MASSES()
    assert m.loss("density_point", n=3).item() == math.inf
    assert m.loss("point_density", n=3).item() == math.inf
    assert m.loss("same_points", n=3).item() == 0.0
    assert m.loss("other_points", n=3).item() == math.inf
    a = torch.tensor([[1.0, 2.0], [3.0, -0.0]])
    per_row = [m.loss("tensor_points", a=a[i:i + 1], b=b[i:i + 1]).item()
               for b in (torch.tensor([[1.0, 2.0], [3.0, 0.0]]), torch.tensor([[1.0, 2.5], [3.0, 1e-300]]))
               for i in range(2)]
    assert per_row == [0.0, 0.0, math.inf, math.inf]
