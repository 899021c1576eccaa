"""One VAE, five ways: gmc-generated, hand-written torch, torch.distributions, Pixyz, Pyro.

Every contender gets the same nets (a ReLU MLP with one hidden layer, encoder output split
into loc and softplus scale; weights copied from the gmc model so all start identical), the
same data and the same objective, the negative ELBO with closed-form Gaussian KL and one
reparameterized sample, averaged over the batch (nats per example). A *step* is what one
training iteration costs: zero the gradients, the loss, backward, one Adam update.

Sizes (input-hidden-latent): ``small`` = 64-128-8 and ``mnist`` = 784-512-64, batch 128.

Pixyz and Pyro are optional (``pip install gmc-lang[bench]``); a contender whose library is
missing is left out, with a note, by :func:`make_contenders`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

import gmc

SIZES = {"small": (64, 128, 8), "mnist": (784, 512, 64)}
BATCH = 128
IWAE_K = 50
LR = 1e-3

VAE_GM = """\
model BenchVAE
const X = {x}
const H = {h}
const Z = {z}
var x: binary[X]
var z: real[Z]
net enc(x) -> (loc: real[Z], scale: positive[Z]) = MLP(H)
net dec(z) -> real[X] = MLP(H)
q(z|x) = Normal(loc=enc(x).loc, scale=enc(x).scale)
p(x|z) = Bernoulli(logits=dec(z))
p(z)   = Normal(0, 1)
p(x,z) = p(x|z) p(z)
loss = mean(KL[q(z|x) || p(z)] - E_{{q(z|x)}}[log p(x|z)])
loss iw = -mean(iwae(p(x,z), q(z|x), k={k}))
"""


def gm_source(size: str) -> str:
    """The .gm text of the benchmark VAE of ``size``."""
    x, h, z = SIZES[size]
    return VAE_GM.format(x=x, h=h, z=z, k=IWAE_K)


class Batches:
    """Binary data [n_batches * BATCH, X] (Bernoulli(0.3) pixels, float32, fixed seed), served as
    fresh slices: each ``next()`` is a new tensor object, as a data loader gives (Pixyz caches
    its distributions' outputs by input tensor identity, so reusing one tensor would skip work)."""

    def __init__(self, size: str, n_batches: int = 8, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        self.pool = torch.bernoulli(torch.full((n_batches * BATCH, SIZES[size][0]), 0.3), generator=g)
        self.n, self.i = n_batches, 0

    def next(self) -> torch.Tensor:
        self.i = (self.i + 1) % self.n
        return self.pool[self.i * BATCH:(self.i + 1) * BATCH]


# ---- shared nets ---------------------------------------------------------------------------

class Encoder(nn.Module):
    """x [B, X] -> (loc [B, Z], scale [B, Z]); scale = softplus, as gmc's MLP maps positive outputs."""

    def __init__(self, x_dim, hidden, z_dim):
        super().__init__()
        self.fc1, self.fc2, self.z_dim = nn.Linear(x_dim, hidden), nn.Linear(hidden, 2 * z_dim), z_dim

    def forward(self, x):
        loc, raw = self.fc2(F.relu(self.fc1(x))).split(self.z_dim, dim=-1)
        return loc, F.softplus(raw)


class Decoder(nn.Module):
    """z [..., Z] -> logits [..., X]."""

    def __init__(self, z_dim, hidden, x_dim):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(z_dim, hidden), nn.Linear(hidden, x_dim)

    def forward(self, z):
        return self.fc2(F.relu(self.fc1(z)))


def _copy_mlp(dst: nn.Module, mlp: nn.Module) -> nn.Module:
    """Copy gmc's one-hidden-layer MLP weights into an Encoder/Decoder."""
    with torch.no_grad():
        dst.fc1.weight.copy_(mlp.hidden[0].weight)
        dst.fc1.bias.copy_(mlp.hidden[0].bias)
        dst.fc2.weight.copy_(mlp.out.weight)
        dst.fc2.bias.copy_(mlp.out.bias)
    return dst


def _nets(size, reference):
    x, h, z = SIZES[size]
    return _copy_mlp(Encoder(x, h, z), reference.enc), _copy_mlp(Decoder(z, h, x), reference.dec)


# ---- contenders ----------------------------------------------------------------------------

@dataclass
class Contender:
    """``step(x)`` runs one training step; ``loss(x)`` the loss alone; ``iwae(x)`` the k=50 bound."""

    name: str
    step: Callable[[torch.Tensor], object]
    loss: Callable[[torch.Tensor], torch.Tensor]
    iwae: Callable[[torch.Tensor], torch.Tensor] | None = None


def _default_adam(params):
    return torch.optim.Adam(params, lr=LR)


def _fit_adam(params):
    """The optimizer ``gmc train`` (``runtime.train.fit``) builds: torch's fused Adam on CPU."""
    from gmc.runtime.train import adam
    return adam(params, LR)


def _adam_step(params, loss_fn, make_optimizer=_default_adam):
    opt = make_optimizer(params)

    def step(x):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(x)
        loss.backward()
        opt.step()
        return loss
    return step


def gmc_contender(size: str, compile: bool = False, fit_optimizer: bool = False):
    """The generated module, its loss method called directly (no API validation).

    ``fit_optimizer``: step with the Adam that ``gmc train`` uses (fused) instead of the
    default one every other contender uses."""
    cls = gmc.compile_source(gm_source(size), filename=f"bench_{size}.gm")
    model = cls(compile=True) if compile else cls()
    name = "gmc (torch.compile)" if compile else "gmc"
    if fit_optimizer:
        name = name[:-1] + ", fused Adam)" if compile else "gmc (fused Adam, as gmc train)"
    make_optimizer = _fit_adam if fit_optimizer else _default_adam
    return model, Contender(name, _adam_step(list(model.parameters()), model.loss_loss, make_optimizer),
                            model.loss_loss, model.loss_iw)


class HandWritten(nn.Module):
    """The VAE as one would write it by hand in torch (Kingma & Welling 2014, Appendix B KL)."""

    def __init__(self, enc, dec):
        super().__init__()
        self.enc, self.dec = enc, dec

    def forward(self, x):
        loc, scale = self.enc(x)
        kl = (0.5 * (loc ** 2 + scale ** 2) - torch.log(scale) - 0.5).sum(-1)
        z = loc + scale * torch.randn_like(loc)
        recon = F.binary_cross_entropy_with_logits(self.dec(z), x, reduction="none").sum(-1)
        return (kl + recon).mean()

    def iwae(self, x, k=IWAE_K):
        """Burda et al. 2016, eq. 8, with k particles in one [k, B, Z] batch."""
        loc, scale = self.enc(x)
        eps = torch.randn((k,) + loc.shape)
        z = loc + scale * eps
        log_px = -F.binary_cross_entropy_with_logits(self.dec(z), x.expand(k, *x.shape), reduction="none").sum(-1)
        log_pz = (-0.5 * z ** 2).sum(-1) - 0.5 * z.shape[-1] * math.log(2 * math.pi)
        log_qz = (-0.5 * eps ** 2 - torch.log(scale)).sum(-1) - 0.5 * z.shape[-1] * math.log(2 * math.pi)
        return -(torch.logsumexp(log_px + log_pz - log_qz, dim=0) - math.log(k)).mean()


def handwritten_contender(size, reference):
    m = HandWritten(*_nets(size, reference))
    return Contender("hand-written torch", _adam_step(list(m.parameters()), m), m, m.iwae)


class WithDistributions(nn.Module):
    """The same VAE with torch.distributions objects (default argument validation)."""

    def __init__(self, enc, dec):
        super().__init__()
        self.enc, self.dec = enc, dec
        self.register_buffer("zero", torch.zeros(()))
        self.register_buffer("one", torch.ones(()))

    def forward(self, x):
        D = torch.distributions
        q = D.Normal(*self.enc(x))
        z = q.rsample()
        kl = D.kl_divergence(q, D.Normal(self.zero, self.one)).sum(-1)
        log_px = D.Bernoulli(logits=self.dec(z)).log_prob(x).sum(-1)
        return (kl - log_px).mean()

    def iwae(self, x, k=IWAE_K):
        D = torch.distributions
        q = D.Normal(*self.enc(x))
        z = q.rsample((k,))
        log_w = (D.Bernoulli(logits=self.dec(z)).log_prob(x).sum(-1)
                 + D.Normal(self.zero, self.one).log_prob(z).sum(-1) - q.log_prob(z).sum(-1))
        return -(torch.logsumexp(log_w, dim=0) - math.log(k)).mean()


def distributions_contender(size, reference):
    m = WithDistributions(*_nets(size, reference))
    return Contender("torch.distributions", _adam_step(list(m.parameters()), m), m, m.iwae)


def pixyz_contender(size, reference, fused=False):
    """Pixyz 0.3.3 as its tutorials write a VAE: Distribution subclasses, Loss API, Model.train.

    ``fused``: pass torch's fused Adam through ``optimizer_params`` (as gmc train uses)."""
    from pixyz.distributions import Bernoulli, Normal
    from pixyz.losses import Expectation, IterativeLoss, KullbackLeibler, LogProb  # noqa: F401
    from pixyz.models import Model

    enc, dec = _nets(size, reference)
    z_dim = SIZES[size][2]

    class Inference(Normal):
        def __init__(self):
            super().__init__(var=["z"], cond_var=["x"], name="q")
            self.net = enc

        def forward(self, x):
            loc, scale = self.net(x)
            return {"loc": loc, "scale": scale}

    class Generator(Bernoulli):
        def __init__(self):
            super().__init__(var=["x"], cond_var=["z"], name="p")
            self.net = dec

        def forward(self, z):
            # Pixyz 0.3.3's Bernoulli takes probs only; its log_prob goes back to logits internally.
            return {"probs": torch.sigmoid(self.net(z))}

    q, p = Inference(), Generator()
    prior = Normal(loc=torch.tensor(0.0), scale=torch.tensor(1.0), var=["z"], features_shape=[z_dim],
                   name="p_prior")
    loss_cls = (KullbackLeibler(q, prior) - Expectation(q, LogProb(p))).mean()
    optimizer_params = {"lr": LR, "fused": True} if fused else {"lr": LR}
    model = Model(loss=loss_cls, distributions=[p, q], optimizer=torch.optim.Adam, optimizer_params=optimizer_params)
    name = "Pixyz 0.3.3 (fused Adam)" if fused else "Pixyz 0.3.3"
    return Contender(name, lambda x: model.train({"x": x}), lambda x: loss_cls.eval({"x": x}))


def pyro_contender(size, reference):
    """Pyro 1.9 SVI with TraceMeanField_ELBO (closed-form KL), the batch mean via poutine.scale."""
    import pyro
    import pyro.distributions as dist
    from pyro.infer import SVI, TraceMeanField_ELBO

    enc, dec = _nets(size, reference)
    z_dim = SIZES[size][2]
    pyro.clear_param_store()
    zero, one = torch.zeros(z_dim), torch.ones(z_dim)

    def model(x):
        pyro.module("decoder", dec)
        with pyro.poutine.scale(scale=1.0 / x.shape[0]), pyro.plate("data", x.shape[0]):
            z = pyro.sample("z", dist.Normal(zero, one).to_event(1))
            pyro.sample("x", dist.Bernoulli(logits=dec(z)).to_event(1), obs=x)

    def guide(x):
        pyro.module("encoder", enc)
        with pyro.poutine.scale(scale=1.0 / x.shape[0]), pyro.plate("data", x.shape[0]):
            loc, scale = enc(x)
            pyro.sample("z", dist.Normal(loc, scale).to_event(1))

    elbo = TraceMeanField_ELBO()
    svi = SVI(model, guide, pyro.optim.Adam({"lr": LR}), loss=elbo)
    return Contender("Pyro 1.9 (TraceMeanField_ELBO)", svi.step,
                     lambda x: torch.tensor(elbo.loss(model, guide, x)))


def make_contenders(size: str, *, with_compiled: bool = False, with_fused: bool = False,
                    notes: list | None = None):
    """All contenders for ``size`` with identical initial nets; the reference gmc model first.

    Every contender steps the default ``torch.optim.Adam`` unless its name says "fused Adam";
    ``with_fused`` adds gmc and Pixyz with torch's fused Adam (what ``gmc train`` uses), so
    that the optimizer's share and the loss's share of a step can be told apart."""
    torch.manual_seed(0)
    reference, gen = gmc_contender(size)
    out = [gen, handwritten_contender(size, reference), distributions_contender(size, reference)]
    variants = [dict(fit_optimizer=True)] if with_fused else []
    if with_compiled:
        variants += [dict(compile=True)] + ([dict(compile=True, fit_optimizer=True)] if with_fused else [])
    for options in variants:
        model, c = gmc_contender(size, **options)
        model.load_state_dict(reference.state_dict())
        out.append(c)
    libraries = [(pixyz_contender, "pixyz", {}), (pyro_contender, "pyro", {})]
    if with_fused:
        libraries.insert(1, (pixyz_contender, "pixyz", {"fused": True}))
    for make, lib, options in libraries:
        try:
            out.append(make(size, reference, **options))
        except ImportError:
            if notes is not None:
                notes.append(f"{lib} is not installed (pip install 'gmc-lang[bench]'): left out")
    return out
