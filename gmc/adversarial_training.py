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
    the file has a game (with ``--resume``: the run resumed was a game's)."""
    chosen = getattr(args, "loss", None)
    if chosen is None and getattr(args, "resume", None) is not None and model_ir.games:
        return _resumes_a_game(Path(args.resume) / "model.pt")
    return bool(model_ir.games) and (chosen is None or chosen in model_ir.games)


def _resumes_a_game(checkpoint: Path) -> bool:
    """Whether ``checkpoint`` is a game run's; one that cannot be read counts as a game's, whose
    resuming then reports what is wrong with it."""
    from gmc.runtime.train import load_checkpoint

    try:
        extra = load_checkpoint(checkpoint)["extra"]
    except DataError:
        return True
    return extra.get("game") is not None or extra.get("loss") is None


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
    """``gmc train`` of a game: on ``--device``, from scratch or ``--resume DIR`` (the game,
    data, batch size, seed and ``--set`` of the run resumed; ``--epochs`` the new total;
    ``--lr``/``--player-lr``/``--player-betas`` given on resuming replace the saved ones)."""
    import os
    import signal

    import torch

    from gmc.runtime import adversarial, data, images, train
    from gmc.runtime.devices import resolve_device, to_device
    from gmc.runtime.run_folder import claimed_folder
    from gmc.training import KILL_HOOK, TRAIN_DEFAULTS, observed_tensors_for, param_overrides

    if getattr(args, "schedule", None):
        raise DataError("--schedule is not supported for games yet")
    device = resolve_device(getattr(args, "device", None))
    resume = getattr(args, "resume", None)
    state = None
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
    with claimed_folder(out, OUTPUTS):
        if resume is not None:
            state = train.load_checkpoint(out / "model.pt")
            _resume_game_settings(args, state, text, out / "model.pt", model_ir)
        name = getattr(args, "loss", None) or next(iter(model_ir.games))
        game = model_ir.games[name]
        settings = {k: v if getattr(args, k, None) is None else getattr(args, k) for k, v in TRAIN_DEFAULTS.items()}
        players = [p.name for p in game.players]
        lr = player_settings(getattr(args, "player_lr", None) or [], "lr", players)
        if getattr(args, "lr", None) is not None:
            lr = {p: lr.get(p, args.lr) for p in players}
        betas = player_settings([_betas(t) for t in getattr(args, "player_betas", None) or []], "betas", players)
        from gmc.compiler.codegen.adversarial import game_inputs

        inputs = game_inputs(model_ir, game)
        dataset = data.load_dataset(args.data)
        train_data, test_data = observed_tensors_for(model_ir, inputs, dataset, f"--data {args.data}", name)
        torch.manual_seed(settings["seed"])
        params = param_overrides(model_ir, args.set)
        model = cls(**params)
        if state is not None:
            train.check_state_dict(model, state["state_dict"], str(out / "model.pt"))
            model.load_state_dict(state["state_dict"])
        model.to(device)
        train_data, test_data = to_device(train_data, device), to_device(test_data, device)
        n_train = len(next(iter(train_data.values())))
        done = len(state["training"]["history"]["epoch"]) if state is not None else 0
        print(f"training {model_ir.name} from {filename} on {dataset.name}: {n_train} train / "
              f"{len(next(iter(test_data.values())))} held-out examples, game '{name}' (players "
              f"{', '.join(players)}), {settings['epochs']} epochs, on {device}"
              + (f", resuming after epoch {done}" if state is not None else ""), file=sys.stderr)
        log = None if args.quiet else (lambda line: print(line, file=sys.stderr))
        extra = {"data": args.data, "game": name, "params": params, **settings}
        last = {"training": state["training"] if state is not None else None}

        def save(metrics, training=None):
            if training is not None:
                last["training"] = training
            train.save_checkpoint(out / "model.pt", model, source=text, source_path=str(args.file),
                                  class_name=model_ir.name, history=None, training=last["training"], extra=extra)
            train.atomic_output(out / "metrics.json", lambda tmp: Path(tmp).write_text(json.dumps(metrics, indent=1)))

        def on_state(epoch, training):
            save(training["history"], training)
            if os.environ.get(KILL_HOOK) == str(epoch):
                os.kill(os.getpid(), signal.SIGKILL)

        metrics = adversarial.fit_game(model, name, train_data, test_data, epochs=settings["epochs"],
                                       batch_size=settings["batch_size"], seed=settings["seed"], lr=lr, betas=betas,
                                       params=params, log=log, on_state=on_state,
                                       resume=state["training"] if state is not None else None)
        model.eval()
        torch.manual_seed(settings["seed"])
        first = {k: v[:64] for k, v in test_data.items()}
        drawn = adversarial.draw(model, name, first, params)[0].cpu()
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
                digits_eval.binarize(samples_for_evaluation(model, name, test_data, params).cpu()))
            save(metrics)
    summary = {"final_train_loss": metrics["train_loss"][-1], "final_test_loss": metrics["test_loss"][-1],
               "epochs": metrics["epoch"][-1], "out": str(out), **metrics.get("evaluation", {})}
    print(json.dumps(summary))
    return 0


def _resume_game_settings(args, ckpt: dict, text: str, where: Path, model_ir) -> None:
    """Fill ``args`` from the checkpoint of the game run being resumed; DataError when it
    cannot be resumed (no training state, another source, not a game, already finished) or
    an option contradicts it (the data, game, batch size, seed and --set are the run's)."""
    extra = ckpt["extra"]
    if "training" not in ckpt or extra.get("game") is None:
        raise DataError(f"{where}: holds no game training state (optimizers and random number generators), so "
                        f"it cannot be resumed as a game")
    if ckpt["source"] != text:
        raise DataError(f"{where}: was trained from a different source than {args.file}; resume with the "
                        f"same .gm file")
    recorded = {"data": extra.get("data"), "loss": extra["game"], "batch_size": extra.get("batch_size"),
                "seed": extra.get("seed"), "epochs": extra.get("epochs")}
    if any(v is None for v in recorded.values()) or recorded["loss"] not in model_ir.games:
        raise DataError(f"{where}: does not record the settings of a game run, so it cannot be resumed")
    for name, value in recorded.items():
        given = getattr(args, name, None)
        if name != "epochs" and given is not None and given != value:
            flag = "--" + name.replace("_", "-")
            raise DataError(f"{flag} {given} differs from {value}, the value the resumed run was started with; "
                            f"leave {flag} out")
    if args.set and dict(args.set) != (extra.get("params") or {}):
        raise DataError("--set differs from the resumed run's; leave --set out")
    for name, value in recorded.items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)
    args.set = list((extra.get("params") or {}).items())
    done = len(ckpt["training"].get("history", {}).get("epoch", []))
    if done >= args.epochs:
        raise DataError(f"{where}: the run already finished ({done} of {args.epochs} epochs); pass --epochs N "
                        f"with N > {done} (the total number of epochs) to train further")


def samples_for_evaluation(model, name: str, test_data: dict, params: dict, n: int = 1000):
    """1,000 draws of the game's generator (given variables cycled from the held-out data)."""
    import torch

    from gmc.runtime import adversarial

    m = len(next(iter(test_data.values())))
    index = torch.arange(n) % m
    return adversarial.draw(model, name, {k: v[index] for k, v in test_data.items()}, params)[0].reshape(n, -1)
