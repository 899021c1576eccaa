"""Large generated modules compiled piece by piece, so compiling never holds the whole syntax tree.

CPython's ``compile`` builds the syntax tree and the compiler's tables of everything it is
given before it emits code: for the 150,000-line module of a 10,000-factor chain (12.5 MB of
text) that peaked at about 500 MB, more than the rest of the compiler together. A module of
at least :data:`THRESHOLD` characters is therefore executed in pieces: the module with its
class's methods and attributes blanked out (line numbers unchanged), then those methods, a few hundred
kilobytes at a time, each compiled inside a throwaway class and moved onto the real one. The
result is the class one ``exec`` of the whole text gives: the same functions, globals, names
(``__qualname__`` included) and line numbers (``co_firstlineno`` shifted back to the
generated file's lines, so tracebacks and :mod:`linecache` show the right lines).

Class attributes (``factors = {...}``, one entry per factor) are moved the same way. Members
that need their class at definition time stay in the main piece: those mentioning ``super(``
or ``__class__`` (the zero-argument ``super`` reads the class cell). Any other
layout, or any failure of the pieces, falls back to one ``exec`` of the whole text.
"""
from __future__ import annotations

import re
import types

#: Modules shorter than this (every model of ordinary size) are compiled in one piece.
THRESHOLD = 1 << 20
#: About this many characters of methods per piece (a few hundred methods).
PIECE_CHARS = 256 * 1024

_PIECE_CLASS = "_gmc_piece"
#: Members moved into pieces: methods (decorated or not) and plain class attributes
#: (``factors = {...}``: a dict of one entry per factor is as costly to compile as the methods).
_MOVABLE = re.compile(r"    (?:def |@|[A-Za-z_][A-Za-z0-9_]* = )")
_CLASS_ATTRS = frozenset({"__module__", "__qualname__", "__dict__", "__weakref__", "__doc__"})


def exec_source(source: str, filename: str, namespace: dict) -> None:
    """Execute generated module ``source`` (one top-level class, see the module docstring) in
    ``namespace``, as ``exec(compile(source, filename, "exec"), namespace)`` does."""
    split = _split(source) if len(source) >= THRESHOLD else None
    if split is not None:
        saved = dict(namespace)
        try:
            _exec_pieces(split, filename, namespace)
            return
        except Exception:  # a layout the splitter misread: the plain way, from a clean namespace
            namespace.clear()
            namespace.update(saved)
    exec(compile(source, filename, "exec"), namespace)


def _exec_pieces(split, filename: str, namespace: dict) -> None:
    main, class_name, imports, pieces = split
    exec(compile(main, filename, "exec"), namespace)
    cls = namespace[class_name]
    for first, text in pieces:  # first: the 0-based index of the piece's first line
        # The module's imports head each piece (bound in the throwaway locals): CPython
        # compiles ``math.log(...)`` on an imported name differently (LOAD_ATTR, not
        # LOAD_METHOD), and the pieces must be the code one compile of the whole gives.
        code = _shifted(compile(f"{imports}\nclass {_PIECE_CLASS}:\n{text}", filename, "exec"), first - 2)
        local: dict = {}
        exec(code, namespace, local)
        for name, value in vars(local[_PIECE_CLASS]).items():
            if name in _CLASS_ATTRS:
                continue
            function = getattr(value, "__func__", value)
            if isinstance(function, types.FunctionType):
                function.__qualname__ = f"{cls.__qualname__}.{function.__name__}"
            setattr(cls, name, value)


def _shifted(code: types.CodeType, delta: int) -> types.CodeType:
    """``code`` and every code object inside it with line numbers moved by ``delta`` (the line
    table is relative to ``co_firstlineno``)."""
    consts = tuple(_shifted(c, delta) if isinstance(c, types.CodeType) else c for c in code.co_consts)
    return code.replace(co_firstlineno=code.co_firstlineno + delta, co_consts=consts)


def _is_member_start(line: str) -> bool:
    """A line that starts a member of the top-level class (four spaces, then code)."""
    return line.startswith("    ") and len(line) > 4 and line[4] not in " \n)]}"  # not a closing bracket


def _split(source: str):
    """(main text, class name, the module's imports on one line, [(first line index, members'
    text)]) or None for another layout."""
    lines = source.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.startswith("class ")]
    if len(starts) != 1 or any(line[:1] not in ("", " ", "\n") for line in lines[starts[0] + 1:]):
        return None
    if any(line.count('"' * 3) % 2 or line.count("'" * 3) % 2 for line in lines[starts[0]:]):
        return None  # a string over several lines: its lines could look like members
    class_name = lines[starts[0]][6:].split("(")[0].split(":")[0].strip()
    imports = "; ".join(line.strip() for line in lines[:starts[0]] if line.startswith(("import ", "from ")))
    if "(" in imports or "\\" in imports:
        return None  # an import over several lines
    # members: [start, end) line ranges; a def belongs to the decorators right above it
    bounds = [i for i in range(starts[0] + 1, len(lines)) if _is_member_start(lines[i])
              and not (lines[i].startswith("    def ") and lines[i - 1].startswith("    @"))]
    bounds.append(len(lines))
    movable = []
    for start, end in zip(bounds, bounds[1:]):
        if not _MOVABLE.match(lines[start]):
            continue  # the docstring, or a statement of another kind
        text = "".join(lines[start:end])
        if "super(" in text or "__class__" in text:
            continue  # needs the class cell
        movable.append((start, end, text))
    if not movable:
        return None
    pieces: list[tuple[int, str]] = []
    blank = list(lines)
    current_first, current, size, previous_end = None, [], 0, None
    for start, end, text in movable:
        if current and (size >= PIECE_CHARS or start != previous_end):
            pieces.append((current_first, "".join(current)))
            current, size = [], 0
        if not current:
            current_first = start
        current.append(text)
        size += len(text)
        previous_end = end
        blank[start:end] = ["\n"] * (end - start)
    pieces.append((current_first, "".join(current)))
    return "".join(blank), class_name, imports, pieces
