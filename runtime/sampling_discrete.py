"""Samplers for discrete and simplex-valued families, called by generated code as ``rt.<name>``.

Every sampler takes the sample's ``shape`` (``[..., K]`` for vector families) and a ``ref``
tensor whose dtype and device the sample gets; parameters may be tensors that broadcast to
``shape`` or Python numbers (constants and params of the ``.gm`` file). Uniform noise is
kept strictly inside (0, 1) with ``torch.finfo`` so that the logistic and Gumbel transforms
stay finite.
"""
from __future__ import annotations

import torch

from gmc.runtime.sampling import log_standard_gamma


def _expand(value, shape, ref: torch.Tensor) -> torch.Tensor:
    """``value`` (a tensor or a number) as a tensor of ``shape`` with ``ref``'s dtype and device."""
    return torch.as_tensor(value, dtype=ref.dtype, device=ref.device).expand(shape)


def _probs(shape, ref, probs, logits) -> torch.Tensor:
    """Probabilities of shape ``shape`` [..., K] from exactly one of ``probs`` and ``logits``."""
    if logits is not None:
        return torch.softmax(_expand(logits, shape, ref), dim=-1)
    return _expand(probs, shape, ref)


def _open_uniform(shape, ref: torch.Tensor) -> torch.Tensor:
    """U(0, 1) noise clamped to [tiny, 1 - eps] of ``ref``'s dtype: log(u) and log(1 - u) stay finite."""
    finfo = torch.finfo(ref.dtype)
    u = torch.rand(shape, dtype=ref.dtype, device=ref.device)
    return u.clamp(min=finfo.tiny, max=1.0 - finfo.eps)


def _clamp_open(x: torch.Tensor) -> torch.Tensor:
    """Keep a relaxed sample inside the open support (0, 1), where its log-density is finite."""
    finfo = torch.finfo(x.dtype)
    return x.clamp(min=finfo.tiny, max=1.0 - finfo.eps)


def one_hot_categorical(shape, ref: torch.Tensor, probs=None, logits=None) -> torch.Tensor:
    """One-hot Categorical draws of ``shape`` [..., K] (``torch.multinomial``; no gradient).

    Give ``probs`` (rows summing to 1) or ``logits`` (any finite reals, softmax-normalized)."""
    p = _probs(shape, ref, probs, logits)
    flat = p.detach().reshape(-1, p.shape[-1])
    index = torch.multinomial(flat, 1)
    return torch.zeros_like(flat).scatter_(-1, index, 1.0).reshape(shape)


def multinomial_counts(total_count, shape, ref: torch.Tensor, probs=None, logits=None) -> torch.Tensor:
    """Multinomial counts of ``shape`` [..., K]: ``total_count`` categorical draws per row,
    tallied per category (no gradient). Each row sums to ``total_count``."""
    p = _probs(shape, ref, probs, logits)
    flat = p.detach().reshape(-1, p.shape[-1])
    n = int(total_count)
    counts = torch.zeros_like(flat)
    if n > 0:
        index = torch.multinomial(flat, n, replacement=True)
        counts.scatter_add_(-1, index, torch.ones_like(index, dtype=flat.dtype))
    return counts.reshape(shape)


def poisson(rate, shape, ref: torch.Tensor) -> torch.Tensor:
    """Poisson counts of ``shape`` with the given ``rate`` (``torch.poisson``; no gradient)."""
    return torch.poisson(_expand(rate, shape, ref).detach())


class _ImplicitDirichlet(torch.autograd.Function):
    """A Dirichlet draw differentiable in its concentration by implicit reparameterization.

    Figurnov, Mohamed & Mnih 2018 (section 3): the gradient of x = F^-1(u; a) is
    -(dF/da) / (dF/dx) at fixed u. ``torch._dirichlet_grad`` gives it for each coordinate
    through its Beta marginal; the projection ``g - <g, x>`` keeps the gradient tangent to
    the simplex (the coordinates sum to 1)."""

    @staticmethod
    def forward(ctx, concentration):
        # normalized Gamma draws, normalized in log space: small concentrations made
        # torch's sampler divide underflowed draws (exactly 1/K for 12% of Dirichlet(1e-3) draws)
        x = torch.softmax(log_standard_gamma(concentration), dim=-1)
        ctx.save_for_backward(x, concentration)
        return x

    @staticmethod
    def backward(ctx, grad):
        x, concentration = ctx.saved_tensors
        total = concentration.sum(-1, keepdim=True).expand_as(concentration)
        dx_da = torch._dirichlet_grad(x, concentration, total)
        return dx_da * (grad - (grad * x).sum(-1, keepdim=True))


def dirichlet(concentration, shape, ref: torch.Tensor) -> torch.Tensor:
    """Dirichlet draws of ``shape`` [..., K], reparameterized (implicit gradients, see above).

    Coordinates are clamped to [tiny, 1 - eps] so that log x stays finite."""
    a = _expand(concentration, shape, ref).contiguous()
    return _clamp_open(_ImplicitDirichlet.apply(a))


def relaxed_bernoulli(temperature, shape, ref: torch.Tensor, probs=None, logits=None) -> torch.Tensor:
    """Binary Concrete draws in (0, 1) of ``shape``: sigmoid((h + L) / temperature), L logistic noise.

    Maddison, Mnih & Teh 2017, section 3.3 (L = log u - log(1 - u), u ~ U(0, 1));
    reparameterized in the logits (or probs) and the temperature."""
    if logits is None:
        p = _expand(probs, shape, ref)
        logits = torch.log(p) - torch.log1p(-p)
    u = _open_uniform(shape, ref)
    noise = torch.log(u) - torch.log1p(-u)
    return _clamp_open(torch.sigmoid((logits + noise) / temperature))


def relaxed_categorical(temperature, shape, ref: torch.Tensor, probs=None, logits=None) -> torch.Tensor:
    """Concrete (Gumbel-softmax) draws on the simplex of ``shape`` [..., K]:
    softmax((h + G) / temperature) with G standard Gumbel noise, G = -log(-log u).

    Jang, Gu & Poole 2017, eq. 1; Maddison, Mnih & Teh 2017, section 3.1. Reparameterized
    in the logits (or probs, through h = log p) and the temperature."""
    if logits is None:
        logits = torch.log(_expand(probs, shape, ref))
    gumbel = -torch.log(-torch.log(_open_uniform(shape, ref)))
    return _clamp_open(torch.softmax((logits + gumbel) / temperature, dim=-1))
