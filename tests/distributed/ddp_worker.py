"""One rank of the DDP tests (run as a script by tests/test_distributed.py).

    python ddp_worker.py RANK WORLD FOLDER

FOLDER holds ``model.py`` (a generated VAE module) and the rendezvous file. The rank runs
each mode in turn (one process launch, since importing torch dominates the time) and writes
``<mode>-rank<RANK>.pt``: its final parameters and, for mode ``fit``, its history."""
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from gmc.runtime import distributed
from gmc.runtime.loader import load_class
from gmc.runtime.train import fit


MODES = ("routed", "direct", "fit")


def main(rank: int, world: int, folder: Path) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{folder / 'rendezvous'}", rank=rank, world_size=world)
    VAE = load_class((folder / "model.py").read_text(), "VAE")
    for mode in MODES:
        run(mode, VAE, rank, world, folder)
        dist.barrier()
    dist.destroy_process_group()


def run(mode: str, VAE: type, rank: int, world: int, folder: Path) -> None:
    torch.manual_seed(0)
    data = torch.bernoulli(torch.rand(64, 64, generator=torch.Generator().manual_seed(1)))
    out = {}
    if mode == "fit":
        model = VAE()
        history = fit(DDP(model), "iw", {"x": data}, {"x": data[:16]}, epochs=2, batch_size=8, lr=1e-2,
                      progress=False, log=None)
        out["history"] = history.to_json_dict()
    else:
        torch.manual_seed(rank)  # different initial weights per rank: DDP must broadcast rank 0's
        model = VAE()
        ddp = DDP(model)
        optimizer = torch.optim.Adam(ddp.parameters(), lr=1e-2)
        shard = data[rank::world]
        for step in range(3):
            batch = shard[step * 8:(step + 1) * 8]
            value = distributed.loss(ddp, "iw", x=batch) if mode == "routed" else model.loss("iw", x=batch)
            optimizer.zero_grad()
            value.backward()
            optimizer.step()
    out["params"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
    torch.save(out, folder / f"{mode}-rank{rank}.pt")


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]))
