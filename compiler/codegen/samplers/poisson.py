"""Poisson: ``torch.poisson`` of the rate (not reparameterizable)."""
from gmc.compiler.codegen.samplers.registry import sampler
from gmc.compiler.codegen.samplers.vector import shape_and_ref


@sampler("Poisson")
def poisson(params, like, shape, ref):
    rate = params["rate"]
    if like == rate:  # the rate already has the sample's shape: plain torch
        return f"torch.poisson({rate})"
    size, ref = shape_and_ref(like, shape, ref)
    return f"rt.poisson({rate}, {size}, {ref})"
