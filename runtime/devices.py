"""``--device auto|cpu|cuda|mps``: which torch device a command runs on."""
from __future__ import annotations

import torch

from gmc.runtime.errors import DataError

#: What ``--device`` accepts (``cuda:1`` picks a GPU by index).
CHOICES = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def resolve_device(name: str | None, option: str = "--device") -> torch.device:
    """The torch device for ``name``: ``auto`` (or None) is CUDA when available, else Apple's
    MPS, else the CPU; ``cpu``, ``cuda``, ``cuda:N`` and ``mps`` are taken as asked.

    Raises DataError, naming ``option``, for another name or a device this machine or this
    build of torch does not have (a CPU-only torch has no CUDA)."""
    text = "auto" if name is None else str(name).strip().lower()
    if text == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    kind, _, index = text.partition(":")
    if kind not in CHOICES or (index and (kind != "cuda" or not index.isdigit())):
        raise DataError(f"{option} {name}: unknown device; use one of {', '.join(CHOICES)} (or cuda:N)")
    if kind == "cuda":
        if not torch.cuda.is_available():
            build = "this torch build has no CUDA support" if torch.version.cuda is None else \
                "no CUDA GPU is visible (check CUDA_VISIBLE_DEVICES and the driver)"
            raise DataError(f"{option} {name}: CUDA is not available: {build} (torch {torch.__version__}); "
                            f"use {option} cpu, or {option} auto to pick what is there")
        count = torch.cuda.device_count()
        if index and int(index) >= count:
            raise DataError(f"{option} {name}: there {'is' if count == 1 else 'are'} only {count} CUDA "
                            f"device{'s' if count != 1 else ''} (cuda:0..cuda:{count - 1})")
    if kind == "mps" and not _mps_available():
        raise DataError(f"{option} {name}: Apple's MPS backend is not available on this machine; use {option} cpu "
                        f"or {option} auto")
    return torch.device(text)


def to_device(tensors: dict, device: torch.device) -> dict:
    """Each tensor of ``tensors`` moved to ``device`` (a new dict)."""
    return {k: v.to(device) for k, v in tensors.items()}
