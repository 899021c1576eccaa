"""``gmc train`` for a file with a game (docs/cli.md, "Games"): one Adam per player, the
schedule of the file, each player's objective per epoch in ``metrics.json``, a sample grid.

Output folder: ``model.pt`` (a checkpoint ``gmc sample`` reads), ``metrics.json`` (the keys
of :func:`gmc.runtime.adversarial.fit_game`, plus ``evaluation`` on digits: the Fréchet
distance, label entropy and class coverage of 1,000 draws, :mod:`gmc.runtime.digits_eval`)
and ``samples.png`` (the generator's draws for the first 64 held-out examples).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from gmc.runtime.errors import DataError

#: Files ``gmc train`` writes for a game.
OUTPUTS = ("model.pt", "metrics.json", "samples.png", "metrics.png")


def wants_game(model_ir, args) -> bool:
    """True when ``gmc train`` should train a game: ``--loss`` names one, or none is given and
    the file has a game."""
    chosen = getattr(args, "loss", None)
    return bool(model_ir.games) and (chosen is None or chosen in model_ir.games)


def player_settings(assignments, what: str, players) -> dict:
    out = {}
    for name, value in assignments:
        if name not in players:
            raise DataError(f"--player-{what} {name}=...: no player '{name}' (players: {', '.join(players)})")
        out[name] = value
    return out


def _betas(text: str) -> tuple[str, tuple[float, float]]:
    name, _, value = text.partition("=")
    try:
        b1, b2 = (float(v) for v in value.split(","))
    except ValueError:
        raise DataError(f"--player-betas {text}: write NAME=BETA1,BETA2, e.g. disc=0.5,0.999") from None
    if not (0 <= b1 < 1 and 0 <= b2 < 1):
        raise DataError(f"--player-betas {text}: betas must lie in [0, 1)")
    return name, (b1, b2)


def game_train_command(args, text: str, filename: str, model_ir, cls) -> int:
    import torch

    from gmc.runtime import adversarial, data, images, train
    from gmc.runtime.run_folder import claimed_folder
    from gmc.training import TRAIN_DEFAULTS, observed_tensors_for, param_overrides

    if getattr(args, "resume", None) is not None:
        raise DataError("--resume is not supported for games yet; start a new run")
    if getattr(args, "schedule", None):
        raise DataError("--schedule is not supported for games yet")
    if args.data is None:
        raise DataError("--data is required")
    name = getattr(args, "loss", None) or next(iter(model_ir.games))
    game = model_ir.games[name]
    settings = {k: v if getattr(args, k, None) is None else getattr(args, k) for k, v in TRAIN_DEFAULTS.items()}
    players = [p.name for p in game.players]
    lr = player_settings(getattr(args, "player_lr", None) or [], "lr", players)
    if getattr(args, "lr", None) is not None:
        lr = {p: lr.get(p, args.lr) for p in players}
    betas = player_settings([_betas(t) for t in getattr(args, "player_betas", None) or []], "betas", players)
    out = Path(args.out) if args.out else Path("runs") / Path(args.file).stem
    from gmc.compiler.codegen.adversarial import game_inputs

    inputs = game_inputs(model_ir, game)
    with claimed_folder(out, OUTPUTS):
        dataset = data.load_dataset(args.data)
        train_data, test_data = observed_tensors_for(model_ir, inputs, dataset, f"--data {args.data}", name)
        torch.manual_seed(settings["seed"])
        params = param_overrides(model_ir, args.set)
        model = cls(**params)
        n_train = len(next(iter(train_data.values())))
        print(f"training {model_ir.name} from {filename} on {dataset.name}: {n_train} train / "
              f"{len(next(iter(test_data.values())))} held-out examples, game '{name}' (players "
              f"{', '.join(players)}), {settings['epochs']} epochs", file=sys.stderr)
        log = None if args.quiet else (lambda line: print(line, file=sys.stderr))

        def save(metrics):
            train.save_checkpoint(out / "model.pt", model, source=text, source_path=str(args.file),
                                  class_name=model_ir.name, history=None,
                                  extra={"data": args.data, "game": name, "params": params, **settings})
            train.atomic_output(out / "metrics.json", lambda tmp: Path(tmp).write_text(json.dumps(metrics, indent=1)))

        metrics = adversarial.fit_game(model, name, train_data, test_data, epochs=settings["epochs"],
                                       batch_size=settings["batch_size"], seed=settings["seed"], lr=lr, betas=betas,
                                       params=params, log=log, on_epoch=save)
        model.eval()
        torch.manual_seed(settings["seed"])
        first = {k: v[:64] for k, v in test_data.items()}
        drawn = adversarial.draw(model, name, first, params)[0]
        var = model_ir.vars[cls.games[name].drawn[0]]
        shape = var.type.shape if len(var.type.shape) == 2 else dataset.image_shape
        if shape is not None:
            train.atomic_output(out / "samples.png", lambda tmp: images.save_sample_grid(
                drawn.reshape(len(drawn), -1), tmp, shape, title=f"draws of {var.name}, game '{name}'"))
        from gmc.visualize import save_player_curves

        train.atomic_output(out / "metrics.png", lambda tmp: save_player_curves(metrics, tmp, name))
        if dataset.name == "digits" and var.type.size == 64:
            from gmc.runtime import digits_eval

            metrics["evaluation"] = digits_eval.evaluate_samples(
                digits_eval.binarize(samples_for_evaluation(model, name, test_data, params)))
            save(metrics)
    summary = {"final_train_loss": metrics["train_loss"][-1], "final_test_loss": metrics["test_loss"][-1],
               "epochs": metrics["epoch"][-1], "out": str(out), **metrics.get("evaluation", {})}
    print(json.dumps(summary))
    return 0


def samples_for_evaluation(model, name: str, test_data: dict, params: dict, n: int = 1000):
    """1,000 draws of the game's generator (given variables cycled from the held-out data)."""
    import torch

    from gmc.runtime import adversarial

    m = len(next(iter(test_data.values())))
    index = torch.arange(n) % m
    return adversarial.draw(model, name, {k: v[index] for k, v in test_data.items()}, params)[0].reshape(n, -1)
