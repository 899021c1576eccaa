"""LaTeX of factorizations and losses, as the user wrote them.

Each line is one equation that renders in real LaTeX (amsmath, amssymb) and in matplotlib's
mathtext: no alignment characters and no ``\\operatorname``.
"""
from __future__ import annotations

from gmc.compiler import ir
from gmc.compiler.recursion import deep_stack

_FAMILY = {"Normal": r"\mathcal{N}", "Bernoulli": r"\mathrm{Bernoulli}"}
_PARAM = {"loc": r"\mu", "scale": r"\sigma", "probs": r"\pi", "logits": r"\mathrm{logits}"}
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "@": 2, "**": 3}


def model_latex(model: ir.Model) -> str:
    """Every factor definition, then every loss, one equation per line, in source order."""
    from gmc.compiler.sequences import step_latex

    lines = [step_latex(model, step) for step in model.steps.values()]  # time-indexed factors, first
    if model.recurrences:  # h[t] = cell(h[t-1], ...)
        from gmc.compiler.recurrence import recurrence_latex

        lines += [recurrence_latex(model, rec) for rec in model.recurrences.values()]
    lines += [f"{factor(sig)} {relation(f)} {definition(model, f)}" for sig, f in model.factors.items()]
    lines += [loss_latex(model, name) for name in model.losses]
    if model.data_distributions or model.games:
        from gmc.compiler.adversarial import data_latex, game_latex

        lines += [data_latex(d) for d in model.data_distributions.values()]
        lines += [game_latex(model, g) for g in model.games.values()]
    return "\n".join(lines)


@deep_stack
def loss_latex(model: ir.Model, name: str) -> str:
    symbol = r"\mathcal{L}" if name == "loss" else r"\mathcal{L}_{\mathrm{" + _escape(name) + "}}"
    return f"{symbol} = {expr(model, model.losses[name].expr)}"


def factor(sig: str) -> str:
    name, rest = sig.split("(", 1)
    rest = rest.rstrip(")")
    outputs, _, given = rest.partition("|")
    body = ", ".join(_var(v) for v in outputs.split(","))
    if given:
        body += r" \mid " + ", ".join(_var(v) for v in given.split(","))
    return f"{_escape(name)}({body})"


def relation(f: ir.Factor) -> str:
    """``=``, or ``\\propto`` for a product of experts (normalized implicitly)."""
    return r"\propto" if f.experts else "="


def definition(model: ir.Model, f: ir.Factor) -> str:
    if f.signature in model.chains:
        from gmc.compiler.sequences import chain_latex

        return chain_latex(model, model.chains[f.signature])
    if f.signature in model.step_products:
        from gmc.compiler.sequences import product_latex

        return product_latex(model, model.step_products[f.signature])
    if f.experts:
        return r"\,".join(factor(e) for e in f.experts)
    if f.is_product:
        product = r"\,".join(factor(c) for c in f.components)
        if f.marginal_kind == "int":
            return r"\int " + product + r"\," + r"\,".join(rf"\mathrm{{d}}{_var(v)}" for v in f.marginalized)
        if f.marginalized:
            return r"\sum_{" + ", ".join(_var(v) for v in f.marginalized) + "} " + product
        return product
    family = _FAMILY.get(f.family, r"\mathrm{" + f.family + "}")
    args = ", ".join(f"{_param(p)} = {expr(model, e)}" for p, e in f.params)
    base = rf"{family}\left({_var(f.outputs[0])} ;\, {args}\right)"
    if f.flow:
        from gmc.compiler.transforms.latex import flow_latex

        return flow_latex(base, f.flow)
    return base


def _param(name: str) -> str:
    """A parameter's symbol; a name without one is upright text (``\\mathrm{rate}``)."""
    return _PARAM.get(name, r"\mathrm{" + _escape(name) + "}")


def expr(model: ir.Model, e: ir.Expr, parent: int = 0) -> str:
    """LaTeX of an IR expression; ``parent`` is the precedence of the enclosing operator."""
    if isinstance(e, ir.Num):
        return _number(e.value)
    if isinstance(e, (ir.ConstRef, ir.ParamRef, ir.WeightRef, ir.VarRef)):
        return _var(e.name)
    if isinstance(e, ir.NetCall):
        args = ", ".join(expr(model, a) for a in e.args)
        out = "" if e.output is None else r"_{\mathrm{" + _escape(e.output) + "}}"
        call = r"\mathrm{" + _escape(e.net) + "}" + out + f"({args})"
        # the logits whose sigmoid (softmax) is the net's output
        return r"\operatorname{logit} " + call if e.pre_activation else call
    if isinstance(e, ir.Neg):
        return _group(f"-{expr(model, e.operand, 3)}", 1, parent)
    if isinstance(e, ir.BinOp):
        # Each operand is printed once: printing it twice per level made a chain a / a / ... / a
        # of N terms cost 2^N.
        if e.op == "/":
            return rf"\frac{{{expr(model, e.left)}}}{{{expr(model, e.right)}}}"
        if e.op == "**":
            return f"{{{expr(model, e.left, 4)}}}^{{{expr(model, e.right)}}}"
        prec = _PRECEDENCE[e.op]
        left, right = expr(model, e.left, prec), expr(model, e.right, prec + 1)
        op = {"*": r" \cdot " if _needs_dot(e) else r"\,", "@": " ", "+": " + ", "-": " - "}[e.op]
        return _group(f"{left}{op}{right}", prec, parent)
    if isinstance(e, ir.Apply) and e.func == "dot":  # per example, over the last event axis
        return rf"\langle {expr(model, e.args[0])}, {expr(model, e.args[1])} \rangle"
    if isinstance(e, ir.Apply) and e.func in ir.ELEMENTWISE_N:
        args = ", ".join(expr(model, a) for a in e.args)
        name = {"min": r"\min", "max": r"\max"}.get(e.func, r"\mathrm{" + e.func + "}")
        return rf"{name}\left({args}\right)"
    if isinstance(e, ir.Apply):
        arg = expr(model, e.args[0])
        if e.func == "log1p":
            return rf"\log\left(1 + {arg}\right)"
        if e.func == "logsumexp":
            return rf"\log\sum\exp\left({arg}\right)"
        if e.func == "xlogy":
            return rf"{expr(model, e.args[0], 2)} \log\left({expr(model, e.args[1])}\right)"
        if e.func == "detach":  # stop-gradient, as in van den Oord et al. 2017
            return rf"\mathrm{{sg}}\left[{arg}\right]"
        if e.func == "exp":
            return rf"\exp\left({arg}\right)"
        if e.func == "log":
            return rf"\log\left({arg}\right)"
        if e.func == "sqrt":
            return rf"\sqrt{{{arg}}}"
        if e.func == "abs":
            return rf"\left|{arg}\right|"
        return r"\mathrm{" + _escape(e.func) + r"}\left(" + arg + r"\right)"
    if isinstance(e, ir.LogProb):
        return rf"\log {factor(e.factor)}"
    if isinstance(e, ir.Expect):
        return rf"\mathbb{{E}}_{{{factor(e.factor)}}}\left[{expr(model, e.body)}\right]"
    if isinstance(e, ir.KL):
        return rf"D_{{\mathrm{{KL}}}}\left[{factor(e.first)} \,\|\, {factor(e.second)}\right]"
    if isinstance(e, ir.FlowBaseKL):  # the flow's base q_0 (rewrites/elbo.py)
        base = factor(e.first).replace("(", "_{0}(", 1)
        return rf"D_{{\mathrm{{KL}}}}\left[{base} \,\|\, {factor(e.second)}\right]"
    if isinstance(e, ir.FlowResidual):
        return (rf"\left(\log {_at(e.second, 'K')} - \log {_at(e.second, '0')} + "
                r"\sum_{k} \log\left|\det J_{k}\right|\right)")
    if isinstance(e, ir.CrossEntropy):
        return rf"\mathrm{{H}}\left[{factor(e.first)}, {factor(e.second)}\right]"
    if isinstance(e, ir.Entropy):
        return rf"\mathrm{{H}}\left[{factor(e.factor)}\right]"
    if isinstance(e, ir.Elbo):
        return rf"\mathrm{{ELBO}}\left({factor(e.joint)}, {factor(e.posterior)}\right)"
    if isinstance(e, ir.Iwae):
        return rf"\mathrm{{IWAE}}_{{{e.k}}}\left({factor(e.joint)}, {factor(e.posterior)}\right)"
    if isinstance(e, ir.Renyi):
        return (rf"\mathrm{{Renyi}}_{{\alpha = {_number(e.alpha)},\, K = {e.k}}}"
                rf"\left({factor(e.joint)}, {factor(e.posterior)}\right)")
    if isinstance(e, ir.Mmd):
        return rf"\mathrm{{MMD}}^{{2}}\left[{factor(e.first)} \,\|\, {factor(e.second)}\right]"
    raise AssertionError(f"unhandled IR node {type(e).__name__}")


def _at(sig: str, sub: str) -> str:
    """``factor(sig)`` with its variables subscripted (p(z_K)): a density at a flow's draw z_K or base draw z_0."""
    name, rest = sig.split("(", 1)
    outputs, _, given = rest.rstrip(")").partition("|")
    body = ", ".join(f"{{{_var(v)}}}_{{{sub}}}" for v in outputs.split(","))
    if given:
        body += r" \mid " + ", ".join(_var(v) for v in given.split(","))
    return f"{_escape(name)}({body})"


def _needs_dot(e: ir.BinOp) -> bool:
    return isinstance(e.right, (ir.Num, ir.ConstRef)) or isinstance(e.left, ir.Num) and isinstance(e.right, ir.Num)


def _group(text: str, prec: int, parent: int) -> str:
    return rf"\left({text}\right)" if prec < parent else text


def _number(value: float) -> str:
    """Whole numbers up to 2**53 as integers; larger ones as floats (1e+30, not 31 digits)."""
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) <= 2 ** 53 else repr(value)


def _escape(name: str) -> str:
    return name.replace("_", r"\_")


def _var(name: str) -> str:
    """Single letters stay italic; longer names are upright (``beta`` becomes \\beta)."""
    greek = {"alpha", "beta", "gamma", "delta", "epsilon", "lambda", "mu", "sigma", "tau", "theta", "phi", "psi",
             "omega", "eta", "kappa", "rho", "nu", "xi", "pi", "chi", "zeta"}
    if name in greek:
        return "\\" + name
    if len(name) == 1:
        return name
    head, _, tail = name.partition("_")
    if tail and len(head) == 1:
        return f"{head}_{{{_escape(tail)}}}"
    return r"\mathrm{" + _escape(name) + "}"
