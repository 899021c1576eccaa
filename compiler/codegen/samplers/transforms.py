"""Code-building helpers shared by the samplers: affine maps that fold unit constants and
the shape argument of runtime draws."""
from __future__ import annotations


def atom(code: str) -> str:
    """``code`` safe as an operand of ``*``, ``/``, ``-`` and ``**`` (a negative literal gets parentheses)."""
    return f"({code})" if code.startswith("-") else code


def location_scale(loc: str, scale: str, standard: str) -> str:
    """Code for loc + scale * standard, leaving out loc = 0 and scale = 1."""
    scaled = standard if scale == "1" else f"{atom(scale)} * {standard}"
    return scaled if loc == "0" else f"{loc} + {scaled}"


def divide(value: str, divisor: str) -> str:
    """Code for value / divisor, leaving out divisor = 1."""
    return value if divisor == "1" else f"{value} / {atom(divisor)}"


def draw_shape(like: str | None, shape: str) -> str:
    """The shape argument of a runtime draw: ``like``'s shape or the given shape code."""
    return f"{like}.shape" if like is not None else shape
