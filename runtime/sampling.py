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


def weibull(u: torch.Tensor, scale, concentration) -> torch.Tensor:
    """Weibull(scale, concentration) draws from uniform noise ``u`` (parameters broadcast
    with it) by the inverse CDF scale * E^(1/concentration), E = -log(u) ~ Exponential(1)
    (JKB vol. 1, ch. 21), in log space: exp(log scale + log(E)/concentration).

    For a small concentration the draw leaves float's range (at concentration 0.01 one
    in 1,500 float64 draws is below 1e-308 and became exactly 0, where the log-density is
    +inf); such draws are clamped to [tiny, max] of the dtype, the smallest positive normal
    and the largest finite number (their gradient is then 0). Reparameterized in both
    parameters."""
    like = u
    log_scale = torch.log(torch.as_tensor(scale, dtype=like.dtype, device=like.device))
    log_x = log_scale + torch.log(standard_exponential(u)) / concentration
    info = torch.finfo(like.dtype)
    return torch.exp(log_x).clamp(min=info.tiny, max=info.max)


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


def log_standard_gamma(concentration: torch.Tensor) -> torch.Tensor:
    """log G for G ~ Gamma(concentration, 1), element-wise (same shape), finite for every
    concentration > 0; no gradient (the callers differentiate implicitly).

    A Gamma(a) draw with a small a is below the dtype's tiny with a large probability
    (about e^(-709 a) in float64: half the draws at a = 1e-3), so ratios of draws (Beta,
    Dirichlet) meet 0/0. For a < 1 the draw is made in log space by the boosting identity
    G(a) = G(a + 1) U^(1/a), U ~ U(0, 1) (Marsaglia & Tsang 2000, section 6):
    log G = log G(a + 1) + log(U)/a."""
    a = concentration.detach()
    boost = a < 1
    tiny = torch.finfo(a.dtype).tiny
    lifted = torch._standard_gamma(torch.where(boost, a + 1, a)).clamp(min=tiny)
    log_u = torch.log(open_unit(torch.rand_like(a)))
    return torch.log(lifted) + torch.where(boost, log_u / a, torch.zeros_like(a))


def standard_student_t(df, shape, like: torch.Tensor) -> torch.Tensor:
    """StudentT(df, 0, 1) draws of ``shape``: eps / sqrt(G / (df/2)), eps ~ N(0, 1) and
    G ~ Gamma(df/2, 1), since 2G ~ chi-squared(df) (JKB vol. 2, ch. 28)."""
    half = 0.5 * torch.as_tensor(df, dtype=like.dtype, device=like.device)
    eps = torch.randn(shape, dtype=like.dtype, device=like.device)
    return eps * torch.rsqrt(standard_gamma(half, shape, like) / half)


class _BetaDraw(torch.autograd.Function):
    """x ~ Beta(a, b) as G_a / (G_a + G_b) from log-space Gamma draws (:func:`log_standard_gamma`),
    with the implicit reparameterization gradient dx/da = -dF/da / p(x) (Figurnov et al. 2018).

    ``torch._dirichlet_grad(y, c, t)`` is the implicit derivative of a Dirichlet coordinate
    y with concentration c and total concentration t; for two coordinates (x, 1 - x) the
    derivatives of x are dx/da = g_a (1 - x) and dx/db = -g_b x (checked against scipy's
    CDF in tests/families)."""

    @staticmethod
    def forward(ctx, a, b):
        # x = G_a / (G_a + G_b) = sigmoid(log G_a - log G_b), in log space: never 0/0
        x = torch.sigmoid(log_standard_gamma(a) - log_standard_gamma(b))
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

    Drawn as a ratio of two Gamma draws taken in log space, never 0/0 (torch's sampler
    returned exactly 1/2 for a quarter of the draws of Beta(1e-3, 1e-3)); draws beyond
    the dtype's range are clamped to [tiny, 1 - eps/2] (a quarter of them at 1e-3).
    Differentiable in both parameters (implicit reparameterization, see :class:`_BetaDraw`)."""
    a = torch.as_tensor(concentration1, dtype=like.dtype, device=like.device).expand(shape)
    b = torch.as_tensor(concentration0, dtype=like.dtype, device=like.device).expand(shape)
    return open_unit(_BetaDraw.apply(a, b))
