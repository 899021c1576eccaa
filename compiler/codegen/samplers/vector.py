"""Shared argument code for samplers that call ``gmc.runtime`` (``rt.<name>(..., shape, ref)``)."""
from __future__ import annotations


def shape_and_ref(like: str | None, shape: str, ref: str) -> tuple[str, str]:
    """Code for the sample's shape and a tensor giving its dtype and device.

    A full-shaped parameter (``like``) supplies both; otherwise the requested shape and the
    model's reference tensor."""
    return (f"{like}.shape", like) if like is not None else (shape, ref)


def probs_or_logits(params: dict[str, str]) -> str:
    """The keyword argument naming the given parameterization: ``logits=h`` or ``probs=p``."""
    return f"logits={params['logits']}" if "logits" in params else f"probs={params['probs']}"
