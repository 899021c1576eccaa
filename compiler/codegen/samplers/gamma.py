"""Gamma: G / rate with G ~ Gamma(concentration, 1), implicitly reparameterized
(Figurnov et al. 2018)."""
from gmc.compiler.codegen.samplers.registry import sampler
from gmc.compiler.codegen.samplers.transforms import divide, draw_shape


@sampler("Gamma")
def gamma(params, like, shape, ref):
    return divide(f"rt.standard_gamma({params['concentration']}, {draw_shape(like, shape)}, {ref})", params["rate"])
