"""Pictures of a trained model's latent space: reconstructions and latent walks (``gmc visualize``).

A model qualifies when it has an encoder ``q(z|x)`` (one real latent ``z`` given the observed
``x`` alone) and a decoder ``p(x|z)``; z's prior is drawn by ancestral sampling
(:mod:`gmc.sampling_plan`), so a hierarchical prior such as hvae's ``p(z1|z2) p(z2)`` works.
Encoder and decoder outputs are shown as means, each estimated by the average of ``draws``
samples of the factor (the generated API exposes samples, not distribution means; 32 draws
put the Bernoulli mean of a pixel within about 0.09 at worst):

- ``reconstruct``: rows of held-out examples, each above a row of their reconstructions
  E[x | E[z|x]];
- ``interpolate``: per row, the straight line in z between the codes of two held-out
  examples, decoded at evenly spaced points;
- ``random-walk``: per row, a Gaussian random walk in z started from a prior draw
  (z_{k+1} = z_k + step * eps, eps ~ N(0, I));
- ``path``: one row per segment of the piecewise-linear path through the codes of several
  held-out examples.

(The same four views as the ``variational`` package's reconstruction viewer and latent
walkers, written here from their description.)
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from gmc.compiler import ir
from gmc.runtime.errors import DataError

KINDS = ("reconstruct", "interpolate", "random-walk", "path")


@dataclass(frozen=True)
class LatentPair:
    """``encoder``/``decoder`` factor signatures, the observed ``x`` and latent ``z`` names."""

    encoder: str
    decoder: str
    x: str
    z: str


def latent_pair(model: ir.Model, x: str) -> LatentPair:
    """The encoder ``q(z|x)`` and decoder ``p(x|z)`` of ``model`` for observed ``x``; DataError
    naming what is missing when it has none (a conditional or latent-free model)."""
    for f in model.factors.values():
        if f.is_product or f.given != (x,) or len(f.outputs) != 1 or f.name == "p":
            continue
        z = f.outputs[0]
        if model.vars[z].type.support != "real":
            continue
        for g in model.factors.values():
            if g.name == "p" and not g.is_product and g.outputs == (x,) and g.given == (z,):
                return LatentPair(f.signature, g.signature, x, z)
    raise DataError(f"{model.filename}: latent pictures need an encoder q(z|{x}) of a real latent z and a "
                    f"decoder p({x}|z) conditioned on z alone; this model has: {', '.join(model.factors)}")


def _mean(model, sig: str, var: str, given: dict, draws: int) -> torch.Tensor:
    """E[var] under factor ``sig`` given ``given`` ([n, ...] each): the mean of ``draws`` samples."""
    n = next(iter(given.values())).shape[0]
    repeated = {k: v.repeat(draws, *([1] * (v.dim() - 1))) for k, v in given.items()}
    drawn = model.sample(sig, **repeated)[var]
    return drawn.reshape(draws, n, *drawn.shape[1:]).mean(0)


def encode(model, pair: LatentPair, x: torch.Tensor, draws: int = 32) -> torch.Tensor:
    """E[z|x]: [n, *event(z)]."""
    return _mean(model, pair.encoder, pair.z, {pair.x: x}, draws)


def decode(model, pair: LatentPair, z: torch.Tensor, draws: int = 32) -> torch.Tensor:
    """E[x|z]: [n, *event(x)]."""
    return _mean(model, pair.decoder, pair.x, {pair.z: z}, draws)


def reconstructions(model, pair: LatentPair, x: torch.Tensor, per_row: int, draws: int = 32) -> list[torch.Tensor]:
    """Rows of ``per_row`` examples of ``x``, each followed by a row of their reconstructions
    E[x | E[z|x]]."""
    recon = decode(model, pair, encode(model, pair, x, draws), draws)
    out = []
    for start in range(0, len(x), per_row):
        out += [x[start:start + per_row], recon[start:start + per_row]]
    return out


def interpolations(model, pair: LatentPair, x: torch.Tensor, steps: int, draws: int = 32) -> list[torch.Tensor]:
    """One row per consecutive pair of ``x`` (x[0]-x[1], x[2]-x[3], ...): ``steps`` decodings
    along the segment between their codes."""
    codes = encode(model, pair, x, draws)
    return [_along(model, pair, codes[i], codes[i + 1], steps, draws) for i in range(0, len(codes) - 1, 2)]


def path(model, pair: LatentPair, x: torch.Tensor, steps: int, draws: int = 32) -> list[torch.Tensor]:
    """One row per segment of the path through the codes of x[0], x[1], ..., in order."""
    codes = encode(model, pair, x, draws)
    return [_along(model, pair, codes[i], codes[i + 1], steps, draws) for i in range(len(codes) - 1)]


def random_walks(model, prior: tuple[str, ...], pair: LatentPair, rows: int, steps: int, step_size: float,
                 draws: int = 32) -> list[torch.Tensor]:
    """``rows`` walks of ``steps`` decodings each, started from draws of z's prior (the
    factors ``prior``, in ancestral order)."""
    values: dict[str, torch.Tensor] = {}
    for sig in prior:
        info = model.factors[sig]
        values.update(model.sample(sig, **{g: values[g] for g in info.given}) if info.given else
                      model.sample(sig, n=rows))
    z = values[pair.z]
    walk = [z]
    for _ in range(steps - 1):
        walk.append(walk[-1] + step_size * torch.randn_like(z))
    points = torch.stack(walk, 1)  # [rows, steps, *event]
    decoded = decode(model, pair, points.reshape(rows * steps, *z.shape[1:]), draws)
    return list(decoded.reshape(rows, steps, *decoded.shape[1:]))


def _along(model, pair, a, b, steps, draws):
    t = torch.linspace(0, 1, steps, dtype=a.dtype, device=a.device).reshape(-1, *([1] * a.dim()))
    return decode(model, pair, (1 - t) * a + t * b, draws)


def save_rows(rows: list[torch.Tensor], path: str | os.PathLike, image_shape, title: str) -> Path:
    """Draw ``rows`` (each [k, *event]) as a grid of images (gray, one shared 0..1 scale), or,
    for a variable that is not an image, each row as a line of values against its index."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = [r.detach().to("cpu", torch.float64).reshape(r.shape[0], -1) for r in rows]
    cols = max(r.shape[0] for r in rows)
    if image_shape is not None:
        fig = Figure(figsize=(max(3.0, 0.8 * cols), 0.8 * len(rows) + 0.6))
        axes = fig.subplots(len(rows), cols, squeeze=False)
        low = min(0.0, min(float(r.min()) for r in rows))
        high = max(1.0, max(float(r.max()) for r in rows))
        for i, row in enumerate(rows):
            for j in range(cols):
                ax = axes[i][j]
                ax.set_axis_off()
                if j < row.shape[0]:
                    ax.imshow(row[j].reshape(image_shape).numpy(), cmap="gray", vmin=low, vmax=high)
    else:
        fig = Figure(figsize=(6.0, 1.4 * len(rows) + 0.6))
        axes = fig.subplots(len(rows), 1, squeeze=False)
        for i, row in enumerate(rows):
            axes[i][0].plot(row.numpy().T, linewidth=0.8)
            axes[i][0].set_ylabel(f"row {i + 1}", fontsize=8)
    fig.suptitle(title, fontsize=9)
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=100)
    return Path(path)


def save_loss_curves(history, path: str | os.PathLike, loss_name: str) -> Path:
    """``metrics.png``: train and held-out loss per epoch (nats per example)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.0, 3.2))
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(history.epoch, history.train_loss, marker=".", label="train")
    ax.plot(history.epoch, history.test_loss, marker=".", label="held-out")
    ax.set_xlabel("epoch")
    ax.set_ylabel("nats per example")
    ax.set_title(f"loss '{loss_name}'", fontsize=10)
    ax.legend()
    fig.tight_layout()
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=100)
    return Path(path)


def save_player_curves(metrics: dict, path: str | os.PathLike, game: str) -> Path:
    """A game's ``metrics.png``: each player's mean objective per epoch (nats per example; the
    quantity that player's updates minimize)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.0, 3.2))
    ax = fig.add_subplot(1, 1, 1)
    for player, values in metrics["players"].items():
        ax.plot(metrics["epoch"], values, marker=".", label=player)
    ax.set_xlabel("epoch")
    ax.set_ylabel("objective per example")
    ax.set_title(f"game '{game}'", fontsize=10)
    ax.legend()
    fig.tight_layout()
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=100)
    return Path(path)


def training_pictures(model, model_ir: ir.Model, loss_name: str, history, held_out: dict, folder: Path,
                      image_shape, seed: int) -> list[Path]:
    """What ``gmc train`` draws at the end besides ``samples.png``: ``metrics.png`` (the loss
    curves) and, for a model with an encoder and decoder whose loss reads only the observed
    variable, ``reconstructions.png`` (8 held-out examples above their reconstructions) and,
    where z's prior needs nothing the data gives, ``walk.png`` (4 random walks of 8 steps in z
    from prior draws, decoded). Returns the paths written."""
    from gmc.runtime.train import atomic_output

    written = [folder / "metrics.png"]
    atomic_output(written[0], lambda tmp: save_loss_curves(history, tmp, loss_name))
    if len(held_out) != 1:
        return written
    (x_name, x), = held_out.items()
    try:
        pair = latent_pair(model_ir, x_name)
    except DataError:
        return written
    torch.manual_seed(seed)
    model.eval()
    with torch.no_grad():
        rows = reconstructions(model, pair, x[:8], per_row=8)
    written.append(folder / "reconstructions.png")
    atomic_output(written[1], lambda tmp: save_rows(
        rows, tmp, image_shape, f"held-out {x_name} (top) and E[{x_name} | E[{pair.z}|{x_name}]] (bottom)"))
    from gmc.sampling_plan import plan

    prior = plan(model_ir, pair.z)
    if prior.missing:  # z's prior needs a value nothing draws (a label): no walk from the prior
        return written
    with torch.no_grad():
        walks = random_walks(model, prior.steps, pair, rows=4, steps=8, step_size=0.5)
    written.append(folder / "walk.png")
    atomic_output(written[2], lambda tmp: save_rows(
        walks, tmp, image_shape, f"random walks in {pair.z} from its prior (step 0.5), decoded"))
    return written
