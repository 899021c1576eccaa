"""Weibull: reparameterized by the inverse CDF, scale * E^(1/concentration), E = -log(u) ~ Exponential(1)."""
from gmc.compiler.codegen.samplers.registry import noise, sampler
from gmc.compiler.codegen.samplers.transforms import atom, location_scale


@sampler("Weibull")
def weibull(params, like, shape, ref):
    standard = f"rt.standard_exponential({noise('rand', like, shape, ref)})"
    k = params["concentration"]
    if k != "1":
        standard = f"{standard} ** (1 / {atom(k)})"
    return location_scale("0", params["scale"], standard)
