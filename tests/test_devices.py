"""--device and .to(device): models, samples and losses follow the device and dtype they are moved to;
a device the machine lacks is refused with a message naming the option."""
from pathlib import Path

import pytest
import torch

import gmc
from gmc.cli import main
from gmc.runtime.devices import resolve_device
from gmc.runtime.errors import DataError

ROOT = Path(__file__).parent.parent


def test_auto_picks_what_is_there():
    expected = "cuda" if torch.cuda.is_available() else (
        "mps" if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available() else "cpu")
    assert resolve_device("auto").type == expected and resolve_device(None).type == expected
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA, so --device cuda is valid")
def test_cuda_without_cuda_is_a_located_error(capsys):
    with pytest.raises(DataError, match=r"^--device cuda: CUDA is not available: .* use --device cpu"):
        resolve_device("cuda")
    assert main(["train", str(ROOT / "examples" / "vae.gm"), "--data", "digits", "--device", "cuda"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --device cuda: CUDA is not available") and "Traceback" not in err


def test_unknown_device_names_the_choices():
    with pytest.raises(DataError, match=r"--device gpu: unknown device; use one of auto, cpu, cuda, mps"):
        resolve_device("gpu")
    with pytest.raises(DataError, match="unknown device"):
        resolve_device("cpu:1")


def test_a_moved_model_samples_and_scores_on_its_device_and_dtype():
    VAE = gmc.compile_file(ROOT / "examples" / "vae.gm")
    torch.manual_seed(0)
    m = VAE()
    x = torch.bernoulli(torch.full((3, 64), 0.5))
    single = m.loss(x=x)
    double = m.to(torch.float64)
    assert double.sample("p(x,z)", n=2)["z"].dtype == torch.float64
    assert double.log_prob("p(z)", z=torch.zeros(2, 8, dtype=torch.float64)).dtype == torch.float64
    meta = VAE().to("meta")  # a device without memory stands in for a GPU: every result must follow it
    assert meta.sample("p(x,z)", n=3)["x"].device.type == "meta"
    assert meta.loss(x=torch.zeros(3, 64, device="meta")).device.type == "meta"
    assert single.dtype == torch.float32


def test_train_and_sample_on_cpu_by_option(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", str(ROOT / "examples" / "vae.gm"), "--data", "digits", "--epochs", "1", "--quiet",
                 "--device", "cpu", "--out", str(out)]) == 0
    assert ", on cpu" in capsys.readouterr().err
    assert main(["sample", str(ROOT / "examples" / "vae.gm"), "--checkpoint", str(out / "model.pt"), "-n", "4",
                 "--device", "cpu"]) == 0
    assert (out / "sampled.png").is_file()


def test_evaluate_runs_on_the_device_asked_and_refuses_mps(capsys):
    from gmc.evaluation import evaluation_device

    assert evaluation_device("cpu") == torch.device("cpu")
    assert evaluation_device("auto").type in ("cuda", "cpu")  # never MPS: the estimate is float64
    with pytest.raises(DataError, match=r"^--device mps: evaluation runs in float64"):
        evaluation_device("mps")
    source = (ROOT / "examples" / "vae.gm").read_text()
    torch.manual_seed(0)
    vae = gmc.compile_source(source)()
    x = torch.bernoulli(torch.full((4, 64), 0.5))
    on_cpu = gmc.evaluate(source=source, model=vae, data={"x": x}, method="iwae", k=3, device="cpu", seed=1)
    default = gmc.evaluate(source=source, model=vae, data={"x": x}, method="iwae", k=3, seed=1)
    assert on_cpu["examples"] == 4 and on_cpu["log_px"] < 0
    if not torch.cuda.is_available():
        assert on_cpu["per_example"] == default["per_example"]  # auto picked the CPU, same seed
        assert main(["evaluate", str(ROOT / "examples" / "vae.gm"), "--checkpoint", "nowhere.pt",
                     "--device", "cuda"]) == 1
        assert "--device cuda: CUDA is not available" in capsys.readouterr().err
