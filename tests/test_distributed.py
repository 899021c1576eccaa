"""DistributedDataParallel: two gloo processes on the CPU keep identical parameters when a
loss other than forward's is trained, through gmc.runtime.distributed.loss and fit(DDP(m))."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import gmc

ROOT = Path(__file__).parent.parent
WORKER = Path(__file__).parent / "distributed" / "ddp_worker.py"

pytestmark = [pytest.mark.skipif(not torch.distributed.is_available(), reason="torch built without distributed"),
              pytest.mark.slow]  # two fresh processes importing torch: seconds on an idle machine


@pytest.fixture(scope="module")
def vae_module():
    return gmc.to_python(ROOT / "examples" / "vae.gm")


@pytest.fixture(scope="module")
def ranks(tmp_path_factory, vae_module) -> dict[str, list[dict]]:
    """mode -> the two ranks' outputs of tests/distributed/ddp_worker.py."""
    folder, world = tmp_path_factory.mktemp("ddp"), 2
    (folder / "model.py").write_text(vae_module)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, str(WORKER), str(r), str(world), str(folder)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for r in range(world)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    return {mode: [torch.load(folder / f"{mode}-rank{r}.pt", weights_only=True) for r in range(world)]
            for mode in ("routed", "direct", "fit")}


def _differences(two):
    a, b = two[0]["params"], two[1]["params"]
    return {k: float((a[k] - b[k]).abs().max()) for k in a}


def test_a_non_forward_loss_keeps_the_ranks_identical_only_when_routed(ranks):
    assert max(_differences(ranks["routed"]).values()) == 0.0
    # the control: the same steps calling the model's loss directly bypass DDP's all-reduce
    assert max(_differences(ranks["direct"]).values()) > 1e-4


def test_fit_accepts_a_ddp_model_and_matches_one_process_with_the_total_batch(ranks, vae_module):
    from gmc.runtime.loader import load_class
    from gmc.runtime.train import fit

    two = ranks["fit"]
    assert max(_differences(two).values()) == 0.0
    assert two[0]["history"] == two[1]["history"]  # losses are reduced over the ranks
    # one process, batch 16 = 2 ranks x 8: rank r's batch is every other example of the same shuffle
    torch.manual_seed(0)
    data = torch.bernoulli(torch.rand(64, 64, generator=torch.Generator().manual_seed(1)))
    single = fit(load_class(vae_module, "VAE")(), "iw", {"x": data}, {"x": data[:16]}, epochs=2, batch_size=16,
                 lr=1e-2, progress=False, log=None)
    for key in ("train_loss", "test_loss"):
        assert two[0]["history"][key] == pytest.approx(getattr(single, key), rel=0.03)


def test_gmc_train_nproc_2_writes_one_checkpoint_from_rank_0(tmp_path, capfd, monkeypatch):
    from gmc.cli import main

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    out = tmp_path / "run"
    assert main(["train", str(ROOT / "examples" / "vae.gm"), "--data", "digits", "--epochs", "1", "--quiet",
                 "--device", "cpu", "--nproc", "2", "--out", str(out)]) == 0
    captured = capfd.readouterr()  # the processes' own output: only rank 0 speaks
    assert captured.err.count("training VAE from") == 1 and captured.out.count('"final_test_loss"') == 1
    assert [p.name for p in out.rglob("model.pt")] == ["model.pt"]
    assert {"model.pt", "metrics.json", "samples.png"} <= {p.name for p in out.iterdir()}
    state = torch.load(out / "model.pt", weights_only=True)
    assert len(state["history"]["epoch"]) == 1 and state["extra"]["epochs"] == 1


def test_nproc_refuses_a_device_it_cannot_split_over(capsys):
    from gmc.cli import main

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main(["train", str(ROOT / "examples" / "vae.gm"), "--data", "digits", "--nproc", "2",
                 "--device", "cuda"]) == 1
    assert "--device cuda: CUDA is not available" in capsys.readouterr().err
