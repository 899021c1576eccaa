"""Sampling primitives used by generated code: transforms of uniform noise and the
implicitly reparameterized gamma and Dirichlet draws that torch exposes only as private
functions (wrapped here so generated code names no private torch API).

Uniform noise arrives from ``torch.rand`` in [0, 1); :func:`open_unit` moves it into the
open interval, so no transform below meets log(0). All functions are element-wise and
differentiable in their parameters; shapes are stated per function.
"""
from __future__ import annotations

import torch


def open_unit(u: torch.Tensor) -> torch.Tensor:
    """``u`` clamped to [tiny, 1 - eps/2], the open unit interval of its dtype (same shape)."""
    info = torch.finfo(u.dtype)
    return u.clamp(min=info.tiny, max=1 - info.eps / 2)


def standard_laplace(u: torch.Tensor) -> torch.Tensor:
    """Laplace(0, 1) noise from uniform noise ``u`` (same shape), by the inverse CDF
    -sign(v) log(1 - 2|v|), v = u - 1/2 (Devroye 1986, ch. II.2)."""
    v = open_unit(u) - 0.5
    return -torch.sign(v) * torch.log1p(-2 * v.abs())


def standard_logistic(u: torch.Tensor) -> torch.Tensor:
    """Logistic(0, 1) noise from uniform noise ``u`` (same shape): logit(u)."""
    u = open_unit(u)
    return torch.log(u) - torch.log1p(-u)


def standard_exponential(u: torch.Tensor) -> torch.Tensor:
    """Exponential(1) noise from uniform noise ``u`` (same shape): -log(u)."""
    return -torch.log(open_unit(u))


def kumaraswamy_icdf(u: torch.Tensor, concentration1, concentration0) -> torch.Tensor:
    """Kumaraswamy(a, b) draw from uniform noise ``u`` by the inverse CDF
    (1 - (1 - u)^(1/b))^(1/a) (Nalisnick & Smyth 2017), with 1 - u replaced by u (also
    uniform) and 1 - w^(1/b) computed as -expm1(log(w)/b). Parameters broadcast with ``u``;
    the result is kept inside (0, 1)."""
    inner = -torch.expm1(torch.log(open_unit(u)) / concentration0)
    return open_unit(inner ** (1 / concentration1))


def standard_gamma(concentration, shape, like: torch.Tensor) -> torch.Tensor:
    """Gamma(concentration, 1) draws of ``shape`` (dtype and device of ``like``).

    Differentiable in ``concentration`` by implicit reparameterization (Figurnov et al.
    2018; torch's ``_standard_gamma``). Draws are kept >= the dtype's tiny, as
    torch.distributions.Gamma does, so that log x stays finite for small concentrations."""
    alpha = torch.as_tensor(concentration, dtype=like.dtype, device=like.device).expand(shape)
    return torch._standard_gamma(alpha).clamp(min=torch.finfo(like.dtype).tiny)


def standard_student_t(df, shape, like: torch.Tensor) -> torch.Tensor:
    """StudentT(df, 0, 1) draws of ``shape``: eps / sqrt(G / (df/2)), eps ~ N(0, 1) and
    G ~ Gamma(df/2, 1), since 2G ~ chi-squared(df) (JKB vol. 2, ch. 28)."""
    half = 0.5 * torch.as_tensor(df, dtype=like.dtype, device=like.device)
    eps = torch.randn(shape, dtype=like.dtype, device=like.device)
    return eps * torch.rsqrt(standard_gamma(half, shape, like) / half)


class _BetaDraw(torch.autograd.Function):
    """x ~ Beta(a, b) as the first coordinate of a Dirichlet(a, b) draw, with the implicit
    reparameterization gradient dx/da = -dF/da / p(x) (Figurnov et al. 2018).

    ``torch._dirichlet_grad(y, c, t)`` is the implicit derivative of a Dirichlet coordinate
    y with concentration c and total concentration t; for two coordinates (x, 1 - x) the
    derivatives of x are dx/da = g_a (1 - x) and dx/db = -g_b x (checked against scipy's
    CDF in tests/families)."""

    @staticmethod
    def forward(ctx, a, b):
        x = torch._sample_dirichlet(torch.stack([a, b], -1))[..., 0]
        ctx.save_for_backward(x, a, b)
        return x

    @staticmethod
    def backward(ctx, grad):
        x, a, b = ctx.saved_tensors
        total = a + b
        grad_a = torch._dirichlet_grad(x, a, total) * (1 - x)
        grad_b = -torch._dirichlet_grad(1 - x, b, total) * x
        return grad * grad_a, grad * grad_b


def sample_beta(concentration1, concentration0, shape, like: torch.Tensor) -> torch.Tensor:
    """Beta(concentration1, concentration0) draws of ``shape``, kept inside (0, 1).

    Drawn through torch's Dirichlet sampler rather than as a ratio of two gamma draws,
    which underflows to 0/0 for small concentrations; differentiable in both parameters
    (implicit reparameterization, see :class:`_BetaDraw`)."""
    a = torch.as_tensor(concentration1, dtype=like.dtype, device=like.device).expand(shape)
    b = torch.as_tensor(concentration0, dtype=like.dtype, device=like.device).expand(shape)
    return open_unit(_BetaDraw.apply(a, b))
