"""Uniform: reparameterized as low + (high - low) * u, u ~ U[0, 1)."""
from gmc.compiler.codegen.samplers.registry import noise, sampler
from gmc.compiler.codegen.samplers.transforms import atom, location_scale


@sampler("Uniform")
def uniform(params, like, shape, ref):
    low, high = params["low"], params["high"]
    width = high if low == "0" else f"({high} - {atom(low)})"
    return location_scale(low, width, noise("rand", like, shape, ref))
