"""``gmc train --nproc N``: data-parallel training in N processes it starts itself.

Each process runs :func:`gmc.training.train_command` with the model wrapped in PyTorch's
``DistributedDataParallel`` (gloo on the CPU, nccl with one GPU per process when the device
is CUDA). :func:`gmc.runtime.train.fit` already routes every loss through DDP's forward (so
all of its gradients are all-reduced), gives each rank its share of every epoch's shuffle
(as ``DistributedSampler``), and averages the recorded losses over the ranks; this module
starts the processes (``torch.multiprocessing.spawn``), joins them into one process group,
and keeps everything but the training itself on rank 0: only rank 0 claims the output
folder, writes ``model.pt``, ``metrics.json`` and the pictures, and prints. ``--batch-size``
is per process, so N processes take N times as many examples per step.
"""
from __future__ import annotations

import contextlib
import os
import socket
import sys

__all__ = ["alone", "is_main", "claim", "wrap", "train_in_processes"]


def _active() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


def alone() -> bool:
    """True outside a process group (or in a group of one)."""
    import torch.distributed as dist

    return not _active() or dist.get_world_size() == 1


def is_main() -> bool:
    """True outside a process group and on its rank 0: the process that writes and prints."""
    import torch.distributed as dist

    return not _active() or dist.get_rank() == 0


def claim(folder, outputs):
    """:func:`gmc.runtime.run_folder.claimed_folder` on rank 0; the folder itself elsewhere
    (the other ranks write nothing, and the folder's lock admits one process)."""
    from gmc.runtime.run_folder import claimed_folder

    return claimed_folder(folder, outputs) if is_main() else contextlib.nullcontext(folder)


def wrap(model):
    """``model`` in ``DistributedDataParallel`` inside a process group, else ``model``.
    ``find_unused_parameters`` is on: a loss may leave some weights without gradient (M2)."""
    if not _active():
        return model
    from torch.nn.parallel import DistributedDataParallel

    device = next(model.parameters()).device
    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids, find_unused_parameters=True)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train_in_processes(args) -> int:
    """Run ``gmc train`` in ``args.nproc`` processes joined by DDP; the exit status of rank 0.

    Raises DataError for an adversarial game (its alternating optimizers are not wrapped) or
    a CUDA run asking for more processes than there are GPUs."""
    import torch
    import torch.multiprocessing as mp

    from gmc.runtime.devices import resolve_device
    from gmc.runtime.errors import DataError

    n = args.nproc
    device = resolve_device(getattr(args, "device", None))
    if device.type == "mps":
        raise DataError("--nproc: DistributedDataParallel has no MPS backend; use --device cpu")
    if device.type == "cuda" and n > torch.cuda.device_count():
        raise DataError(f"--nproc {n}: needs one GPU per process, but {torch.cuda.device_count()} are visible")
    port = _free_port()
    context = mp.start_processes(_worker, args=(args, n, device.type, port), nprocs=n, join=False,
                                 start_method="spawn")
    try:
        while not context.join():
            pass
    except mp.ProcessExitedException:  # a user error: rank 0 has printed it (the others are silent)
        return 1
    except mp.ProcessRaisedException as exc:  # a bug, not a user error: those exit with 1
        print(f"error: a training process failed:\n{exc}", file=sys.stderr)
        return 1
    return 0


def _worker(rank: int, args, world: int, device_type: str, port: int) -> None:
    import torch
    import torch.distributed as dist

    from gmc.cli import _printable_output
    from gmc.compiler.diagnostics import GmcError
    from gmc.runtime.errors import UserError

    _printable_output()

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world))
    if rank != 0:  # one rank speaks for all
        sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115
    if device_type == "cuda":
        torch.cuda.set_device(rank)
        args.device = f"cuda:{rank}"
    else:
        args.device = "cpu"
    dist.init_process_group("nccl" if device_type == "cuda" else "gloo", rank=rank, world_size=world)
    args.nproc = 1
    code = 0
    try:
        from gmc import training

        code = training.train_command(args) or 0
    except GmcError as e:
        print(e.render(), file=sys.stderr)
        code = 1
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        code = 1
    finally:
        dist.destroy_process_group()
    if code:
        sys.exit(code)
