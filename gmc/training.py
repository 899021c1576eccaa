"""``gmc train`` and ``gmc sample``: compile, match data to variables, fit, write results.

Output folder of ``train`` (docs/design.md section 4): ``model.pt`` (checkpoint with the optimizer
and random number generator states, written before the first epoch and rewritten after every
epoch, so ``--resume`` continues from the last finished one), ``samples.png``,
``metrics.json`` (per-epoch means of the trained loss, nats per example), ``metrics.png``
(its curves) and, for a model with an encoder and decoder, ``reconstructions.png`` and ``walk.png``. The folder is
checked, locked and probed first (:mod:`gmc.runtime.run_folder`); every file is written
atomically.
"""
from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

from gmc.compiler import ir
from gmc.runtime.errors import DataError

_SUPPORT_TESTS = {
    "binary": (lambda t: ((t == 0) | (t == 1)), "0 or 1"),
    "count": (lambda t: (t >= 0) & (t == t.round()), "a non-negative integer"),
    "positive": (lambda t: t > 0, "positive"),
    "unit": (lambda t: (t > 0) & (t < 1), "strictly between 0 and 1"),
}


def observed_variable(model: ir.Model, loss_name: str) -> str:
    """The variable a loss reads the data set's features into: its only input, else the input
    named ``x``; DataError when it reads none."""
    from gmc.compiler.dataflow import data_inputs

    inputs = data_inputs(model, model.losses[loss_name].expr)
    if not inputs:
        raise DataError(f"loss '{loss_name}' reads no variables from data; there is nothing to train on")
    if len(inputs) == 1 or "x" not in inputs:
        return inputs[0]
    return "x"


def observed_tensors(model: ir.Model, loss_name: str, dataset, source: str):
    """(train, test): dicts variable -> tensor [N, *event] for every variable the loss reads.

    A loss that reads one variable gets the features whatever its name. Otherwise variables
    are fed by name: ``x`` the features, ``y`` the labels (one-hot for a ``categorical[K]``
    variable, numbers otherwise) or the regression targets. DataError for any other name,
    a data set without labels, or labels outside 0..K-1."""
    from gmc.compiler.dataflow import data_inputs

    inputs = data_inputs(model, model.losses[loss_name].expr)
    return _fed(model, inputs, observed_variable(model, loss_name), dataset, source, f"loss '{loss_name}'")


def observed_tensors_for(model: ir.Model, inputs, dataset, source: str, what: str):
    """(train, test) for the variables ``inputs`` of a game, fed as a loss's are: ``x`` (or
    the only variable) the features, ``y`` the labels."""
    main = inputs[0] if len(inputs) == 1 or "x" not in inputs else "x"
    return _fed(model, inputs, main, dataset, source, f"game '{what}'")


def _fed(model: ir.Model, inputs, main: str, dataset, source: str, reader: str):
    """(train, test) for ``inputs``: ``main`` gets the features, ``y`` the labels or targets."""
    fields = {"x": (dataset.train, dataset.test)}
    if dataset.train_targets is not None:
        fields["y"] = (dataset.train_targets, dataset.test_targets)
    elif dataset.train_labels is not None:
        fields["y"] = (dataset.train_labels, dataset.test_labels)
    train, test = {}, {}
    for name in inputs:
        key = "x" if name == main else name
        if key not in fields:
            raise DataError(f"{reader} reads '{name}', but {source} provides only "
                            f"{', '.join(repr(k) for k in fields)} (features 'x', labels or targets 'y')")
        var = model.vars[name]
        columns = [_columns(var, t, source) if key == "y" else t for t in fields[key]]
        rows = (getattr(dataset, "train_rows", None), getattr(dataset, "test_rows", None))
        unit = getattr(dataset, "row_unit", "example")
        train[name], test[name] = (shape_for(var, c, source, r, unit) for c, r in zip(columns, rows))
    return train, test


def _columns(var: ir.Var, values, source: str):
    """Labels or targets [N] as a matrix [N, D] for ``var``: one-hot for categorical[K]."""
    import torch

    if var.type.support != "categorical":
        return values.reshape(-1, 1).to(torch.float32)
    k = var.type.shape[-1] if var.type.shape else 1
    bad = (values < 0) | (values >= k)
    if bool(bad.any()):
        raise DataError(f"'{var.name}' is {var.type}, so labels must be 0..{k - 1}; {source} has label "
                        f"{int(values[bad][0])}")
    return torch.nn.functional.one_hot(values.long(), k).to(torch.float32)


def param_overrides(model: ir.Model, assignments) -> dict[str, float]:
    """``--set NAME=VALUE`` pairs as constructor keywords; DataError for a name that is not a param."""
    out = {}
    for name, value in assignments:
        if name not in model.params:
            known = ", ".join(model.params) or "none"
            raise DataError(f"--set {name}={value:g}: '{name}' is not a param of this model (its params: {known})")
        out[name] = value
    return out


def shape_for(var: ir.Var, features, source: str, rows=None, unit: str = "example"):
    """``features`` [N, D] reshaped to [N, *event_shape]; checks size and support.

    ``rows``: where each row of ``features`` comes from in the data file (1-based; a
    :class:`gmc.runtime.data.Dataset`'s ``train_rows``), so an error cites the file's
    ``unit`` ("line" or "example") and column rather than the position after shuffling."""
    import torch

    if features.shape[1] != var.type.size:
        raise DataError(f"{source} has {features.shape[1]} values per example, but '{var.name}' is "
                        f"{var.type} ({var.type.size} values)")
    test = _SUPPORT_TESTS.get(var.type.support)
    if test is not None:
        ok = test[0](features)
        if not bool(ok.all()):
            row, col = (~ok).nonzero()[0].tolist()
            where = f"{unit} {rows[row]}, column {col + 1}" if rows is not None else \
                f"example {row + 1}, feature {col + 1}"
            raise DataError(f"'{var.name}' is declared {var.type}, so every value must be {test[1]}; {source} has "
                            f"{features[row, col].item():g} at {where}")
    return features.reshape(features.shape[0], *var.type.shape).to(torch.float32)


def sampling_factor(model: ir.Model, var: str, given=()) -> str | None:
    """A factor that draws ``var`` conditioned on exactly ``given`` (the largest joint), or None."""
    candidates = [sig for sig, f in model.factors.items() if set(f.given) == set(given) and var in f.outputs]
    return max(candidates, key=lambda s: len(model.factors[s].outputs), default=None)


def given_tensors(model: ir.Model, assignments, n: int) -> dict:
    """``--given NAME=VALUE`` as tensors [n, *event]: a label k is one-hot for categorical[K]."""
    import torch

    out = {}
    for name, value in assignments:
        var = model.vars.get(name)
        if var is None:
            raise DataError(f"--given {name}={value:g}: no variable '{name}' (variables: {', '.join(model.vars)})")
        if var.type.support == "categorical":
            k = var.type.shape[-1]
            if not (value.is_integer() and 0 <= value < k):
                raise DataError(f"--given {name}={value:g}: '{name}' is {var.type}, so give a label 0..{k - 1}")
            out[name] = torch.nn.functional.one_hot(torch.full((n,), int(value)), k).float()
        else:
            out[name] = torch.full((n, *var.type.shape), float(value))
    return out


#: Defaults of ``gmc train``'s options; the parser leaves them None so that ``--resume`` can tell
#: an option given on the command line from one left out.
TRAIN_DEFAULTS = {"epochs": 50, "batch_size": 128, "lr": 1e-3, "seed": 0}

#: Files ``gmc train`` writes into its output folder.
TRAIN_OUTPUTS = ("model.pt", "metrics.json", "samples.png", "metrics.png", "reconstructions.png", "walk.png")

#: Test hook (docs/cli.md): ``GMC_TEST_KILL_AFTER_EPOCH=k`` makes ``gmc train`` kill itself with
#: SIGKILL right after saving epoch k, so tests can interrupt a run at a known point.
KILL_HOOK = "GMC_TEST_KILL_AFTER_EPOCH"


def train_command(args) -> int:
    import torch

    from gmc.compiler.dataflow import draws_own_batch
    from gmc.runtime import data, train
    from gmc.runtime.errors import TrainingError
    from gmc.runtime.schedules import check_params, parse_schedule

    from gmc.runtime.devices import resolve_device, to_device

    if (getattr(args, "nproc", None) or 1) > 1:  # data-parallel: N processes each run this function
        from gmc.parallel_training import train_in_processes

        return train_in_processes(args)
    from gmc import parallel_training as parallel

    device = resolve_device(getattr(args, "device", None))
    text, filename, model_ir, cls = _compile(args.file)
    from gmc.adversarial_training import game_train_command, wants_game

    if wants_game(model_ir, args):
        if not parallel.alone():
            raise DataError("--nproc trains one loss with one optimizer; adversarial games run in one process")
        return game_train_command(args, text, filename, model_ir, cls)
    resume = getattr(args, "resume", None)
    if resume is not None:
        if args.out is not None and Path(args.out).resolve() != Path(resume).resolve():
            raise DataError(f"--out {args.out} differs from --resume {resume}; a resumed run writes into the "
                            f"folder it resumes")
        out = Path(resume)
        if not (out / "model.pt").is_file():
            raise DataError(f"--resume {resume}: no checkpoint {out / 'model.pt'} to continue from")
    else:
        if args.data is None:
            raise DataError("--data is required (or --resume DIR to continue a run)")
        out = Path(args.out) if args.out else Path("runs") / Path(args.file).stem

    with parallel.claim(out, TRAIN_OUTPUTS):
        state = None
        if resume is not None:
            state = train.load_checkpoint(out / "model.pt")
            _resume_settings(args, state, text, out / "model.pt")
        settings = {k: v if getattr(args, k, None) is None else getattr(args, k) for k, v in TRAIN_DEFAULTS.items()}
        schedules = tuple(parse_schedule(s) for s in getattr(args, "schedule", None) or ())
        check_params(schedules, model_ir.params)
        if not model_ir.losses:
            hint = (f"; sample its global latents with: gmc mcmc {args.file} --data ..."
                    if any(v.is_global for v in model_ir.vars.values()) else " (it can be sampled and scored from Python)")
            raise DataError(f"{filename} defines no loss: there is nothing to train{hint}")
        loss_name = getattr(args, "loss", None) or next(iter(model_ir.losses))
        if loss_name not in model_ir.losses:
            raise DataError(f"--loss {loss_name}: {filename} has no such loss (its losses: "
                            f"{', '.join(model_ir.losses)})")
        dataset = data.load_dataset(args.data)
        if draws_own_batch(model_ir, model_ir.losses[loss_name].expr):
            # reads no data (a GAN's generator loss): each step draws as many examples as a data batch has
            var, train_data, test_data = None, {"examples": dataset.train}, {"examples": dataset.test}
        else:
            var = model_ir.vars[observed_variable(model_ir, loss_name)]
            train_data, test_data = observed_tensors(model_ir, loss_name, dataset, f"--data {args.data}")
        train_x = next(iter(train_data.values()))

        torch.manual_seed(settings["seed"])
        params = param_overrides(model_ir, args.set)
        model = cls(compile=getattr(args, "compile", False), **params)
        if state is not None:
            train.check_state_dict(model, state["state_dict"], str(out / "model.pt"))
            model.load_state_dict(state["state_dict"])
        model.to(device)
        train_data, test_data = to_device(train_data, device), to_device(test_data, device)
        done = _epochs_done(state)
        print(f"training {model_ir.name} from {filename} on {dataset.name}: {len(train_x)} train / "
              f"{len(next(iter(test_data.values())))} held-out examples, loss '{loss_name}', {settings['epochs']} epochs"
              + f", on {device}" + (f", resuming after epoch {done}" if state is not None else ""), file=sys.stderr)
        saved = {"epoch": done if state is not None else None}  # the epoch model.pt holds

        def checkpoint(epoch, history, training):
            if not parallel.is_main():  # rank 0 writes for all
                return
            train.save_checkpoint(out / "model.pt", model, source=text, source_path=str(args.file),
                                  class_name=model_ir.name, history=history, training=training,
                                  extra={"data": args.data, "epoch": epoch, "loss": loss_name, "params": params,
                                         "schedules": [str(s) for s in schedules], **settings},
                                  durable=False)
            train.write_metrics(out / "metrics.json", history, durable=False)
            saved["epoch"] = epoch
            if os.environ.get(KILL_HOOK) == str(epoch):
                os.kill(os.getpid(), signal.SIGKILL)

        try:
            history = train.fit(parallel.wrap(model), loss_name, train_data, test_data, epochs=settings["epochs"],
                                batch_size=settings["batch_size"], lr=settings["lr"], seed=settings["seed"],
                                progress=not args.quiet, log=lambda line: print(line, file=sys.stderr),
                                on_state=checkpoint, schedules=schedules,
                                resume=state["training"] if state is not None else None)
        except TrainingError as exc:
            k = saved["epoch"]
            if k is None:  # refused before anything was saved
                raise
            kept = (f"after epoch {k}, with metrics.json for epochs 1..{k}" if k else
                    "from before the first epoch (the initial ones), with an empty metrics.json")
            raise TrainingError(f"{exc} Saved in {out}: model.pt holds the last good parameters, {kept}; "
                                f"'gmc train FILE --resume {out} --lr LR' continues from there.") from None
        finally:  # the per-epoch files are renamed into place unflushed; one fsync for the whole run
            if parallel.is_main():
                train.flush_to_disk([out / "model.pt", out / "metrics.json"])
        if not parallel.is_main():
            return 0
        sig = sampling_factor(model_ir, var.name) if var is not None else None
        if sig is not None:
            _write_samples(model, sig, var.name, 64, out / "samples.png", dataset.image_shape, settings["seed"])
            train.flush_to_disk([out / "samples.png"])
        from gmc.visualize import training_pictures

        image_shape = dataset.image_shape or (_image_shape(var) if var is not None else None)
        train.flush_to_disk(training_pictures(model, model_ir, loss_name, history, test_data, out, image_shape,
                                              settings["seed"]))
    summary = {"final_train_loss": history.train_loss[-1], "final_test_loss": history.test_loss[-1],
               "epochs": history.epoch[-1], "out": str(out)}
    print(json.dumps(summary))
    return 0


def _resume_settings(args, ckpt: dict, text: str, where: Path) -> None:
    """Fill ``args`` from the checkpoint of the run being resumed; DataError when the checkpoint
    cannot be resumed (no training state, another source, already finished) or an option given
    on the command line contradicts it (only ``--lr`` and ``--epochs`` may change)."""
    if "training" not in ckpt:
        raise DataError(f"{where}: holds no training state (optimizer and random number generators), so it "
                        f"cannot be resumed")
    if ckpt["source"] != text:
        raise DataError(f"{where}: was trained from a different source than {args.file}; resume with the "
                        f"same .gm file")
    extra = ckpt["extra"]
    recorded = {"data": extra.get("data"), "loss": extra.get("loss"),
                **{k: extra.get(k) for k in TRAIN_DEFAULTS}}
    if any(v is None for v in recorded.values()):
        raise DataError(f"{where}: does not record the settings of its run, so it cannot be resumed")
    for name, value in recorded.items():
        given = getattr(args, name, None)
        if name in ("lr", "epochs") or given is None:
            continue
        if given != value:
            flag = "--" + name.replace("_", "-")
            raise DataError(f"{flag} {given} differs from {value}, the value the resumed run was started with; "
                            f"leave {flag} out")
    for flag, name, value in (("--set", "set", extra.get("params") or {}),
                              ("--schedule", "schedule", extra.get("schedules") or [])):
        given = getattr(args, name, None)
        if given and (dict(given) if name == "set" else list(given)) != value:
            raise DataError(f"{flag} differs from the resumed run's; leave {flag} out")
    args.data, args.loss = recorded["data"], recorded["loss"]
    for name in TRAIN_DEFAULTS:
        if name not in ("lr", "epochs") or getattr(args, name, None) is None:
            setattr(args, name, recorded[name])
    args.set = list((extra.get("params") or {}).items())
    args.schedule = list(extra.get("schedules") or [])
    done = _epochs_done(ckpt)
    if done >= args.epochs:
        raise DataError(f"{where}: the run already finished ({done} of {args.epochs} epochs); pass --epochs N "
                        f"with N > {done} (the total number of epochs) to train further")


def _epochs_done(ckpt: dict | None) -> int:
    """Finished epochs recorded in a checkpoint's training state (0 when there is none)."""
    try:
        return len(ckpt["training"]["history"]["epoch"])
    except (KeyError, TypeError):
        return 0


def sample_command(args) -> int:
    from gmc.runtime import train
    from gmc.runtime.devices import resolve_device, to_device

    device = resolve_device(getattr(args, "device", None))

    text, filename, model_ir, cls = _compile(args.file)
    state = train.load_checkpoint(args.checkpoint)
    if state["class_name"] != model_ir.name:
        raise DataError(f"{args.checkpoint}: is a checkpoint of model '{state['class_name']}', but {args.file} "
                        f"defines '{model_ir.name}'")
    if state.get("source") != text:
        print(f"warning: {args.file} differs from the source the checkpoint was trained with", file=sys.stderr)
    params = state["extra"].get("params", {})
    unknown = [name for name in params if name not in model_ir.params]
    if unknown:
        raise DataError(f"{args.checkpoint}: sets param '{unknown[0]}', which {args.file} does not declare")
    model = cls(**params)
    train.check_state_dict(model, state["state_dict"], str(args.checkpoint))
    model.load_state_dict(state["state_dict"])
    model.to(device)
    from gmc.sampling_plan import example_value, plan, sampled_variable

    game = state["extra"].get("game")
    if game is not None:  # a game's checkpoint (gmc.adversarial_training): sample what its generator draws
        if game not in model_ir.games:
            raise DataError(f"{args.checkpoint}: was trained on game '{game}', which {args.file} does not define")
        var = cls.games[game].drawn[0]
    else:
        loss_name = state["extra"].get("loss") or next(iter(model_ir.losses))
        if loss_name not in model_ir.losses:
            raise DataError(f"{args.checkpoint}: was trained on loss '{loss_name}', which {args.file} does not define")
        from gmc.compiler.dataflow import data_inputs

        var = sampled_variable(model_ir, data_inputs(model_ir, model_ir.losses[loss_name].expr),
                               observed_variable(model_ir, loss_name))
    given = to_device(given_tensors(model_ir, args.given, args.n), device)
    steps = plan(model_ir, var, tuple(given))
    if steps.missing:
        condition = f" given {', '.join(given)}" if given else ""
        hint = " ".join(f"--given {v}={example_value(model_ir.vars[v])}" for v in steps.missing)
        raise DataError(f"{filename}: drawing '{var}'{condition} needs {', '.join(repr(v) for v in steps.missing)}, "
                        f"which no factor draws; give a value, e.g. {hint}")
    image_shape = _image_shape(model_ir.vars[var])
    output = Path(args.output) if args.output is not None else Path(args.checkpoint).parent / "sampled.png"
    _write_plan_samples(model, steps.steps, var, args.n, output, image_shape, args.seed, given,
                        [v.name for v in model_ir.vars.values() if v.is_global])
    print(f"wrote {args.n} samples of '{var}' from {' then '.join(steps.steps)} to {output}", file=sys.stderr)
    return 0


def _write_plan_samples(model, steps, var, n, path, image_shape, seed, given, global_vars=()):
    """Draw ``var`` by running the factors ``steps`` in order (ancestral sampling) and save the
    picture. A factor of ``global_vars`` only (``var global w``) is drawn once, without a batch
    dimension, and shared by the ``n`` examples."""
    import torch

    from gmc.runtime import images
    from gmc.runtime.train import atomic_output

    torch.manual_seed(seed)
    model.eval()
    values = dict(given)
    with torch.no_grad():
        for sig in steps:
            conditions = {g: values[g] for g in model.factors[sig].given}
            if conditions:
                values.update(model.sample(sig, **conditions))
            elif set(model.factors[sig].outputs) <= set(global_vars):
                values.update({k: v[0] for k, v in model.sample(sig, n=1).items()})
            else:
                values.update(model.sample(sig, n=n))
    drawn = values[var]
    title = f"samples of {var} from {' then '.join(steps)}"
    atomic_output(path, lambda tmp: images.save_sample_grid(drawn.reshape(drawn.shape[0], -1), tmp, image_shape,
                                                            title=title))


def _compile(path):
    """(source text, file name, checked IR, generated class) of a .gm file."""
    from gmc.compiler import driver

    text, filename = driver.read_source(path)
    model_ir, cls = driver.compile_class(text, filename, cached=True)
    return text, filename, model_ir, cls


def _image_shape(var: ir.Var):
    from gmc.runtime.data import square_image_shape

    return var.type.shape if len(var.type.shape) == 2 else square_image_shape(var.type.size)


def _write_samples(model, sig, var, n, path, image_shape, seed, given=None):
    import torch

    from gmc.runtime import images

    torch.manual_seed(seed)
    model.eval()
    with torch.no_grad():
        drawn = model.sample(sig, **given)[var] if given else model.sample(sig, n=n)[var]
    from gmc.runtime.train import atomic_output

    atomic_output(path, lambda tmp: images.save_sample_grid(drawn.reshape(n, -1), tmp, image_shape,
                                                            title=f"samples of {var} from {sig}"))
