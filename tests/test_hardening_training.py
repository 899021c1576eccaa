"""`gmc train` and `gmc sample` lose no data: output folder checked, locked and probed before the
first epoch, atomic writes whose failures are one-line errors, divergence keeps the last good
epoch on disk, `--resume` continues bitwise-identically, and damaged checkpoints are refused."""
import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gmc.cli import main
from gmc.runtime import images, run_folder
from gmc.runtime.train import CHECKPOINT_FORMAT, load_checkpoint

ROOT = Path(__file__).parent.parent
VAE = ROOT / "examples" / "vae.gm"
FAST = ["--data", "digits", "--quiet", "--batch-size", "512"]


def train(out, *extra, epochs=1):
    return main(["train", str(VAE), *FAST, "--epochs", str(epochs), "--out", str(out), *map(str, extra)])


def one_line_error(capsys, *fragments) -> str:
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def leftovers(folder: Path) -> list[str]:
    """Temporary or probe files left in an output folder."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".tmp", ".tmp.pt", ".tmp.json", ".tmp.png")))


def epoch_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("epoch")]


# ---- the output folder, before the first epoch --------------------------------------------

def test_out_that_is_a_file_is_refused_before_training(tmp_path, capsys):
    (tmp_path / "taken").write_text("not a folder")
    assert train(tmp_path / "taken") == 1
    one_line_error(capsys, "is a file, not a folder")


def test_out_under_a_file_cannot_be_created(tmp_path, capsys):
    (tmp_path / "taken").write_text("not a folder")
    assert train(tmp_path / "taken" / "run") == 1
    one_line_error(capsys, "cannot create the folder")


def test_model_pt_that_is_a_folder_is_refused_before_training(tmp_path, capsys):
    (tmp_path / "run" / "model.pt").mkdir(parents=True)
    assert train(tmp_path / "run") == 1
    line = one_line_error(capsys, "model.pt is a folder")
    assert "epoch" not in line


def test_read_only_out_is_found_before_the_first_epoch(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    out.mkdir()
    out.chmod(0o555)
    probe = out / "probe"
    try:
        probe.write_text("")
        writable_anyway = True  # root ignores permission bits: make the probe's write fail instead
    except PermissionError:
        writable_anyway = False
    if writable_anyway:
        probe.unlink()

        def read_only(*args, **kwargs):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        monkeypatch.setattr(run_folder.tempfile, "mkstemp", read_only)
    try:
        status = train(out)
    finally:
        out.chmod(0o755)
    assert status == 1
    err = capsys.readouterr().err
    assert "cannot write there" in err and "Traceback" not in err and not epoch_lines(err)
    assert not (out / "model.pt").exists()


# ---- I/O failures during the run ----------------------------------------------------------

def test_disk_full_while_saving_an_epoch_is_one_line_and_keeps_the_last_checkpoint(tmp_path, capsys, monkeypatch):
    from gmc.runtime import train as train_module

    calls = []
    real_write = train_module._atomic_write

    def atomic_write(path, write, *args):  # the 3rd write (epoch 1's model.pt) hits a full disk
        calls.append(path)
        if len(calls) == 3:
            def full(f):
                f.write(b"half a checkpoint")
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real_write(path, full, *args)
        return real_write(path, write, *args)
    monkeypatch.setattr(train_module, "_atomic_write", atomic_write)
    out = tmp_path / "run"
    assert train(out) == 1
    one_line_error(capsys, "cannot write", "model.pt", os.strerror(errno.ENOSPC))
    assert leftovers(out) == []
    ckpt = load_checkpoint(out / "model.pt")  # the epoch-0 checkpoint, intact
    assert ckpt["extra"]["epoch"] == 0 and ckpt["history"]["epoch"] == []


def test_disk_full_while_drawing_samples_leaves_no_temporary_file(tmp_path, capsys, monkeypatch):
    def full(samples, path, *args, **kwargs):
        Path(path).write_bytes(b"\x89PNG half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(images, "save_sample_grid", full)
    out = tmp_path / "run"
    assert train(out) == 1
    one_line_error(capsys, "samples.png", os.strerror(errno.ENOSPC))
    assert leftovers(out) == [] and not (out / "samples.png").exists()
    assert json.loads((out / "metrics.json").read_text())["epoch"] == [1]


# ---- divergence ---------------------------------------------------------------------------

def test_divergence_in_the_first_epoch_writes_the_initial_parameters(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(out, "--lr", "1e30", "--seed", "3") == 1
    one_line_error(capsys, "training diverged", "initial ones", "--resume")
    assert json.loads((out / "metrics.json").read_text()) == {"epoch": [], "train_loss": [], "test_loss": []}
    from gmc.compiler import driver

    _, cls = driver.compile_class(VAE.read_text(), "vae.gm")
    torch.manual_seed(3)
    initial = cls().state_dict()
    saved = load_checkpoint(out / "model.pt")["state_dict"]
    assert saved.keys() == initial.keys()
    assert all(torch.equal(saved[k], initial[k]) for k in initial)


# ---- the lock -----------------------------------------------------------------------------

@pytest.mark.skipif(run_folder.fcntl is None, reason="no fcntl.flock on this system")
def test_a_second_run_into_a_locked_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    with run_folder.claimed_folder(out):  # another run holds the folder
        assert train(out) == 1
        one_line_error(capsys, "another run", f"process {os.getpid()}")
        assert not (out / "model.pt").exists()
    assert train(out) == 0  # released: the .lock file left behind does not block
    assert (out / run_folder.LOCK_NAME).exists()


# ---- resume -------------------------------------------------------------------------------

def gmc(*args, env=None):
    return subprocess.run([sys.executable, "-m", "gmc", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


@pytest.mark.slow
def test_resume_after_sigkill_gives_the_same_metrics_as_an_uninterrupted_run(tmp_path):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    args = ["train", VAE, *FAST, "--epochs", "4", "--seed", "5"]
    assert gmc(*args, "--out", whole).returncode == 0
    killed = gmc(*args, "--out", cut, env={"GMC_TEST_KILL_AFTER_EPOCH": "2"})
    assert killed.returncode == -9  # SIGKILL: no cleanup ran
    assert json.loads((cut / "metrics.json").read_text())["epoch"] == [1, 2]
    resumed = gmc("train", VAE, "--resume", cut, "--quiet")  # the dead run's lock does not block
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming after epoch 2" in resumed.stderr
    assert (cut / "metrics.json").read_bytes() == (whole / "metrics.json").read_bytes()
    a, b = load_checkpoint(whole / "model.pt"), load_checkpoint(cut / "model.pt")
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])


def test_resume_in_process_continues_the_history_and_may_extend_it(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(out, epochs=1) == 0
    assert main(["train", str(VAE), "--resume", str(out), "--epochs", "2", "--quiet"]) == 0
    assert json.loads((out / "metrics.json").read_text())["epoch"] == [1, 2]
    ckpt = load_checkpoint(out / "model.pt")
    assert ckpt["extra"]["epochs"] == 2 and ckpt["training"]["epoch"] == 2


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("finished") / "run"
    assert train(out, epochs=1) == 0
    return out


@pytest.mark.parametrize("extra, fragment", [
    ([], "already finished (1 of 1 epochs)"),
    (["--epochs", "3", "--seed", "9"], "--seed 9 differs from 0"),
    (["--epochs", "3", "--batch-size", "7"], "--batch-size 7 differs from 512"),
    (["--epochs", "3", "--set", "beta=2"], "--set differs"),
    (["--epochs", "3", "--out", "elsewhere"], "differs from --resume"),
])
def test_resume_refuses_what_it_cannot_continue(finished_run, capsys, extra, fragment):
    before = (finished_run / "model.pt").read_bytes()
    assert main(["train", str(VAE), "--resume", str(finished_run), "--quiet", *extra]) == 1
    one_line_error(capsys, fragment)
    assert (finished_run / "model.pt").read_bytes() == before


def test_resume_refuses_another_source(finished_run, tmp_path, capsys):
    edited = tmp_path / "vae.gm"
    edited.write_text(VAE.read_text() + "# edited\n")
    assert main(["train", str(edited), "--resume", str(finished_run), "--epochs", "3", "--quiet"]) == 1
    one_line_error(capsys, "different source")


def test_resume_refuses_a_checkpoint_without_training_state(finished_run, tmp_path, capsys):
    out = tmp_path / "old"
    out.mkdir()
    ckpt = torch.load(finished_run / "model.pt", weights_only=True)
    del ckpt["training"]
    torch.save(ckpt, out / "model.pt")
    assert main(["train", str(VAE), "--resume", str(out), "--epochs", "3", "--quiet"]) == 1
    one_line_error(capsys, "holds no training state")


def test_resume_of_a_folder_without_checkpoint_creates_nothing(tmp_path, capsys):
    assert main(["train", str(VAE), "--resume", str(tmp_path / "none"), "--quiet"]) == 1
    one_line_error(capsys, "no checkpoint")
    assert not (tmp_path / "none").exists()


def test_train_without_data_or_resume_is_a_clear_error(tmp_path, capsys):
    assert main(["train", str(VAE), "--out", str(tmp_path / "run")]) == 1
    one_line_error(capsys, "--data is required")


# ---- damaged checkpoints in `gmc sample` ----------------------------------------------------

def _damaged(finished_run, tmp_path, change) -> Path:
    ckpt = torch.load(finished_run / "model.pt", weights_only=True)
    ckpt = change(ckpt)
    path = tmp_path / "damaged.pt"
    torch.save(ckpt, path)
    return path


def _first_weight(ckpt):
    return next(iter(ckpt["state_dict"]))


def _drop_weight(ckpt):
    del ckpt["state_dict"][_first_weight(ckpt)]
    return ckpt


def _reshape_weight(ckpt):
    name = _first_weight(ckpt)
    ckpt["state_dict"][name] = torch.zeros(3, 3)
    return ckpt


def _nan_weight(ckpt):
    ckpt["state_dict"][_first_weight(ckpt)][0] = float("nan")
    return ckpt


def _another_model(ckpt):
    ckpt["class_name"] = "CVAE"
    return ckpt


def _extra_weight(ckpt):
    ckpt["state_dict"]["head.weight"] = torch.zeros(2)
    return ckpt


@pytest.mark.parametrize("change, fragment", [
    (lambda c: {**c, "format": "gmc-checkpoint-0"}, "unsupported checkpoint format 'gmc-checkpoint-0'"),
    (lambda c: [c], "not a gmc checkpoint"),
    (lambda c: {k: v for k, v in c.items() if k != "state_dict"}, "missing state_dict"),
    (lambda c: {**c, "state_dict": [1, 2]}, "'state_dict' is list"),
    (lambda c: {**c, "source": 3}, "'source' is int"),
    (lambda c: {**c, "history": {"epoch": [1], "train_loss": [], "test_loss": []}}, "history is damaged"),
    (lambda c: {**c, "extra": {"params": {"beta": "big"}}}, "'params' must map"),
    (_drop_weight, "missing weights"),
    (_extra_weight, "unexpected weights 'head.weight'"),
    (_reshape_weight, "has shape [3, 3]"),
    (_nan_weight, "holds NaN or infinite values"),
    (_another_model, "checkpoint of model 'CVAE'"),
])
def test_sample_refuses_a_damaged_checkpoint_with_one_line(finished_run, tmp_path, capsys, change, fragment):
    path = _damaged(finished_run, tmp_path, change)
    output = tmp_path / "s.png"
    assert main(["sample", str(VAE), "--checkpoint", str(path), "-n", "4", "-o", str(output)]) == 1
    one_line_error(capsys, fragment)
    assert not output.exists()


def test_sample_from_a_good_checkpoint_still_works(finished_run, tmp_path):
    output = tmp_path / "s.png"
    assert main(["sample", str(VAE), "--checkpoint", str(finished_run / "model.pt"), "-n", "4", "-o", str(output)]) == 0
    assert output.read_bytes()[:4] == b"\x89PNG" and leftovers(tmp_path) == []


def test_checkpoint_holds_what_resume_needs(finished_run):
    ckpt = load_checkpoint(finished_run / "model.pt")
    assert ckpt["format"] == CHECKPOINT_FORMAT
    training = ckpt["training"]
    assert training["epoch"] == 1 and training["history"] == ckpt["history"]
    assert set(training["rng"]) == {"torch", "cuda", "shuffle", "python", "numpy"}
    assert training["optimizer"]["state"]  # Adam's moments after one epoch
    assert {k: ckpt["extra"][k] for k in ("epochs", "batch_size", "lr", "seed", "data", "loss")} == {
        "epochs": 1, "batch_size": 512, "lr": 1e-3, "seed": 0, "data": "digits", "loss": "loss"}


# ---- the Python API: fit(on_state=..., resume=...) -------------------------------------------

class NoisyGaussian(torch.nn.Module):
    """A Gaussian NLL with a Monte Carlo term that draws from torch's, Python's and numpy's global
    generators, so a resumed run matches only if all three are restored; ``nan_at`` makes the
    loss NaN at that (1-based) step."""

    def __init__(self, nan_at=None):
        super().__init__()
        self.mean = torch.nn.Parameter(torch.zeros(2))
        self.steps, self.nan_at = 0, nan_at

    def loss(self, name, x):
        import random

        import numpy as np

        self.steps += self.training
        noise = torch.randn(()) * 1e-3 + random.random() * 1e-3 + float(np.random.rand()) * 1e-3
        value = 0.5 * ((x - self.mean) ** 2).sum(-1).mean() + noise
        return value * float("nan") if self.steps == self.nan_at else value


def _fit(model, **kw):
    from gmc.runtime.train import fit

    x = torch.randn(40, 2, generator=torch.Generator().manual_seed(1)) + 3
    return fit(model, "nll", {"x": x[:30]}, {"x": x[30:]}, batch_size=7, lr=0.1, seed=4, progress=False, log=None, **kw)


def _saved_state(tmp_path, model, epoch, history, training):
    """Round-trip the state through a checkpoint file, as the command line does."""
    from gmc.runtime.train import save_checkpoint

    path = tmp_path / f"e{epoch}.pt"
    save_checkpoint(path, model, source="", source_path="", class_name="G", history=history, training=training)
    return path


def test_fit_resumed_from_any_epoch_matches_the_uninterrupted_history(tmp_path):
    states, original = [], NoisyGaussian()
    whole = _fit(original, epochs=4,
                 on_state=lambda e, h, s: states.append(_saved_state(tmp_path, original, e, h, s)))
    assert len(states) == 5  # before epoch 1, then after each
    for k in (0, 2, 3):
        ckpt = load_checkpoint(states[k])
        model = NoisyGaussian()
        model.load_state_dict(ckpt["state_dict"])
        torch.manual_seed(123)  # whatever happened in between
        resumed = _fit(model, epochs=4, resume=ckpt["training"])
        assert resumed.to_json_dict() == whole.to_json_dict()
        assert torch.equal(model.mean, original.mean)


def test_divergence_after_some_epochs_has_reported_every_finished_one(tmp_path):
    from gmc.runtime.errors import TrainingError

    seen = []
    with pytest.raises(TrainingError, match="diverged"):
        _fit(NoisyGaussian(nan_at=12), epochs=4, on_state=lambda e, h, s: seen.append((e, list(h.epoch))))
    assert seen == [(0, []), (1, [1]), (2, [1, 2])]  # 5 steps per epoch: step 12 is in epoch 3


def test_resume_state_is_validated(tmp_path):
    from gmc.runtime.errors import DataError

    states, model = [], NoisyGaussian()
    _fit(model, epochs=2, on_state=lambda e, h, s: states.append(load_checkpoint(
        _saved_state(tmp_path, model, e, h, s))["training"]))
    with pytest.raises(DataError, match="already finished: it holds 2 of 2 epochs"):
        _fit(NoisyGaussian(), epochs=2, resume=states[2])
    with pytest.raises(DataError, match="expected 'epoch', 'history', 'optimizer' and 'rng'"):
        _fit(NoisyGaussian(), epochs=3, resume={"epoch": 1})
    with pytest.raises(DataError, match="random number generator state is damaged"):
        _fit(NoisyGaussian(), epochs=3, resume={**states[1], "rng": {"torch": torch.zeros(3)}})
    with pytest.raises(DataError, match="optimizer state does not fit"):
        _fit(NoisyGaussian(), epochs=3, resume={**states[1], "optimizer": {"state": {}, "param_groups": []}})
