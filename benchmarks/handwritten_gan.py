"""Reference: the GAN of examples/gan.gm written by hand in PyTorch.

Same data (binarized digits, gmc.runtime.data's split), nets (ReLU MLPs: generator 16-128-128-64
with a sigmoid output, discriminator 64-128-128-1 giving a logit, nn.Linear's default
initialization), optimizers (one Adam per player, lr 1e-3, betas (0.5, 0.999)) and loop (per
step: one discriminator update on the batch and a detached draw, with the gradient penalty
(||grad D(x_hat)||_2 - 1)^2 at random interpolates, then one non-saturating generator update on
the same draw, the discriminator's weights frozen), in the textbook form with binary
cross-entropy: both objectives are twice gmc's (so the penalty weight is 2 x 1), which Adam
ignores.

    python benchmarks/handwritten_gan.py [--epochs 100] [--seed 0]
"""
import argparse

import torch
import torch.nn.functional as F
from torch import nn

from gmc.runtime.data import load_dataset


class HandWrittenGAN(nn.Module):
    def __init__(self, x_dim=64, z_dim=16, hidden=128):
        super().__init__()
        self.z_dim = z_dim
        self.gen = nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, x_dim))
        self.disc = nn.Sequential(nn.Linear(x_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                  nn.Linear(hidden, 1))

    def draw(self, n):
        return torch.sigmoid(self.gen(torch.randn(n, self.z_dim)))


def optimizers(model):
    return (torch.optim.Adam(model.disc.parameters(), lr=1e-3, betas=(0.5, 0.999)),
            torch.optim.Adam(model.gen.parameters(), lr=1e-3, betas=(0.5, 0.999)))


def step(model, opt_d, opt_g, x):
    """One discriminator update and one generator update sharing one draw; (d loss, g loss)."""
    fake = model.draw(len(x))
    d_real, d_fake = model.disc(x).squeeze(-1), model.disc(fake.detach()).squeeze(-1)
    eps = torch.rand(len(x), 1)
    x_hat = (eps * x + (1 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(model.disc(x_hat).sum(), x_hat, create_graph=True)
    penalty = ((grad.norm(2, dim=1) - 1) ** 2).mean()
    d_loss = (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
              + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)) + 2 * penalty)
    opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    opt_d.step()
    for p in model.disc.parameters():
        p.requires_grad_(False)
    d_fake = model.disc(fake).squeeze(-1)
    g_loss = F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_g.step()
    for p in model.disc.parameters():
        p.requires_grad_(True)
    return d_loss.item(), g_loss.item()


def train(epochs: int, seed: int, batch_size: int = 128) -> HandWrittenGAN:
    """Train as ``gmc train examples/gan.gm --epochs E --seed S`` does: the same batches."""
    data = load_dataset("digits").train
    torch.manual_seed(seed)
    model = HandWrittenGAN()
    opt_d, opt_g = optimizers(model)
    order_rng = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(data), generator=order_rng)
        for start in range(0, len(data), batch_size):
            step(model, opt_d, opt_g, data[order[start:start + batch_size]])
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from gmc.runtime import digits_eval

    model = train(args.epochs, args.seed)
    with torch.no_grad():
        samples = digits_eval.binarize(model.draw(1000))
    print(digits_eval.evaluate_samples(samples))


if __name__ == "__main__":
    main()
