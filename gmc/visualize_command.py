"""``gmc visualize``: reconstructions and latent walks of a trained checkpoint (:mod:`gmc.visualize`)."""
from __future__ import annotations

import sys
from pathlib import Path

from gmc.runtime.errors import DataError


def add_parser(sub) -> None:
    """Register ``gmc visualize`` on the command line's subparsers."""
    from gmc.visualize import KINDS

    c = sub.add_parser("visualize", help="reconstructions and latent walks of a trained model (png)")
    c.add_argument("file")
    c.add_argument("--checkpoint", required=True)
    c.add_argument("--kind", choices=KINDS, default="reconstruct",
                   help="reconstruct (default), interpolate, random-walk or path")
    c.add_argument("--data", help="data set for held-out examples (default: the one the checkpoint was trained on)")
    c.add_argument("--rows", type=int, default=4,
                   help="rows of the picture (default 4; reconstruct: rows/2 pairs of rows)")
    c.add_argument("--steps", type=int, default=8,
                   help="images per row: points per walk or interpolation, examples per row (default 8)")
    c.add_argument("--step-size", type=float, default=0.5, help="random-walk step, in prior standard deviations")
    c.add_argument("--draws", type=int, default=32, help="samples averaged for each mean (default 32)")
    c.add_argument("-o", "--output", help="output picture (default: KIND.png next to the checkpoint)")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--device", default="auto", metavar="auto|cpu|cuda|mps")
    c.set_defaults(command=visualize_command)


def visualize_command(args) -> int:
    import torch

    from gmc import training, visualize
    from gmc.runtime import data, train
    from gmc.runtime.devices import resolve_device
    from gmc.sampling_plan import plan

    for name in ("rows", "steps", "draws"):
        if getattr(args, name) < (2 if name == "steps" else 1):
            raise DataError(f"--{name} {getattr(args, name)}: must be at least {2 if name == 'steps' else 1}")
    device = resolve_device(args.device)
    text, filename, model_ir, cls = training._compile(args.file)
    state = train.load_checkpoint(args.checkpoint)
    if state["class_name"] != model_ir.name:
        raise DataError(f"{args.checkpoint}: is a checkpoint of model '{state['class_name']}', but {args.file} "
                        f"defines '{model_ir.name}'")
    model = cls(**training.param_overrides(model_ir, state["extra"].get("params", {}).items()))
    train.check_state_dict(model, state["state_dict"], str(args.checkpoint))
    model.load_state_dict(state["state_dict"])
    model.to(device).eval()
    game = state["extra"].get("game")
    if game is not None:  # a game's checkpoint: the variable its generator draws
        if game not in model_ir.games:
            raise DataError(f"{args.checkpoint}: was trained on game '{game}', which {args.file} does not define")
        x_name = cls.games[game].drawn[0]
    else:
        loss_name = state["extra"].get("loss") or next(iter(model_ir.losses), None)
        if loss_name not in model_ir.losses:
            raise DataError(f"{args.checkpoint}: was trained on loss '{loss_name}', which {args.file} does not define")
        x_name = training.observed_variable(model_ir, loss_name)
    pair = visualize.latent_pair(model_ir, x_name)
    image_shape = training._image_shape(model_ir.vars[x_name])
    torch.manual_seed(args.seed)
    with torch.no_grad():
        if args.kind == "random-walk":
            prior = plan(model_ir, pair.z)
            if prior.missing:
                raise DataError(f"{filename}: drawing '{pair.z}' from its prior needs {', '.join(prior.missing)}")
            rows = visualize.random_walks(model, prior.steps, pair, args.rows, args.steps, args.step_size, args.draws)
        else:
            spec = args.data or state["extra"].get("data")
            if spec is None:
                raise DataError(f"{args.checkpoint}: does not record its data set; pass --data")
            dataset = data.load_dataset(spec)
            if game is not None:
                from gmc.compiler.codegen.adversarial import game_inputs

                held_out = training.observed_tensors_for(model_ir, game_inputs(model_ir, model_ir.games[game]), dataset,
                                                         f"--data {spec}", game)[1][x_name]
            else:
                held_out = training.observed_tensors(model_ir, loss_name, dataset, f"--data {spec}")[1][x_name]
            pairs = max(1, args.rows // 2)
            needed = {"reconstruct": pairs * args.steps, "interpolate": 2 * args.rows, "path": args.rows + 1}[args.kind]
            x = held_out[:needed].to(device)
            if args.kind == "reconstruct":
                rows = visualize.reconstructions(model, pair, x, args.steps, args.draws)
            elif args.kind == "interpolate":
                rows = visualize.interpolations(model, pair, x, args.steps, args.draws)
            else:
                rows = visualize.path(model, pair, x, args.steps, args.draws)
    out = Path(args.output) if args.output else Path(args.checkpoint).parent / f"{args.kind}.png"
    title = {"reconstruct": f"held-out {x_name} (odd rows) and E[{x_name} | E[{pair.z}|{x_name}]] (even rows)",
             "interpolate": f"linear interpolation in {pair.z} between pairs of held-out examples",
             "random-walk": f"random walks in {pair.z} from prior draws (step {args.step_size:g})",
             "path": f"path in {pair.z} through {len(rows) + 1} held-out examples, one row per segment"}[args.kind]
    from gmc.runtime.train import atomic_output

    atomic_output(out, lambda tmp: visualize.save_rows(rows, tmp, image_shape, title))
    print(f"wrote {out}", file=sys.stderr)
    return 0
