"""A model without losses (a prior, a likelihood and their product) is a complete program:
it compiles to a module that samples and scores; only training has nothing to do."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributions as D

import gmc
from gmc.runtime.errors import DataError

pytestmark = pytest.mark.usefixtures("float64")  # tests/conftest.py

PROGRAM = Path(__file__).parent / "golden" / "good" / "no_loss.gm"


def test_log_prob_and_sample_match_torch_distributions():
    torch.manual_seed(0)
    model = gmc.compile_file(PROGRAM)()
    drawn = model.sample("p(y,h)", n=5000)
    h, y = drawn["h"], drawn["y"]
    assert h.shape == (5000, 2) and y.shape == (5000,)
    loc = model.mean_of(h)
    reference = D.Normal(0.0, 1.0).log_prob(h).sum(-1) + D.Normal(loc, 0.5).log_prob(y)
    torch.testing.assert_close(model.log_prob("p(y,h)", y=y, h=h), reference, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(model.log_prob("p(h)", h=h), D.Normal(0.0, 1.0).log_prob(h).sum(-1))
    # the residual of y given h is Normal(0, 0.5): its mean within 5 standard errors of 0
    residual = y - loc
    assert abs(residual.mean().item()) < 5 * 0.5 / 5000 ** 0.5
    assert abs(residual.std().item() - 0.5) < 5 * 0.5 / (2 * 4999) ** 0.5


def test_forward_and_loss_say_there_is_no_loss():
    model = gmc.compile_file(PROGRAM)()
    with pytest.raises(DataError, match="defines no loss"):
        model()
    with pytest.raises(DataError, match="defines no loss"):
        model.loss()


def _gmc(*args):
    return subprocess.run([sys.executable, "-m", "gmc", *map(str, args)], capture_output=True, text=True)


def test_command_line_shows_it_and_train_says_there_is_nothing_to_train(tmp_path):
    info = _gmc("info", PROGRAM)
    assert info.returncode == 0 and "p(y,h) = p(y|h) p(h)" in info.stdout
    latex = _gmc("latex", PROGRAM)
    assert latex.returncode == 0 and r"p(y, h) = p(y \mid h)\,p(h)" in latex.stdout
    train = _gmc("train", PROGRAM, "--data", "iris", "--epochs", "1", "--out", tmp_path / "run")
    assert train.returncode == 1
    assert train.stderr == "error: no_loss.gm defines no loss: there is nothing to train (it can be sampled and " \
                           "scored from Python)\n"
