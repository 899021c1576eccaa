"""Training loop, checkpoints and metrics for ``gmc train`` (DESIGN.md section 4).

All losses are in nats per example: ``model.loss(name, **batch)`` returns the mean over the
batch, and the per-epoch numbers recorded here are example-weighted means over the epoch.
"""
from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from tqdm import tqdm

from gmc.runtime.errors import DataError, TrainingError

__all__ = ["History", "fit", "adam", "save_checkpoint", "load_checkpoint", "write_metrics", "CHECKPOINT_FORMAT"]

#: Value of the ``"format"`` key of every checkpoint written by :func:`save_checkpoint`.
CHECKPOINT_FORMAT = "gmc-checkpoint-1"


@dataclass
class History:
    """Per-epoch losses in nats per example; the three lists have one entry per finished epoch."""

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)

    def to_json_dict(self) -> dict[str, list]:
        """``{"epoch": [...], "train_loss": [...], "test_loss": [...]}`` of plain ints and floats."""
        return {"epoch": [int(e) for e in self.epoch],
                "train_loss": [float(v) for v in self.train_loss],
                "test_loss": [float(v) for v in self.test_loss]}


# ------------------------------------------------------------------------------------------
# training


def adam(params: list[torch.Tensor], lr: float) -> torch.optim.Adam:
    """Adam (Kingma and Ba 2015) over ``params``, as :func:`fit` steps it.

    torch's *fused* implementation (one kernel for every parameter's update) where all
    parameters are floating-point tensors on one CPU or CUDA device; otherwise the default
    per-parameter loop. Both run the same update rule and differ only in float rounding; on a
    small VAE the fused update is several times faster (``benchmarks/bench_vae.py``).
    """
    devices = {p.device.type for p in params}
    fusable = len(devices) == 1 and devices <= {"cpu", "cuda"} and all(p.is_floating_point() for p in params)
    if fusable:
        try:
            return torch.optim.Adam(params, lr=lr, fused=True)
        except (RuntimeError, TypeError, ValueError):  # a build or dtype without the fused kernel
            pass
    return torch.optim.Adam(params, lr=lr)


def fit(model: torch.nn.Module, loss_name: str, train: dict[str, torch.Tensor], test: dict[str, torch.Tensor], *,
        epochs: int = 50, batch_size: int = 128, lr: float = 1e-3, seed: int = 0, progress: bool = True,
        log: Callable[[str], Any] | None = print,
        on_epoch: Callable[[int, History], Any] | None = None, schedules: tuple = ()) -> History:
    """Minimize ``model.loss(loss_name, **batch)`` with Adam and return the per-epoch losses.

    Args:
        model: a module whose ``loss(loss_name, **batch)`` returns a scalar tensor, the mean
            loss over the batch in nats per example.
        loss_name: which loss of the model to minimize.
        train: variable name -> tensor ``[N, ...]``; all share the first (example) dimension N.
        test: the held-out examples, same keys, tensors ``[M, ...]``.
        epochs: passes over ``train`` (>= 1).
        batch_size: examples per step (>= 1); the last, partial batch of an epoch is kept.
        lr: Adam learning rate (> 0).
        seed: ``torch.manual_seed(seed)`` is called first, and the per-epoch shuffles come from a
            ``torch.Generator`` seeded with ``seed``: the same call gives the same history.
        progress: show a tqdm bar over epochs on stderr (removed when done).
        log: called with one line per epoch, e.g.
            ``epoch  12/50  train 21.734  test 22.015  (nats per example)``; ``None`` for silence.
            When it is ``print`` and the bar is shown, lines go through ``tqdm.write`` to stdout
            so the bar is not garbled.
        on_epoch: called as ``on_epoch(epoch, history)`` after each epoch (epochs count from 1).
        schedules: :class:`gmc.runtime.schedules.Schedule` s; step ``t`` (from 0) passes each
            scheduled param at its value for ``t`` to the loss, and the held-out loss of an
            epoch uses the values of its last step.

    Returns:
        The :class:`History`: train loss = example-weighted mean of the batch losses during the
        epoch; test loss = example-weighted mean of the loss over ``test`` after the epoch,
        computed in batches of ``batch_size`` under ``torch.no_grad()`` in ``eval()`` mode.
        The model is left in the train/eval mode it had on entry.

    Raises:
        DataError: tensors of a dict differ in their first dimension, ``train`` and ``test`` have
            different keys or no examples, or ``epochs``, ``batch_size`` or ``lr`` is out of range.
        TrainingError: a batch loss is NaN or infinite, a gradient is not finite (checked before
            the optimizer step, so the model keeps the parameters from before that step), the
            held-out loss is not finite, the loss is not a scalar, or the model has no trainable
            parameters.
    """
    n_train, n_test = _validate(train, test, epochs, batch_size, lr)
    if schedules:
        from gmc.runtime.schedules import check_params

        check_params(schedules, getattr(model, "param_defaults", {}))
    scheduled: dict[str, float] = {}
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise TrainingError("the model has no trainable parameters, so there is nothing to train")
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]

    compute_loss, train, test = _loss_function(model, loss_name, train, test)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    optimizer = adam(params, lr)
    history = History()
    steps_per_epoch = math.ceil(n_train / batch_size)
    width = len(str(epochs)) + 1

    bar = tqdm(range(1, epochs + 1), total=epochs, desc=f"training {loss_name}", unit="epoch",
               disable=not progress, file=sys.stderr, leave=False, dynamic_ncols=True)
    if log is print and progress:
        def emit(line: str) -> None:
            tqdm.write(line, file=sys.stdout)
    else:
        emit = log

    was_training = model.training
    model.train()
    try:
        for epoch in bar:
            perm = torch.randperm(n_train, generator=generator)
            total, count = 0.0, 0
            for step in range(1, steps_per_epoch + 1):
                idx = perm[(step - 1) * batch_size: step * batch_size]
                batch = {k: v[idx.to(v.device)] for k, v in train.items()}
                where = (f"epoch {epoch}, step {step} of {steps_per_epoch} "
                         f"(global step {(epoch - 1) * steps_per_epoch + step})")
                scheduled = {s.param: s.value((epoch - 1) * steps_per_epoch + step - 1) for s in schedules}
                loss = _scalar_loss(compute_loss, loss_name, {**batch, **scheduled}, where)
                value = float(loss.detach())
                if not math.isfinite(value):
                    raise TrainingError(
                        f"training diverged: loss '{loss_name}' is {value} at {where}; that step was not "
                        f"taken, so the model keeps the parameters from before it. Try a smaller --lr.")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                bad = _nonfinite_gradient(named)
                if bad is not None:
                    raise TrainingError(
                        f"training diverged: the gradient of parameter '{bad}' is not finite at {where} "
                        f"(loss {value:.6g}); that step was not taken, so the model keeps the parameters "
                        f"from before it. Try a smaller --lr.")
                optimizer.step()
                total += value * idx.numel()
                count += idx.numel()
            train_loss = total / count

            test_loss = _evaluate(model, compute_loss, loss_name, test, n_test, batch_size, epoch, scheduled)
            if not math.isfinite(test_loss):
                raise TrainingError(
                    f"the held-out loss '{loss_name}' is {test_loss} after epoch {epoch} (train loss "
                    f"{train_loss:.6g}); some test examples may lie outside the model's support")
            history.epoch.append(epoch)
            history.train_loss.append(train_loss)
            history.test_loss.append(test_loss)
            bar.set_postfix(train=f"{train_loss:.3f}", test=f"{test_loss:.3f}")
            if emit is not None:
                emit(f"epoch {epoch:>{width}}/{epochs}  train {train_loss:.3f}  test {test_loss:.3f}  "
                     f"(nats per example)")
            if on_epoch is not None:
                on_epoch(epoch, history)
    finally:
        bar.close()
        model.train(was_training)
    return history


def _validate(train, test, epochs, batch_size, lr) -> tuple[int, int]:
    if not isinstance(train, dict) or not isinstance(test, dict):
        raise DataError("train and test data must be dicts mapping variable names to tensors")
    if not train:
        raise DataError("no training data: the train dict is empty")
    if set(train) != set(test):
        raise DataError(f"train and test data must have the same variables: train has {sorted(train)}, "
                        f"test has {sorted(test)}")
    sizes = []
    for part, data in (("train", train), ("test", test)):
        n = None
        for name, value in data.items():
            if not isinstance(value, torch.Tensor):
                raise DataError(f"{part} data '{name}' must be a torch.Tensor, got {type(value).__name__}")
            if value.dim() == 0:
                raise DataError(f"{part} data '{name}' is a scalar; expected a first dimension over examples")
            if n is None:
                n, first = value.shape[0], name
            elif value.shape[0] != n:
                raise DataError(f"{part} data must share the first (example) dimension: '{first}' has {n} "
                                f"examples but '{name}' has {value.shape[0]}")
        if n == 0:
            raise DataError(f"{part} data has no examples")
        sizes.append(int(n))
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise DataError(f"epochs must be an integer >= 1, got {epochs!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise DataError(f"batch size must be an integer >= 1, got {batch_size!r}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (math.isfinite(lr) and lr > 0):
        raise DataError(f"learning rate must be a finite number > 0, got {lr!r}")
    return sizes[0], sizes[1]


def _loss_function(model, loss_name, train, test):
    """(what one step calls with a batch's tensors as keywords, train, test).

    For a generated model, its ``loss_<name>`` method itself: names, shapes and dtypes are
    validated and converted here, once, on the whole train and test data (through the
    model's own API checks), so the hot path skips per-step dictionary building and
    validation. Any other module is called through ``model.loss(loss_name, **batch)``."""
    from gmc.runtime.model import GeneratedModel

    generic = (lambda **batch: model.loss(loss_name, **batch)), train, test
    if not isinstance(model, GeneratedModel) or loss_name not in type(model).losses:
        return generic
    info = type(model).losses[loss_name]
    if info.batch_from_n:  # reads no data: as many draws per step as the batch has examples
        method = getattr(model, info.method)

        def draws(**batch):
            params = {k: v for k, v in batch.items() if k in model.param_defaults}
            return method(n=len(next(v for k, v in batch.items() if k not in params)), **params)
        return draws, train, test
    checked = []
    for data in (train, test):
        tensors, params = model._split_inputs(f"loss '{loss_name}'", info.inputs, data)
        if params:  # a param passed as data: keep the general path
            return generic
        checked.append(tensors)
    return getattr(model, info.method), checked[0], checked[1]


def _nonfinite_gradient(named) -> str | None:
    """Name of a parameter whose gradient has a NaN or infinity, or None (one sync when all are fine)."""
    grads = [p.grad for _, p in named if p.grad is not None]
    if not grads:
        return None
    total = getattr(torch.nn.utils, "get_total_norm", None)  # torch >= 2.6: one fused max-abs over all
    if total is not None and bool(torch.isfinite(total(grads, norm_type=math.inf))):
        return None
    for name, p in named:
        if p.grad is not None and not bool(torch.isfinite(p.grad).all()):
            return name
    return None


def _scalar_loss(compute_loss, loss_name, batch, where) -> torch.Tensor:
    loss = compute_loss(**batch)
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise TrainingError(f"loss '{loss_name}' must be a scalar tensor, got {shape} at {where}")
    return loss.reshape(())


def _evaluate(model, compute_loss, loss_name, test, n_test, batch_size, epoch, params=None) -> float:
    """Example-weighted mean of the loss over ``test``, in nats per example (``params``: overrides)."""
    model.eval()
    try:
        total = 0.0
        with torch.no_grad():
            for start in range(0, n_test, batch_size):
                batch = {k: v[start:start + batch_size] for k, v in test.items()}
                loss = _scalar_loss(compute_loss, loss_name, {**batch, **(params or {})},
                                    f"epoch {epoch} (held-out evaluation)")
                total += float(loss) * min(batch_size, n_test - start)
        return total / n_test
    finally:
        model.train()


# ------------------------------------------------------------------------------------------
# checkpoints and metrics


def save_checkpoint(path: str | os.PathLike, model: torch.nn.Module, *, source: str, source_path: str,
                    class_name: str, history: History | None, extra: dict | None = None) -> None:
    """Write a checkpoint loadable with ``torch.load(path, weights_only=True)``.

    The file holds the dict ``{"format": "gmc-checkpoint-1", "gmc_version", "source"`` (the
    ``.gm`` text), ``"source_path", "class_name", "state_dict", "history"`` (``History.to_json_dict()``
    or ``None``), ``"extra"`` (``extra`` or ``{}``)``}``. It is written to a temporary file in the
    same folder and moved into place with ``os.replace``, so an existing checkpoint is never left
    half-written. Missing parent folders are created.

    Raises:
        TypeError: ``extra`` holds values other than str, int, float, bool, None, tensors, and
            lists, tuples or str-keyed dicts of those (they could not be loaded with
            ``weights_only=True``).
        OSError: the file cannot be written.
    """
    import gmc

    _check_plain(extra or {}, "extra")
    payload = {
        "format": CHECKPOINT_FORMAT,
        "gmc_version": gmc.__version__,
        "source": source,
        "source_path": str(source_path),
        "class_name": class_name,
        "state_dict": model.state_dict(),
        "history": history.to_json_dict() if history is not None else None,
        "extra": dict(extra or {}),
    }
    _atomic_write(Path(path), lambda f: torch.save(payload, f))


def load_checkpoint(path: str | os.PathLike, *, map_location: str | torch.device | None = "cpu") -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` (with ``torch.load(weights_only=True)``).

    Tensors are loaded onto ``map_location`` (CPU by default, so a checkpoint saved on a GPU
    loads anywhere; ``None`` keeps the saved devices).

    Returns:
        The checkpoint dict (keys as in :func:`save_checkpoint`).

    Raises:
        DataError: the file does not exist, cannot be read by ``torch.load``, or is not a gmc
            checkpoint of a supported format.
    """
    p = Path(path)
    if not p.exists():
        raise DataError(f"{path}: checkpoint file not found (write one with 'gmc train ... --out DIR', "
                        f"then pass DIR/model.pt)")
    if not p.is_file():
        raise DataError(f"{path}: not a file; pass the checkpoint file itself, e.g. DIR/model.pt")
    try:
        ckpt = torch.load(p, map_location=map_location, weights_only=True)
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: not a gmc checkpoint (torch.load cannot read it: {reason})") from None
    if not isinstance(ckpt, dict) or "format" not in ckpt:
        raise DataError(f"{path}: not a gmc checkpoint (no 'format' entry; expected one written by 'gmc train')")
    if ckpt["format"] != CHECKPOINT_FORMAT:
        raise DataError(f"{path}: unsupported checkpoint format {ckpt['format']!r}; this gmc reads "
                        f"{CHECKPOINT_FORMAT!r}")
    missing = [k for k in ("source", "source_path", "class_name", "state_dict") if k not in ckpt]
    if missing:
        raise DataError(f"{path}: damaged gmc checkpoint, missing {', '.join(missing)}")
    return ckpt


def write_metrics(path: str | os.PathLike, history: History) -> None:
    """Write ``{"epoch": [...], "train_loss": [...], "test_loss": [...]}`` as JSON (indent 2).

    Losses are in nats per example. Written atomically like checkpoints.

    Raises:
        ValueError: a loss is NaN or infinite (not representable in strict JSON).
    """
    text = json.dumps(history.to_json_dict(), indent=2, allow_nan=False) + "\n"
    _atomic_write(Path(path), lambda f: f.write(text.encode("utf-8")))


def _atomic_write(path: Path, write: Callable[[Any], Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _check_plain(value, where: str) -> None:
    if value is None or isinstance(value, (str, int, float, bool, torch.Tensor)):
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_plain(v, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"checkpoint {where} keys must be strings, got {k!r}")
            _check_plain(v, f"{where}[{k!r}]")
        return
    raise TypeError(f"checkpoint {where} must hold only plain values (str, numbers, None, tensors, lists, "
                    f"dicts), got {type(value).__name__}")
