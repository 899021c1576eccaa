"""Categorical: a one-hot draw by the Gumbel-max trick, argmax(h + G) with G = -log(-log U)
(Gumbel 1954; Maddison et al. 2014). Not reparameterizable. Minimal version from the models
branch; the families branch's supersedes it."""
from gmc.compiler.codegen.samplers.registry import noise, sampler


@sampler("Categorical")
def categorical(params, like, shape, ref):
    if "logits" in params:
        h = params["logits"]
    else:
        # A constant scalar probs broadcast over K categories is the uniform distribution.
        h = "0" if _is_number(params["probs"]) else f"torch.log({params['probs']})"
    u = noise("rand", like, shape, ref)
    return f"F.one_hot(torch.argmax({h} - torch.log(-torch.log({u})), dim=-1), {shape_k(like, shape)}).to({ref}.dtype)"


def shape_k(like, shape):
    """Code for K, the size of the last axis of the sample."""
    return f"{like}.shape[-1]" if like is not None else f"({shape})[-1]"


def _is_number(code: str) -> bool:
    try:
        float(code)
    except ValueError:
        return False
    return True
