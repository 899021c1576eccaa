"""Beta: a Dirichlet(concentration1, concentration0) coordinate, implicitly reparameterized."""
from gmc.compiler.codegen.samplers.registry import sampler
from gmc.compiler.codegen.samplers.transforms import draw_shape


@sampler("Beta")
def beta(params, like, shape, ref):
    return (f"rt.sample_beta({params['concentration1']}, {params['concentration0']}, "
            f"{draw_shape(like, shape)}, {ref})")
