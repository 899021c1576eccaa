"""Bernoulli: torch.bernoulli of the probabilities (not reparameterizable)."""
from gmc.compiler.codegen.samplers.registry import sampler


@sampler("Bernoulli")
def bernoulli(params, like, shape, ref):
    probs = f"torch.sigmoid({params['logits']})" if "logits" in params else params["probs"]
    if like is None:
        return f"torch.bernoulli(torch.full({shape}, {probs}, dtype={ref}.dtype, device={ref}.device))"
    if like == params.get("logits", params.get("probs")):
        return f"torch.bernoulli({probs})"
    return f"torch.bernoulli({probs}.expand_as({like}))"
