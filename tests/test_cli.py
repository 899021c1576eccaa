"""The command line: exit codes, outputs, and no tracebacks for user mistakes."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
VAE = ROOT / "examples" / "vae.gm"


def gmc(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "gmc", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_check_ok():
    result = gmc("check", VAE)
    assert result.returncode == 0
    assert "ok" in result.stdout


def test_check_bad_file_exits_1_without_traceback(tmp_path):
    bad = tmp_path / "bad.gm"
    bad.write_text("var x: binary[4]\np(x) = Bernoulli(prob=0.5)\nloss = mean(-log p(x))\n")
    result = gmc("check", bad)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "Semantic error in 'bad.gm', line 2, column 18 to column 21:" in result.stderr
    assert "Did you mean 'probs'?" in result.stderr


def test_check_missing_file_is_a_clear_error(tmp_path):
    result = gmc("check", tmp_path / "nope.gm")
    assert result.returncode == 1
    assert "Cannot read" in result.stderr and "Traceback" not in result.stderr


def test_latex_prints_factorization_and_loss():
    result = gmc("latex", VAE)
    assert result.returncode == 0
    assert r"p(x, z) = p(x \mid z)\,p(z)" in result.stdout
    assert r"\mathbb{E}_{q(z \mid x)}\left[\log p(x \mid z)\right]" in result.stdout
    assert r"D_{\mathrm{KL}}\left[q(z \mid x) \,\|\, p(z)\right]" in result.stdout
    one = gmc("latex", VAE, "--loss", "iw")
    assert one.returncode == 0 and one.stdout.startswith(r"\mathcal{L}_{\mathrm{iw}}")
    assert gmc("latex", VAE, "--loss", "nope").returncode == 1


def test_compiled_module_runs_with_only_torch_and_gmc(tmp_path):
    out = tmp_path / "vae_model.py"
    assert gmc("compile", VAE, "-o", out).returncode == 0
    script = (
        "import sys, torch\n"
        "import vae_model\n"
        "assert 'sympy' not in sys.modules and 'lark' not in sys.modules and 'networkx' not in sys.modules\n"
        "m = vae_model.VAE()\n"
        "x = torch.bernoulli(torch.full((4, 64), 0.5))\n"
        "print(float(m.loss('loss', x=x)))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) > 0


def test_bad_arguments_are_rejected_by_argparse():
    result = gmc("train", VAE, "--data", "digits", "--epochs", "0")
    assert result.returncode == 2 and "positive integer" in result.stderr


def test_train_rejects_mismatched_data_without_traceback(tmp_path):
    import numpy as np

    np.save(tmp_path / "wide.npy", np.zeros((10, 30)))
    result = gmc("train", VAE, "--data", tmp_path / "wide.npy", "--epochs", "1", "--out", tmp_path / "run")
    assert result.returncode == 1
    assert "30 values per example, but 'x' is binary[64]" in result.stderr
    assert "Traceback" not in result.stderr

    np.save(tmp_path / "gray.npy", np.full((10, 64), 3.0))
    result = gmc("train", VAE, "--data", tmp_path / "gray.npy", "--epochs", "1", "--out", tmp_path / "run")
    assert result.returncode == 1
    assert "every value must be 0 or 1" in result.stderr


def test_train_and_sample_write_their_outputs(tmp_path):
    out = tmp_path / "run"
    result = gmc("train", VAE, "--data", "digits", "--epochs", "2", "--quiet", "--out", out)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epoch"] == [1, 2] and len(metrics["train_loss"]) == 2 and len(metrics["test_loss"]) == 2
    assert (out / "samples.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["final_test_loss"] == pytest.approx(metrics["test_loss"][-1])

    png = tmp_path / "s.png"
    result = gmc("sample", VAE, "--checkpoint", out / "model.pt", "-n", "16", "-o", png)
    assert result.returncode == 0, result.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sample_with_missing_checkpoint_is_a_clear_error(tmp_path):
    result = gmc("sample", VAE, "--checkpoint", tmp_path / "none.pt", "-o", tmp_path / "s.png")
    assert result.returncode == 1 and "Traceback" not in result.stderr
