"""The sampler registry: code that draws from a family, one function per family.

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


def noise(kind: str, like: str | None, shape: str, ref: str) -> str:
    if like is not None:
        return f"torch.{kind}_like({like})"
    return f"torch.{kind}({shape}, dtype={ref}.dtype, device={ref}.device)"
