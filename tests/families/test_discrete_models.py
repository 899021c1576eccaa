"""Checker rules and whole models for the vector families (Categorical, Dirichlet, ...).

The checker must accept one value per category (or a shared last axis of 1 for temperature)
and reject tensors that only broadcast; models with discrete and relaxed latents must run
through IWAE particles, one-sample ELBOs and Monte-Carlo KLs with the right shapes.
"""
import pytest
import torch
import torch.nn.functional as F

import gmc

HEADER = """
const K = 6
var x: real[4]
var y: categorical[K]
var c: count[K]
var s: simplex[K]
weight w1: real[1]
net f(x) -> real[K] = MLP(8)
net one(x) -> real[1] = MLP(8)
"""


@pytest.mark.parametrize("definition", [
    "p(y|x) = Categorical(logits=f(x))",
    "p(y|x) = Categorical(softmax(f(x)))",
    "p(y) = Categorical(logits=0)",
    "p(c|x) = Multinomial(10, logits=f(x))",
    "p(s|x) = Dirichlet(exp(f(x)))",
    "p(s) = Dirichlet(0.5)",
    "p(s|x) = RelaxedCategorical(0.5, logits=f(x))",
    "p(s|x) = RelaxedCategorical(exp(one(x)), logits=f(x))",
])
def test_checker_accepts(definition):
    gmc.compile_source(HEADER + definition + "\nloss = mean(E_{" + definition.split(" =")[0] + "}[0 * sum(x)])\n")


@pytest.mark.parametrize("definition, message", [
    ("p(y|x) = Categorical(logits=one(x))", "has event shape [1], but 'y' has event shape [6]"),
    ("p(y) = Categorical(logits=w1)", "has event shape [1], but 'y' has event shape [6]"),
    ("p(s|x) = RelaxedCategorical(exp(f(x)), logits=f(x))", "has event shape [6], but 's' has event shape [1]"),
    ("p(c|x) = Multinomial(2.5, logits=f(x))", "Parameter 'total_count' of Multinomial must be count, got 2.5"),
    ("p(c|y) = Multinomial(y, logits=0)", "must be a compile-time constant"),
    ("p(s|x) = Categorical(logits=f(x))", "Categorical is a distribution over categorical values"),
    ("p(y|x) = Dirichlet(f(x))", "must be positive, but this expression is real"),
])
def test_checker_rejects(definition, message):
    with pytest.raises(gmc.GmcError) as error:
        gmc.compile_source(HEADER + definition + "\nloss = mean(E_{" + definition.split(" =")[0] + "}[0 * sum(x)])\n")
    assert message in str(error.value)


DISCRETE_VAE = gmc.compile_source("""
const K = 5
var x: real[3]
var y: categorical[K]
var s: simplex[K]
param tau = 0.7
net enc(x) -> real[K] = MLP(8)
net dec(y) -> real[3] = MLP(8)
net decs(s) -> real[3] = MLP(8)
q(y|x) = Categorical(logits=enc(x))
p(y) = Categorical(logits=0)
p(x|y) = Normal(dec(y), 0.5)
p(x,y) = p(x|y) p(y)
r(s|x) = RelaxedCategorical(tau, logits=enc(x))
u(s) = RelaxedCategorical(tau, logits=0)
p(x|s) = Normal(decs(s), 0.5)
p(x,s) = p(x|s) u(s)
loss iw = -mean(iwae(p(x,y), q(y|x), k=7))
loss elbo = -mean(elbo(p(x,y), q(y|x)))
loss kl = mean(KL[q(y|x) || p(y)])
loss gumbel = -mean(elbo(p(x,s), r(s|x)))
""", name="DiscreteVAE")


def test_discrete_and_relaxed_latent_models_run_with_the_right_shapes():
    torch.manual_seed(0)
    model = DISCRETE_VAE()
    x = torch.randn(16, 3)
    for name in ("iw", "elbo", "kl", "gumbel"):
        loss = model.loss(name, x=x)
        assert loss.shape == () and torch.isfinite(loss), name
    assert model.sample("p(x,y)", n=9)["y"].shape == (9, 5)
    assert model.sample("r(s|x)", x=x)["s"].shape == (16, 5)
    assert model.log_prob("q(y|x)", y=F.one_hot(torch.arange(16) % 5, 5).float(), x=x).shape == (16,)
    # the relaxed ELBO is differentiable in the encoder through the Gumbel-softmax sample
    model.loss("gumbel", x=x).backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.enc.parameters())


def test_monte_carlo_kl_to_a_uniform_categorical_is_unbiased():
    """One-sample KL estimates average to sum_k q_k log(K q_k)."""
    torch.manual_seed(1)
    model = DISCRETE_VAE()
    x = torch.randn(1, 3).expand(20000, 3)
    q = torch.softmax(model.enc(x[:1]), -1)[0].detach()
    exact = (q * torch.log(5 * q)).sum().item()
    with torch.no_grad():
        y = model.sample("q(y|x)", x=x)["y"]
        estimates = model.log_prob("q(y|x)", y=y, x=x) - model.log_prob("p(y)", y=y)
    se = estimates.std().item() / len(estimates) ** 0.5
    assert abs(estimates.mean().item() - exact) < 5 * se + 1e-12


def test_latex_of_the_new_families_renders_in_mathtext():
    mathtext = pytest.importorskip("matplotlib.mathtext")
    parser = mathtext.MathTextParser("agg")
    text = DISCRETE_VAE().latex()
    assert r"\mathrm{RelaxedCategorical}" in text and r"\mathrm{temperature} = \tau" in text
    for line in text.splitlines():
        parser.parse(f"${line}$")
