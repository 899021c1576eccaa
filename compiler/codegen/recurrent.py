"""Code for products over recurrent states (gmc.compiler.recurrence): one loop over time.

A recurrent state h[t] depends on the draws of every earlier step, so nothing here is
vectorized over time: each generated method holds ONE ``for t in rt.time_steps(0, T)`` loop
whose body is the code of one step, emitted once by an :class:`Emitter` over the step model
(each sequence bound to its step t, ``h[t-1]`` to the carried state, h[-1] = 0):

- the log-density of a product at given sequences: sum over t of its step factors' terms;
- a draw of a product: ancestral, step by step, stacked into [batch, T, ...] tensors;
- ``elbo(p, q)`` (Chung et al. 2015, eq. 11): one reparameterized draw z_t ~ q per step,
  the state updated with it, and per step
  E_q[log p(x_t|z_t,h_{t-1})] - KL[q(z_t|x_t,h_{t-1}) || p(z_t|h_{t-1})], the KL in closed
  form where one is derived (two Normals: :mod:`gmc.compiler.symbolic`), else
  log p(z_t|..) - log q(z_t|..) at the draw;
- ``iwae(p, q, k=K)`` (Burda et al. 2016, eq. 8): the same loop over K particles of every
  example, summing log p - log q per step, then log-mean-exp over the particles.
"""
from __future__ import annotations

from dataclasses import replace

from gmc.compiler import ir
from gmc.compiler.codegen.emitter import Emitter, Env
from gmc.compiler.recurrence import RecurrentProduct, recurrence_model, same_step_order, slot_name

_INDENT = "    "


def _axis(model, var: str) -> int:
    """The time axis of a sequence's tensor, counted from the end (before its event axes)."""
    return -(len(model.sequences[var].step.shape) + 1)


class _Loop:
    """Emits one loop over time: the states before it, the step's body inside it."""

    def __init__(self, emitter: Emitter, env: Env, length: int, states, span):
        self.emitter, self.env, self.length, self.span = emitter, env, length, span
        self.model, self.fb = emitter.model, emitter.fb
        self.steps = Emitter(recurrence_model(self.model), self.fb, emitter.extras)
        for p in self.model.params:  # bound before the loop: the emitter inserts param bindings at the top
            self.steps.param(p)
        self.previous = {}
        for s in states:
            shape = emitter.sample_shape(env, self.model.sequences[s].step.shape)
            self.previous[s] = self.fb.assign(
                f"{s}_prev", f"torch.zeros({shape}, dtype={env.ref}.dtype, device={env.ref}.device)", span,
                f"{s}[-1] = 0")
        self.t = self.fb.ns.fresh("t")  # a fresh name: 't' may be a user's variable
        self._before, self._memo = len(self.fb.lines), set(self.fb.memo)

    def bind_steps(self, sequences) -> dict[str, str]:
        """Names of step t of each given whole sequence, and h[t-1] of each state."""
        names = {slot_name(s, 1): prev for s, prev in self.previous.items()}
        for s in sequences:
            names[s] = self.fb.assign(f"{s}_t", f"{self.env.name(s)}.select({_axis(self.model, s)}, {self.t})",
                                      self.span, f"step t of {s}")
        return names

    def step_env(self, names) -> Env:
        carried = set(names) if self.env.particles is not None else set()
        return replace(self.env, names=names, particle_vars=frozenset(carried))

    def state(self, var: str, names: dict[str, str]) -> str:
        rec = self.model.recurrences[var]
        code, _ = self.steps.value(rec.expr, self.step_env(names))
        return self.fb.assign(f"{var}_t", code, rec.span, f"{var}[t]")

    def close(self, now: dict[str, str]) -> None:
        """Carry each state to the next step, and wrap the body in the loop."""
        for s, prev in self.previous.items():
            self.fb.emit(f"{prev} = {now[s]}")
        body = self.fb.lines[self._before:]
        del self.fb.lines[self._before:]
        for key in set(self.fb.memo) - self._memo:  # values of the loop body are not reused after it
            del self.fb.memo[key]
        self.fb.emit(f"for {self.t} in rt.time_steps(0, {self.length}):", self.span)
        self.fb.lines += [_INDENT + line for line in body]


def _accumulator(emitter: Emitter, env: Env, base: str, span, comment: str) -> str:
    return emitter.fb.assign(base, f"torch.zeros({emitter.sample_shape(env)}, dtype={env.ref}.dtype, "
                                   f"device={env.ref}.device)", span, comment)


def log_product(emitter: Emitter, sig: str, env: Env) -> str:
    """Code of log ``sig`` at the bound sequences ([*particles, batch], nats): the sum over t
    of its step factors' log-densities, the states computed from the bound steps."""
    product: RecurrentProduct = emitter.model.step_products[sig]
    total = _accumulator(emitter, env, f"log_{sig.split('(')[0]}_sum", product.span, "sum over the steps")
    loop = _Loop(emitter, env, product.length, product.states, product.span)
    names = loop.bind_steps(product.outputs + product.given)
    for kind, key in product.plan:
        if kind == "state":
            names[key] = loop.state(key, names)
        else:
            log = loop.steps.log_prob(key, loop.step_env(names))
            loop.fb.emit(f"{total} = {total} + {log}")
    loop.close(names)
    return total


def sample_product(emitter: Emitter, sig: str, env: Env) -> Env:
    """Emit ancestral draws of ``sig``'s sequences, step by step; returns env with them bound
    (each [batch, T, ...])."""
    model, fb = emitter.model, emitter.fb
    product: RecurrentProduct = model.step_products[sig]
    lists = {v: fb.assign(f"{v}_steps", "[]", product.span, f"the steps of {v}, in order") for v in product.outputs}
    loop = _Loop(emitter, env, product.length, product.states, product.span)
    names = loop.bind_steps(product.given)
    for kind, key in product.plan:
        if kind == "state":
            names[key] = loop.state(key, names)
        else:
            var, name = loop.steps.sample_leaf(loop.steps.model.factors[key], loop.step_env(names))
            names[var] = name
            fb.emit(f"{lists[var]}.append({name})")
    loop.close(names)
    bound = []
    for v in product.outputs:
        name = fb.assign(v, f"torch.stack({lists[v]}, dim={_axis(model, v)})", product.span,
                         f"[batch, {product.length}, ...]")
        bound.append((v, name, env.particles is not None))
    return env.bind_all(bound)


def _bound(emitter: Emitter, e, env: Env, kl: bool) -> str:
    """One loop computing, per example (and particle), the sum over t of
    log p(x_t, z_t | h_{t-1}) - log q(z_t | x_t, h_{t-1}) at z_t ~ q, the pair of terms of a
    latent replaced by -KL[q || p] in closed form when ``kl`` and one is derived."""
    model = emitter.model
    joint: RecurrentProduct = model.step_products[e.joint]
    posterior: RecurrentProduct = model.step_products[e.posterior]
    latents = set(posterior.outputs)
    posterior_of = {model.steps[s].factor.outputs[0]: s for s in posterior.order}
    states = tuple(dict.fromkeys(posterior.states + joint.states))
    # q's factors draw the latents, p's score every sequence, the states follow what they read
    nodes = ([("factor", s) for s in posterior.order] + [("state", v) for v in states]
             + [("score", s) for s in joint.order])
    order = _merged_order(model, nodes, posterior.given)
    total = _accumulator(emitter, env, "bound", e.span, "sum over the steps")
    loop = _Loop(emitter, env, joint.length, states, e.span)
    names = loop.bind_steps(posterior.given)
    for kind, key in order:
        here = loop.step_env(names)
        if kind == "state":
            names[key] = loop.state(key, names)
        elif kind == "factor":
            var, names[var] = loop.steps.sample_leaf(loop.steps.model.factors[key], here)
        else:
            var = model.steps[key].factor.outputs[0]
            if var not in latents:
                term = "+ " + loop.steps.log_prob(key, here)
            elif kl and loop.steps.closed_form("kl", (posterior_of[var], key), here) is not None:
                term = "- " + loop.steps.kl(ir.KL(posterior_of[var], key, span=e.span), here)
            else:
                term = f"+ ({loop.steps.log_ratio(key, posterior_of[var], here)})"
            loop.fb.emit(f"{total} = {total} {term}")
    loop.close(names)
    return total


def _merged_order(model, nodes, given):
    """The order of a step's parts for a bound: a score once its variable and what it reads
    are defined (:func:`gmc.compiler.recurrence.same_step_order` for the rest)."""
    plain = [n for n in nodes if n[0] != "score"]
    order = same_step_order(model, plain, given)
    assert order is not None, "checked: the posterior's step is acyclic"
    out, done = [], set(given)
    pending = [n for n in nodes if n[0] == "score"]
    for node in order:
        out.append(node)
        kind, key = node
        done.add(key if kind == "state" else model.steps[key].factor.outputs[0])
        for score in list(pending):
            step = model.steps[score[1]]
            needs = {seq for slot, seq, lag in step.slots if lag == 0}
            if needs <= done:
                out.append(score)
                pending.remove(score)
    assert not pending, "checked: the model's step reads only what the posterior's defines"
    return out


def functional(emitter: Emitter, e, env: Env) -> str:
    """Name of ``elbo(p, q)`` ([batch], nats) or ``iwae(p, q, k=K)`` ([batch], nats) of a
    recurrent model and its posterior, computed by one loop over time."""
    fb = emitter.fb
    if isinstance(e, ir.Elbo):
        return _bound(emitter, e, env, kl=True)
    particles = replace(env, particles=e.k, particle_vars=frozenset())
    weights = _bound(emitter, e, particles, kl=False)
    return fb.assign("iwae", f"torch.logsumexp({weights}, dim=0) - math.log({e.k})", e.span,
                     f"[batch]; {weights}: [{e.k}, batch] log importance weights; Burda et al. 2016, eq. 8")
