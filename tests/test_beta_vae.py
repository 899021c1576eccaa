"""beta-VAE (Higgins et al. 2017) and the capacity objective (Burgess et al. 2018) of
examples/beta_vae.gm: with the same reparameterized sample, loss(beta) - loss(beta = 1)
is exactly (beta - 1) * mean KL, and the capacity loss is gamma * |KL - C| - E[log p]."""
import pathlib

import torch

import gmc

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "beta_vae.gm"


def test_beta_weights_the_kl_and_capacity_targets_c():
    model = gmc.compile_file(EXAMPLE)().double()
    x = torch.bernoulli(torch.full((32, 64), 0.4, dtype=torch.float64))
    loc, scale = model.enc(x)
    kl = (loc ** 2 / 2 + scale ** 2 / 2 - torch.log(scale) - 0.5).sum(-1)  # KL[N(loc, scale) || N(0, 1)]
    with torch.no_grad():
        torch.manual_seed(0)
        nelbo = model.loss("nelbo", x=x)
        torch.manual_seed(0)
        weighted = model.loss("loss", x=x, beta=4.0)
        torch.manual_seed(0)
        capacity = model.loss("capacity", x=x, gamma=20.0, C=3.0)
    reconstruction = nelbo - kl.mean()
    torch.testing.assert_close(weighted - nelbo, 3.0 * kl.mean().detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(capacity, (20.0 * (kl - 3.0).abs()).mean().detach() + reconstruction.detach(),
                               rtol=1e-12, atol=1e-12)
