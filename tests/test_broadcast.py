"""A per-example parameter of lower event rank than its variable (a scalar latent as the loc of a
vector) broadcasts over the event axes, never against the batch axis.

Reference: s ~ N(0, 1), x | s ~ N(s 1, I) in R^3, so x ~ N(0, I + 1 1^T) (torch's
MultivariateNormal in float64)."""
from __future__ import annotations

import math

import torch
from torch.distributions import MultivariateNormal, Normal

import gmc

SOURCE = """\
model Broadcast
var s: real
var x: real[3]
p(s) = Normal(0, 1)
p(x|s) = Normal(s, 1)
p(x,s) = p(x|s) p(s)
q(s) = Normal(0, 1)
loss nll = -mean(log p(x,s))
loss iw = -mean(iwae(p(x,s), q(s), k=4000))
"""


def _model():
    torch.manual_seed(0)
    return gmc.compile_source(SOURCE, filename="broadcast.gm")().double()


def test_log_density_of_a_vector_given_a_scalar_matches_torch():
    m = _model()
    s = torch.randn(5, dtype=torch.float64)
    x = torch.randn(5, 3, dtype=torch.float64)
    expected = Normal(s[:, None], 1.0).log_prob(x).sum(-1)
    assert torch.allclose(m.log_prob("p(x|s)", x=x, s=s), expected, rtol=1e-12, atol=0)


def test_ancestral_samples_have_the_joint_covariance():
    m = _model()
    draws = m.sample("p(x,s)", n=40000)
    assert draws["x"].shape == (40000, 3) and draws["s"].shape == (40000,)
    joint = torch.cat([draws["x"], draws["s"][:, None]], dim=1)
    covariance = torch.cov(joint.T)
    expected = torch.ones(4, 4, dtype=torch.float64) + torch.diag(torch.tensor([1.0, 1.0, 1.0, 0.0]))
    # entries of a sample covariance of 40,000 draws have standard errors below 0.015 here
    assert torch.allclose(covariance, expected.double(), atol=0.08)


def test_iwae_with_particles_approaches_the_exact_marginal():
    m = _model()
    x = torch.randn(64, 3, dtype=torch.float64) * math.sqrt(2.0)
    exact = -MultivariateNormal(torch.zeros(3, dtype=torch.float64),
                                torch.eye(3, dtype=torch.float64) + 1.0).log_prob(x).mean()
    with torch.no_grad():
        bound = m.loss("iw", x=x)
    # the k=4000 bound with the prior as proposal sits above -log p(x) by a small, positive gap
    assert float(bound) >= float(exact) - 0.01
    assert float(bound) - float(exact) < 0.05


MIXED = """\
model Mixed
var s: real
var x: real[3]
weight w: real[3] = Normal(1, 0.5)
weight b: real[3] = 0.0
p(s) = Normal(0, 1)
p(x|s) = Normal(s * w + b, exp(s))
p(x,s) = p(x|s) p(s)
loss = -mean(log p(x,s))
"""


def test_a_per_example_scalar_inside_an_expression_broadcasts_over_the_event():
    """s [batch] times a weight [3]: each example's s scales the whole vector."""
    torch.manual_seed(0)
    m = gmc.compile_source(MIXED, filename="mixed.gm")().double()
    s = torch.randn(3, dtype=torch.float64)  # batch of 3 = event size: a misalignment would not raise
    x = torch.randn(3, 3, dtype=torch.float64)
    with torch.no_grad():
        expected = Normal(s[:, None] * m.w + m.b, torch.exp(s)[:, None]).log_prob(x).sum(-1)
        assert torch.allclose(m.log_prob("p(x|s)", x=x, s=s), expected, rtol=1e-12, atol=0)
        draws = m.sample("p(x,s)", n=5)
    assert draws["x"].shape == (5, 3)
