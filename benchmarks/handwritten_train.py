"""Reference for the whole ``gmc train examples/vae.gm --data digits`` process: the same work
written by hand, with torch, numpy and matplotlib only (no gmc import).

    python benchmarks/handwritten_train.py --out DIR [--epochs 50] [--seed 0]

The same work: scikit-learn's bundled 8x8 digits read from its data file (as gmc reads it,
without importing scikit-learn), binarized at 8, a seeded 80/20 split; the VAE of
examples/vae.gm (ReLU MLPs 256-256, z of 8, softplus scale; closed-form KL plus a
one-sample Bernoulli reconstruction); torch's fused Adam, lr 1e-3, batches of 128 shuffled
each epoch, a held-out loss after every epoch; then ``DIR/model.pt`` (weights and Adam's
state), ``DIR/metrics.json`` (per-epoch losses, nats per example) and ``DIR/samples.png``
(64 samples of x from p(x, z) as an 8 x 8 mosaic). ``benchmarks/bench_train_process.py``
times it against ``gmc train``; what gmc adds on top (locking and probing the folder, a
checkpoint with the random number generator states after every epoch, atomic writes,
divergence checks) is part of what is measured.
"""
import argparse
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def digits(seed):
    spec = importlib.util.find_spec("sklearn")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "digits.csv.gz"
    x = (np.loadtxt(path, delimiter=",")[:, :-1] >= 8).astype(np.float32)
    perm = np.random.default_rng(seed).permutation(len(x))
    n_test = round(0.2 * len(x))
    return torch.from_numpy(x[perm[:-n_test]]), torch.from_numpy(x[perm[-n_test:]])


def mlp(n_in, n_out, hidden=256):
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, n_out))


class VAE(nn.Module):
    def __init__(self, x_dim=64, z_dim=8):
        super().__init__()
        self.enc, self.dec, self.z_dim = mlp(x_dim, 2 * z_dim), mlp(z_dim, x_dim), z_dim

    def loss(self, x):
        loc, scale = self.enc(x).chunk(2, dim=-1)
        scale = F.softplus(scale)
        kl = (0.5 * (loc ** 2 + scale ** 2) - torch.log(scale) - 0.5).sum(-1)
        z = loc + scale * torch.randn_like(loc)
        recon = F.binary_cross_entropy_with_logits(self.dec(z), x, reduction="none").sum(-1)
        return (kl + recon).mean()

    def sample(self, n):
        return torch.bernoulli(torch.sigmoid(self.dec(torch.randn(n, self.z_dim))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train, test = digits(args.seed)
    torch.manual_seed(args.seed)
    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    history = {"epoch": [], "train_loss": [], "test_loss": []}
    for epoch in range(1, args.epochs + 1):
        total = 0.0
        for idx in torch.randperm(len(train)).split(128):
            loss = model.loss(train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        with torch.no_grad():
            test_loss = sum(model.loss(b).item() * len(b) for b in test.split(128)) / len(test)
        history["epoch"].append(epoch)
        history["train_loss"].append(total / len(train))
        history["test_loss"].append(test_loss)
        if not math.isfinite(test_loss):
            raise SystemExit(f"diverged at epoch {epoch}")
    torch.save({"state_dict": model.state_dict(), "optimizer": opt.state_dict()}, out / "model.pt")
    (out / "metrics.json").write_text(json.dumps(history, indent=2) + "\n")
    from matplotlib.image import imsave

    with torch.no_grad():
        x = model.sample(64).reshape(8, 8, 8, 8).permute(0, 2, 1, 3).reshape(64, 64)
    imsave(out / "samples.png", x.numpy(), cmap="gray", vmin=0, vmax=1)
    print(json.dumps({"final_train_loss": history["train_loss"][-1], "final_test_loss": test_loss}))


if __name__ == "__main__":
    main()
