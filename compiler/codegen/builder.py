"""Builds one generated method: statements, a memo for shared subexpressions, source comments."""
from __future__ import annotations

from gmc.compiler.codegen import text
from gmc.compiler.codegen.namespace import Namespace
from gmc.dsl.ast import Span


class FunctionBuilder:
    """Accumulates the body of one method.

    ``memo`` maps a structural key (e.g. ``("net", "enc", ("x",))``) to the names holding its
    value, so each net call, sample and log-density is computed once per method (CSE).
    ``emit(line, span)`` precedes a statement with ``# file:line  source`` whenever the
    source line changes, so readers can trace every statement group back to the .gm file.
    The file name, the source line, ``comment`` and ``doc`` are user text: they pass through
    :mod:`gmc.compiler.codegen.text` here, so callers hand them over as they are.
    """

    def __init__(self, name: str, args: list[str], keyword_args: list[str], doc: str,
                 filename: str, source_lines: list[str]):
        self.name = name
        self.ns = Namespace()
        self.args = [self.ns.claim(a) for a in args]
        self.keyword_args = [self.ns.claim(a) for a in keyword_args]
        self.doc = doc
        self.filename = filename
        self.source_lines = source_lines
        self.lines: list[str] = []
        self.memo: dict[tuple, object] = {}
        self._commented: int | None = None

    def emit(self, line: str, span: Span | None = None) -> None:
        if span is not None and span.line > 0 and span.line != self._commented:
            source = self.source_lines[span.line - 1].strip() if span.line <= len(self.source_lines) else ""
            self.lines.append(text.comment(f"# {self.filename}:{span.line}  {source}"))
            self._commented = span.line
        self.lines.append(line)

    def assign(self, base: str, code: str, span: Span | None = None, comment: str | None = None) -> str:
        """Emit ``name = code`` under a fresh name based on ``base``; returns the name."""
        name = self.ns.fresh(base)
        self.emit(f"{name} = {code}" + (f"  # {text.comment(comment)}" if comment else ""), span)
        return name

    def render(self, indent: str = "    ") -> str:
        params = ["self", *self.args]
        if self.keyword_args:
            params += ["*", *(f"{k}=None" for k in self.keyword_args)]
        out = [f"def {self.name}({', '.join(params)}):", f'{indent}"""{text.docstring(self.doc)}"""']
        out += [indent + line for line in self.lines]
        return "\n".join(out)
