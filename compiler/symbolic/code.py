"""Derived expressions straight to code, memoized by template (:func:`templates.memoize_printed`).

Code generation needs a leaf's log-density as Python text, not as a sympy expression in the
caller's symbols; deriving, printing and inspecting happen once per template.
"""
from gmc.compiler.symbolic.printer import to_torch
from gmc.compiler.symbolic.registry import log_density
from gmc.compiler.symbolic.templates import Printed, memoize_printed
from gmc.compiler.symbolic.vector import is_tensor

#: ``log_density_code(family, value, params) -> Printed``: the element-wise log-density of
#: :func:`registry.log_density` as code, with its reference.
log_density_code = memoize_printed(log_density.__wrapped__, to_torch, is_tensor)

__all__ = ["Printed", "log_density_code"]
