"""Training loop, checkpoints and metrics for ``gmc train`` (docs/design.md section 4).

All losses are in nats per example: ``model.loss(name, **batch)`` returns the mean over the
batch, and the per-epoch numbers recorded here are example-weighted means over the epoch.
"""
from __future__ import annotations

import io
import json
import math
import os
import random
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from tqdm import tqdm

from gmc.runtime.errors import DataError, OutputError, TrainingError

__all__ = ["History", "fit", "adam", "save_checkpoint", "load_checkpoint", "check_state_dict", "write_metrics",
           "flush_to_disk", "CHECKPOINT_FORMAT"]

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

    @classmethod
    def from_json_dict(cls, data: dict) -> "History":
        """The inverse of :meth:`to_json_dict`; DataError when the lists are not one entry per
        epoch 1, 2, ... with finite losses."""
        try:
            epochs = [int(e) for e in data["epoch"]]
            train = [float(v) for v in data["train_loss"]]
            test = [float(v) for v in data["test_loss"]]
        except (KeyError, TypeError, ValueError):
            raise DataError("the history is damaged: expected lists 'epoch', 'train_loss', 'test_loss'") from None
        if epochs != list(range(1, len(epochs) + 1)) or not len(train) == len(test) == len(epochs):
            raise DataError("the history is damaged: expected one train and test loss per epoch 1, 2, ...")
        if not all(math.isfinite(v) for v in train + test):
            raise DataError("the history is damaged: it holds a NaN or infinite loss")
        return cls(epochs, train, test)


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
        on_epoch: Callable[[int, History], Any] | None = None, schedules: tuple = (),
        on_state: Callable[[int, History, dict], Any] | None = None, resume: dict | None = None) -> History:
    """Minimize ``model.loss(loss_name, **batch)`` with Adam and return the per-epoch losses.

    Args:
        model: a module whose ``loss(loss_name, **batch)`` returns a scalar tensor, the mean
            loss over the batch in nats per example; or such a module wrapped in
            ``DistributedDataParallel``: then every step runs the loss through DDP's forward
            (whichever loss it is), each rank trains on its share of each epoch's examples
            with its own Monte Carlo seed, and the recorded losses are averaged over the
            ranks (:mod:`gmc.runtime.distributed`; ``batch_size`` is per rank).
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
            so the bar is not garbled; any other ``log`` is called inside
            ``tqdm.external_write_mode``, which clears the bar first and redraws it after.
        on_epoch: called as ``on_epoch(epoch, history)`` after each epoch (epochs count from 1).
        schedules: :class:`gmc.runtime.schedules.Schedule` s; step ``t`` (from 0) passes each
            scheduled param at its value for ``t`` to the loss, and the held-out loss of an
            epoch uses the values of its last step.
        on_state: called as ``on_state(epoch, history, state)`` once before the first epoch
            (``epoch`` 0, unless resuming) and after each epoch (after ``on_epoch``). ``state``
            is what ``resume`` takes to continue from there: ``{"epoch", "history"`` (as
            :meth:`History.to_json_dict`), ``"optimizer"`` (Adam's state dict), ``"rng"``
            (:func:`rng_state`)``}``; it refers to live tensors, so save it before returning.
        resume: a ``state`` from ``on_state`` (e.g. read back from a checkpoint): training
            continues with epoch ``state["epoch"] + 1`` from that optimizer state, those random
            number generator states and that history, so that the history equals the one of an
            uninterrupted call (the model must already hold the parameters of that epoch).
            ``lr`` replaces the saved learning rate.

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
            parameters. Every finished epoch has been passed to ``on_epoch`` and ``on_state``
            first, so a caller that saves there keeps the last good epoch.
        DataError: ``resume`` is damaged, does not fit the model's parameters, or already
            holds ``epochs`` epochs.
    """
    n_train, n_test = _validate(train, test, epochs, batch_size, lr)
    from gmc.runtime import distributed

    model, ddp = distributed.unwrap(model)  # a DDP model: every loss runs through its forward
    ranks = distributed.Context(ddp)
    progress, log = progress and ranks.rank == 0, log if ranks.rank == 0 else None
    if schedules:
        from gmc.runtime.schedules import check_params

        check_params(schedules, getattr(model, "param_defaults", {}))
    scheduled: dict[str, float] = {}
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise TrainingError("the model has no trainable parameters, so there is nothing to train")
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]

    compute_loss, train, test = _loss_function(model, loss_name, train, test)
    unscaled = compute_loss
    compute_loss = _with_plate_sizes(model, compute_loss, train, n_train)
    unit = "nats per example" if compute_loss is unscaled else f"nats per data set of {n_train} examples"
    step_loss = compute_loss if ddp is None else distributed.routed(ddp, compute_loss)
    torch.manual_seed(seed + ranks.rank)
    generator = torch.Generator().manual_seed(seed)
    optimizer = adam(params, lr)
    history = History()
    if resume is not None:
        history = _restore(resume, optimizer, generator, lr, epochs)
    else:
        _report_state(on_state, 0, history, optimizer, generator)
    first = len(history.epoch) + 1
    steps_per_epoch = math.ceil(math.ceil(n_train / ranks.world) / batch_size)
    width = len(str(epochs)) + 1

    bar = tqdm(range(first, epochs + 1), total=epochs, initial=first - 1, desc=f"training {loss_name}",
               unit="epoch", disable=not progress, file=sys.stderr, leave=False, dynamic_ncols=True)
    if log is print and progress:
        def emit(line: str) -> None:
            tqdm.write(line, file=sys.stdout)
    elif log is not None and progress:
        def emit(line: str) -> None:
            # the bar is cleared while the line is written and drawn again below it
            with tqdm.external_write_mode(file=sys.stderr):
                log(line)
    else:
        emit = log

    on_cpu = all(v.device.type == "cpu" for v in train.values())  # the shuffle's indices live there
    was_training = model.training
    model.train()
    try:
        for epoch in bar:
            perm = ranks.shard(torch.randperm(n_train, generator=generator))
            total, count = 0.0, 0
            # per step only what the step needs: the batch, the loss, its checks; the words of
            # an error message are built when one is raised (where)
            for step in range(1, steps_per_epoch + 1):
                idx = perm[(step - 1) * batch_size: step * batch_size]
                batch = {k: v[idx] for k, v in train.items()} if on_cpu else \
                    {k: v[idx.to(v.device)] for k, v in train.items()}
                if schedules:
                    batch.update({s.param: s.value((epoch - 1) * steps_per_epoch + step - 1) for s in schedules})
                    scheduled = {s.param: batch[s.param] for s in schedules}

                def where(epoch=epoch, step=step):
                    return (f"epoch {epoch}, step {step} of {steps_per_epoch} "
                            f"(global step {(epoch - 1) * steps_per_epoch + step})")
                loss = _scalar_loss(step_loss, loss_name, batch, where)
                value = loss.item()
                if not math.isfinite(value):
                    raise TrainingError(
                        f"training diverged: loss '{loss_name}' is {value} at {where()}; that step was not "
                        f"taken, so the model keeps the parameters from before it. Try a smaller --lr.")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                bad = _nonfinite_gradient(named)
                if bad is not None:
                    raise TrainingError(
                        f"training diverged: the gradient of parameter '{bad}' is not finite at {where()} "
                        f"(loss {value:.6g}); that step was not taken, so the model keeps the parameters "
                        f"from before it. Try a smaller --lr.")
                optimizer.step()
                total += value * idx.numel()
                count += idx.numel()
            train_loss = ranks.mean(total, count)

            test_loss = ranks.mean(_evaluate(model, compute_loss, loss_name, test, n_test, batch_size, epoch,
                                             scheduled), 1.0)
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
                     f"({unit})")
            if on_epoch is not None:
                on_epoch(epoch, history)
            _report_state(on_state, epoch, history, optimizer, generator)
    finally:
        bar.close()
        model.train(was_training)
    return history


def rng_state(generator: torch.Generator) -> dict:
    """Every random number generator state training depends on, in plain values and tensors
    (loadable with ``weights_only=True``): ``{"torch"`` (the global CPU generator), ``"cuda"``
    (one state per device, when CUDA is initialized), ``"python"`` (``random``), ``"numpy"``
    (``numpy.random``'s global MT19937), ``"shuffle"`` (``generator``, the per-epoch shuffles)``}``."""
    import numpy as np

    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else []
    return {"torch": torch.get_rng_state(), "cuda": list(cuda), "shuffle": generator.get_state(),
            "python": {"version": version, "state": list(internal), "gauss": gauss},
            "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                      "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}}


def set_rng_state(state: dict, generator: torch.Generator) -> None:
    """Restore what :func:`rng_state` returned; DataError when it is damaged."""
    import numpy as np

    try:
        torch.set_rng_state(state["torch"])
        generator.set_state(state["shuffle"])
        py = state["python"]
        random.setstate((py["version"], tuple(int(v) for v in py["state"]), py["gauss"]))
        npy = state["numpy"]
        np.random.set_state((npy["kind"], npy["keys"].numpy().astype(np.uint32), npy["pos"], npy["has_gauss"],
                             npy["cached_gaussian"]))
        if state["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"][:torch.cuda.device_count()])
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as exc:
        raise DataError(f"the saved random number generator state is damaged ({_first_line(exc)})") from None


def _report_state(on_state, epoch, history, optimizer, generator) -> None:
    if on_state is not None:
        on_state(epoch, history, {"epoch": epoch, "history": history.to_json_dict(),
                                  "optimizer": optimizer.state_dict(), "rng": rng_state(generator)})


def _restore(state, optimizer, generator, lr, epochs) -> History:
    """Load a resume ``state`` into ``optimizer`` and the generators; the history so far."""
    if not isinstance(state, dict) or not {"epoch", "history", "optimizer", "rng"} <= set(state):
        raise DataError("the training state is damaged: expected 'epoch', 'history', 'optimizer' and 'rng'")
    history = History.from_json_dict(state["history"])
    if state["epoch"] != len(history.epoch):
        raise DataError(f"the training state is damaged: it is at epoch {state['epoch']!r} but its history "
                        f"has {len(history.epoch)} epochs")
    if len(history.epoch) >= epochs:
        raise DataError(f"the run already finished: it holds {len(history.epoch)} of {epochs} epochs "
                        f"(ask for more epochs to train further)")
    try:
        optimizer.load_state_dict(state["optimizer"])
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as exc:
        raise DataError(f"the saved optimizer state does not fit this model ({_first_line(exc)})") from None
    for group in optimizer.param_groups:
        group["lr"] = lr
    set_rng_state(state["rng"], generator)
    return history


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


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


def _with_plate_sizes(model, compute_loss, train, n_train: int):
    """``compute_loss`` with the size of each plate the training data fills (``plate data(x, y)``)
    set to ``n_train``, the number of training examples, so that each batch's sums are scaled
    by N / B (gmc.compiler.plates); held-out batches use the same N, so train and test losses
    are both per data set of N examples."""
    sizes = {plate: n_train for plate, variables in getattr(model, "plates", {}).items() if set(variables) & set(train)}
    if not sizes:
        return compute_loss

    def with_sizes(**batch):
        return compute_loss(**batch, **sizes)
    return with_sizes


def _nonfinite_gradient(named) -> str | None:
    """Name of the first parameter whose gradient has a NaN or infinity, or None.

    The fast test is torch's own fused finiteness check of a list of gradients, the one its
    gradient scaler (``torch.amp.GradScaler``) runs every step: one kernel over all gradients
    that sets a flag on any NaN or infinity, with an unscale factor of exactly 1 (multiplying
    by 1.0 leaves every float, -0.0, infinities and NaN unchanged), and one sync. Where that op
    is missing or refuses the gradients (several devices), the sum of every gradient's sum
    stands in: NaN or an infinity anywhere makes it non-finite (inf - inf is NaN). Only when a
    test fails are the gradients checked one by one, which names the culprit (or clears a sum
    that overflowed from finite values). A max-abs over all gradients
    (``get_total_norm(..., inf)``) was 20x slower on CPU."""
    grads = [p.grad for _, p in named if p.grad is not None]
    if not grads:
        return None
    if _all_finite(grads):
        return None
    for name, p in named:
        if p.grad is not None and not bool(torch.isfinite(p.grad).all()):
            return name
    return None


def _all_finite(grads: list[torch.Tensor]) -> bool:
    """False when some gradient may hold a NaN or infinity (see :func:`_nonfinite_gradient`)."""
    check = getattr(torch, "_amp_foreach_non_finite_check_and_unscale_", None)
    if check is not None:
        found, one = _flag_and_one(grads[0].device)
        try:
            check(grads, found.zero_(), one)
            return not bool(found)
        except (RuntimeError, TypeError):
            pass
    try:
        sums = [g.sum() for g in grads]
        return bool(torch.isfinite(torch.stack(sums).sum() if len(sums) > 1 else sums[0]))
    except RuntimeError:  # several devices
        return False


_FLAGS: dict = {}


def _flag_and_one(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(a flag [1], the unscale factor 1.0 [1]) on ``device``, made once per device and thread
    (two threads training at once must not share a flag)."""
    key = (device, threading.get_ident())
    pair = _FLAGS.get(key)
    if pair is None:
        pair = _FLAGS[key] = (torch.zeros(1, device=device), torch.ones(1, device=device))
    return pair


def _scalar_loss(compute_loss, loss_name, batch, where) -> torch.Tensor:
    """``compute_loss(**batch)`` as a 0-dim tensor; TrainingError otherwise. ``where`` says
    where in training (text, or a function giving it, called only for the error)."""
    loss = compute_loss(**batch)
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise TrainingError(f"loss '{loss_name}' must be a scalar tensor, got {shape} at "
                            f"{where() if callable(where) else where}")
    return loss if loss.dim() == 0 else loss.reshape(())  # a reshape is one more backward node


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
                    class_name: str, history: History | None, extra: dict | None = None,
                    training: dict | None = None, durable: bool = True) -> None:
    """Write a checkpoint loadable with ``torch.load(path, weights_only=True)``.

    The file holds the dict ``{"format": "gmc-checkpoint-1", "gmc_version", "source"`` (the
    ``.gm`` text), ``"source_path", "class_name", "state_dict", "history"`` (``History.to_json_dict()``
    or ``None``), ``"extra"`` (``extra`` or ``{}``)``}``, and ``"training"`` when given: the
    ``state`` of :func:`fit`'s ``on_state`` (optimizer and random number generator states), which
    ``fit(resume=...)`` continues from. The whole file is serialized in memory, written to a
    temporary file in the same folder and moved into place with ``os.replace``, so an existing
    checkpoint is never left half-written and a failed write leaves no temporary file behind.
    Missing parent folders are created. ``durable``: flush the file to the disk (``fsync``)
    before the rename, so it survives a power cut; ``False`` skips that (the rename is still
    atomic for every process), for a file rewritten often and flushed once at the end with
    :func:`flush_to_disk`.

    Raises:
        TypeError: ``extra`` holds values other than str, int, float, bool, None, tensors, and
            lists, tuples or str-keyed dicts of those (they could not be loaded with
            ``weights_only=True``).
        OutputError: (an OSError) the file cannot be written, e.g. the disk is full.
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
    if training is not None:
        payload["training"] = training
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    _atomic_write(Path(path), lambda f: f.write(buffer.getbuffer()), durable)


def load_checkpoint(path: str | os.PathLike, *, map_location: str | torch.device | None = "cpu") -> dict:
    """Read and validate a checkpoint written by :func:`save_checkpoint` (``torch.load(weights_only=True)``).

    Tensors are loaded onto ``map_location`` (CPU by default, so a checkpoint saved on a GPU
    loads anywhere; ``None`` keeps the saved devices).

    Returns:
        The checkpoint dict (keys as in :func:`save_checkpoint`).

    Raises:
        DataError: the file does not exist, cannot be read by ``torch.load``, is not a gmc
            checkpoint of a supported format, or is damaged: a required entry is missing or of
            the wrong type, the state dict holds something other than named tensors or a NaN or
            infinite value, the history or ``extra`` is malformed. Each message names the file
            and what is wrong. Whether the weights fit a model is :func:`check_state_dict`'s job.
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
        raise DataError(f"{path}: not a gmc checkpoint (torch.load cannot read it: {_first_line(exc)})") from None
    if not isinstance(ckpt, dict) or "format" not in ckpt:
        raise DataError(f"{path}: not a gmc checkpoint (no 'format' entry; expected one written by 'gmc train')")
    if ckpt["format"] != CHECKPOINT_FORMAT:
        raise DataError(f"{path}: unsupported checkpoint format {ckpt['format']!r}; this gmc reads "
                        f"{CHECKPOINT_FORMAT!r}")
    missing = [k for k in ("source", "source_path", "class_name", "state_dict") if k not in ckpt]
    if missing:
        raise DataError(f"{path}: damaged gmc checkpoint, missing {', '.join(missing)}")
    for key in ("source", "source_path", "class_name"):
        if not isinstance(ckpt[key], str):
            raise DataError(f"{path}: damaged gmc checkpoint, '{key}' is {type(ckpt[key]).__name__}, not text")
    weights = ckpt["state_dict"]
    if not isinstance(weights, dict):
        raise DataError(f"{path}: damaged gmc checkpoint, 'state_dict' is {type(weights).__name__}, not a dict")
    for name, value in weights.items():
        if not isinstance(name, str) or not isinstance(value, torch.Tensor):
            raise DataError(f"{path}: damaged gmc checkpoint, state_dict entry {name!r} is not a named tensor")
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise DataError(f"{path}: damaged gmc checkpoint, weight '{name}' holds NaN or infinite values")
    if ckpt.get("history") is not None:
        if not isinstance(ckpt["history"], dict):
            raise DataError(f"{path}: damaged gmc checkpoint, 'history' is not a dict")
        try:
            History.from_json_dict(ckpt["history"])
        except DataError as exc:
            raise DataError(f"{path}: damaged gmc checkpoint, {exc}") from None
    extra = ckpt.setdefault("extra", {})
    if not isinstance(extra, dict):
        raise DataError(f"{path}: damaged gmc checkpoint, 'extra' is {type(extra).__name__}, not a dict")
    params = extra.get("params", {})
    if not isinstance(params, dict) or not all(
            isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool) for k, v in params.items()):
        raise DataError(f"{path}: damaged gmc checkpoint, extra 'params' must map param names to numbers")
    if "training" in ckpt and not isinstance(ckpt["training"], dict):
        raise DataError(f"{path}: damaged gmc checkpoint, 'training' is not a dict")
    return ckpt


def check_state_dict(model: torch.nn.Module, state_dict: dict, where: str) -> None:
    """DataError unless ``state_dict`` has exactly the names and shapes of ``model.state_dict()``.

    The message starts with ``where`` (e.g. the checkpoint's path) and names the missing and
    unexpected weights, or the first weight whose shape differs, with both shapes."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing weights {_names(missing)}")
        if unexpected:
            parts.append(f"unexpected weights {_names(unexpected)}")
        raise DataError(f"{where}: the checkpoint does not fit this model ({'; '.join(parts)})")
    for name, value in expected.items():
        got = state_dict[name]
        if tuple(got.shape) != tuple(value.shape):
            raise DataError(f"{where}: the checkpoint does not fit this model (weight '{name}' has shape "
                            f"{list(got.shape)}, the model expects {list(value.shape)})")


def _names(names: list[str], limit: int = 4) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def write_metrics(path: str | os.PathLike, history: History, *, durable: bool = True) -> None:
    """Write ``{"epoch": [...], "train_loss": [...], "test_loss": [...]}`` as JSON (indent 2).

    Losses are in nats per example. Written atomically like checkpoints (``durable`` as there).

    Raises:
        ValueError: a loss is NaN or infinite (not representable in strict JSON).
        OutputError: (an OSError) the file cannot be written.
    """
    text = json.dumps(history.to_json_dict(), indent=2, allow_nan=False) + "\n"
    _atomic_write(Path(path), lambda f: f.write(text.encode("utf-8")), durable)


def atomic_output(path: Path, write: Callable[[Path], Any]) -> None:
    """Call ``write(temporary path)`` (a name in ``path``'s folder with ``path``'s suffix), then
    move the result onto ``path``; the temporary file is removed on any failure, and an
    OSError becomes an :class:`OutputError` naming ``path``. For writers that take a path
    (matplotlib) rather than a file object."""
    fd, tmp = _temporary(path)
    os.close(fd)
    _finish(path, tmp, lambda: write(Path(tmp)))


def flush_to_disk(paths) -> None:
    """``fsync`` each existing file of ``paths`` and then their folders, so that files written
    with ``durable=False`` (and their renames) survive a power cut from here on.

    Raises:
        OutputError: (an OSError) a file or folder cannot be flushed."""
    folders = []
    for path in map(Path, paths):
        if path.is_file():
            _fsync_path(path, os.O_RDONLY)
            if path.parent not in folders:
                folders.append(path.parent)
    for folder in folders:
        _fsync_path(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))


def _fsync_path(path: Path, flags: int) -> None:
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if path.is_dir():  # a system that cannot open folders (Windows): renames are its business
            return
        raise _output_error(path, exc) from None
    try:
        os.fsync(fd)
    except OSError as exc:
        if not path.is_dir():
            raise _output_error(path, exc) from None
    finally:
        os.close(fd)


def _atomic_write(path: Path, write: Callable[[Any], Any], durable: bool = True) -> None:
    fd, tmp = _temporary(path)

    def run():
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            if durable:
                os.fsync(f.fileno())
    _finish(path, tmp, run)


def _temporary(path: Path) -> tuple[int, str]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    except OSError as exc:
        raise _output_error(path, exc) from None


def _finish(path: Path, tmp: str, run: Callable[[], Any]) -> None:
    try:
        run()
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            raise _output_error(path, exc) from None
        raise


def _output_error(path: Path, exc: OSError) -> OutputError:
    if isinstance(exc, IsADirectoryError) or path.is_dir():
        return OutputError(f"cannot write {path}: it is a folder; remove or rename it")
    return OutputError(f"cannot write {path}: {exc.strerror or _first_line(exc)}")


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
