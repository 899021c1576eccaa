"""Normal: reparameterized draw loc + scale * eps."""
from gmc.compiler.codegen.samplers.registry import noise, sampler


@sampler("Normal")
def normal(params, like, shape, ref):
    # reparameterized: loc + scale * eps, eps ~ N(0, 1) (Kingma & Welling 2014, section 2.4)
    eps = noise("randn", like, shape, ref)
    loc, scale = params["loc"], params["scale"]
    scaled = eps if scale == "1" else f"{scale} * {eps}"
    return scaled if loc == "0" else f"{loc} + {scaled}"
