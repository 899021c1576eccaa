"""Exponential: reparameterized by the inverse CDF, -log(u) / rate."""
from gmc.compiler.codegen.samplers.registry import noise, sampler
from gmc.compiler.codegen.samplers.transforms import divide


@sampler("Exponential")
def exponential(params, like, shape, ref):
    return divide(f"rt.standard_exponential({noise('rand', like, shape, ref)})", params["rate"])
