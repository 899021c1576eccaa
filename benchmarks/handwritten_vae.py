"""Reference: the VAE of examples/vae.gm written by hand in PyTorch, trained the same way.

Same data and split (gmc.runtime.data), architecture (ReLU MLP 256-256, z of 8, softplus
scale), loss (closed-form KL + one-sample reconstruction), optimizer and training loop
(gmc.runtime.train.fit). Prints the held-out loss per epoch, in nats per example.

    python benchmarks/handwritten_vae.py [--epochs 50] [--seed 0]
"""
import argparse

import torch
import torch.nn.functional as F
from torch import nn

from gmc.runtime.data import load_dataset
from gmc.runtime.train import fit


class HandWrittenVAE(nn.Module):
    def __init__(self, x_dim=64, z_dim=8, hidden=256):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(x_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, 2 * z_dim))
        self.dec = nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, x_dim))

    def loss(self, name, x):
        loc, scale = self.enc(x).chunk(2, dim=-1)
        scale = F.softplus(scale)
        kl = (0.5 * (loc ** 2 + scale ** 2) - torch.log(scale) - 0.5).sum(-1)
        z = loc + scale * torch.randn_like(loc)
        recon = F.binary_cross_entropy_with_logits(self.dec(z), x, reduction="none").sum(-1)
        return (kl + recon).mean()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = load_dataset("digits")
    torch.manual_seed(args.seed)
    history = fit(HandWrittenVAE(), "loss", {"x": data.train}, {"x": data.test}, epochs=args.epochs,
                  seed=args.seed, progress=False)
    print(f"held-out loss after {args.epochs} epochs: {history.test_loss[-1]:.3f} nats per example")


if __name__ == "__main__":
    main()
