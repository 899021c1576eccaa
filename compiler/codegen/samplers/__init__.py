"""Sampling code per family, one module each, collected in ``SAMPLERS`` by family name."""
from gmc.compiler.codegen.samplers import bernoulli, categorical, normal  # noqa: F401  (registration)
from gmc.compiler.codegen.samplers.registry import SAMPLERS, noise, sampler

__all__ = ["SAMPLERS", "noise", "sampler"]
