"""Tokens the mutation fuzzer inserts: the language's own vocabulary and hostile extras."""
from __future__ import annotations

from gmc.compiler.families import FAMILIES

KEYWORDS = ("model", "const", "param", "weight", "var", "global", "let", "net", "loss", "propto", "\u221d",
            "sum_{", "int_{", "E_{", "log", "MLP")
OPERATORS = ("=", "+", "-", "*", "/", "@", "**", ".", ",", ":", "|", "||", "->", "(", ")", "[", "]", "{", "}",
             "\n", " ", "\t", "\r\n", "#")
SUPPORTS = ("real", "positive", "unit", "binary", "simplex", "categorical", "count")
FUNCTIONS = ("exp", "log", "softplus", "sigmoid", "tanh", "relu", "softmax", "log_softmax", "sqrt", "abs",
             "detach", "min", "max", "clamp", "mean", "sum")
FUNCTIONALS = ("KL", "H", "CE", "elbo", "iwae", "renyi", "mmd")
OPTIONS = ("estimator", "baseline", "k", "alpha", "kernel", "scale", "reinforce", "vimco", "reparam", "auto",
           "learned", "average", "none", "gaussian", "imq")
NUMBERS = ("0", "1", "2", "0.5", "-1", "1e308", "1e309", "1e-320", "1e-400", "9" * 40, "1" + "0" * 400,
           "0.0", "00", "1.", ".5", "3e5", "65536", "2147483648", "1e-7", "4294967297", "1e+2", "0e0")
# Names the generated module or Python itself gives a meaning to, used as identifiers.
PYTHON_NAMES = ("self", "torch", "math", "F", "rt", "nn", "None", "True", "False", "class", "def", "lambda",
                "return", "import", "yield", "print", "len", "super", "__init__", "__class__", "forward",
                "loss_loss", "log_p_x", "sample", "n", "_anchor", "dict", "object", "type", "async", "await",
                "nonlocal", "pass", "del", "in", "is", "not", "and", "or", "if", "else", "for", "while",
                "with", "try", "except", "raise", "global", "assert", "break", "continue", "from", "as",
                "x_", "_", "__", "training", "parameters", "to", "eval", "losses", "factors", "variables")
UNICODE = ("\x00", "\ufeff", "\u00e9", "\u03bc", "\u2212", "\u00a0", "\u200b", "\U0001f600", "\ud7ff",
           "\u2028", "\x0c", "\x0b", "\\", "'", '"', "`", "$", "\x7f", "\u0301")


def family_tokens() -> tuple[str, ...]:
    """Family names and every parameter name of the catalogue."""
    names = set(FAMILIES)
    for family in FAMILIES.values():
        names.update(family.param_names)
    return tuple(sorted(names))


VOCABULARY = (KEYWORDS + OPERATORS + SUPPORTS + FUNCTIONS + FUNCTIONALS + OPTIONS + NUMBERS + PYTHON_NAMES
              + UNICODE + family_tokens())
