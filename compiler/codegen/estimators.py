"""Emission of Monte Carlo gradient estimators, multi-sample bounds and MMD.

The emitter (:mod:`gmc.compiler.codegen.emitter`) hands every term that samples a factor
to this module; :func:`gmc.compiler.estimation.resolve` says which estimator it gets.

- Reparameterized terms are plain code: the gradient flows through the sample.
- Score-function terms (Williams 1992) are emitted as a surrogate whose VALUE is the
  estimate f and whose GRADIENT is the score-function estimator::

      f + (f - b).detach() * (log q - log q.detach())

  summed over the non-reparameterized leaves of q, per example. ``b`` is a baseline
  (Mnih & Gregor 2014, section 3.1): a moving average of f (a buffer of the generated
  module, updated only while training with gradients on) or a learned input-dependent
  net, trained by a zero-valued term added to the loss (so the loss's value is unchanged
  and its gradient also fits b to f by least squares).
- Multi-sample bounds (``iwae``, ``renyi``) draw K particles in one batched pass; for
  discrete latents their score-function term uses VIMCO's leave-one-out baselines
  (Mnih & Rezende 2016, eqs. 8-10), generalized to the Renyi bound.
- ``mmd`` calls :func:`gmc.runtime.estimators.mmd` on the flattened samples.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

from gmc.compiler import ir
from gmc.compiler.codegen import text
from gmc.compiler.codegen.emitter import _is_name, _literal, _short
from gmc.compiler.estimation import resolve, score_leaves
from gmc.compiler.families import FAMILIES
from gmc.compiler.types import infer

#: Decay-complement of the moving-average baseline: b <- b + RATE * (mean f - b).
AVERAGE_RATE = 0.1
#: Hidden width of the learned baseline net (Mnih & Gregor 2014 used one hidden layer).
BASELINE_HIDDEN = 64
_ATOM = 100
_AUX = ("estimators", "aux")


class Extras:
    """What estimators add to the generated class: baseline buffers, nets and weights.

    ``lines`` are statements of ``__init__`` (without indentation), in the order the
    estimators asked for them; attribute names avoid the model's own names."""

    def __init__(self, model: ir.Model):
        self.taken = set(model.nets) | set(model.params) | set(model.weights) | {"training"}
        self.lines: list[str] = []

    def attribute(self, base: str, init: str, buffer: bool = False) -> str:
        name, i = base, 0
        while name in self.taken:
            i += 1
            name = f"{base}_{i}"
        self.taken.add(name)
        self.lines.append(f"self.register_buffer({name!r}, {init})" if buffer else f"self.{name} = {init}")
        return name


def finish(fb, code: str) -> str:
    """The loss's return expression plus the zero-valued terms that train learned baselines."""
    aux = fb.memo.get(_AUX, [])
    return code + "".join(f" + ({a} - {a}.detach())" for a in aux)


# ---- single-sample terms -----------------------------------------------------------------

def expect(em, e: ir.Expect, env) -> tuple[str, int]:
    """``E_q[body]``: code and precedence (reparameterized bodies keep their own precedence)."""
    rank = len(infer(em.model, e.body).shape)
    return monte_carlo(em, e.factor, env, lambda inner: em.value(e.body, inner), e.estimator, e.span,
                       f"expect_{_short(e.factor)}", rank)


def monte_carlo(em, sig: str, env, body: Callable, how: ir.Estimation, span, base: str, rank: int = 0,
                comment: str | None = None) -> tuple[str, int]:
    """One-sample estimate of E_sig[body] with the gradient estimator ``how`` resolves to.

    ``body(env)`` returns (code, precedence) of the integrand with sig's variables bound.
    With ``comment`` the reparameterized value is assigned to a name ``base``."""
    method, baseline = resolve(em.model, sig, how)
    inner = em.sample(sig, env)
    if method == "reparam":
        code, prec = body(inner)
        if comment is None:
            return code, prec
        return em.fb.assign(base, code, span, comment), _ATOM
    leaves = score_leaves(em.model, sig, how.method)
    inner = _stop_gradients(em, leaves, inner, span)
    code, _ = body(inner)
    f = code if _is_name(code) else em.fb.assign(base, code, span, comment or "Monte Carlo, one sample")
    log_q = _log_q(em, leaves, inner, span)
    # log q and b are per example; an integrand with event dimensions needs them broadcast
    expand = "" if rank == 0 else "[..., " + ", ".join(["None"] * rank) + "]"
    b = _baseline(em, baseline, sig, f, inner, span, base, expand)
    centered = f"{f}.detach()" if b is None else f"({f} - {b}{expand}).detach()"
    surrogate = em.fb.assign(f"{base}_sf", f"{f} + {centered} * ({log_q} - {log_q}.detach()){expand}", span,
                             "score function (Williams 1992): value f, gradient E[grad f + (f - b) grad log q]")
    _update_average(em, baseline, b, f, span)
    return surrogate, _ATOM


def _stop_gradients(em, leaves: list[ir.Factor], env, span):
    """Rebind forced score-function variables of reparameterized families to detached copies."""
    for leaf in leaves:
        if FAMILIES[leaf.family].reparameterized:
            var = leaf.outputs[0]
            name = em.fb.assign(f"{var}_sg", f"{env.name(var)}.detach()", span, "no gradient through the sample")
            env = env.bind(var, name, var in env.particle_vars)
    return env


def _log_q(em, leaves: list[ir.Factor], env, span) -> str:
    parts = [em.log_prob(leaf.signature, env) for leaf in leaves]
    if len(parts) == 1:
        return parts[0]
    return em.fb.assign("log_q_score", " + ".join(parts), span, "log-density of the score-function leaves")


def _baseline(em, kind: str, sig: str, f: str, env, span, base: str, expand: str = "") -> str | None:
    if kind == "none":
        return None
    if kind == "average":
        attr = em.extras.attribute(_attribute_base(em, base), "torch.zeros(())", buffer=True)
        return f"self.{attr}"
    # learned: a net of q's conditioning variables, or a scalar weight when q has none
    factor = em.model.factors[sig]
    given = [v for v in em.model.vars if v in {g for leaf in ir.leaves(em.model, sig) for g in leaf.given}
             and v not in factor.outputs]
    if given:
        shapes = tuple(em.model.vars[v].type.shape for v in given)
        attr = em.extras.attribute(_attribute_base(em, base),
                                   f"rt.MLP({shapes!r}, ({BASELINE_HIDDEN},), ((None, (), 'real'),))")
        b = em.fb.assign(f"baseline_{base}", f"self.{attr}({', '.join(env.name(v) for v in given)})", span,
                         "learned baseline (Mnih & Gregor 2014)")
    else:
        attr = em.extras.attribute(_attribute_base(em, base), "torch.nn.Parameter(torch.zeros(()))")
        b = f"self.{attr}"
    fit = em.fb.assign(f"baseline_fit_{base}", f"(({f}.detach() - {b}{expand}) ** 2).mean()", span,
                       "least squares fit of the baseline, added to the loss with value 0")
    em.fb.memo.setdefault(_AUX, []).append(fit)
    return b


def _attribute_base(em, base: str) -> str:
    """``baseline_<loss>_<term>``: the loss method's name tells the attributes apart."""
    return f"baseline_{em.fb.name.removeprefix('loss_')}_{base}"


def _update_average(em, kind: str, b: str | None, f: str, span) -> None:
    if kind != "average":
        return
    # after its use, so b does not depend on this draw (the estimator stays unbiased)
    em.fb.emit("if self.training and torch.is_grad_enabled():  # moving-average baseline, training only", span)
    em.fb.emit(f"    {b}.lerp_({f}.detach().mean(), {AVERAGE_RATE})", span)


# ---- multi-sample bounds -----------------------------------------------------------------

def emit(em, e: ir.Expr, env) -> str | None:
    """Code for the constructs this module owns; None for the emitter's own."""
    if isinstance(e, ir.Iwae):
        method, _ = resolve(em.model, e.posterior, e.estimator, e.k)
        return None if method == "reparam" else bound(em, e, env, 0.0)
    if isinstance(e, ir.Renyi):
        return bound(em, e, env, e.alpha)
    if isinstance(e, ir.Mmd):
        return mmd(em, e, env)
    return None


def renyi_code(log_w: str, alpha: float, k: int) -> str:
    """(1/(1-a)) log (1/K) sum_k w_k^(1-a) over dim 0 of ``log_w`` (Li & Turner 2016, eq. 9)."""
    if alpha == 1.0:
        return f"{log_w}.mean(0)"
    if alpha == 0.0:
        return f"torch.logsumexp({log_w}, dim=0) - math.log({k})"
    s = _literal(1.0 - alpha)
    return f"(torch.logsumexp({s} * {log_w}, dim=0) - math.log({k})) / {s}"


def bound(em, e, env, alpha: float) -> str:
    """IWAE or Renyi bound over K particles, with its gradient estimator."""
    method, baseline = resolve(em.model, e.posterior, e.estimator, e.k)
    particles = replace(env, particles=e.k)
    inner = em.sample(e.posterior, particles)
    leaves = score_leaves(em.model, e.posterior, e.estimator.method)
    inner = _stop_gradients(em, leaves, inner, e.span)
    log_w = em.fb.assign("log_w", em.log_ratio(e.joint, e.posterior, inner), e.span,
                         f"[{e.k}, batch] log importance weights")
    name = "iwae" if isinstance(e, ir.Iwae) else "renyi"
    reference = "Burda et al. 2016, eq. 8" if alpha == 0.0 else "Li & Turner 2016, eq. 9"
    value = em.fb.assign(name, renyi_code(log_w, alpha, e.k), e.span, reference)
    if method == "reparam":
        return value
    log_q = _log_q(em, leaves, inner, e.span)
    if method == "vimco":
        signal = em.fb.assign(f"signal_{name}", f"({value} - rt.leave_one_out({log_w}.detach(), {_literal(alpha)}))"
                              ".detach()", e.span, "[K, batch] VIMCO (Mnih & Rezende 2016, eq. 10)")
    else:
        b = _baseline(em, baseline, e.posterior, value, env, e.span, name)
        signal = em.fb.assign(f"signal_{name}", f"{value}.detach()" if b is None else f"({value} - {b}).detach()",
                              e.span, "learning signal, the same for every particle")
    surrogate = em.fb.assign(f"{name}_sf", f"{value} + ({signal} * ({log_q} - {log_q}.detach())).sum(0)", e.span,
                             "value: the bound; gradient: pathwise + score function")
    if method == "reinforce":
        _update_average(em, baseline, b, value, e.span)
    return surrogate


# ---- MMD ---------------------------------------------------------------------------------

def mmd(em, e: ir.Mmd, env) -> str:
    """Squared MMD between the batch's samples of ``e.first`` and as many of ``e.second``."""
    variables = em.model.factors[e.first].outputs
    first = em.sample(e.first, env)
    second = em.sample(e.second, env)
    size = sum(em.model.vars[v].type.size for v in variables)
    scale = e.scale if e.scale is not None else 2.0 * size
    a = _flat(em, [first.name(v) for v in variables], variables, e.span, "mmd_q")
    b = _flat(em, [second.name(v) for v in variables], variables, e.span, "mmd_p")
    return em.fb.assign(f"mmd_{_short(e.first)}_{_short(e.second)}",
                        f"rt.mmd({a}, {b}, {text.literal(e.kernel)}, {_literal(scale)})", e.span,
                        "squared MMD, unbiased (Gretton et al. 2012, eq. 3)")


def _flat(em, names: list[str], variables, span, base: str) -> str:
    parts = []
    for name, var in zip(names, variables):
        rank = len(em.model.vars[var].type.shape)
        parts.append(f"{name}.unsqueeze(-1)" if rank == 0 else name if rank == 1 else f"{name}.flatten(-{rank})")
    if len(parts) == 1:
        return parts[0]
    return em.fb.assign(base, f"torch.cat([{', '.join(parts)}], dim=-1)", span)
