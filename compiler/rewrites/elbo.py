"""ELBO decomposition into expected log-likelihood minus per-latent KL terms.

For q = prod_v q(v | pa_q(v)) over latents v, and p = prod_x p(x | ...) prod_v p(v | pa_p(v)),

    elbo(p, q) = E_q[sum_x log p(x | ...)] - sum_v E_q[KL[q(v | pa_q(v)) || p(v | pa_p(v))]]

(Kingma & Welling 2014, eq. 7 for one latent; Sonderby et al. 2016, eq. 13 for a hierarchy).
The v-term is a KL in closed form only when, once v's parents are fixed, neither of the two
distributions depends on v or on a latent drawn after v: **the prior's parameters must not
depend on a variable sampled inside the same expectation after v** (pa_p(v) may hold data
and latents q draws before v, never v's descendants in q). Where the rule fails, or no closed
form is derived, or the pair is mutually singular (a point mass against a density: KL is +inf
while log p - log q is finite), the term stays the Monte-Carlo log p(v | ...) - log q(v | ...).
A KL whose two factors depend on data only is written outside the expectation.

A flow posterior q(z_K|x) (base q0, transforms f_1..f_K, Rezende & Mohamed 2015, eq. 13) has no
closed-form KL, but its base may have one against the prior: with z_K = f_K(...f_1(z_0)),

    E_q[log p(z_K) - log q(z_K)] = -KL[q0 || p] + E_q0[log p(z_K) - log p(z_0) + sum_k log |det J_k|]

(add and subtract log p(z_0); log q(z_K) = log q0(z_0) - sum_k log |det J_k|). Both sides are
equal in expectation, and the right one is the left one's Monte-Carlo estimate plus the
zero-mean control variate log q0(z_0) - log p(z_0) - KL[q0 || p] (the per-draw gap), so its
variance vanishes as the flow approaches the identity, where it is the Gaussian VAE's
closed-form KL exactly. (The base entropy alone in closed form, H[q0], would change no
gradient: log q0 at its own reparameterized draw depends on the parameters only through
-log scale.) Applied when the base and p share their support and their KL is closed
(:func:`_closed_base_kl`).
"""
from __future__ import annotations

from dataclasses import replace

from gmc.compiler import ir
from gmc.compiler.rewrites.base import Rule


def _closed_kl(first: ir.Factor, second: ir.Factor) -> bool:
    """A closed form that keeps the ELBO's value. A point mass against a density (or discrete
    against continuous) has KL +inf, and so has q against a Uniform p whenever q's mass leaves
    [low, high), while the ELBO's own term log p - log q is finite under the families'
    log-density conventions (Deterministic's is 0, Uniform's -log(high - low) everywhere), so
    such a latent keeps its Monte Carlo term. Two point masses likewise: their KL is +inf
    unless the points coincide, while log p - log q is 0 by the convention."""
    from gmc.compiler.symbolic import FORMULAS
    from gmc.compiler.symbolic.derive import has_closed_kl, mutually_singular

    if first.flow or second.flow:  # a flow's KL has no closed form: keep log p - log q
        return False
    return (has_closed_kl(first.family, second.family) and not mutually_singular(first.family, second.family)
            and FORMULAS[second.family].bounds is None
            and "Deterministic" not in (first.family, second.family))


def _closed_base_kl(flow: ir.Factor, prior: ir.Factor) -> bool:
    """Whether the flow ELBO's control variate applies: ``flow`` is a flow whose base has a
    closed-form KL to ``prior`` (itself no flow), the two on the same support (so log p(z_0) is
    finite wherever the base puts mass) and KL finite by the rules of :func:`_closed_kl`."""
    from gmc.compiler.families import FAMILIES

    if not flow.flow or prior.flow or flow.is_product or prior.is_product:
        return False
    if FAMILIES[flow.family].support != FAMILIES[prior.family].support:
        return False
    return _closed_kl(replace(flow, flow=()), prior)


def _sum(terms: list[ir.Expr], span) -> ir.Expr:
    out = terms[0]
    for t in terms[1:]:
        if isinstance(t, ir.Neg):
            out = ir.BinOp("-", out, t.operand, span=span)
        else:
            out = ir.BinOp("+", out, t, span=span)
    return out


def decompose(model: ir.Model, e: ir.Expr) -> ir.Expr | None:
    if not isinstance(e, ir.Elbo):
        return None
    posterior = ir.ancestral_order(model, e.posterior)
    latents = [leaf.outputs[0] for leaf in posterior]
    prior_of = {out: leaf for leaf in ir.leaves(model, e.joint) for out in leaf.outputs}
    if any(v not in prior_of for v in latents):
        return None
    span = e.span
    inside: list[ir.Expr] = [ir.LogProb(leaf.signature, span=span)
                             for leaf in ir.leaves(model, e.joint) if leaf.outputs[0] not in latents]
    outside: list[ir.Expr] = []
    decomposed = False
    for position, q_leaf in enumerate(posterior):
        v = q_leaf.outputs[0]
        p_leaf = prior_of[v]
        later = set(latents[position:])  # v and everything q draws after it
        depends_on_latents = set(p_leaf.given + q_leaf.given) & set(latents)
        if not set(p_leaf.given) & later and _closed_kl(q_leaf, p_leaf):
            kl = ir.KL(q_leaf.signature, p_leaf.signature, span=span)
            (inside if depends_on_latents else outside).append(ir.Neg(kl, span=span))
            decomposed = True
        elif not set(p_leaf.given) & later and _closed_base_kl(q_leaf, p_leaf):
            # a flow: its base's KL to the prior in closed form, the rest Monte Carlo (module docstring)
            inside.append(ir.FlowResidual(q_leaf.signature, p_leaf.signature, span=span))
            kl = ir.FlowBaseKL(q_leaf.signature, p_leaf.signature, span=span)
            (inside if depends_on_latents else outside).append(ir.Neg(kl, span=span))
            decomposed = True
        else:
            inside.append(ir.LogProb(p_leaf.signature, span=span))
            inside.append(ir.Neg(ir.LogProb(q_leaf.signature, span=span), span=span))
    if not decomposed:
        return None
    parts: list[ir.Expr] = []
    if inside:
        parts.append(ir.Expect(e.posterior, _sum(inside, span), e.estimator, span=span))
    parts += outside
    if isinstance(parts[0], ir.Neg):
        first = parts[0]
        return _sum([first] + parts[1:], span) if len(parts) > 1 else first
    return _sum(parts, span)


DECOMPOSE_ELBO = Rule("elbo-decomposition", "elbo(p, q) = E_q[log p(x|z)] - KL[q(z|x) || p(z)], one KL per latent; "
                      "for a flow q: E_q[log p(x|z_K) + log p(z_K) - log p(z_0) + sum_k log|det J_k|] - KL[q0(z_0|x) || p(z)] "
                      "with q0 the flow's base, its KL in closed form",
                      "Kingma & Welling 2014, eq. 7; Sonderby et al. 2016, eq. 13; flows: Rezende & Mohamed 2015, eq. 13",
                      decompose)
