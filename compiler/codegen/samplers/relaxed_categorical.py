"""RelaxedCategorical: softmax((logits + Gumbel noise) / temperature), reparameterized."""
from gmc.compiler.codegen.samplers.registry import sampler
from gmc.compiler.codegen.samplers.vector import probs_or_logits, shape_and_ref


@sampler("RelaxedCategorical")
def relaxed_categorical(params, like, shape, ref):
    size, ref = shape_and_ref(like, shape, ref)
    return f"rt.relaxed_categorical({params['temperature']}, {size}, {ref}, {probs_or_logits(params)})"
