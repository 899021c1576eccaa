"""Numerically stable forms of element-wise expressions users write.

Each rule matches one node; the identities are exact in real arithmetic and avoid overflow,
underflow or cancellation in floating point (Higham 2002, ch. 1; Machler 2012, "Accurately
computing log(1 - exp(-|a|))").
"""
from __future__ import annotations

from gmc.compiler import ir
from gmc.compiler.rewrites.base import Rule


def _is_apply(e: ir.Expr, func: str) -> bool:
    return isinstance(e, ir.Apply) and e.func == func


def _is_one(e: ir.Expr) -> bool:
    return isinstance(e, (ir.Num, ir.ConstRef)) and e.value == 1


def _log_sigmoid(model, e):
    # log(sigmoid(h)) = -softplus(-h)
    if _is_apply(e, "log") and _is_apply(e.args[0], "sigmoid"):
        h = e.args[0].args[0]
        return ir.Neg(ir.Apply("softplus", (ir.Neg(h, span=h.span),), span=e.span), span=e.span)
    return None


def _log1p(model, e):
    # log(1 + u) = log1p(u), accurate when |u| is small
    if _is_apply(e, "log") and isinstance(e.args[0], ir.BinOp) and e.args[0].op == "+":
        left, right = e.args[0].left, e.args[0].right
        if _is_one(left) or _is_one(right):
            return ir.Apply("log1p", (right if _is_one(left) else left,), span=e.span)
    return None


def _logsumexp(model, e):
    # log(sum(exp(u))) = logsumexp(u) = m + log(sum(exp(u - m))), m = max(u)
    if _is_apply(e, "log") and _is_apply(e.args[0], "sum") and _is_apply(e.args[0].args[0], "exp"):
        return ir.Apply("logsumexp", (e.args[0].args[0].args[0],), span=e.span)
    return None


def _xlogx(model, e):
    # x * log(x) = xlogy(x, x), with 0 log 0 = 0
    if isinstance(e, ir.BinOp) and e.op == "*":
        for a, b in ((e.left, e.right), (e.right, e.left)):
            if _is_apply(b, "log") and b.args[0] == a:
                return ir.Apply("xlogy", (a, a), span=e.span)
    return None


LOG_SIGMOID = Rule("log-sigmoid", "log(sigmoid(h)) = -softplus(-h)", "exact identity; avoids log(0) for h < -745",
                   _log_sigmoid)
LOG1P = Rule("log1p", "log(1 + u) = log1p(u)", "C99 log1p; exact for small |u|", _log1p)
LOGSUMEXP = Rule("logsumexp", "log(sum(exp(u))) = logsumexp(u)", "max-shifted log-sum-exp (Blanchard et al. 2021)",
                 _logsumexp)
XLOGX = Rule("xlogx", "x log x = xlogy(x, x)", "0 log 0 = 0 convention (torch.xlogy)", _xlogx)
