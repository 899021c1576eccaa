"""Dirichlet: implicitly reparameterized draws (Figurnov et al. 2018) from ``gmc.runtime``."""
from gmc.compiler.codegen.samplers.registry import sampler
from gmc.compiler.codegen.samplers.vector import shape_and_ref


@sampler("Dirichlet")
def dirichlet(params, like, shape, ref):
    size, ref = shape_and_ref(like, shape, ref)
    return f"rt.dirichlet({params['concentration']}, {size}, {ref})"
