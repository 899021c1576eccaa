"""StudentT: loc + scale * eps / sqrt(G / (df/2)), G ~ Gamma(df/2, 1) drawn with implicit
reparameterization (so gradients reach df, loc and scale)."""
from gmc.compiler.codegen.samplers.registry import sampler
from gmc.compiler.codegen.samplers.transforms import draw_shape, location_scale


@sampler("StudentT")
def student_t(params, like, shape, ref):
    standard = f"rt.standard_student_t({params['df']}, {draw_shape(like, shape)}, {ref})"
    return location_scale(params["loc"], params["scale"], standard)
