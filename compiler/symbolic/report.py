"""What the symbolic engine did to a model, for people: ``gmc latex --derived`` and ``gmc explain``.

:func:`divergence_terms` lists every KL, entropy and cross-entropy of the simplified losses with
its derivation (or None: Monte Carlo); :func:`derived_latex` prints each simplified loss
followed by one equation per closed-form term, expanded as a sum over event dimensions.
Parameters are named by the LaTeX of the expressions that define them, indexed by ``i``.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from sympy.printing.latex import LatexPrinter

from gmc.compiler import ir
from gmc.compiler import latex as ir_latex
from gmc.compiler.symbolic import derive
from gmc.compiler.symbolic.functions import number
from gmc.compiler.types import constant_value

_KINDS = {ir.KL: "kl", ir.Entropy: "entropy", ir.CrossEntropy: "cross_entropy"}


@dataclass(frozen=True)
class Term:
    """One KL, entropy or cross-entropy node of a simplified loss."""

    loss: str
    node: ir.Expr
    kind: str
    signatures: tuple[str, ...]
    derivation: derive.Derivation | None
    names: dict  # sympy symbol -> LaTeX of the parameter it stands for

    @property
    def closed(self) -> bool:
        return self.derivation is not None


def _signatures(node: ir.Expr) -> tuple[str, ...]:
    return (node.factor,) if isinstance(node, ir.Entropy) else (node.first, node.second)


def _params(model: ir.Model, factor: ir.Factor, role: str, names: dict) -> dict[str, sp.Expr]:
    indexed = bool(model.vars[factor.outputs[0]].type.shape)
    out = {}
    for pname, e in factor.params:
        value = constant_value(e)
        if value is not None:
            out[pname] = number(value)
            continue
        symbol = sp.Symbol(f"{role}_{pname}")
        text = ir_latex.expr(model, e, 4)
        names[symbol] = f"{{{text}}}_{{i}}" if indexed and _depends_on_tensor(e) else text
        out[pname] = symbol
    return out


def _depends_on_tensor(e: ir.Expr) -> bool:
    return any(isinstance(n, (ir.VarRef, ir.NetCall, ir.WeightRef)) for n in ir.walk(e))


def derive_term(model: ir.Model, node: ir.Expr) -> "derive.Derivation | None":
    """The closed form code generation inlines for a KL, H or CE node, or None (Monte Carlo)."""
    factors = [model.factors[s] for s in _signatures(node)]
    if any(f.is_product or f.flow for f in factors):
        return None
    args = [a for f, role in zip(factors, ("q", "p")) for a in (f.family, _params(model, f, role, {}))]
    return getattr(derive, _KINDS[type(node)])(*args)


def divergence_terms(model: ir.Model) -> list[Term]:
    """Every KL / H / CE node of ``model``'s losses (simplify first), in source order."""
    terms = []
    for loss_name, loss in model.losses.items():
        seen = set()
        for node in ir.walk(loss.expr):
            kind = _KINDS.get(type(node))
            if kind is None or node in seen:
                continue
            seen.add(node)
            signatures = _signatures(node)
            factors = [model.factors[s] for s in signatures]
            names: dict = {}
            derivation = None
            if not any(f.is_product or f.flow for f in factors):
                args = [a for f, role in zip(factors, ("q", "p")) for a in (f.family, _params(model, f, role, names))]
                derivation = getattr(derive, kind)(*args)
            terms.append(Term(loss_name, node, kind, signatures, derivation, names))
    return terms


class _Printer(LatexPrinter):
    """sympy's LaTeX with names mathtext also renders (no \\operatorname)."""

    def _print_loggamma(self, expr, exp=None):
        return r"\log\Gamma\left(%s\right)" % self._print(expr.args[0])

    def _print_polygamma(self, expr, exp=None):
        order, value = expr.args
        mark = "" if order == 0 else "^{(%s)}" % self._print(order)
        return r"\psi%s\left(%s\right)" % (mark, self._print(value))

    def _print_erf(self, expr, exp=None):
        return r"\mathrm{erf}\left(%s\right)" % self._print(expr.args[0])


def term_latex(model: ir.Model, term: Term) -> str:
    """``D_KL[...] = \\sum_{i=1}^{n} (closed form)`` for a closed-form term (nats)."""
    lhs = ir_latex.expr(model, term.node)
    body = _Printer({"symbol_names": term.names}).doprint(term.derivation.expr).replace(r"\operatorname{", r"\mathrm{")
    var = model.vars[model.factors[term.signatures[0]].outputs[0]]
    if not var.type.shape:
        return f"{lhs} = {body}"
    size = var.type.size // (var.type.shape[-1] if derive.FORMULAS[model.factors[term.signatures[0]].family].event_rank
                             else 1)
    return rf"{lhs} = \sum_{{i=1}}^{{{size}}} \left({body}\right)"


def derived_latex(model: ir.Model) -> str:
    """Each simplified loss, then each of its closed-form terms expanded, one equation per line."""
    lines = []
    terms = divergence_terms(model)
    for name in model.losses:
        lines.append(ir_latex.loss_latex(model, name))
        lines += [term_latex(model, t) for t in terms if t.loss == name and t.closed]
    return "\n".join(lines)
