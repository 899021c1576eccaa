"""Large generated modules compiled piece by piece, each piece when first used.

CPython's ``compile`` builds the syntax tree and the compiler's tables of everything it is
given before it emits code: for the 150,000-line module of a 10,000-factor chain (12.5 MB of
text) that peaked at about 500 MB, more than the rest of the compiler together, and took a
quarter of the compile time although a program uses few of its 20,000 per-factor methods. A
module of at least :data:`THRESHOLD` characters is therefore executed in pieces: first the
module with its class's methods and attributes blanked out (line numbers unchanged); each
blanked member is then a placeholder on the class, and the first read of one compiles its
piece (about :data:`PIECE_CHARS` characters of neighbouring members, inside a throwaway class)
and puts the piece's members on the real class in place of their placeholders. What a member
is once read is what one ``exec`` of the whole text gives: the same code, globals, names
(``__qualname__`` included) and line numbers (``co_firstlineno`` shifted back to the
generated file's lines, so tracebacks and :mod:`linecache` show the right lines).

Members that need their class at definition time stay in the main piece: those mentioning
``super(`` or ``__class__`` (the zero-argument ``super`` reads the class cell). Another
layout (a string over several lines, an import over several lines), or a main piece that does
not compile, falls back to one ``exec`` of the whole text. Generated methods have literal
defaults only, so a piece compiled apart from its class body binds the same values.
"""
from __future__ import annotations

import re
import types

#: Modules shorter than this (every model of ordinary size) are compiled in one piece.
THRESHOLD = 1 << 20
#: About this many characters of members per piece (a few dozen methods): the first use of a
#: member compiles its piece, a few milliseconds.
PIECE_CHARS = 32 * 1024

_PIECE_CLASS = "_gmc_piece"
#: Members moved into pieces: methods (decorated or not) and plain class attributes
#: (``factors = {...}``: a dict of one entry per factor is as costly to compile as the methods).
_MOVABLE = re.compile(r"    (?:def |@|[A-Za-z_][A-Za-z0-9_]* = )")
_NAME = re.compile(r"    (?:def )?([A-Za-z_][A-Za-z0-9_]*)")
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
    for first, text, names in pieces:  # first: the 0-based index of the piece's first line
        piece = _Piece(cls, namespace, filename, imports, first, text)
        for name in names:
            setattr(cls, name, _Lazy(piece, name))


class _Piece:
    """Members of the class not compiled yet: compiled, all together, on first use of one."""

    def __init__(self, cls: type, namespace: dict, filename: str, imports: str, first: int, text: str):
        self.cls, self.namespace, self.filename = cls, namespace, filename
        self.imports, self.first, self.text = imports, first, text

    def load(self) -> None:
        if self.text is None:
            return
        # The module's imports head each piece (bound in the throwaway locals): CPython
        # compiles ``math.log(...)`` on an imported name differently (LOAD_ATTR, not
        # LOAD_METHOD), and the pieces must be the code one compile of the whole gives.
        code = compile(f"{self.imports}\nclass {_PIECE_CLASS}:\n{self.text}", self.filename, "exec")
        local: dict = {}
        exec(_shifted(code, self.first - 2), self.namespace, local)
        cls = self.cls
        for name, value in vars(local[_PIECE_CLASS]).items():
            if name in _CLASS_ATTRS:
                continue
            function = getattr(value, "__func__", value)
            if isinstance(function, types.FunctionType):
                function.__qualname__ = f"{cls.__qualname__}.{function.__name__}"
            setattr(cls, name, value)
        self.text = None


class _Lazy:
    """A class member whose piece is compiled when the member is first read (then replaced
    by the member itself, so later reads cost nothing)."""

    __slots__ = ("piece", "name")

    def __init__(self, piece: _Piece, name: str):
        self.piece, self.name = piece, name

    def __get__(self, instance, owner=None):
        self.piece.load()
        return getattr(self.piece.cls if instance is None else instance, self.name)


def load_all(cls: type) -> None:
    """Compile every member of ``cls`` still waiting in a piece (tests, introspection)."""
    for value in list(vars(cls).values()):
        if isinstance(value, _Lazy):
            value.piece.load()


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
        head = next(line for line in lines[start:end] if not line.startswith("    @"))
        movable.append((start, end, text, _NAME.match(head).group(1)))
    if not movable:
        return None
    pieces: list[tuple[int, str, list[str]]] = []
    blank = list(lines)
    current_first, current, names, size, previous_end = None, [], [], 0, None
    for start, end, text, name in movable:
        if current and (size >= PIECE_CHARS or start != previous_end):
            pieces.append((current_first, "".join(current), names))
            current, names, size = [], [], 0
        if not current:
            current_first = start
        current.append(text)
        names.append(name)
        size += len(text)
        previous_end = end
        blank[start:end] = ["\n"] * (end - start)
    pieces.append((current_first, "".join(current), names))
    return "".join(blank), class_name, imports, pieces
