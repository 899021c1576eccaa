"""Categorical: one-hot draws through ``torch.multinomial`` (not reparameterizable)."""
from gmc.compiler.codegen.samplers.registry import sampler
from gmc.compiler.codegen.samplers.vector import probs_or_logits, shape_and_ref


@sampler("Categorical")
def categorical(params, like, shape, ref):
    size, ref = shape_and_ref(like, shape, ref)
    return f"rt.one_hot_categorical({size}, {ref}, {probs_or_logits(params)})"
