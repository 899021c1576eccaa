"""Generated flow code in float64: element-wise flows against torch.distributions'
TransformedDistribution (an independent implementation), the one-pass log-density of a draw
against the log-density of the same values through the inverse, and located run-time errors."""
from __future__ import annotations

import pytest
import torch
import torch.distributions as td
from torch.distributions import transforms as T

import gmc
from gmc.runtime.errors import DataError

TOL = 1e-9

SOURCE = """
var x: binary[5]
var z: real[4]
var s: positive[3]
var u: unit[3]
net enc(x) -> (loc: real[4], scale: positive[4]) = MLP(8)
q(z|x) = Flow(Normal(loc=enc(x).loc, scale=enc(x).scale), Coupling(hidden=8), Reverse, MAF(hidden=8), Affine, Tanh)
r(z|x) = Flow(Normal(loc=enc(x).loc, scale=enc(x).scale), Planar, IAF(hidden=8))
p(s) = Flow(Normal(0.5, 2), Affine, Softplus)
p(u) = Flow(Normal(0, 1), Tanh, Atanh, Sigmoid)
loss draw = sum(E_{q(z|x)}[log q(z|x)])
loss rdraw = sum(E_{r(z|x)}[log r(z|x)])
loss ent = sum(H[q(z|x)])
"""


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = gmc.compile_source(SOURCE, name="Flows")().double()
    with torch.no_grad():  # conditioners start at the identity; make every layer do something
        for p in m.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return m


def test_elementwise_flows_match_torch_distributions(model):
    s = torch.rand(7, 3, dtype=torch.float64) * 4 + 0.01
    affine = model.flow_p_s[0]
    reference = td.TransformedDistribution(td.Normal(torch.full((3,), 0.5, dtype=torch.float64), 2.0),
                                           [T.AffineTransform(affine.loc, affine.log_scale.exp()), T.SoftplusTransform()])
    expected = reference.log_prob(s).sum(-1)
    torch.testing.assert_close(model.log_prob("p(s)", s=s), expected, rtol=0, atol=TOL)

    u = torch.rand(7, 3, dtype=torch.float64) * 0.98 + 0.01
    reference = td.TransformedDistribution(td.Normal(torch.zeros(3, dtype=torch.float64), 1.0),
                                           [T.TanhTransform(), T.TanhTransform().inv, T.SigmoidTransform()])
    torch.testing.assert_close(model.log_prob("p(u)", u=u), reference.log_prob(u).sum(-1), rtol=0, atol=TOL)


def test_one_pass_log_density_of_a_draw_equals_the_inverse(model):
    """log q at q's own draw, accumulated while sampling (loss 'draw'), equals log q through the
    inverse at the same draw (``log_prob``): same seed, same base noise."""
    x = torch.bernoulli(torch.full((6, 5), 0.5, dtype=torch.float64))
    torch.manual_seed(3)
    one_pass = model.loss("draw", x=x)
    torch.manual_seed(3)
    z = model.sample("q(z|x)", x=x)["z"]
    inverse = model.log_prob("q(z|x)", z=z, x=x).sum()
    torch.testing.assert_close(one_pass, inverse, rtol=0, atol=1e-8)
    torch.manual_seed(3)
    torch.testing.assert_close(model.loss("ent", x=x), -one_pass, rtol=0, atol=1e-12)


def test_one_pass_log_density_without_inverse_matches_the_layers(model):
    """r(z|x) (planar, IAF): the generated one-pass log-density against the same computation
    done here from the runtime layers and torch.distributions' Normal."""
    x = torch.bernoulli(torch.full((6, 5), 0.5, dtype=torch.float64))
    torch.manual_seed(4)
    generated = model.loss("rdraw", x=x)
    torch.manual_seed(4)
    loc, scale = model.enc(x)
    z0 = loc + scale * torch.randn_like(loc)
    z1, ld1 = model.flow_r_z_given_x[0](z0)
    _, ld2 = model.flow_r_z_given_x[1](z1)
    expected = (td.Normal(loc, scale).log_prob(z0).sum(-1) - ld1 - ld2).sum()
    torch.testing.assert_close(generated, expected, rtol=0, atol=TOL)


def test_scoring_a_flow_without_inverse_is_a_data_error(model):
    with pytest.raises(DataError, match="no closed form"):
        model.log_prob("r(z|x)", z=torch.zeros(2, 4, dtype=torch.float64), x=torch.zeros(2, 5, dtype=torch.float64))


def test_flow_gradients_reach_every_layer(model):
    x = torch.bernoulli(torch.full((6, 5), 0.5, dtype=torch.float64))
    model.zero_grad()
    model.loss("draw", x=x).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.flow_q_z_given_x.parameters())


def test_renamed_flow_shares_its_layers():
    source = """
var x: binary[5]
var w: binary[5]
var z: real[4]
net enc(x) -> (loc: real[4], scale: positive[4]) = MLP(8)
q(z|x) = Flow(Normal(loc=enc(x).loc, scale=enc(x).scale), Coupling(hidden=8), MAF(hidden=8))
q(z|w) = q(z|x)[x -> w]
loss = sum(E_{q(z|w)}[log q(z|w)])
"""
    torch.manual_seed(0)
    m = gmc.compile_source(source, name="Renamed")().double()
    assert not hasattr(m, "flow_q_z_given_w")
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.3 * torch.randn_like(p))
    data = torch.bernoulli(torch.full((3, 5), 0.5, dtype=torch.float64))
    z = torch.randn(3, 4, dtype=torch.float64)
    torch.testing.assert_close(m.log_prob("q(z|w)", z=z, w=data), m.log_prob("q(z|x)", z=z, x=data),
                               rtol=0, atol=0)


def test_renamed_amortized_flow_reads_the_new_variable():
    source = """
var x: binary[5]
var w: binary[5]
var z: real[4]
net enc(x) -> (loc: real[4], scale: positive[4], u: real[4], v: real[4], b: real) = MLP(8)
q(z|x) = Flow(Normal(loc=enc(x).loc, scale=enc(x).scale), Planar(u=enc(x).u, w=enc(x).v, b=enc(x).b))
q(z|w) = q(z|x)[x -> w]
loss = sum(E_{q(z|x)}[log q(z|x)])
loss renamed = sum(E_{q(z|w)}[log q(z|w)])
"""
    m = gmc.compile_source(source, name="RenamedAmortized")().double()
    data = torch.bernoulli(torch.full((3, 5), 0.5, dtype=torch.float64))
    torch.manual_seed(2)
    original = m.loss("loss", x=data)
    torch.manual_seed(2)
    torch.testing.assert_close(m.loss("renamed", w=data), original, rtol=0, atol=0)
