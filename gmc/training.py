"""``gmc train`` and ``gmc sample``: compile, match data to variables, fit, write results.

Output folder of ``train`` (DESIGN.md section 4): ``model.pt`` (checkpoint, rewritten after
every epoch), ``samples.png`` and ``metrics.json`` (per-epoch means of the first loss,
nats per example).
"""
from __future__ import annotations

import json
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
    """The one variable a loss reads from data; DataError when it reads none or several."""
    from gmc.compiler.dataflow import data_inputs

    inputs = data_inputs(model, model.losses[loss_name].expr)
    if len(inputs) != 1:
        wanted = ", ".join(inputs) if inputs else "no variables"
        raise DataError(f"loss '{loss_name}' reads {wanted} from data, but --data provides one array; "
                        "training needs a loss with exactly one observed variable")
    return inputs[0]


def shape_for(var: ir.Var, features, source: str):
    """``features`` [N, D] reshaped to [N, *event_shape]; checks size and support."""
    import torch

    if features.shape[1] != var.type.size:
        raise DataError(f"{source} has {features.shape[1]} values per example, but '{var.name}' is "
                        f"{var.type} ({var.type.size} values)")
    test = _SUPPORT_TESTS.get(var.type.support)
    if test is not None:
        ok = test[0](features)
        if not bool(ok.all()):
            row, col = (~ok).nonzero()[0].tolist()
            raise DataError(f"'{var.name}' is declared {var.type}, so every value must be {test[1]}; {source} has "
                            f"{features[row, col].item():g} at example {row + 1}, feature {col + 1}")
    return features.reshape(features.shape[0], *var.type.shape).to(torch.float32)


def sampling_factor(model: ir.Model, var: str) -> str | None:
    """An unconditioned factor that draws ``var`` (the largest joint), or None."""
    candidates = [sig for sig, f in model.factors.items() if not f.given and var in f.outputs]
    return max(candidates, key=lambda s: len(model.factors[s].outputs), default=None)


def train_command(args) -> int:
    import torch

    from gmc.runtime import data, train

    text, filename, model_ir, cls = _compile(args.file)
    loss_name = next(iter(model_ir.losses))
    var = model_ir.vars[observed_variable(model_ir, loss_name)]
    dataset = data.load_dataset(args.data)
    train_x = shape_for(var, dataset.train, f"--data {args.data}")
    test_x = shape_for(var, dataset.test, f"--data {args.data}")
    out = Path(args.out) if args.out else Path("runs") / Path(args.file).stem
    out.mkdir(parents=True, exist_ok=True)

    torch.manual_seed(args.seed)
    model = cls(compile=getattr(args, "compile", False))
    print(f"training {model_ir.name} from {filename} on {dataset.name}: {len(train_x)} train / {len(test_x)} "
          f"held-out examples, loss '{loss_name}', {args.epochs} epochs", file=sys.stderr)

    def checkpoint(epoch, history):
        train.save_checkpoint(out / "model.pt", model, source=text, source_path=str(args.file),
                              class_name=model_ir.name, history=history,
                              extra={"data": args.data, "epoch": epoch, "loss": loss_name})
        train.write_metrics(out / "metrics.json", history)

    history = train.fit(model, loss_name, {var.name: train_x}, {var.name: test_x}, epochs=args.epochs,
                        batch_size=args.batch_size, lr=args.lr, seed=args.seed, progress=not args.quiet,
                        log=lambda line: print(line, file=sys.stderr), on_epoch=checkpoint)
    sig = sampling_factor(model_ir, var.name)
    if sig is not None:
        _write_samples(model, sig, var.name, 64, out / "samples.png", dataset.image_shape, args.seed)
    summary = {"final_train_loss": history.train_loss[-1], "final_test_loss": history.test_loss[-1],
               "epochs": history.epoch[-1], "out": str(out)}
    print(json.dumps(summary))
    return 0


def sample_command(args) -> int:
    from gmc.runtime import train

    text, filename, model_ir, cls = _compile(args.file)
    state = train.load_checkpoint(args.checkpoint)
    if state.get("source") != text:
        print(f"warning: {args.file} differs from the source the checkpoint was trained with", file=sys.stderr)
    model = cls()
    try:
        model.load_state_dict(state["state_dict"])
    except RuntimeError as e:
        raise DataError(f"checkpoint {args.checkpoint} does not fit {args.file}: {str(e).splitlines()[0]}") from None
    loss_name = state.get("extra", {}).get("loss") or next(iter(model_ir.losses))
    var = observed_variable(model_ir, loss_name)
    sig = sampling_factor(model_ir, var)
    if sig is None:
        raise DataError(f"no factor in {filename} draws '{var}' without conditioning; nothing to sample")
    image_shape = _image_shape(model_ir.vars[var])
    _write_samples(model, sig, var, args.n, Path(args.output), image_shape, args.seed)
    print(f"wrote {args.n} samples of '{var}' from {sig} to {args.output}", file=sys.stderr)
    return 0


def _compile(path):
    """(source text, file name, checked IR, generated class) of a .gm file."""
    from gmc.compiler import driver

    text, filename = driver.read_source(path)
    model_ir = driver.compile_model(text, filename)
    return text, filename, model_ir, driver.load(driver.python_source(model_ir), model_ir)


def _image_shape(var: ir.Var):
    from gmc.runtime.data import square_image_shape

    return var.type.shape if len(var.type.shape) == 2 else square_image_shape(var.type.size)


def _write_samples(model, sig, var, n, path, image_shape, seed):
    import torch

    from gmc.runtime import images

    torch.manual_seed(seed)
    model.eval()
    with torch.no_grad():
        drawn = model.sample(sig, n=n)[var]
    images.save_sample_grid(drawn.reshape(n, -1), path, image_shape, title=f"samples of {var} from {sig}")
