"""Bernoulli: torch.bernoulli of the probabilities (not reparameterizable)."""
import math

from gmc.compiler.codegen.samplers.registry import sampler


@sampler("Bernoulli")
def bernoulli(params, like, shape, ref):
    logits = params.get("logits")
    constant = _number(logits if logits is not None else params["probs"])
    if constant is not None:
        probs = repr(_sigmoid(constant)) if logits is not None else params["probs"]
    else:
        probs = f"torch.sigmoid({logits})" if logits is not None else params["probs"]
    if like is None:
        if constant is None:  # a tensor of probabilities drawn several times (particles)
            return f"torch.bernoulli({probs}.expand({shape}))"
        return f"torch.bernoulli(torch.full({shape}, {probs}, dtype={ref}.dtype, device={ref}.device))"
    if like == params.get("logits", params.get("probs")):
        return f"torch.bernoulli({probs})"
    return f"torch.bernoulli({probs}.expand_as({like}))"


def _number(code: str) -> float | None:
    try:
        return float(code)
    except ValueError:
        return None


def _sigmoid(h: float) -> float:
    """1 / (1 + e^-h) without overflow: e^-h overflows for h below -709, where the
    probability is e^h (0.0 below -745)."""
    return 1 / (1 + math.exp(-h)) if h >= 0 else math.exp(h) / (1 + math.exp(h))
