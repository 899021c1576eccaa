"""Compiled models behave as the math says: gradients, sharing, estimators, API, tracebacks."""
import math
import traceback
from pathlib import Path

import pytest
import torch
from torch import nn

import gmc
from gmc.runtime.errors import DataError

ROOT = Path(__file__).parent.parent
VAE = gmc.compile_file(ROOT / "examples" / "vae.gm")


def _digits_like(n=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.bernoulli(torch.full((n, 64), 0.4), generator=g)


def test_gradients_reach_every_net_parameter():
    torch.manual_seed(0)
    model = VAE()
    for name in ("loss", "iw"):
        model.zero_grad()
        model.loss(name, x=_digits_like()).backward()
        for pname, p in model.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, (name, pname)


def test_vae_step_calls_encoder_once_and_samples_once():
    source = gmc.to_python(ROOT / "examples" / "vae.gm")
    body = source.split("def loss_loss")[1].split("def ")[0]
    assert body.count("self.enc(") == 1
    assert body.count("torch.randn") == 1
    assert body.count("self.dec(") == 1

    calls = []

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Linear(64, 16)

        def forward(self, x):
            calls.append(x.shape)
            h = self.net(x)
            return {"loc": h[..., :8], "scale": nn.functional.softplus(h[..., 8:])}

    model = VAE(enc=Encoder())
    model.loss("loss", x=_digits_like())
    assert len(calls) == 1


def test_user_net_may_return_a_tuple():
    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Linear(64, 16)

        def forward(self, x):
            h = self.net(x)
            return h[..., :8], nn.functional.softplus(h[..., 8:])

    assert torch.isfinite(VAE(enc=Encoder()).loss("loss", x=_digits_like()))


ELBO_BOTH_WAYS = """
var x: binary[16]
var z: real[2]
net enc(x) -> (loc: real[2], scale: positive[2]) = MLP(16)
net dec(z) -> real[16] = MLP(16)
q(z|x) = Normal(enc(x).loc, enc(x).scale)
p(x|z) = Bernoulli(logits=dec(z))
p(z) = Normal(0, 1)
p(x,z) = p(x|z) p(z)
loss decomposed = -mean(elbo(p(x,z), q(z|x)))
loss by_hand = -mean(E_{q(z|x)}[log p(x|z)] - KL[q(z|x) || p(z)])
loss monte_carlo = -mean(E_{q(z|x)}[log p(x,z) - log q(z|x)])
"""


def test_elbo_decomposition_matches_hand_written_and_monte_carlo():
    torch.manual_seed(2)
    cls = gmc.compile_source(ELBO_BOTH_WAYS, name="Both")
    source = gmc.compiler.driver.python_source(gmc.compiler.driver.compile_model(ELBO_BOTH_WAYS))
    decomposed = source.split("def loss_decomposed")[1].split("def ")[0]
    assert "closed form" in decomposed
    model = cls().double()
    x = torch.bernoulli(torch.full((1, 16), 0.5, dtype=torch.float64)).expand(20000, 16)
    with torch.no_grad():
        per_example = {}
        for name in ("decomposed", "by_hand", "monte_carlo"):
            per_example[name] = model.loss(name, x=x).item()
        zs = model.sample("q(z|x)", x=x)["z"]
        mc = -(model.log_prob("p(x,z)", x=x, z=zs) - model.log_prob("q(z|x)", z=zs, x=x))
    se = mc.std().item() / math.sqrt(len(mc))
    assert abs(per_example["decomposed"] - per_example["monte_carlo"]) < 5 * se * math.sqrt(2)
    assert abs(per_example["decomposed"] - per_example["by_hand"]) < 5 * se * math.sqrt(2)


LINEAR_GAUSSIAN = """
var x: real[1]
var z: real[1]
p(z) = Normal(0, 1)
p(x|z) = Normal(z, 1)
p(x,z) = p(x|z) p(z)
q(z|x) = Normal(loc=0.3 * x, scale=1.2)
loss elbo = mean(elbo(p(x,z), q(z|x)))
loss iw = mean(iwae(p(x,z), q(z|x), k=64))
"""


@pytest.mark.slow
def test_iwae_lies_between_elbo_and_exact_log_likelihood():
    # p(x) = N(0, sqrt 2) exactly; the ELBO <= IWAE_k <= log p(x) (Burda et al. 2016, Theorem 1)
    torch.manual_seed(3)
    model = gmc.compile_source(LINEAR_GAUSSIAN, name="LinearGaussian")().double()
    x = torch.full((20000, 1), 1.5, dtype=torch.float64)
    exact = torch.distributions.Normal(0.0, math.sqrt(2.0)).log_prob(torch.tensor(1.5)).item()
    with torch.no_grad():
        elbo = model.loss("elbo", x=x).item()
        iw = model.loss("iw", x=x).item()
    assert elbo < iw < exact + 1e-3
    assert (exact - iw) < 0.2 * (exact - elbo)  # k = 64 closes most of the gap


def test_parameters_override_per_call_and_at_construction():
    torch.manual_seed(4)
    x = _digits_like()
    model = VAE()
    torch.manual_seed(5)
    base = model.loss("loss", x=x)
    torch.manual_seed(5)
    heavier = model.loss("loss", x=x, beta=4.0)
    assert heavier > base
    torch.manual_seed(5)
    assert torch.equal(VAE(beta=4.0).loss("loss", x=x) > 0, torch.tensor(True))


def test_api_errors_are_clear():
    model = VAE()
    with pytest.raises(DataError, match="no loss named 'nope'; this model has: loss, iw"):
        model.loss("nope", x=_digits_like())
    with pytest.raises(DataError, match="needs x"):
        model.loss("loss")
    with pytest.raises(DataError, match="expected a tensor of shape \\[batch, 64\\], got \\[3, 8\\]"):
        model.loss("loss", x=torch.zeros(3, 8))
    with pytest.raises(DataError, match="does not take 'y'"):
        model.loss("loss", x=_digits_like(), y=1)
    with pytest.raises(DataError, match="needs the number of samples"):
        model.sample("p(x,z)")
    with pytest.raises(DataError, match="no factor 'p\\(y\\)'"):
        model.log_prob("p(y)", x=_digits_like())


def test_tracebacks_show_generated_lines():
    class Broken(nn.Module):
        def forward(self, x):
            return {"loc": x[..., :3], "scale": x[..., :3]}  # 3 values, z needs 8

    model = VAE(enc=Broken())
    with pytest.raises(RuntimeError) as info:
        model.loss("loss", x=_digits_like())
    text = "".join(traceback.format_exception(info.value))
    assert "<gmc-generated vae.gm" in text
    assert "z = enc_loc + enc_scale * torch.randn_like(enc_loc)" in text or "self.dec(z)" in text


def test_missing_user_net_is_a_clear_error():
    cls = gmc.compile_source("var x: real[2]\nvar y: real[2]\nnet f(y) -> real[2]\n"
                             "p(x|y) = Normal(f(y), 1)\nloss = mean(-log p(x|y))",
                             name="Needs")
    with pytest.raises(TypeError, match="net 'f' has no built-in body"):
        cls()


def test_constant_arithmetic_folds_only_the_operation_written():
    # 1e300 ** 2 overflows; folding 1e300 + 2.0 must not evaluate it.
    cls = gmc.compile_source("const C = 1e300 + 2.0\nconst K = 2 ** 3\nvar x: real[K]\np(x) = Normal(0, 1)\n"
                             "loss = mean(-log p(x)) + C * 0", name="Consts")
    assert cls.variables["x"] == ("real", (8,))


def test_api_passes_values_by_name_whatever_their_order():
    """The API calls generated methods positionally (linear in the number of inputs); the
    values must still land on the variables they are named for, in any keyword order."""
    src = """model Mixed
param shift = 0.5
var c: real
var a: real
var b: real
p(c) = Normal(0, 1)
p(a|c) = Normal(c + shift, 2)
p(b|a,c) = Normal(a - c, 1)
p(b,a,c) = p(b|a,c) p(a|c) p(c)
loss = -mean(log p(b,a,c))
"""
    model = gmc.compile_source(src)()
    values = {"a": torch.tensor([0.3, -1.0]), "b": torch.tensor([2.0, 0.1]), "c": torch.tensor([-0.7, 0.4])}
    method = getattr(model, type(model).factors["p(b,a,c)"].log_prob)
    expected = method(**values)
    for order in (("a", "b", "c"), ("c", "b", "a"), ("b", "c", "a")):
        shuffled = {k: values[k] for k in order}
        assert torch.equal(model.log_prob("p(b,a,c)", **shuffled), expected)
        assert torch.equal(model.log_prob("p(b,a,c)", **shuffled, shift=2.0), method(**values, shift=2.0))
        assert torch.equal(model.loss(**shuffled), -expected.mean())
    cond = getattr(model, type(model).factors["p(b|a,c)"].log_prob)
    assert torch.equal(model.log_prob("p(b|a,c)", c=values["c"], b=values["b"], a=values["a"]), cond(**values))
    torch.manual_seed(0)
    drawn = model.sample("p(b|a,c)", c=values["c"], a=values["a"] + 100)["b"]
    assert bool((drawn > 50).all())  # b ~ Normal(a - c, 1) with a near 100: a and c not swapped
