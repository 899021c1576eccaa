"""The one escaping rule for user text that reaches generated source.

A .gm program's file name, source lines, names and numbers end up in the generated module:
in its docstrings, in ``# file:line  source`` comments, in string literals and as literals.
None of it may change what the module does, whatever it contains (quotes, backslashes, line
breaks of any kind, NUL, lone surrogates from undecodable file names). Every such piece of
text goes through one function here, chosen by where it lands:

- :func:`comment` for text after ``#``: every character that is not printable (``\\n``,
  ``\\r``, NUL, U+0085, U+2028, U+000C, ... anything :meth:`str.isprintable` rejects) is
  written as its Python escape (``\\x00``, ``\\u2028``), so a comment never ends early and
  :func:`str.splitlines` (which ``linecache`` uses) sees the same lines as Python's tokenizer.
- :func:`docstring` for text inside ``\"\"\"...\"\"\"``: :func:`comment`'s rule, then every
  backslash doubled and every double quote escaped, so the text can neither close the string
  nor form an escape. The docstring's value is the text as a comment shows it: printable
  only (a lone surrogate from an undecodable file name in a docstring would make the class
  fail to build).
- :func:`literal` for a string or number that becomes a Python value: ``repr`` (which escapes
  every non-printable character), except that non-finite floats, whose ``repr`` (``inf``,
  ``nan``) would read as names, are written as expressions without names.

Printable text, ASCII or not (``∝``, ``λ``), is kept as it is, so ordinary output is unchanged.
"""
from __future__ import annotations

import math


def inert(text: str) -> str:
    """``text`` with each non-printable character replaced by its Python escape sequence."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def comment(text: str) -> str:
    """``text`` safe to follow ``#`` on one line of generated code (see the module docstring)."""
    return inert(text)


def docstring(text: str) -> str:
    """``text`` safe inside a triple-double-quoted, non-raw string whose value is ``comment(text)``."""
    return inert(text).replace("\\", "\\\\").replace('"', '\\"')


def literal(value) -> str:
    """A Python expression for ``value`` (str, int, float, bool, None, or tuples of them) that
    evaluates to it and mentions no names: ``inf`` becomes ``1e999``, NaN ``(1e999 - 1e999)``."""
    if isinstance(value, float) and not math.isfinite(value):
        if math.isnan(value):
            return "(1e999 - 1e999)"
        return "1e999" if value > 0 else "(-1e999)"
    if isinstance(value, tuple):
        items = [literal(v) for v in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    return repr(value)


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
