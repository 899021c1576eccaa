"""A built-in MLP's ``unit`` (``simplex``) output given as ``probs`` is computed through its
pre-activation as logits, so log-densities stay finite where sigmoid(h) rounds to 1.

References: torch.distributions.Bernoulli / OneHotCategorical with ``logits`` in float64."""
from __future__ import annotations

import torch
from torch import nn
from torch.distributions import Bernoulli, OneHotCategorical

import gmc

SOURCE = """\
model ProbsNets
var x: binary[6]
var y: categorical[3]
var z: real[2]
net dec(z) -> unit[6] = MLP(8)
net cls(z) -> simplex[3] = MLP(8)
p(x|z) = Bernoulli(probs=dec(z))
p(y|z) = Categorical(probs=cls(z))
p(z) = Normal(0, 1)
p(x,y,z) = p(x|z) p(y|z) p(z)
loss = -mean(log p(x,y,z))
"""


def _model(**nets):
    torch.manual_seed(0)
    return gmc.compile_source(SOURCE, filename="probs_nets.gm")(**nets).double()


def _data(n=16):
    g = torch.Generator().manual_seed(1)
    x = torch.bernoulli(torch.full((n, 6), 0.5, dtype=torch.float64), generator=g)
    y = torch.nn.functional.one_hot(torch.randint(0, 3, (n,), generator=g), 3).double()
    z = torch.randn(n, 2, dtype=torch.float64, generator=g)
    return x, y, z


def test_generated_code_asks_the_mlp_for_logits():
    from gmc.compiler import driver

    code = driver.python_source(driver.compile_model(SOURCE, "probs_nets.gm"))
    assert "self.dec.pre_activation(z)" in code and "self.cls.pre_activation(z)" in code
    assert "self.dec(z)" not in code and "self.cls(z)" not in code


def test_log_densities_match_torch_with_logits_even_where_sigmoid_saturates():
    m = _model()
    with torch.no_grad():  # push the last layers far into saturation: |h| around 60
        m.dec.out.bias.fill_(60.0)
        m.cls.out.bias.copy_(torch.tensor([60.0, -60.0, 0.0]))
    x, y, z = _data()
    h_dec, h_cls = m.dec.pre_activation(z), m.cls.pre_activation(z)
    assert torch.equal(torch.sigmoid(h_dec), m.dec(z))  # what probs=dec(z) means
    expected_x = Bernoulli(logits=h_dec).log_prob(x).sum(-1)
    expected_y = OneHotCategorical(logits=h_cls).log_prob(y)
    got_x, got_y = m.log_prob("p(x|z)", x=x, z=z), m.log_prob("p(y|z)", y=y, z=z)
    assert torch.isfinite(got_x).all() and torch.isfinite(got_y).all()
    assert torch.allclose(got_x, expected_x, rtol=1e-12, atol=1e-12)
    assert torch.allclose(got_y, expected_y, rtol=1e-12, atol=1e-12)
    # the probabilities themselves have rounded to 1: log(1 - probs) would be -inf
    assert torch.isinf(torch.log1p(-m.dec(z))).all()


class _ProbsModule(nn.Module):
    """A user module replacing a built-in MLP: returns probabilities, as the net declares."""

    def __init__(self, out, simplex):
        super().__init__()
        self.linear, self.simplex = nn.Linear(2, out).double(), simplex

    def forward(self, z):
        h = self.linear(z)
        return torch.softmax(h, -1) if self.simplex else torch.sigmoid(h)


def test_a_user_module_replacing_the_mlp_still_gives_correct_densities():
    torch.manual_seed(3)
    dec, cls = _ProbsModule(6, False), _ProbsModule(3, True)
    m = _model(dec=dec, cls=cls)
    x, y, z = _data()
    expected = (Bernoulli(probs=dec(z)).log_prob(x).sum(-1) + OneHotCategorical(probs=cls(z)).log_prob(y))
    got = m.log_prob("p(x|z)", x=x, z=z) + m.log_prob("p(y|z)", y=y, z=z)
    assert torch.allclose(got, expected, rtol=1e-10, atol=1e-12)
