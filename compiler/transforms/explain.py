"""``gmc explain`` lines for flow factors: how each is sampled and scored, and why its KL and
entropy terms stay Monte Carlo, and which part of an ELBO does not."""
from __future__ import annotations

from gmc.compiler import ir
from gmc.compiler.transforms.registry import TRANSFORMS


def flow_lines(model: ir.Model, flows: list[ir.Factor], simplified: ir.Model) -> list[str]:
    """Lines for each flow factor of ``model``; ``simplified`` (its losses rewritten) tells which
    flows' ELBOs keep their base's KL in closed form (``ir.FlowBaseKL``)."""
    base_kl: dict[str, list[str]] = {}
    for loss in simplified.losses.values():
        for node in ir.walk(loss.expr):
            if isinstance(node, ir.FlowBaseKL) and node.second not in base_kl.get(node.first, []):
                base_kl.setdefault(node.first, []).append(node.second)
    out = [f"Flows ({len(flows)}):"]
    for f in flows:
        where = f"{model.filename}:{f.span.line}"
        kinds = list(dict.fromkeys(t.kind for t in f.flow))
        out.append(f"  {where}  {f.signature}: {f.family} base through {len(f.flow)} transforms; sampled in one pass, "
                   "its log-density accumulated while sampling (log q0(z0) - sum of log-determinants)")
        blocked = next((t.kind for t in f.flow if not TRANSFORMS[t.kind].cheap_inverse), None)
        out.append(f"      given values: " + (f"not scored ({blocked} has no cheap inverse)" if blocked
                                               else "scored through the inverse in one pass"))
        priors = base_kl.get(f.signature)
        if priors:
            out.append(f"      in an elbo: KL[base of {f.signature} || {', '.join(priors)}] in closed form, the rest "
                       "(log p(z_K) - log p(z_0) + log-determinants) Monte Carlo (elbo-decomposition); its other KL "
                       "and entropy terms: Monte Carlo")
        else:
            out.append("      KL, entropy and ELBO terms over it: Monte Carlo (a flow's density has no closed-form "
                       "expectation)")
        for kind in kinds:
            out.append(f"      {kind}: {TRANSFORMS[kind].reference}")
    return out
