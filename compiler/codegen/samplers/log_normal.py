"""LogNormal: reparameterized as exp(loc + scale * eps), eps ~ N(0, 1)."""
from gmc.compiler.codegen.samplers.registry import noise, sampler
from gmc.compiler.codegen.samplers.transforms import location_scale


@sampler("LogNormal")
def log_normal(params, like, shape, ref):
    return f"torch.exp({location_scale(params['loc'], params['scale'], noise('randn', like, shape, ref))})"
