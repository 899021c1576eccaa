"""Laplace: reparameterized as loc + scale * L, L standard Laplace by the inverse CDF of uniform noise."""
from gmc.compiler.codegen.samplers.registry import noise, sampler
from gmc.compiler.codegen.samplers.transforms import location_scale


@sampler("Laplace")
def laplace(params, like, shape, ref):
    return location_scale(params["loc"], params["scale"], f"rt.standard_laplace({noise('rand', like, shape, ref)})")
