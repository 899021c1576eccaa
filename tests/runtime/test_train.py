"""Tests of gmc.runtime.train: fit, checkpoints, metrics."""
import json
import math

import pytest
import torch
from torch import nn

import gmc
from gmc.runtime.errors import DataError, TrainingError
from gmc.runtime.train import History, fit, load_checkpoint, save_checkpoint, write_metrics


class Gaussian(nn.Module):
    """Diagonal Gaussian with learnable mean and log-scale; loss = mean NLL in nats per example."""

    def __init__(self, dim):
        super().__init__()
        self.mean = nn.Parameter(torch.zeros(dim))
        self.log_scale = nn.Parameter(torch.zeros(dim))

    def loss(self, name, x):
        assert name == "nll"
        z = (x - self.mean) * torch.exp(-self.log_scale)
        nll = 0.5 * z ** 2 + self.log_scale + 0.5 * math.log(2 * math.pi)
        return nll.sum(-1).mean()


def _data(n=400, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, generator=g) * torch.tensor([0.5, 2.0]) + torch.tensor([3.0, -2.0])


def _min_nll(x):
    """Closed-form minimum mean NLL: MLE mean and (biased) variance, in nats per example."""
    var = x.var(0, unbiased=False)
    return float((0.5 * torch.log(2 * math.pi * var) + 0.5).sum())


def test_fit_reaches_closed_form_minimum():
    xtr, xte = _data(400, 0), _data(100, 1)
    model = Gaussian(2)
    lines, calls = [], []
    hist = fit(model, "nll", {"x": xtr}, {"x": xte}, epochs=60, batch_size=64, lr=0.05, progress=False,
               log=lines.append, on_epoch=lambda e, h: calls.append((e, len(h.epoch))))
    assert hist.epoch == list(range(1, 61)) and len(hist.train_loss) == len(hist.test_loss) == 60
    assert hist.train_loss[-1] < hist.train_loss[0] - 1.0
    assert calls == [(e, e) for e in range(1, 61)]
    assert lines[11].startswith("epoch  12/60  train ") and lines[11].endswith("(nats per example)")
    with torch.no_grad():
        final = float(model.loss("nll", xtr))
    best = _min_nll(xtr)
    # tolerance: within 0.01 nats of the exact minimum on the training data
    assert best <= final + 1e-6 and final - best < 0.01, (final, best)
    assert abs(hist.test_loss[-1] - _min_nll(xte)) < 0.2
    assert model.training


def test_fit_is_deterministic():
    xtr, xte = _data(100, 0), _data(30, 1)
    runs = []
    for _ in range(2):
        runs.append(fit(Gaussian(2), "nll", {"x": xtr}, {"x": xte}, epochs=3, batch_size=32, lr=0.01,
                        progress=False, log=None).to_json_dict())
    assert runs[0] == runs[1]


def test_fit_progress_bar_and_print(capsys):
    xtr, xte = _data(50, 0), _data(10, 1)
    fit(Gaussian(2), "nll", {"x": xtr}, {"x": xte}, epochs=2, batch_size=16)
    out = capsys.readouterr().out
    assert "epoch  1/2  train " in out and "epoch  2/2" in out


class Exploding(Gaussian):
    """Returns NaN at the given step (1-based, counting all steps)."""

    def __init__(self, bad_step, grad=False):
        super().__init__(2)
        self.bad_step, self.grad, self.calls, self.before = bad_step, grad, 0, None

    def loss(self, name, x):
        if not torch.is_grad_enabled():
            return super().loss(name, x)
        self.calls += 1
        value = super().loss(name, x)
        if self.calls == self.bad_step:
            self.before = {k: v.detach().clone() for k, v in self.state_dict().items()}
            if self.grad:  # finite value, NaN gradient: d/dm sqrt(|m - m|) at 0
                return value + torch.sqrt((self.mean - self.mean.detach()).abs()).sum()
            return value * float("nan")
        return value


@pytest.mark.parametrize("grad", [False, True])
def test_nan_raises_and_keeps_parameters(grad):
    xtr, xte = _data(40, 0), _data(10, 1)
    model = Exploding(bad_step=7, grad=grad)  # 40 / 16 -> 3 steps per epoch: epoch 3, step 1
    with pytest.raises(TrainingError) as info:
        fit(model, "nll", {"x": xtr}, {"x": xte}, epochs=5, batch_size=16, lr=0.1, progress=False, log=None)
    message = str(info.value)
    assert "epoch 3, step 1 of 3" in message and "parameters from before" in message
    assert ("gradient of parameter 'mean'" in message) if grad else ("is nan" in message)
    for k, v in model.state_dict().items():
        assert torch.equal(v, model.before[k]), k


@pytest.mark.parametrize("grads, bad", [
    ([[1.0, 2.0], [3.0]], None),
    ([[3e38, 3e38], [3e38]], None),  # finite gradients whose sum overflows float32: not an error
    ([[1.0, 2.0], [float("inf")]], "b"),
    ([[float("inf"), 0.0], [float("-inf")]], "a"),  # +inf and -inf: their sum is NaN
    ([[1.0, float("nan")], [2.0]], "a"),
])
@pytest.mark.parametrize("fused", [True, False])
def test_nonfinite_gradient_names_the_first_parameter_with_nan_or_inf(grads, bad, fused, monkeypatch):
    from gmc.runtime.train import _nonfinite_gradient

    if not fused:  # the sum-of-sums test that stands in where torch lacks the fused check
        monkeypatch.delattr(torch, "_amp_foreach_non_finite_check_and_unscale_", raising=False)
    named = []
    for name, values in zip("ab", grads):
        p = nn.Parameter(torch.zeros(len(values)))
        p.grad = torch.tensor(values)
        named.append((name, p))
    named.append(("no_grad", nn.Parameter(torch.zeros(1))))
    assert _nonfinite_gradient(named) == bad


def test_fit_validates_inputs():
    x = torch.zeros(10, 2)
    ok = dict(progress=False, log=None)
    cases = [
        (({"x": x, "y": torch.zeros(9)}, {"x": x, "y": torch.zeros(10)}), {}, "'x' has 10 examples but 'y' has 9"),
        (({"x": x}, {"z": x}), {}, "same variables"),
        (({"x": x}, {"x": x}), {"batch_size": 0}, "batch size must be an integer >= 1"),
        (({"x": x}, {"x": x}), {"epochs": 0}, "epochs must be an integer >= 1"),
        (({"x": x}, {"x": x}), {"lr": 0.0}, "learning rate must be a finite number > 0"),
        (({"x": x}, {"x": x[:0]}), {}, "test data has no examples"),
    ]
    for (train, test), kw, fragment in cases:
        with pytest.raises(DataError) as info:
            fit(Gaussian(2), "nll", train, test, **ok, **kw)
        assert fragment in str(info.value)


# ---------------------------------------------------------------------------- checkpoints

def test_checkpoint_round_trip(tmp_path):
    model = Gaussian(3)
    with torch.no_grad():
        model.mean.copy_(torch.tensor([1.0, 2.0, 3.0]))
    hist = History([1, 2], [3.5, 2.5], [3.75, 2.75])
    path = tmp_path / "run" / "model.pt"
    save_checkpoint(path, model, source="model M {}", source_path="m.gm", class_name="M", history=hist,
                    extra={"seed": 0, "data": "digits", "image_shape": [8, 8]})
    assert [p.name for p in path.parent.iterdir()] == ["model.pt"]  # no temp file left
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "gmc-checkpoint-1" and raw["gmc_version"] == gmc.__version__
    assert raw["history"] == hist.to_json_dict() and raw["extra"]["image_shape"] == [8, 8]
    ckpt = load_checkpoint(path)
    assert ckpt["source"] == "model M {}" and ckpt["source_path"] == "m.gm" and ckpt["class_name"] == "M"
    fresh = Gaussian(3)
    fresh.load_state_dict(ckpt["state_dict"])
    assert torch.equal(fresh.mean, model.mean)
    save_checkpoint(path, model, source="", source_path="", class_name="M", history=None)
    assert load_checkpoint(path)["history"] is None and load_checkpoint(path)["extra"] == {}


def test_checkpoint_errors(tmp_path):
    with pytest.raises(DataError, match="checkpoint file not found"):
        load_checkpoint(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"this is not a checkpoint")
    with pytest.raises(DataError, match="not a gmc checkpoint"):
        load_checkpoint(junk)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(DataError, match="not a gmc checkpoint"):
        load_checkpoint(other)
    future = tmp_path / "future.pt"
    torch.save({"format": "gmc-checkpoint-9"}, future)
    with pytest.raises(DataError, match="unsupported checkpoint format"):
        load_checkpoint(future)
    with pytest.raises(TypeError, match="plain values"):
        save_checkpoint(tmp_path / "x.pt", Gaussian(1), source="", source_path="", class_name="M",
                        history=None, extra={"bad": object()})


def test_write_metrics(tmp_path):
    hist = History([1, 2], [2.0, 1.5], [2.25, 1.75])
    path = tmp_path / "metrics.json"
    write_metrics(path, hist)
    data = json.loads(path.read_text())
    assert list(data) == ["epoch", "train_loss", "test_loss"]
    assert data == {"epoch": [1, 2], "train_loss": [2.0, 1.5], "test_loss": [2.25, 1.75]}
    assert path.read_text().startswith('{\n  "epoch"')


# ---------------------------------------------------------------------------- batches and evaluation

class Recording(Gaussian):
    """Records (grad enabled, training mode, batch size) of every loss call."""

    def __init__(self, dim):
        super().__init__(dim)
        self.seen = []

    def loss(self, name, x):
        self.seen.append((torch.is_grad_enabled(), self.training, x.shape[0]))
        return super().loss(name, x)


def test_partial_batches_example_weights_and_no_grad_evaluation():
    xtr, xte = _data(23, 0), _data(7, 1)
    model = Recording(2)
    hist = fit(model, "nll", {"x": xtr}, {"x": xte}, epochs=2, batch_size=10, lr=1e-9, progress=False, log=None)
    seen = list(model.seen)
    # per epoch: 3 training steps (last partial batch kept) with grad in train mode, then the
    # held-out evaluation in one batch of 7 without grad in eval mode
    assert seen == [(True, True, 10), (True, True, 10), (True, True, 3), (False, False, 7)] * 2
    assert model.training  # back in train mode
    with torch.no_grad():  # lr ~ 0: the example-weighted epoch mean equals the full-data mean
        assert hist.train_loss[0] == pytest.approx(float(model.loss("nll", xtr)), abs=1e-4)
        assert hist.test_loss[-1] == pytest.approx(float(model.loss("nll", xte)), abs=1e-6)


def test_durable_writes_fsync_and_the_others_wait_for_flush_to_disk(tmp_path, monkeypatch):
    import os

    from gmc.runtime.train import flush_to_disk

    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    history = History([1], [2.0], [3.0])
    write_metrics(tmp_path / "fast.json", history, durable=False)
    save_checkpoint(tmp_path / "fast.pt", Gaussian(2), source="", source_path="x.gm", class_name="G",
                    history=history, durable=False)
    assert synced == []
    assert json.loads((tmp_path / "fast.json").read_text())["test_loss"] == [3.0]
    assert load_checkpoint(tmp_path / "fast.pt")["history"]["epoch"] == [1]
    write_metrics(tmp_path / "slow.json", history)
    assert len(synced) == 1
    flush_to_disk([tmp_path / "fast.json", tmp_path / "fast.pt", tmp_path / "missing.pt"])
    assert len(synced) == 4  # two files and their folder, once
