"""Element-wise transforms: each coordinate y_i = f(x_i), so log |det| = sum_i log |f'(x_i)|.

The definitions and their sympy derivations are in :mod:`.symbolic`; here only what the
checker needs. Supports: exp and softplus map real onto positive, sigmoid onto unit; their
inverses (Log, SoftplusInverse, Logit) map back; Tanh maps real into (-1, 1) (declared
``real``: gmc has no (-1, 1) support) and Atanh takes it back (NaN outside (-1, 1)).
"""
from gmc.compiler.transforms.registry import TransformSpec, register

_REFERENCE = "change of variables, log |dy/dx| derived by sympy"

AFFINE = register(TransformSpec("Affine", "real", "real", True, _REFERENCE, runtime_kind="affine", learned=True,
                                latex=r"\mathrm{Affine}"))
EXP = register(TransformSpec("Exp", "real", "positive", True, _REFERENCE, latex=r"\exp"))
LOG = register(TransformSpec("Log", "positive", "real", True, _REFERENCE, latex=r"\log"))
SIGMOID = register(TransformSpec("Sigmoid", "real", "unit", True, _REFERENCE, latex=r"\sigma"))
LOGIT = register(TransformSpec("Logit", "unit", "real", True, _REFERENCE, latex=r"\mathrm{logit}"))
SOFTPLUS = register(TransformSpec("Softplus", "real", "positive", True, _REFERENCE, latex=r"\mathrm{softplus}"))
SOFTPLUS_INVERSE = register(TransformSpec("SoftplusInverse", "positive", "real", True, _REFERENCE,
                                          latex=r"\mathrm{softplus}^{-1}"))
TANH = register(TransformSpec("Tanh", "real", "real", True, _REFERENCE, latex=r"\tanh"))
ATANH = register(TransformSpec("Atanh", "real", "real", True, _REFERENCE, latex=r"\tanh^{-1}"))
