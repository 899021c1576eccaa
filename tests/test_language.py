"""Language extensions: let definitions, global variables, data fed by name (docs/language.md)."""
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

import gmc
from gmc.compiler import driver
from gmc.runtime.errors import DataError

ROOT = Path(__file__).parent.parent

_VAE_HEAD = """
var x: binary[6]
var z: real[2]
net enc(x) -> (loc: real[2], scale: positive[2]) = MLP(8)
net dec(z) -> real[6] = MLP(8)
p(z) = Normal(0, 1)
"""


def test_let_is_the_same_model_as_the_inlined_expression():
    with_let = gmc.compile_source(_VAE_HEAD + """
let h = enc(x)
let logits = 2 * dec(z)
q(z|x) = Normal(loc=h.loc, scale=h.scale)
p(x|z) = Bernoulli(logits=logits)
let rec = E_{q(z|x)}[log p(x|z)]
loss = mean(KL[q(z|x) || p(z)] - rec)
""", name="WithLet")
    inlined = gmc.compile_source(_VAE_HEAD + """
q(z|x) = Normal(loc=enc(x).loc, scale=enc(x).scale)
p(x|z) = Bernoulli(logits=2 * dec(z))
loss = mean(KL[q(z|x) || p(z)] - E_{q(z|x)}[log p(x|z)])
""", name="Inlined")
    torch.manual_seed(0)
    a = with_let()
    b = inlined()
    b.load_state_dict(a.state_dict())
    x = torch.bernoulli(torch.full((5, 6), 0.5))
    torch.manual_seed(1)
    la = a.loss("loss", x=x)
    torch.manual_seed(1)
    assert torch.equal(la, b.loss("loss", x=x))


def test_let_cannot_use_a_later_let():
    with pytest.raises(gmc.GmcError, match="'b' is not defined"):
        gmc.compile_source("var x: real\nlet a = b\nlet b = 1.0\np(x) = Normal(0, 1)\nloss = -mean(log p(x))\n")


def test_global_latent_is_drawn_once_per_data_set_and_matches_a_float64_reference():
    Model = gmc.compile_file(ROOT / "examples" / "bayes_regression.gm")
    torch.manual_seed(0)
    m = Model(data=50).double()  # the plate's size N
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn_like(p) * 0.3)
    x, y = torch.randn(7, 10, dtype=torch.float64), torch.randn(7, dtype=torch.float64)
    torch.manual_seed(3)
    got = m.loss("loss", x=x, y=y)
    torch.manual_seed(3)
    d = torch.distributions
    q = d.Normal(m.w_loc, torch.nn.functional.softplus(m.w_scale))
    prior = d.Normal(torch.zeros(10, dtype=torch.float64), m.log_tau.exp())
    kl = d.kl_divergence(q, prior).sum()
    w = m.w_loc + q.scale * torch.randn(10, dtype=torch.float64)  # one draw for the whole batch
    log_lik = d.Normal(x @ w + m.b, m.log_sigma.exp()).log_prob(y)
    assert torch.allclose(got, kl - 50 * log_lik.mean(), rtol=1e-12)  # the batch's sum scaled by N / B
    assert m.sample("q(w)", n=4)["w"].shape == (4, 10)
    assert m.log_prob("p(w)", w=torch.zeros(10, dtype=torch.float64)).shape == ()


def test_global_kl_alone_is_a_scalar_loss():
    gmc.compile_source("var global w: real[2]\nweight m: real[2]\nq(w) = Normal(m, 1)\np(w) = Normal(0, 1)\n"
                       "loss = KL[q(w) || p(w)]\n")


def _dataset(**fields):
    base = dict(train=torch.randn(8, 10), test=torch.randn(2, 10), train_labels=None, test_labels=None,
                train_targets=None, test_targets=None)
    base.update(fields)
    return SimpleNamespace(**base)


def test_training_feeds_every_observed_variable_by_name():
    from gmc.training import observed_tensors

    text = (ROOT / "examples" / "bayes_regression.gm").read_text()
    model = driver.compile_model(text, "bayes_regression.gm")
    ds = _dataset(train_targets=torch.arange(8.0), test_targets=torch.arange(2.0))
    train, test = observed_tensors(model, "loss", ds, "--data t")
    assert set(train) == {"x", "y"} and train["x"].shape == (8, 10) and torch.equal(train["y"], torch.arange(8.0))
    with pytest.raises(DataError, match="reads 'y', but --data t provides only 'x'"):
        observed_tensors(model, "loss", _dataset(), "--data t")


def test_labels_become_one_hot_for_a_categorical_variable():
    from gmc.compiler import ir
    from gmc.training import _columns

    var = ir.Var("y", ir.Type("categorical", (3,)))
    assert torch.equal(_columns(var, torch.tensor([2, 0]), "d"), torch.tensor([[0.0, 0, 1], [1, 0, 0]]))
    with pytest.raises(DataError, match="labels must be 0..2; d has label 3"):
        _columns(var, torch.tensor([3]), "d")


_MIXTURE = """
var x: real[2]
var y: categorical[3]
var b: binary[1]
weight logits: real[3] = Normal(0, 1)
weight mu: real[3, 2] = Normal(0, 1)
net f(x) -> real[3] = MLP(4)
p(y) = Categorical(logits=logits)
p(x|y) = Normal(loc=y @ mu, scale=exp(y @ mu) / 2)
p(x) = sum_{y} p(x|y) p(y)
q(y|x) = Categorical(logits=f(x))
p(b) = Bernoulli(probs=0.3)
p(x|b) = Normal(loc=3 * b - 1, scale=1)
r(x) = sum_{b} p(x|b) p(b)
loss = -mean(log p(x))
loss expected = mean(E_{q(y|x)}[log p(x|y)])
loss binary = -mean(log r(x))
"""


def _normal_logpdf(x, loc, scale):
    return (-((x - loc) / scale) ** 2 / 2 - torch.log(scale) - 0.5 * torch.log(torch.tensor(2 * torch.pi,
                                                                                              dtype=x.dtype))).sum(-1)


def test_mixture_log_density_is_the_exact_sum_over_components():
    torch.manual_seed(0)
    m = gmc.compile_source(_MIXTURE, name="Mix")().double()
    x = torch.randn(6, 2, dtype=torch.float64)
    comp = torch.stack([_normal_logpdf(x, m.mu[k], m.mu[k].exp() / 2) for k in range(3)])  # [3, 6]
    expected = torch.logsumexp(comp + torch.log_softmax(m.logits, -1)[:, None], dim=0)
    assert torch.allclose(m.log_prob("p(x)", x=x), expected, rtol=1e-12)
    q = torch.softmax(m.f(x), -1).T  # [3, 6]
    assert torch.allclose(m.loss("expected", x=x), (q * comp).sum(0).mean(), rtol=1e-12)
    b = torch.stack([_normal_logpdf(x, torch.tensor(-1.0), torch.tensor(1.0)) + math.log(0.7),
                     _normal_logpdf(x, torch.tensor(2.0), torch.tensor(1.0)) + math.log(0.3)])
    assert torch.allclose(m.loss("binary", x=x), -torch.logsumexp(b, 0).mean(), rtol=1e-12)


def test_exact_expectation_gives_gradients_to_the_discrete_posterior():
    torch.manual_seed(0)
    m = gmc.compile_source(_MIXTURE, name="Mix")()
    m.loss("expected", x=torch.randn(4, 2)).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in m.f.parameters())


def test_a_marginal_is_sampled_without_its_summed_out_variable():
    m = gmc.compile_source(_MIXTURE, name="Mix")()
    draw = m.sample("p(x)", n=5)
    assert set(draw) == {"x"} and draw["x"].shape == (5, 2)
