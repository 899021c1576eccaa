"""Divergences whose textbook form cancels catastrophically, computed to full precision.

``kl_div(q, p) = q log(q/p) - q + p`` (``scipy.special.kl_div``) is the KL divergence between
Poisson laws with rates q and p. When q/p is near 1 its three terms are each about q while the
result is about (q - p)^2 / (2q): at q = 1e6, p = 1e6 + 1 the plain form loses 9 digits.
With v = (q - p)/(q + p), log(q/p) = 2 atanh(v) and q - p = v (q + p), so

    kl_div(q, p) = (q - p) v + 2 q (atanh(v) - v),    atanh(v) - v = sum_{k>=1} v^(2k+1)/(2k+1),

a sum of small terms with no cancellation (the series of Loader's bd0, Loader 2000, "Fast and
accurate computation of binomial probabilities"). For |v| < 1/10 the series is summed to
float64 precision (v^2 <= 1e-2, 9 terms); beyond, q log(q/p) - q + p loses under two digits.
"""
from __future__ import annotations

import math

import torch

_SERIES_LIMIT = 0.1
_TERMS = 9  # truncation v^(2 * _TERMS + 3)/(2 * _TERMS + 3) <= 1e-18 / 21 relative to v^3 / 3


def _atanh_minus_identity_over_cube(w):
    """(atanh(v) - v)/v^3 = sum_{k>=0} w^k/(2k + 3) for w = v^2, by Horner (|v| < 1/10)."""
    total = 1.0 / (2 * (_TERMS - 1) + 3)
    for k in range(_TERMS - 2, -1, -1):
        total = total * w + 1.0 / (2 * k + 3)
    return total


def _kl_div_number(q: float, p: float) -> float:
    if q == 0:
        return float(p)
    if p == 0:
        return math.inf
    v = (q - p) / (q + p)
    if abs(v) < _SERIES_LIMIT:
        return (q - p) * v + 2 * q * v ** 3 * _atanh_minus_identity_over_cube(v * v)
    return q * math.log(q / p) - q + p


def kl_div(q, p):
    """q log(q/p) - q + p element-wise (KL[Poisson(q) || Poisson(p)] in nats), accurate to a
    few ulp for all rates: q = 0 gives p, p = 0 < q gives +inf. ``q`` and ``p`` are tensors
    of broadcastable shapes or Python numbers (both numbers: a float; one number: it takes
    the tensor's dtype, so a float64 model never rounds it to float32)."""
    if not isinstance(q, torch.Tensor) and not isinstance(p, torch.Tensor):
        return _kl_div_number(float(q), float(p))
    like = q if isinstance(q, torch.Tensor) else p
    q = torch.as_tensor(q, dtype=like.dtype, device=like.device)
    p = torch.as_tensor(p, dtype=like.dtype, device=like.device)
    total = q + p
    v = (q - p) / torch.where(total > 0, total, torch.ones_like(total))
    near = v.abs() < _SERIES_LIMIT
    v_near = torch.where(near, v, torch.zeros_like(v))  # the far branch's v never reaches the series
    series = (q - p) * v_near + 2 * q * v_near ** 3 * _atanh_minus_identity_over_cube(v_near * v_near)
    ratio = torch.where(near, torch.ones_like(q), q / torch.where(near, torch.ones_like(p), p))
    plain = torch.xlogy(q, ratio) - q + p
    return torch.where(near, series, plain)


def lgamma_gap(c, a):
    """lgamma(c) - lgamma(a) - (c - a) digamma(a) element-wise: the shape terms of
    KL[Gamma(a, b) || Gamma(c, d)] in nats, computed together so that they are exactly 0 at
    c = a (as the other terms of that KL tend to 0 too, adding two large lgammas would lose
    them). Away from c = a it is as accurate as torch.distributions' form. Tensors or numbers,
    as :func:`kl_div`."""
    if not isinstance(c, torch.Tensor) and not isinstance(a, torch.Tensor):
        c, a = float(c), float(a)
        if c == a:
            return 0.0
        psi = torch.digamma(torch.tensor(a, dtype=torch.float64)).item()
        return math.lgamma(c) - math.lgamma(a) - (c - a) * psi
    like = c if isinstance(c, torch.Tensor) else a
    c = torch.as_tensor(c, dtype=like.dtype, device=like.device)
    a = torch.as_tensor(a, dtype=like.dtype, device=like.device)
    gap = torch.lgamma(c) - torch.lgamma(a) - (c - a) * torch.digamma(a)
    return torch.where(c == a, torch.zeros_like(gap), gap)
