"""Every new family as the latent of a small VAE: the ELBO and a 3-particle IWAE compile,
run on a batch, are finite, and send finite gradients to the encoder (the sampler's
reparameterization carries them), including the [K, batch, ...] particle shapes."""
import pytest
import torch

import gmc

#: family -> (latent support, encoder outputs "name: support", q's arguments, the prior)
CASES = {
    "Laplace": ("real", "loc: real[2], scale: positive[2]", "enc(x).loc, enc(x).scale", "Laplace()"),
    "Logistic": ("real", "loc: real[2], scale: positive[2]", "enc(x).loc, enc(x).scale", "Logistic()"),
    "StudentT": ("real", "df: positive[2], loc: real[2]", "enc(x).df + 1, enc(x).loc, 0.5", "StudentT(3.0)"),
    "Uniform": ("real", "low: real[2], width: positive[2]", "enc(x).low, enc(x).low + enc(x).width",
                "Uniform(-20, 20)"),
    "Exponential": ("positive", "rate: positive[2]", "enc(x).rate", "Exponential()"),
    "Gamma": ("positive", "concentration: positive[2], rate: positive[2]",
              "enc(x).concentration, enc(x).rate", "Gamma(2.0)"),
    "LogNormal": ("positive", "loc: real[2], scale: positive[2]", "enc(x).loc, enc(x).scale", "LogNormal()"),
    "Weibull": ("positive", "scale: positive[2], concentration: positive[2]",
                "enc(x).scale, enc(x).concentration + 0.5", "Weibull(concentration=1.5)"),
    "Beta": ("unit", "a: positive[2], b: positive[2]", "enc(x).a, enc(x).b", "Beta(1.0, 1.0)"),
    "Kumaraswamy": ("unit", "a: positive[2], b: positive[2]", "enc(x).a + 0.1, enc(x).b + 0.1",
                    "Kumaraswamy(2.0, 2.0)"),
}


@pytest.mark.parametrize("family", CASES)
def test_family_as_vae_latent(family):
    support, outputs, args, prior = CASES[family]
    source = f"""
var x: real[4]
var z: {support}[2]
net enc(x) -> ({outputs}) = MLP(8)
net dec(z) -> real[4] = MLP(8)
q(z|x) = {family}({args})
p(z) = {prior}
p(x|z) = Normal(dec(z), 1.0)
p(x,z) = p(x|z) p(z)
loss = -mean(elbo(p(x,z), q(z|x)))
loss iw = -mean(iwae(p(x,z), q(z|x), k=3))
"""
    torch.manual_seed(0)
    model = gmc.compile_source(source, name=f"{family}Vae")()
    x = torch.randn(5, 4)
    for name in ("loss", "iw"):
        model.zero_grad()
        value = model.loss(name, x=x)
        assert value.shape == () and torch.isfinite(value), (name, value)
        value.backward()
        grads = [p.grad for p in model.enc.parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads), name
        assert any(g.abs().sum() > 0 for g in grads), name
    assert model.sample("p(x,z)", n=3)["z"].shape == (3, 2)
