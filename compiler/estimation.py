"""Which gradient estimator each Monte Carlo term uses, and the checks on the user's choice.

A term that samples q (``E_q[...]``, a Monte Carlo KL, ``elbo``, ``iwae``, ``renyi``) needs
the gradient of an expectation with respect to q's parameters:

- ``reparam`` (SGVB; Kingma & Welling 2014, section 2.4): differentiate through the sample,
  possible only when every sampled family is reparameterized (``Family.reparameterized``).
- ``reinforce`` (score function; Williams 1992): f * grad log q, with a baseline b
  subtracted from f to lower the variance (Mnih & Gregor 2014, section 3.1).
- ``vimco`` (Mnih & Rezende 2016): for multi-sample bounds, a per-particle leave-one-out
  baseline.

``auto`` picks ``reparam`` when possible, otherwise ``vimco`` for a bound with k >= 2 and
``reinforce`` (with a moving-average baseline) else. This module imports neither torch nor
sympy, so ``gmc check`` stays fast.
"""
from __future__ import annotations

from gmc.compiler import diagnostics as diag
from gmc.compiler import ir
from gmc.compiler.families import FAMILIES

#: Accepted values of each option, per construct.
METHODS = ("auto", "reparam", "reinforce")
MULTI_SAMPLE_METHODS = ("auto", "reparam", "reinforce", "vimco")
BASELINES = ("auto", "none", "average", "learned")


def score_leaves(model: ir.Model, sig: str, requested: str) -> list[ir.Factor]:
    """The leaves of ``sig`` (ancestral order) whose log-density carries the score-function term.

    ``requested`` is the method as written. Chosen automatically (``auto``), these are the
    non-reparameterized leaves, and the others keep their pathwise gradient; forced
    (``reinforce``, ``vimco``), they are all leaves and no gradient flows through samples."""
    leaves = ir.ancestral_order(model, sig)
    if requested == "reparam":
        return []
    if requested == "auto":
        return [leaf for leaf in leaves if not FAMILIES[leaf.family].reparameterized]
    return leaves


def reparameterizable(model: ir.Model, sig: str) -> bool:
    return all(FAMILIES[leaf.family].reparameterized for leaf in ir.leaves(model, sig))


def resolve(model: ir.Model, sig: str, how: ir.Estimation, k: int | None = None) -> tuple[str, str]:
    """(method, baseline) with ``auto`` replaced by the choice for ``sig`` (k: particles of a
    multi-sample bound, None for a single-sample term). The baseline is ``none`` for
    reparameterized and VIMCO terms (VIMCO's leave-one-out estimate is its baseline)."""
    method = how.method
    if method == "auto":
        if reparameterizable(model, sig):
            method = "reparam"
        else:
            method = "vimco" if k is not None and k >= 2 else "reinforce"
    baseline = how.baseline
    if method != "reinforce":
        baseline = "none"
    elif baseline == "auto":
        baseline = "average"
    return method, baseline


def check(model: ir.Model, node: ir.Expr) -> list[diag.Diagnostic]:
    """Errors in the estimator options of one IR node (empty for nodes without options)."""
    how = getattr(node, "estimator", None)
    if not isinstance(how, ir.Estimation):
        if isinstance(node, ir.Mmd) and not reparameterizable(model, node.first):
            return [_not_reparameterizable(model, node.first, node.span, "mmd(...)")]
        return []
    sig = node.factor if isinstance(node, ir.Expect) else node.posterior
    k = getattr(node, "k", None)
    errors = []
    if how.method == "reparam" and not reparameterizable(model, sig):
        errors.append(_not_reparameterizable(model, sig, node.span, "estimator=reparam"))
    if how.method == "vimco" and (k is None or k < 2):
        errors.append(diag.vimco_needs_particles(node.span, k or 1))
    if how.baseline != "auto" and how.method in ("reparam", "vimco"):
        errors.append(diag.baseline_without_score_function(node.span, how.method))
    return errors


def _not_reparameterizable(model: ir.Model, sig: str, span, what: str) -> diag.Diagnostic:
    leaf = next(leaf for leaf in ir.leaves(model, sig) if not FAMILIES[leaf.family].reparameterized)
    return diag.not_reparameterizable(span, what, leaf.family, leaf.signature)
