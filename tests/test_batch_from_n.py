"""Losses that read no data (a GAN generator's) draw a batch of the size the caller gives."""
import pytest
import torch

import gmc
from gmc.runtime import train
from gmc.runtime.errors import DataError

pytestmark = pytest.mark.usefixtures("float64")  # tests/conftest.py

_GAN_SOURCE = """
var x: real[4]
var xg: real[4]
var z: real[2]
net gen(z) -> real[4] = MLP(16)
net disc(x) -> real = MLP(16)
p(z) = Normal(0, 1)
p(xg|z) = Deterministic(gen(z))
p(xg,z) = p(xg|z) p(z)
loss d = -mean(log(sigmoid(disc(x)))) - mean(E_{p(xg,z)}[log(1 - sigmoid(disc(xg)))])
loss g = -mean(E_{p(xg,z)}[log(sigmoid(disc(xg)))])
"""
GAN = gmc.compile_source(_GAN_SOURCE, name="Gan")


@pytest.mark.parametrize("n", [1, 7, 128])
def test_generator_loss_draws_n_examples(n):
    """-mean over n draws of log sigmoid(disc(gen(z))), against the same noise by hand; a
    scalar-output net (-> real) gives one value per draw."""
    m = GAN()
    torch.manual_seed(3)
    value = m.loss("g", n=n)
    torch.manual_seed(3)
    z = torch.randn(n, 2)
    scores = m.disc(m.gen(z))
    assert scores.shape == (n,)
    torch.testing.assert_close(value, -torch.log(torch.sigmoid(scores)).mean(), rtol=1e-12, atol=1e-12)


def test_scalar_output_net_without_batch_axes():
    m = GAN()
    assert m.disc(torch.randn(4)).shape == ()


def test_n_defaults_to_one_draw_where_no_data_sets_the_batch_and_is_refused_elsewhere():
    m = GAN()
    torch.manual_seed(5)
    one = m.loss("g")
    torch.manual_seed(5)
    torch.testing.assert_close(one, m.loss("g", n=1), rtol=0, atol=0)
    for bad in (0, -2, 1.5, True, None):
        with pytest.raises(DataError, match="reads no data, so it needs the number of draws"):
            m.loss("g", n=bad if bad is not None else "3")
    with pytest.raises(DataError, match="does not take 'n'; it takes: x"):
        m.loss("d", x=torch.randn(3, 4), n=3)


def test_fit_passes_its_batch_size_as_n():
    """fit draws as many examples per step as a data batch has (5 steps of 4, then 2)."""
    m = GAN()
    seen = []
    original = m.loss_g

    def spy(n):
        seen.append(n)
        return original(n=n)
    m.loss_g = spy
    data = {"x": torch.zeros(22, 4)}
    train.fit(m, "g", data, {"x": torch.zeros(3, 4)}, epochs=1, batch_size=4, progress=False)
    assert seen[:6] == [4, 4, 4, 4, 4, 2] and seen[6:] == [3]


def test_gmc_train_trains_a_loss_that_reads_no_data(tmp_path):
    """gmc train --loss g: each step draws a batch of --batch-size examples (the data set only
    sets the number of steps); the held-out loss is finite."""
    import json
    import subprocess
    import sys

    program = tmp_path / "gan.gm"
    program.write_text(_GAN_SOURCE)
    result = subprocess.run([sys.executable, "-m", "gmc", "train", program, "--data", "iris", "--loss", "g",
                             "--epochs", "1", "--batch-size", "16", "--out", tmp_path / "run", "--quiet"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["epochs"] == 1 and 0 < summary["final_test_loss"] < 10
