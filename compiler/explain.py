"""``gmc explain``: every rewrite that fired and every closed form derived, with its source.

Reads like a compiler's optimization remarks: one line per event, located at the ``.gm`` line
it concerns, in pipeline order (rewrites in the order they fired, then each divergence term).
"""
from __future__ import annotations

from gmc.compiler import ir


def explain(model: ir.Model) -> str:
    """A human-readable report of the simplification of a checked ``model``."""
    from gmc.compiler.simplify import simplify_with_trace
    from gmc.compiler.symbolic.report import divergence_terms

    simplified, trace = simplify_with_trace(model)
    where = model.filename
    lines = [f"Rewrites ({len(trace)}, in the order they fired):"]
    for fired in trace:
        lines.append(f"  {where}:{fired.span.line}  {fired.rule} in {fired.where}: {fired.identity}")
        lines.append(f"      source: {fired.reference}")
    if not trace:
        lines.append("  none")
    terms = divergence_terms(simplified)
    lines.append(f"Divergence terms ({len(terms)}):")
    for term in terms:
        what = _describe(term)
        if term.derivation is None:
            flows = [s for s in term.signatures if model.factors[s].flow]
            why = (f"{', '.join(flows)} is a flow: its density has no closed-form expectation" if flows
                   else "no closed form derivable")
            lines.append(f"  {where}:{term.node.span.line}  {what} in loss {term.loss}: Monte Carlo, one sample "
                         f"({why})")
            continue
        note = f" ({term.derivation.note})" if term.derivation.note else ""
        lines.append(f"  {where}:{term.node.span.line}  {what} in loss {term.loss}: closed form{note}")
        for reference in term.derivation.references:
            lines.append(f"      by: {reference}")
    if not terms:
        lines.append("  none")
    flows = [f for f in model.factors.values() if f.flow]
    if flows:
        from gmc.compiler.transforms.explain import flow_lines

        lines += flow_lines(model, flows, simplified)
    return "\n".join(lines)


def _describe(term) -> str:
    if term.kind == "entropy":
        return f"H[{term.signatures[0]}]"
    name = "KL" if term.kind == "kl" else "CE"
    return f"{name}[{term.signatures[0]} || {term.signatures[1]}]"
