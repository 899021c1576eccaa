"""Run-time side of games (docs/language.md, "Adversarial models"): what a generated class
says about each game, and one training round of its players.

A round (Goodfellow et al. 2014, algorithm 1; Gulrajani et al. 2017, algorithm 1) takes the
max player's ``steps`` updates (each on its own data batch, clipping its critics' weights
after each update where the file asks), then the min player's ``steps`` updates. With one
critic update per round, the generator's forward pass of that update is reused by the
generator's own update (the critic read it detached).
"""
from __future__ import annotations

from typing import NamedTuple

import torch


class PlayerInfo(NamedTuple):
    """One side of a game: ``kind`` 'min' or 'max', its nets, the method computing the
    objective its step minimizes, Adam settings (None: the command line's or the default),
    updates per round and (critic net, clip value) pairs for weight clipping."""

    kind: str
    name: str
    nets: tuple[str, ...]
    method: str
    lr: float | None
    betas: tuple[float | None, float | None]
    steps: int
    clip: tuple[tuple[str, float], ...] = ()


class GameInfo(NamedTuple):
    """A game: the method drawing the generator's samples, the data variables its methods
    take, its players (the max player first) and the variables the draw returns."""

    draw: str
    inputs: tuple[str, ...]
    players: tuple[PlayerInfo, ...]
    drawn: tuple[str, ...]


#: Adam defaults of a player with no settings (Radford et al. 2016).
DEFAULT_LR, DEFAULT_BETAS = 2e-4, (0.5, 0.999)


def player_parameters(model: torch.nn.Module, player: PlayerInfo) -> list[torch.nn.Parameter]:
    return [p for net in player.nets for p in getattr(model, net).parameters()]


def optimizers(model, game: GameInfo, lr: dict | None = None, betas: dict | None = None) -> dict:
    """One Adam per player: the file's settings, overridden per player name by ``lr``/``betas``."""
    lr, betas = lr or {}, betas or {}
    out = {}
    for p in game.players:
        rate = lr.get(p.name, p.lr if p.lr is not None else DEFAULT_LR)
        b = betas.get(p.name, tuple(d if v is None else v for v, d in zip(p.betas, DEFAULT_BETAS)))
        out[p.name] = torch.optim.Adam(player_parameters(model, p), lr=rate, betas=tuple(b))
    return out


def round_(model, game: GameInfo, batches, opts: dict, params: dict) -> dict[str, float]:
    """One round of the game: each player's updates in turn; ``batches`` yields dicts of data
    tensors (one per update). Returns each player's mean objective over its updates."""
    critic, generator = game.players
    totals = {critic.name: 0.0, generator.name: 0.0}
    fake = None
    for _ in range(critic.steps):
        batch = next(batches)
        fake = getattr(model, game.draw)(**batch, **params)
        loss = getattr(model, critic.method)(**batch, fake=fake, **params)
        opts[critic.name].zero_grad(set_to_none=True)
        loss.backward()
        opts[critic.name].step()
        totals[critic.name] += loss.item()
        if critic.clip:
            with torch.no_grad():
                for net, value in critic.clip:
                    for w in getattr(model, net).parameters():
                        w.clamp_(-value, value)
    critic_nets = player_parameters(model, critic)
    for w in critic_nets:  # the generator's step needs no gradient of the critic's weights
        w.requires_grad_(False)
    try:
        for step in range(generator.steps):
            if not (critic.steps == 1 and step == 0):
                batch = next(batches)
                fake = getattr(model, game.draw)(**batch, **params)
            loss = getattr(model, generator.method)(**batch, fake=fake, **params)
            opts[generator.name].zero_grad(set_to_none=True)
            loss.backward()
            opts[generator.name].step()
            totals[generator.name] += loss.item()
    finally:
        for w in critic_nets:
            w.requires_grad_(True)
    return {critic.name: totals[critic.name] / critic.steps, generator.name: totals[generator.name] / generator.steps}


class _Batches:
    """Data batches for the rounds: a fresh shuffle of ``train`` (from ``generator``) each time
    the previous one is used up. Its position is part of a game's training state, since an
    epoch's rounds need not end at the end of a shuffle."""

    def __init__(self, train: dict, batch_size: int, generator: torch.Generator):
        self.train, self.batch_size, self.generator = train, batch_size, generator
        self.n = len(next(iter(train.values())))
        self.order: torch.Tensor | None = None
        self.position = 0

    def __iter__(self):
        return self

    def __next__(self) -> dict:
        if self.order is None or self.position >= self.n:
            self.order, self.position = torch.randperm(self.n, generator=self.generator), 0
        idx = self.order[self.position:self.position + self.batch_size]
        self.position += self.batch_size
        return {k: v[idx.to(v.device)] for k, v in self.train.items()}

    def state(self) -> dict:
        return {"order": torch.empty(0, dtype=torch.long) if self.order is None else self.order.clone(),
                "position": self.position}

    def restore(self, state: dict) -> None:
        order = state["order"]
        if order.numel() not in (0, self.n):
            raise ValueError(f"the saved shuffle has {order.numel()} examples, the data {self.n}")
        self.order, self.position = (None if order.numel() == 0 else order.clone()), int(state["position"])


def fit_game(model, game_name: str, train: dict, test: dict, *, epochs: int, batch_size: int, seed: int,
             lr: dict | None = None, betas: dict | None = None, params: dict | None = None,
             log=None, on_epoch=None, on_state=None, resume: dict | None = None) -> dict:
    """Train a game: each epoch runs rounds (:func:`round_`) until the max player has taken
    one update per data batch of ``train`` (dicts variable -> [N, *event]).

    Returns the metrics: ``epoch``, ``train_loss`` (the min player's objective, mean over the
    epoch), ``test_loss`` (the min player's objective on ``test``, no gradient, fixed draws),
    ``players`` (each player's mean objective per epoch), ``game``. ``on_epoch(metrics)``
    runs after each epoch; then ``on_state(epoch, state)`` with what ``resume`` takes to
    continue from there: ``{"epoch", "history"`` (the metrics so far), ``"optimizers"``
    (player -> Adam's state dict), ``"rng"`` (gmc.runtime.train.rng_state, the shuffles'
    generator included), ``"batches"`` (the current shuffle and the position in it)``}``,
    live tensors: save it before returning. Resuming gives the metrics and weights of an
    uninterrupted run with the same seed; ``lr``/``betas`` given with ``resume`` replace the
    saved optimizers' for those players. Raises TrainingError on a non-finite objective and
    DataError on a damaged or finished ``resume``."""
    from gmc.runtime.errors import TrainingError
    from gmc.runtime.train import rng_state, set_rng_state

    info = type(model).games[game_name]
    params = params or {}
    opts = optimizers(model, info, lr, betas)
    critic, generator = info.players
    n = len(next(iter(train.values())))
    batches = _Batches(train, batch_size, torch.Generator().manual_seed(seed))
    rounds = max(1, -(-n // (batch_size * critic.steps)))
    metrics = {"game": game_name, "epoch": [], "train_loss": [], "test_loss": [],
               "players": {critic.name: [], generator.name: []}}
    if resume is not None:
        metrics = _restore(resume, opts, batches, set_rng_state, epochs, lr or {}, betas or {})
    model.train()
    for epoch in range(len(metrics["epoch"]) + 1, epochs + 1):
        sums = {critic.name: 0.0, generator.name: 0.0}
        for _ in range(rounds):
            losses = round_(model, info, batches, opts, params)
            for k, v in losses.items():
                if v != v or v in (float("inf"), float("-inf")):
                    raise TrainingError(f"player {k}'s objective is not finite in epoch {epoch}; "
                                        "try a smaller learning rate")
                sums[k] += v
        for k in sums:
            metrics["players"][k].append(sums[k] / rounds)
        metrics["epoch"].append(epoch)
        metrics["train_loss"].append(sums[generator.name] / rounds)
        metrics["test_loss"].append(evaluate(model, info, test, batch_size, seed, params))
        if log is not None:
            log(f"epoch {epoch:3d}/{epochs}  " + "  ".join(f"{k} {v[-1]:.4f}" for k, v in metrics["players"].items())
                + f"  held-out {generator.name} {metrics['test_loss'][-1]:.4f}")
        if on_epoch is not None:
            on_epoch(metrics)
        if on_state is not None:
            on_state(epoch, {"epoch": epoch, "history": metrics, "rng": rng_state(batches.generator),
                             "optimizers": {k: o.state_dict() for k, o in opts.items()}, "batches": batches.state()})
    return metrics


def _restore(state, opts: dict, batches: _Batches, set_rng_state, epochs: int, lr: dict, betas: dict) -> dict:
    """Load a game's resume ``state`` into the optimizers, the batches and the generators;
    returns the metrics so far (a copy)."""
    import copy

    from gmc.runtime.errors import DataError

    try:
        metrics = copy.deepcopy(state["history"])
        if state["epoch"] != len(metrics["epoch"]):
            raise ValueError(f"it is at epoch {state['epoch']!r} but its history has {len(metrics['epoch'])}")
        if set(state["optimizers"]) != set(opts):
            raise ValueError(f"its players are {', '.join(state['optimizers'])}, the game's {', '.join(opts)}")
        for name, opt in opts.items():
            opt.load_state_dict(state["optimizers"][name])
        batches.restore(state["batches"])
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as exc:
        raise DataError(f"the game's training state is damaged or does not fit this model ({exc})") from None
    if len(metrics["epoch"]) >= epochs:
        raise DataError(f"the run already finished: it holds {len(metrics['epoch'])} of {epochs} epochs "
                        f"(ask for more epochs to train further)")
    for name, opt in opts.items():  # settings asked for on resuming win over the saved ones
        for group in opt.param_groups:
            if name in lr:
                group["lr"] = lr[name]
            if name in betas:
                group["betas"] = tuple(betas[name])
    set_rng_state(state["rng"], batches.generator)
    return metrics


def evaluate(model, info: GameInfo, test: dict, batch_size: int, seed: int, params: dict) -> float:
    """The min player's objective on ``test`` (mean over batches), with fixed random draws."""
    generator = info.players[1]
    n = len(next(iter(test.values())))
    was_training = model.training
    model.eval()
    state = torch.get_rng_state()
    torch.manual_seed(seed)
    total = 0.0
    try:
        with torch.no_grad():
            for start in range(0, n, batch_size):
                batch = {k: v[start:start + batch_size] for k, v in test.items()}
                m = len(next(iter(batch.values())))
                total += getattr(model, generator.method)(**batch, **params).item() * m
    finally:
        torch.set_rng_state(state)
        model.train(was_training)
    return total / n


def draw(model, game_name: str, batch: dict, params: dict | None = None) -> tuple:
    """The generator's draws for ``batch`` (no gradient)."""
    info = type(model).games[game_name]
    with torch.no_grad():
        return getattr(model, info.draw)(**batch, **(params or {}))
