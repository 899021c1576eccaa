"""``gmc explain`` lines for flow factors: how each is sampled and scored, and why its KL,
entropy and ELBO terms stay Monte Carlo."""
from __future__ import annotations

from gmc.compiler import ir
from gmc.compiler.transforms.registry import TRANSFORMS


def flow_lines(model: ir.Model, flows: list[ir.Factor]) -> list[str]:
    out = [f"Flows ({len(flows)}):"]
    for f in flows:
        where = f"{model.filename}:{f.span.line}"
        kinds = list(dict.fromkeys(t.kind for t in f.flow))
        out.append(f"  {where}  {f.signature}: {f.family} base through {len(f.flow)} transforms; sampled in one pass, "
                   "its log-density accumulated while sampling (log q0(z0) - sum of log-determinants)")
        blocked = next((t.kind for t in f.flow if not TRANSFORMS[t.kind].cheap_inverse), None)
        out.append(f"      given values: " + (f"not scored ({blocked} has no cheap inverse)" if blocked
                                               else "scored through the inverse in one pass"))
        out.append("      KL, entropy and ELBO terms over it: Monte Carlo (a flow's density has no closed-form "
                   "expectation)")
        for kind in kinds:
            out.append(f"      {kind}: {TRANSFORMS[kind].reference}")
    return out
