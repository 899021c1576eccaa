"""The flow ELBO's rewrite (gmc.compiler.rewrites.elbo): elbo(p, q) over a flow q with a Normal
base and a Normal prior becomes E_q[log p(x|z_K) + log p(z_K) - log p(z_0) + sum log|det|] minus
the base's KL in closed form. Checked in float64 against the plain Monte-Carlo ELBO written out
as E_q[log p(x,z) - log q(z|x)] (not rewritten): per draw the two differ by exactly the control
variate log q0(z_0) - log p(z_0) - KL[q0 || p], computed here with torch.distributions; over
many draws the difference averages to 0."""
from __future__ import annotations

import pytest
import torch
import torch.distributions as td

import gmc

SOURCE = """
var x: binary[5]
var z: real[3]
net enc(x) -> (loc: real[3], scale: positive[3], u: real[3], w: real[3], b: real) = MLP(8)
net dec(z) -> real[5] = MLP(8)
q(z|x) = Flow(Normal(loc=enc(x).loc, scale=enc(x).scale), Planar(u=enc(x).u, w=enc(x).w, b=enc(x).b), Radial, IAF(hidden=8, depth=1))
p(x|z) = Bernoulli(logits=dec(z))
p(z) = Normal(0.3, 1.7)
p(x,z) = p(x|z) p(z)
loss rewritten = -mean(elbo(p(x,z), q(z|x)))
loss plain = -mean(E_{q(z|x)}[log p(x,z) - log q(z|x)])
"""


@pytest.fixture(scope="module")
def setup():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(0)
    m = gmc.compile_source(SOURCE, name="FlowElbo")().double()
    with torch.no_grad():  # the IAF conditioner starts at the identity; make every layer act
        for p in m.parameters():
            p.add_(0.3 * torch.randn_like(p))
    x = torch.bernoulli(torch.full((16, 5), 0.4))
    yield m, x
    torch.set_default_dtype(previous)


def test_rewrite_fires_and_keeps_the_base_kl_closed():
    from gmc.compiler.driver import compile_model, explain, python_source

    model = compile_model(SOURCE, "flow_elbo.gm")
    assert "KL[q0(z_0|x) || p(z)] with q0 the flow's base" in explain(model)
    code = python_source(model)
    rewritten = code[code.index("def loss_rewritten"):code.index("def loss_plain")]
    plain = code[code.index("def loss_plain"):]
    assert "flow_residual" in rewritten and "kl_base_q" in rewritten
    assert "flow_residual" not in plain


def test_a_flow_prior_keeps_the_monte_carlo_elbo():
    """No closed form for the base against a flow prior: the ELBO stays log p - log q."""
    from gmc.compiler.driver import compile_model, python_source

    source = SOURCE.replace("p(z) = Normal(0.3, 1.7)", "p(z) = Flow(Normal(0, 1), Coupling(hidden=4))")
    assert "flow_residual" not in python_source(compile_model(source, "flow_prior.gm"))


def _control_variate(m, x, seed):
    """log q0(z_0) - log p(z_0) - KL[q0 || p] per example at the draw the loss makes with ``seed``."""
    loc, scale = m.enc(x)[:2]
    torch.manual_seed(seed)
    z0 = loc + scale * torch.randn_like(loc)
    q0, p = td.Normal(loc, scale), td.Normal(torch.tensor(0.3), torch.tensor(1.7))
    return (q0.log_prob(z0) - p.log_prob(z0) - td.kl_divergence(q0, p)).sum(-1)


def test_per_draw_the_rewrite_adds_exactly_the_control_variate(setup):
    m, x = setup
    with torch.no_grad():
        for seed in range(5):
            torch.manual_seed(seed)
            rewritten = m.loss("rewritten", x=x)
            torch.manual_seed(seed)
            plain = m.loss("plain", x=x)
            # loss = -mean(elbo): the rewritten elbo is the plain one plus the control variate
            assert float(rewritten - plain) == pytest.approx(-float(_control_variate(m, x, seed).mean()), abs=1e-10)


@pytest.mark.slow
def test_in_expectation_the_rewrite_equals_the_monte_carlo_elbo(setup):
    """40 draws of a batch of 1,600 (the 16 examples 100 times): the mean difference is within
    4 standard errors of 0 and below 0.01 nats; the rewritten estimate's spread is no larger."""
    m, x = setup
    x = x.repeat(100, 1)
    gaps, rewritten_values, plain_values = [], [], []
    with torch.no_grad():
        for seed in range(40):
            torch.manual_seed(seed)
            rewritten = float(m.loss("rewritten", x=x))
            torch.manual_seed(seed)
            plain = float(m.loss("plain", x=x))
            gaps.append(rewritten - plain)
            rewritten_values.append(rewritten)
            plain_values.append(plain)
    gaps = torch.tensor(gaps)
    standard_error = float(gaps.std()) / len(gaps) ** 0.5
    assert abs(float(gaps.mean())) < 4 * standard_error
    assert abs(float(gaps.mean())) < 0.01
    assert torch.tensor(rewritten_values).std() <= torch.tensor(plain_values).std()
