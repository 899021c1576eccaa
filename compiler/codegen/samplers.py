"""Sampling code per family: one function each, registered by family name.

Each sampler gets the parameters as code (names or literals), a ``like`` tensor name whose
shape is the sample's shape (or None) and a ``shape`` expression to use otherwise, plus the
name of a tensor giving dtype and device. It returns an expression for the sample.
"""
from __future__ import annotations

from typing import Callable

Sampler = Callable[[dict[str, str], "str | None", str, str], str]
SAMPLERS: dict[str, Sampler] = {}


def sampler(family: str):
    def register(fn: Sampler) -> Sampler:
        SAMPLERS[family] = fn
        return fn
    return register


def _noise(kind: str, like: str | None, shape: str, ref: str) -> str:
    if like is not None:
        return f"torch.{kind}_like({like})"
    return f"torch.{kind}({shape}, dtype={ref}.dtype, device={ref}.device)"


@sampler("Normal")
def normal(params, like, shape, ref):
    # reparameterized: loc + scale * eps, eps ~ N(0, 1) (Kingma & Welling 2014, section 2.4)
    eps = _noise("randn", like, shape, ref)
    loc, scale = params["loc"], params["scale"]
    scaled = eps if scale == "1" else f"{scale} * {eps}"
    return scaled if loc == "0" else f"{loc} + {scaled}"


@sampler("Bernoulli")
def bernoulli(params, like, shape, ref):
    probs = f"torch.sigmoid({params['logits']})" if "logits" in params else params["probs"]
    if like is None:
        return f"torch.bernoulli(torch.full({shape}, {probs}, dtype={ref}.dtype, device={ref}.device))"
    if like == params.get("logits", params.get("probs")):
        return f"torch.bernoulli({probs})"
    return f"torch.bernoulli({probs}.expand_as({like}))"
