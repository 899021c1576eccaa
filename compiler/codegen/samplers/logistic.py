"""Logistic: reparameterized as loc + scale * logit(u), u ~ U(0, 1)."""
from gmc.compiler.codegen.samplers.registry import noise, sampler
from gmc.compiler.codegen.samplers.transforms import location_scale


@sampler("Logistic")
def logistic(params, like, shape, ref):
    return location_scale(params["loc"], params["scale"], f"rt.standard_logistic({noise('rand', like, shape, ref)})")
