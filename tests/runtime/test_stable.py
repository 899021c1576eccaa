"""runtime.stable.log_bernoulli (the fused Bernoulli log-mass) and the printer rule that emits it."""
from __future__ import annotations

import mpmath as mp
import pytest
import sympy as sp
import torch
from gmc.compiler.symbolic.functions import log1pexp, sigmoid
from gmc.compiler.symbolic.printer import to_torch
from gmc.runtime.stable import log_bernoulli

pytestmark = pytest.mark.usefixtures("float64")


def test_matches_torch_distributions_and_the_exact_formula():
    g = torch.Generator().manual_seed(0)
    logits = 30 * torch.randn(500, generator=g)
    x = torch.bernoulli(torch.full((500,), 0.5), generator=g)
    reference = torch.distributions.Bernoulli(logits=logits).log_prob(x)
    torch.testing.assert_close(log_bernoulli(x, logits), reference, rtol=1e-12, atol=1e-300)
    for xi, hi, got in zip(x.tolist()[:50], logits.tolist()[:50], log_bernoulli(x, logits).tolist()[:50]):
        exact = xi * mp.mpf(hi) - mp.log1p(mp.exp(mp.mpf(hi)))
        assert abs(got - float(exact)) <= 1e-12 * max(1.0, abs(float(exact)))


def test_broadcasts_particles_against_data_and_takes_integer_data():
    logits = torch.randn(4, 3, 5)  # [k, batch, X]
    x = torch.randint(0, 2, (3, 5))  # [batch, X], an integer tensor
    expected = x.double() * logits - torch.nn.functional.softplus(logits)
    torch.testing.assert_close(log_bernoulli(x, logits), expected, rtol=1e-12, atol=1e-12)


def test_gradients_for_logits_and_relaxed_values():
    logits = torch.randn(6, requires_grad=True)
    x = torch.rand(6, requires_grad=True)  # a relaxed (Concrete) sample has gradients too
    assert torch.autograd.gradcheck(log_bernoulli, (x, logits))


def test_printer_fuses_only_a_value_times_logits_minus_their_softplus():
    x, h, z = sp.symbols("x h z")
    # printed as minus the fused negative log-likelihood (no weight=-1 multiply: issue 19)
    assert to_torch(x * h - log1pexp(h)) == "-rt.bernoulli_nll(x, h)"
    assert to_torch(2 * x * h - 2 * log1pexp(h) + z) == "z - 2*rt.bernoulli_nll(x, h)"
    # a Bernoulli KL's sigmoid(h) h is not a value: left as written
    assert "bernoulli" not in to_torch(sigmoid(h) * h - log1pexp(h))
    # coefficients that do not cancel: left as written
    assert "bernoulli" not in to_torch(x * h - 2 * log1pexp(h))
