"""Weibull: reparameterized by the inverse CDF, scale * E^(1/concentration), E = -log(u) ~
Exponential(1), computed in log space and clamped to the dtype's range (``rt.weibull``)."""
from gmc.compiler.codegen.samplers.registry import noise, sampler


@sampler("Weibull")
def weibull(params, like, shape, ref):
    return f"rt.weibull({noise('rand', like, shape, ref)}, {params['scale']}, {params['concentration']})"
