"""Exact sums over enumerable variables (see :mod:`gmc.compiler.marginals`).

Enumeration reuses the particle dimension of ``iwae``: the K values of ``y`` are stacked in
a leading dimension ``[K, *batch, *event]``, every density evaluated there broadcasts over
it, and the sum over ``y`` reduces that dimension:

- marginal: log p(x) = logsumexp_y [log p(x|y) + log p(y)] (the mixture density);
- expectation: E_{q(y|x)}[f] = sum_y q(y|x) f(y), exact, so gradients reach q's
  parameters although q is not reparameterizable (Kingma et al. 2014, eq. 7).
"""
from __future__ import annotations

from dataclasses import replace

from gmc.compiler import ir
from gmc.compiler.marginals import enumerable_count


def enumerate_values(emitter, var: str, env):
    """Bind ``var`` to all its values, [K, *batch, *event]; returns the new env."""
    v = emitter.model.vars[var]
    k = enumerable_count(v)
    if env.particles is not None:
        raise NotImplementedError("gmc: enumeration inside iwae particles is not supported")
    event = v.type.shape
    ones = "(1,) * len(" + env.batch + ")"
    if v.type.support == "categorical":
        table = f"torch.eye({k}, dtype={env.ref}.dtype, device={env.ref}.device)"
    else:
        table = f"torch.tensor([0.0, 1.0], dtype={env.ref}.dtype, device={env.ref}.device)"
    full = f"({k},) + {env.batch}" + (f" + {event!r}" if event else "")
    code = f"{table}.reshape(({k},) + {ones}" + (f" + {event!r}" if event else "") + f").expand({full})"
    name = emitter.fb.assign(f"{var}_all", code, None, f"[{k}, batch, ...]: every value of {var}")
    return replace(env, particles=k).bind(var, name, True)


def log_marginal(emitter, sig: str, env) -> str:
    """Name of [batch] log ``sig`` for a marginal summed over one enumerable variable."""
    f = emitter.model.factors[sig]
    inner = enumerate_values(emitter, f.marginalized[0], env)
    parts = [emitter.log_prob(leaf.signature, inner) for leaf in ir.leaves(emitter.model, sig)]
    joint = emitter.fb.assign(f"log_joint_{f.marginalized[0]}", " + ".join(parts), f.span,
                              f"[K, batch] for each value of {f.marginalized[0]}")
    return f"torch.logsumexp({joint}, dim=0)"


def expect_enumerated(emitter, e: ir.Expect, var: str, env) -> str:
    """Code for E_{q(y|...)}[body] as the exact sum over y's values."""
    inner = enumerate_values(emitter, var, env)
    weight = emitter.log_prob(e.factor, inner)
    body, _ = emitter.value(e.body, inner)
    return emitter.fb.assign(f"expect_{var}", f"(torch.exp({weight}) * ({body})).sum(0)", e.span,
                             f"exact sum over the values of {var}")
