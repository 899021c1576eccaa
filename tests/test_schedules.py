"""Param schedules (Burgess et al. 2018's capacity C): parsing, values, and fit's use of them."""
import pytest
import torch

import gmc
from gmc.cli import main
from gmc.runtime.errors import DataError
from gmc.runtime.schedules import Schedule, check_params, parse_schedule
from gmc.runtime.train import fit


def test_parse_and_values():
    s = parse_schedule("C=linear:0:5:2000")
    assert s == Schedule("C", 0.0, 5.0, 2000)
    assert [s.value(t) for t in (0, 1000, 2000, 5000)] == [0.0, 2.5, 5.0, 5.0]
    assert str(s) == "C=linear:0:5:2000"
    assert parse_schedule("beta=linear:4:1:10").value(5) == 2.5


@pytest.mark.parametrize("text", ["C", "C=linear:0:5", "C=cosine:0:5:10", "C=linear:a:5:10", "C=linear:0:5:0",
                                  "1C=linear:0:5:10", "C=linear:0:inf:10"])
def test_bad_schedules_are_data_errors(text):
    with pytest.raises(DataError, match="--schedule"):
        parse_schedule(text)


def test_unknown_or_repeated_param():
    with pytest.raises(DataError, match="no param 'D'.*its params: C"):
        check_params([parse_schedule("D=linear:0:1:2")], {"C": 0.0})
    with pytest.raises(DataError, match="scheduled twice"):
        check_params([parse_schedule("C=linear:0:1:2")] * 2, {"C": 0.0})


SOURCE = """
param C = 0.0
var x: real[1]
weight w: real[1] = 0.0
p(x) = Normal(w, 1)
loss = mean(0 * log p(x)) + C
"""


def test_fit_passes_the_scheduled_value_at_every_step():
    model = gmc.compile_source(SOURCE, name="Scheduled")()
    data = {"x": torch.zeros(10, 1)}
    # 2 steps per epoch; C at steps 0..5 = 0, .25, .5, .75, 1, 1
    history = fit(model, "loss", data, data, epochs=3, batch_size=5, progress=False, log=None,
                  schedules=(parse_schedule("C=linear:0:1:4"),))
    assert history.train_loss == pytest.approx([0.125, 0.625, 1.0])
    assert history.test_loss == pytest.approx([0.25, 0.75, 1.0])  # the value of the epoch's last step


@pytest.mark.parametrize("option, message", [
    (["--schedule", "beta=linear:0:1:10"], "no param 'beta'"),
    (["--loss", "nope"], "--loss nope: m.gm has no such loss (its losses: loss)"),
])
def test_cli_rejects_unknown_params_and_losses(tmp_path, capsys, option, message):
    path = tmp_path / "m.gm"
    path.write_text(SOURCE)
    assert main(["train", str(path), "--data", "digits", *option]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
