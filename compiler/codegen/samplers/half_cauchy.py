"""HalfCauchy: reparameterized by the inverse CDF, scale * tan(pi u / 2), u ~ U[0, 1)."""
from gmc.compiler.codegen.samplers.registry import noise, sampler
from gmc.compiler.codegen.samplers.transforms import location_scale

_HALF_PI = "1.5707963267948966"  # pi / 2 as a literal: the sampler needs no math import


@sampler("HalfCauchy")
def half_cauchy(params, like, shape, ref):
    return location_scale("0", params["scale"], f"torch.tan({_HALF_PI} * {noise('rand', like, shape, ref)})")
