"""Multinomial: ``total_count`` categorical draws tallied per category (not reparameterizable)."""
from gmc.compiler.codegen.samplers.registry import sampler
from gmc.compiler.codegen.samplers.vector import probs_or_logits, shape_and_ref


@sampler("Multinomial")
def multinomial(params, like, shape, ref):
    size, ref = shape_and_ref(like, shape, ref)
    return f"rt.multinomial_counts({params['total_count']}, {size}, {ref}, {probs_or_logits(params)})"
