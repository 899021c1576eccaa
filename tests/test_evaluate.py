"""gmc evaluate: AIS and IWAE estimates of held-out log p(x).

- Linear-Gaussian model (exact marginal x ~ N(b, W^T W + sigma^2 I), computed with
  torch.distributions.MultivariateNormal in float64): AIS matches the exact mean log-marginal
  within two of its standard errors, although its proposal q(z|x) is an untrained encoder;
  IWAE with the same poor proposal stays below it (a lower bound).
- Digits VAE (examples/vae.gm, briefly trained): AIS lies at or above the IWAE bound with
  K = 5000 samples, within the standard errors of the two estimates.
"""
import json

import pytest
import torch

import gmc
from golden_io import ROOT
from gmc.cli import main
from gmc.runtime import ais as estimators
from gmc.runtime.errors import DataError

LINEAR_GAUSSIAN = """
model LinearGaussian
const D = 3
const K = 2
param sigma = 0.7
weight W: real[K, D] = 0.0
weight b: real[D] = 0.0
var x: real[D]
var z: real[K]
net enc(x) -> (loc: real[K], scale: positive[K]) = MLP(8)
p(z) = Normal(0, 1)
p(x|z) = Normal(loc=z @ W + b, scale=sigma)
p(x,z) = p(x|z) p(z)
q(z|x) = Normal(loc=enc(x).loc, scale=enc(x).scale)
loss = -mean(elbo(p(x,z), q(z|x)))
"""


@pytest.fixture
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: a second thread only adds contention
    yield
    torch.set_num_threads(previous)


def _linear_gaussian(n=40):
    torch.manual_seed(0)
    model = gmc.compile_source(LINEAR_GAUSSIAN)()
    with torch.no_grad():
        model.W.copy_(torch.randn(2, 3))
        model.b.copy_(torch.randn(3))
    w, b = model.W.detach().double(), model.b.detach().double()
    marginal = torch.distributions.MultivariateNormal(b, w.T @ w + 0.49 * torch.eye(3, dtype=torch.float64))
    x = marginal.sample((n,))
    return model, x, float(marginal.log_prob(x).mean())


def test_log_mean_and_stderr_match_direct_formulas():
    log_w = torch.log(torch.tensor([[1.0, 2.0], [3.0, 2.0], [2.0, 2.0]], dtype=torch.float64))
    log_mean, stderr = estimators.log_mean_and_stderr(log_w)
    w = log_w.exp()
    torch.testing.assert_close(log_mean, w.mean(0).log())
    torch.testing.assert_close(stderr, ((w.pow(2).mean(0) / w.mean(0) ** 2 - 1) / 3).sqrt())


def test_sigmoid_schedule_runs_from_zero_to_one_increasing():
    b = estimators.sigmoid_schedule(50)
    assert b[0] == 0 and b[-1] == 1 and bool((b[1:] > b[:-1]).all())


@pytest.mark.slow
def test_ais_matches_the_exact_linear_gaussian_marginal(one_thread):
    model, x, exact = _linear_gaussian()
    ais = gmc.evaluate(source=LINEAR_GAUSSIAN, model=model, data={"x": x}, method="ais", k=16, steps=500,
                       leapfrog=5)
    assert abs(ais["log_px"] - exact) < 2 * ais["stderr"], (ais["log_px"], ais["stderr"], exact)
    assert 0.4 < ais["acceptance"] < 0.9
    iwae = gmc.evaluate(source=LINEAR_GAUSSIAN, model=model, data={"x": x}, method="iwae", k=10)
    assert iwae["log_px"] < exact  # an untrained proposal leaves IWAE well below


@pytest.mark.slow
def test_ais_on_the_digits_vae_is_at_or_above_iwae_5000(one_thread):
    from gmc.runtime import data, train

    torch.manual_seed(0)
    vae = gmc.compile_file(ROOT / "examples" / "vae.gm")()
    ds = data.load_dataset("digits")
    train.fit(vae, "loss", {"x": ds.train}, {"x": ds.test}, epochs=3, batch_size=128, lr=1e-3, progress=False,
              log=None)
    x = {"x": ds.test[:2]}
    iwae = gmc.evaluate(ROOT / "examples" / "vae.gm", model=vae, data=x, method="iwae", k=5000)
    ais = gmc.evaluate(ROOT / "examples" / "vae.gm", model=vae, data=x, method="ais", k=8, steps=600, leapfrog=2)
    tolerance = 2 * (ais["stderr"] ** 2 + iwae["stderr"] ** 2) ** 0.5
    assert ais["log_px"] >= iwae["log_px"] - tolerance, (ais, iwae)


def test_evaluate_needs_a_proposal_and_real_latents():
    source = "var x: real\nvar global w: real\np(w) = Normal(0, 1)\np(x|w) = Normal(w, 1)\np(x,w) = p(x|w) p(w)\n"
    with pytest.raises(DataError, match="per-example real latents"):
        gmc.evaluate(source=source, model=gmc.compile_source(source)(), data={"x": torch.zeros(2)})
    model, x, _ = _linear_gaussian(4)
    with pytest.raises(DataError, match="unknown method"):
        gmc.evaluate(source=LINEAR_GAUSSIAN, model=model, data={"x": x}, method="exact")


def test_cli_evaluates_a_checkpoint(tmp_path, capsys, one_thread):
    run = tmp_path / "run"
    assert main(["train", str(ROOT / "examples" / "vae.gm"), "--data", "digits", "--epochs", "1", "--quiet",
                 "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(ROOT / "examples" / "vae.gm"), "--checkpoint", str(run / "model.pt"),
                 "--method", "iwae", "-k", "20", "--limit", "5", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["method"] == "iwae" and result["examples"] == 5 and result["k"] == 20
    assert result["log_px"] < 0 and len(result["per_example"]) == 5
    assert main(["evaluate", str(ROOT / "examples" / "vae.gm"), "--checkpoint", str(run / "model.pt"),
                 "--steps", "3", "--leapfrog", "2", "-k", "2", "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("AIS log p(x): ") and "3 held-out examples" in out
