"""Rewrite rules on the IR, one module per kind; :mod:`gmc.compiler.simplify` runs them in order."""
from gmc.compiler.rewrites.base import Fired, FactorRule, Rule
from gmc.compiler.rewrites.elbo import DECOMPOSE_ELBO
from gmc.compiler.rewrites.logits import PROBS_TO_LOGITS
from gmc.compiler.rewrites.stable import LOG1P, LOG_SIGMOID, LOGSUMEXP, XLOGX

#: Factor rules, in the order they run (before any expression rule).
FACTOR_RULES: tuple[FactorRule, ...] = (PROBS_TO_LOGITS,)
#: Expression rules, in the order they run at each node (outermost node first). The stable
#: forms run before code generation's common-subexpression elimination, which would hide them.
EXPRESSION_RULES: tuple[Rule, ...] = (DECOMPOSE_ELBO, LOG_SIGMOID, LOG1P, LOGSUMEXP, XLOGX)

__all__ = ["EXPRESSION_RULES", "FACTOR_RULES", "FactorRule", "Fired", "Rule"]
