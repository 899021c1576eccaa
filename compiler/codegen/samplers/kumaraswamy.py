"""Kumaraswamy: reparameterized by the inverse CDF of uniform noise (Nalisnick & Smyth 2017)."""
from gmc.compiler.codegen.samplers.registry import noise, sampler


@sampler("Kumaraswamy")
def kumaraswamy(params, like, shape, ref):
    return (f"rt.kumaraswamy_icdf({noise('rand', like, shape, ref)}, "
            f"{params['concentration1']}, {params['concentration0']})")
