"""Code for chains over a categorical latent sequence (gmc.compiler.sequences): the forward
algorithm for log p(x), forward-backward for the posterior marginals, ancestral sampling.

Each step factor's log-density is emitted once for every state at once and for every step at
once (time is a batch axis): the initial factor with z bound to the K one-hot values ([K]),
the transition with z[t-1] and z[t] bound to them on two axes ([K, K], entry [i, j] =
log p(z[t] = j | z[t-1] = i)), each emission with z stacked in front of the data's batch and
time axes ([K, *batch, T], moved to [*batch, T, K]). The recursion over time is one loop in
:mod:`gmc.runtime.chains` (logsumexp per step, O(T K^2)), so code size does not grow with T.
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from gmc.compiler.codegen.env import Env
from gmc.compiler.sequences import slot_name, step_model

if TYPE_CHECKING:
    from gmc.compiler.codegen.emitter import Emitter


def _tables(emitter: Emitter, sig: str, env: Env) -> tuple[Emitter, str, str]:
    """(emitter of the step model, log_init [K], log_trans [K, K]) in the current method."""
    model, fb = emitter.model, emitter.fb
    chain = model.chains[sig]
    k = model.sequences[chain.latent].step.shape[0]
    key = ("chain tables", sig)
    if key in fb.memo:
        return fb.memo[key]
    steps = emitter.for_model(step_model(model))
    z, previous = chain.latent, slot_name(chain.latent, 1)
    states = fb.assign(f"{z}_states", f"torch.eye({k}, dtype={env.ref}.dtype, device={env.ref}.device)",
                       chain.span, f"[{k}, {k}]: the one-hot states of {z}")
    first = Env({z: states}, f"({k},)", env.ref)
    log_init = steps.log_prob(chain.initial, first)
    now = fb.assign(f"{z}_next", f"{states}.unsqueeze(0)", None, f"[1, {k}, {k}]: z[t] = j")
    before = fb.assign(f"{z}_before", f"{states}.unsqueeze(1)", None, f"[{k}, 1, {k}]: z[t-1] = i")
    pair = Env({z: now, previous: before}, f"({k}, {k})", env.ref)
    log_trans = steps.log_prob(chain.transition, pair)
    fb.memo[key] = (steps, log_init, log_trans)
    return fb.memo[key]


def _log_emissions(emitter: Emitter, sig: str, env: Env) -> tuple[str, str, str]:
    """(log_init, log_trans, log_emit [*batch, T, K]) for the observed sequences bound in env."""
    model, fb = emitter.model, emitter.fb
    chain = model.chains[sig]
    k = model.sequences[chain.latent].step.shape[0]
    steps, log_init, log_trans = _tables(emitter, sig, env)
    first = chain.observed[0]
    rank = len(model.sequences[first].step.shape)
    batch = f"{env.name(first)}.shape[:-{rank}]" if rank else f"{env.name(first)}.shape"
    ones = f"(1,) * len({batch})"
    z = chain.latent
    every = fb.assign(f"{z}_every", f"torch.eye({k}, dtype={env.ref}.dtype, device={env.ref}.device)"
                                    f".reshape(({k},) + {ones} + ({k},))", None,
                      f"[{k}, 1, ..., 1, {k}]: every state of {z}, before the batch and time axes")
    step_env = replace(Env({v: env.name(v) for v in chain.observed}, batch, env.ref), particles=k)
    step_env = step_env.bind(z, every, True)
    parts = [steps.log_prob(e, step_env) for e in chain.emissions]
    total = " + ".join(parts)
    log_emit = fb.assign(f"log_emit_{z}", f"({total}).movedim(0, -1)", chain.span,
                         f"[batch, T, {k}]: log p(observations at t | {z}[t] = k)")
    return log_init, log_trans, log_emit


def log_chain(emitter: Emitter, sig: str, env: Env) -> str:
    """Code of log ``sig`` ([batch], nats) by the forward algorithm."""
    log_init, log_trans, log_emit = _log_emissions(emitter, sig, env)
    return f"rt.chain_log_likelihood({log_init}, {log_trans}, {log_emit})"


def posterior_marginals(emitter: Emitter, sig: str, env: Env) -> str:
    """Code of p(z[t] = k | observations), [batch, T, K], by forward-backward."""
    log_init, log_trans, log_emit = _log_emissions(emitter, sig, env)
    return f"rt.chain_posterior_marginals({log_init}, {log_trans}, {log_emit})"


def sample_chain(emitter: Emitter, sig: str, env: Env) -> Env:
    """Emit ancestral draws of the chain's latent path and observations; env with them bound."""
    model, fb = emitter.model, emitter.fb
    chain = model.chains[sig]
    steps, log_init, log_trans = _tables(emitter, sig, env)
    z = chain.latent
    path = fb.assign(z, f"rt.sample_chain({log_init}, {log_trans}, {env.batch}, {chain.length})", chain.span,
                     f"[batch, {chain.length}, K]: one-hot states")
    step_env = Env({z: path}, f"{env.batch} + ({chain.length},)", env.ref)
    bound = []
    for emission in chain.emissions:
        leaf = steps.model.factors[emission]
        var, name = steps.sample_leaf(leaf, step_env)
        bound.append((var, name, False))
    return env.bind_all(bound + [(z, path, False)])
