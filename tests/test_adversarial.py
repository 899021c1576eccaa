"""Adversarial models (issue 16): each generated divergence against a direct computation from
the critic's outputs on the same batch, the gradient penalty against torch.autograd.grad
written here, the detach rules of the two players, and training a game."""
import math
import re

import pytest
import torch
import torch.nn.functional as F

import gmc
from golden_io import ROOT
from gmc.runtime import adversarial

HEAD = """
const X = 6
const Z = 3
var x: real[X]
var z: real[Z]
net gen(z) -> real[X] = MLP(8)
p(z) = Normal(0, 1)
p(x|z) = Normal(loc=gen(z), scale=0.5)
p(x) = int_{z} p(x|z) p(z)
data p_data(x)
"""


def _model(game: str, critic: str = "net disc(x) -> real = MLP(8)", seed: int = 0):
    cls = gmc.compile_source(HEAD + critic + "\n" + game, name="Adv")
    torch.manual_seed(seed)
    return cls().double()


def _batch(seed=1, n=7):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 6, generator=g, dtype=torch.float64)


def test_js_critic_and_generators_match_discriminator_outputs():
    m = _model("game g = min_{gen} max_{disc} JS[p_data(x) || p(x), critic=disc]")
    x = _batch()
    fake = m.draw_g(x)
    real_logit, fake_logit = m.disc(x), m.disc(fake[0])
    bound = 0.5 * (torch.log(torch.sigmoid(real_logit)).mean() + torch.log(1 - torch.sigmoid(fake_logit)).mean()) \
        + math.log(2)
    torch.testing.assert_close(m.loss_g_disc(x, fake=fake), -bound, rtol=1e-12, atol=1e-12)
    nonsaturating = -0.5 * torch.log(torch.sigmoid(fake_logit)).mean()
    torch.testing.assert_close(m.loss_g_gen(x, fake=fake), nonsaturating, rtol=1e-12, atol=1e-12)

    mm = _model("game g = min_{gen} max_{disc} JS[p_data(x) || p(x), critic=disc, generator=minimax]")
    fake = mm.draw_g(x)
    fake_logit = mm.disc(fake[0])
    minimax = 0.5 * torch.log(1 - torch.sigmoid(fake_logit)).mean() + math.log(2)
    torch.testing.assert_close(mm.loss_g_gen(x, fake=fake), minimax, rtol=1e-12, atol=1e-12)


def test_js_critic_with_a_probability_output_reads_its_logit():
    m = _model("game g = min_{gen} max_{disc} JS[p_data(x) || p(x), critic=disc]", "net disc(x) -> unit = MLP(8)")
    x = _batch()
    fake = m.draw_g(x)
    p_real, p_fake = m.disc(x), m.disc(fake[0])
    bound = 0.5 * (torch.log(p_real).mean() + torch.log1p(-p_fake).mean()) + math.log(2)
    torch.testing.assert_close(m.loss_g_disc(x, fake=fake), -bound, rtol=1e-10, atol=1e-12)


def test_kl_density_ratio_estimate():
    m = _model("game g = min_{gen} max_{disc} KL[p(x) || p_data(x), critic=disc]")
    x = _batch()
    fake = m.draw_g(x)
    real_logit, fake_logit = m.disc(x), m.disc(fake[0])
    logistic = 0.5 * (F.logsigmoid(real_logit).mean() + F.logsigmoid(-fake_logit).mean()) + math.log(2)
    torch.testing.assert_close(m.loss_g_disc(x, fake=fake), -logistic, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(m.loss_g_gen(x, fake=fake), -fake_logit.mean(), rtol=1e-12, atol=1e-12)


def test_wasserstein_and_weights():
    m = _model("param lam = 3.0\ngame g = min_{gen} max_{disc} 2 * lam * W[p_data(x) || p(x), critic=disc, clip=0.01]")
    x = _batch()
    fake = m.draw_g(x)
    f_real, f_fake = m.disc(x), m.disc(fake[0])
    torch.testing.assert_close(m.loss_g_disc(x, fake=fake), -6.0 * (f_real.mean() - f_fake.mean()))
    torch.testing.assert_close(m.loss_g_gen(x, fake=fake, lam=0.5), -1.0 * f_fake.mean())
    assert type(m).games["g"].players[0].clip == (("disc", 0.01),)


def test_js_gradient_penalty_on_the_logit():
    m = _model("game g = min_{gen} max_{disc} JS[p_data(x) || p(x), critic=disc, penalty=2]")
    x = _batch()
    fake = m.draw_g(x)
    torch.manual_seed(3)
    value = m.loss_g_disc(x, fake=fake)
    torch.manual_seed(3)
    eps = torch.rand(len(x), 1, dtype=torch.float64)
    x_hat = (eps * x + (1 - eps) * fake[0].detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(m.disc(x_hat).sum(), x_hat)
    bound = 0.5 * (F.logsigmoid(m.disc(x)).mean() + F.logsigmoid(-m.disc(fake[0])).mean()) + math.log(2)
    torch.testing.assert_close(value, 2 * ((grad.norm(dim=1) - 1) ** 2).mean() - bound, rtol=1e-12, atol=1e-12)


def test_gradient_penalty_against_autograd_grad_by_hand():
    m = _model("game g = min_{gen} max_{disc} W[p_data(x) || p(x), critic=disc, penalty=10]")
    x = _batch()
    fake = m.draw_g(x)
    torch.manual_seed(5)
    value = m.loss_g_disc(x, fake=fake)
    torch.manual_seed(5)
    eps = torch.rand(len(x), 1, dtype=torch.float64)
    x_hat = (eps * x + (1 - eps) * fake[0].detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(m.disc(x_hat).sum(), x_hat)
    penalty = ((grad.norm(dim=1) - 1) ** 2).mean()
    w = m.disc(x).mean() - m.disc(fake[0]).mean()
    torch.testing.assert_close(value, 10 * penalty - w, rtol=1e-12, atol=1e-12)
    value.backward()  # the penalty is differentiable in the critic's weights (create_graph)
    assert all(p.grad is not None for p in m.disc.parameters())


def test_players_see_the_shared_draw_detached_only_for_the_critic():
    m = _model("game g = min_{gen} max_{disc} JS[p_data(x) || p(x), critic=disc]")
    x = _batch()
    fake = m.draw_g(x)
    m.loss_g_disc(x, fake=fake).backward()
    assert all(p.grad is None for p in m.gen.parameters())
    m.zero_grad(set_to_none=True)
    m.loss_g_gen(x, fake=fake).backward()
    assert all(p.grad is not None for p in m.gen.parameters())


def test_bernoulli_generator_is_read_as_probabilities():
    cls = gmc.compile_file(ROOT / "examples" / "gan.gm")
    torch.manual_seed(0)
    m = cls()
    z_draw = m.draw_gan(torch.zeros(5, 64))[0]
    assert z_draw.shape == (5, 64) and bool(((z_draw > 0) & (z_draw < 1)).all())


def test_conditional_critic_reads_the_labels_of_the_batch():
    source = re.sub(r",\s*penalty=1\]", "]", (ROOT / "examples" / "cgan.gm").read_text())
    assert "penalty=" not in source
    cls = gmc.compile_source(source, name="CGAN")
    torch.manual_seed(0)
    m = cls().double()
    x = torch.bernoulli(torch.full((4, 64), 0.5, dtype=torch.float64))
    y = F.one_hot(torch.tensor([0, 3, 3, 9]), 10).double()
    fake = m.draw_cgan(x, y)
    bound = 0.5 * (F.logsigmoid(m.disc(x, y)).mean() + F.logsigmoid(-m.disc(fake[0], y)).mean()) + math.log(2)
    torch.testing.assert_close(m.loss_cgan_disc(x, y, fake=fake), -bound)


def test_scalar_output_critic_in_a_loss_that_reads_no_data():
    """The crash of issue 16: a scalar-output net in a loss drawing its own batch."""
    cls = gmc.compile_source(HEAD + "net disc(x) -> real = MLP(8)\nloss g = -mean(E_{p(x)}[log(sigmoid(disc(x)))])",
                             name="Scalar")
    m = cls()
    for n in (1, 5):
        value = m.loss("g", n=n)
        assert value.shape == () and math.isfinite(value.item())
        value.backward()


def test_fit_game_reports_each_player_and_updates_only_its_nets():
    cls = gmc.compile_source(HEAD + "net disc(x) -> real = MLP(8)\n"
                             "game g = min_{gen; lr=1e-3} max_{disc; lr=1e-3, steps=2} JS[p_data(x) || p(x), critic=disc]",
                             name="Fit")
    torch.manual_seed(0)
    m = cls()
    data = {"x": torch.randn(64, 6)}
    metrics = adversarial.fit_game(m, "g", data, {"x": torch.randn(16, 6)}, epochs=2, batch_size=16, seed=0)
    assert metrics["epoch"] == [1, 2] and set(metrics["players"]) == {"gen", "disc"}
    assert all(math.isfinite(v) for k in metrics["players"] for v in metrics["players"][k])
    opts = adversarial.optimizers(m, cls.games["g"], lr={"disc": 0.5}, betas={"gen": (0.0, 0.9)})
    assert opts["disc"].param_groups[0]["lr"] == 0.5 and opts["gen"].param_groups[0]["betas"] == (0.0, 0.9)
    assert opts["gen"].param_groups[0]["lr"] == 1e-3


@pytest.mark.slow
def test_gmc_train_runs_a_game_and_writes_each_players_loss(tmp_path):
    import json

    from gmc.cli import main

    out = tmp_path / "run"
    assert main(["train", str(ROOT / "examples" / "wgan_gp.gm"), "--data", "digits", "--epochs", "1", "--quiet",
                 "--out", str(out), "--player-lr", "gen=1e-4", "--player-betas", "critic=0.0,0.9"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["players"]) == {"gen", "critic"} and metrics["game"] == "wgan"
    assert (out / "samples.png").stat().st_size > 0 and (out / "model.pt").exists()
    assert 0 < metrics["evaluation"]["frechet_distance"] and 1 <= metrics["evaluation"]["class_coverage"] <= 10
    assert main(["sample", str(ROOT / "examples" / "wgan_gp.gm"), "--checkpoint", str(out / "model.pt"),
                 "-o", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").stat().st_size > 0


@pytest.mark.parametrize("game, words", [
    ("game g = min_{gen} max_{disc} -JS[p_data(x) || p(x), critic=disc]", "positive weight"),
    ("game g = min_{gen, disc} max_{disc} JS[p_data(x) || p(x), critic=disc]", "listed by both players"),
    ("game g = min_{gen; lr=-1} max_{disc} JS[p_data(x) || p(x), critic=disc]", "lr must be positive"),
    ("game g = min_{gen; speed=1} max_{disc} JS[p_data(x) || p(x), critic=disc]", "options are"),
    ("game g = min_{gen} max_{disc} KL[p_data(x) || p(x), critic=disc]", "model first"),
    ("game g = min_{gen} max_{disc} JS[p_data(x) || p(x)]".replace("]", ", clip=1]"), "its options are"),
    ("game g = min_{gen} max_{disc} JS[p_data(x) || p(x), generator=minimax]", "name its critic"),
    ("game g = min_{gen} max_{disc} W[p_data(x) || p(x), critic=disc, penalty=1, clip=0.1]", "choose one"),
    ("game g = min_{gen} max_{disc} JS[p(x) || p(x), critic=disc]", "compare the data distribution"),
    ("game g = min_{gen} min_{disc} JS[p_data(x) || p(x), critic=disc]", "one min_{...} player"),
    ("game g = min_{gen} max_{disc} JS[p_data(x) || p(x), critic=disc] + l2", "weighted sum"),
    ("loss l = mean(E_{p(x)}[sum_event(x)])\ngame g = min_{gen} max_{disc} JS[p_data(x) || p(x), critic=disc] + l",
     "reads no data"),
])
def test_game_mistakes_are_located_errors(game, words):
    with pytest.raises(gmc.GmcError) as error:
        gmc.compile_source(HEAD + "net disc(x) -> real = MLP(8)\n" + game, name="Bad")
    text = str(error.value)
    assert words in text and "line" in text, text


RESUMABLE = HEAD + ("net disc(x) -> real = MLP(8)\n"
                    "game g = min_{gen; lr=1e-3} max_{disc; lr=1e-3, steps=2} JS[p_data(x) || p(x), critic=disc]\n")


def test_a_resumed_game_equals_the_uninterrupted_run():
    """3 epochs in one go against 1 epoch, a state saved and loaded as a checkpoint holds it
    (torch.save / weights_only load), and 2 more epochs from it: the same metrics and weights,
    bit for bit. With 2 critic steps an epoch (6 batches) ends inside a shuffle (4 batches),
    so the shuffle's position must be restored too."""
    import io

    cls = gmc.compile_source(RESUMABLE, name="Fit")
    data, test = {"x": torch.randn(64, 6)}, {"x": torch.randn(16, 6)}

    def fresh():
        torch.manual_seed(0)
        return cls()

    whole = fresh()
    torch.manual_seed(5)
    expected = adversarial.fit_game(whole, "g", data, test, epochs=3, batch_size=16, seed=0)
    first, saved = fresh(), {}

    def keep(epoch, state):
        buffer = io.BytesIO()
        torch.save({"state": state, "weights": first.state_dict()}, buffer)
        saved[epoch] = buffer.getvalue()

    torch.manual_seed(5)
    adversarial.fit_game(first, "g", data, test, epochs=1, batch_size=16, seed=0, on_state=keep)
    torch.manual_seed(123)  # whatever ran in between does not matter
    checkpoint = torch.load(io.BytesIO(saved[1]), weights_only=True)
    resumed = fresh()
    resumed.load_state_dict(checkpoint["weights"])
    got = adversarial.fit_game(resumed, "g", data, test, epochs=3, batch_size=16, seed=0,
                               resume=checkpoint["state"])
    assert got == expected
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name
    from gmc.runtime.errors import DataError

    with pytest.raises(DataError, match="already finished"):
        adversarial.fit_game(fresh(), "g", data, test, epochs=1, batch_size=16, seed=0, resume=checkpoint["state"])


@pytest.mark.slow
def test_gmc_train_resumes_a_game_and_takes_device(tmp_path, capsys):
    """The command line: --device cpu is taken (it was ignored), and --resume continues a game
    run killed after its first epoch's checkpoint to the metrics of an uninterrupted run."""
    import json
    import subprocess
    import sys

    import numpy as np

    from gmc.cli import main
    from gmc.training import KILL_HOOK

    source = tmp_path / "g.gm"
    source.write_text(RESUMABLE)
    csv = tmp_path / "x.csv"
    np.savetxt(csv, np.random.default_rng(0).normal(size=(60, 6)), delimiter=",")
    common = [str(source), "--data", str(csv), "--batch-size", "16", "--quiet", "--device", "cpu"]
    assert main(["train", *common, "--epochs", "2", "--out", str(tmp_path / "whole")]) == 0
    assert "2 epochs, on cpu" in capsys.readouterr().err
    killed = subprocess.run([sys.executable, "-m", "gmc", "train", *common, "--epochs", "2", "--out",
                             str(tmp_path / "cut")], env={**__import__("os").environ, KILL_HOOK: "1"},
                            capture_output=True, text=True, timeout=300)
    assert killed.returncode != 0
    assert json.loads((tmp_path / "cut" / "metrics.json").read_text())["epoch"] == [1]
    assert main(["train", str(source), "--resume", str(tmp_path / "cut"), "--quiet"]) == 0
    whole = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    cut = json.loads((tmp_path / "cut" / "metrics.json").read_text())
    assert cut == whole and cut["epoch"] == [1, 2]
    capsys.readouterr()
    assert main(["train", str(source), "--resume", str(tmp_path / "cut"), "--quiet"]) == 1
    assert "already finished (2 of 2 epochs)" in capsys.readouterr().err
