"""Deterministic: the value itself, broadcast to the sample's shape (gradients flow through it)."""
from gmc.compiler.codegen.samplers.registry import noise, sampler


@sampler("Deterministic")
def deterministic(params, like, shape, ref):
    value = params["value"]
    if like == value:
        return value
    return f"{value} + {noise('zeros', like, shape, ref)}"
