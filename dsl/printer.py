"""The canonical text of a .gm program (``gmc fmt``): one statement per line, comments kept.

``format_source(text)`` parses ``text``, prints every statement in canonical form and puts
each comment back: a comment at the end of a statement's last line stays there (two spaces
before ``#``), a comment on a line of its own (or inside a statement that spans lines)
goes on its own line before the next statement, and comments after the last statement
stay at the end. A run of blank lines becomes one blank line; leading and trailing blank
lines go. The result parses to the same AST (:func:`print_statement` is exact for every
node of :mod:`gmc.dsl.ast`) and formatting it again changes nothing; both properties are
tested with hypothesis in ``tests/test_fmt.py``.

Canonical spacing: binary operators with one space each side, ``k=v`` keywords, ``, ``
between arguments and expectation options (``E_{q(z|x), estimator=reinforce}[...]``), factor
references, signatures and marginalized names compact (``p(x,z|y)``, ``sum_{y,z}``), products by
juxtaposition (``p(x|z) p(z)``), numbers exactly as written, and the fewest parentheses
that keep the tree (``a - (b - c)``, ``(-a) ** b``, ``(a + b) * c``).
"""
from __future__ import annotations

from dataclasses import dataclass

from gmc.dsl import ast
from gmc.dsl.parser import parse
from gmc.compiler.recursion import deep_stack

# Binding strength of each expression form; higher binds tighter (grammar.lark's ladder).
_SUM, _PRODUCT, _UNARY, _POWER, _POSTFIX, _ATOM = range(6)
_OPERATOR_LEVEL = {"+": _SUM, "-": _SUM, "*": _PRODUCT, "/": _PRODUCT, "@": _PRODUCT, "**": _POWER}


#: The column limit of canonical text: a longer statement breaks at argument commas (:func:`wrap`).
LINE_WIDTH = 100


@deep_stack
def format_source(text: str, filename: str = "<string>", width: int = LINE_WIDTH) -> str:
    """The canonical text of ``text``, statements wrapped at ``width`` columns; raises GmcError
    (a syntax error) when it does not parse."""
    program = parse(text, filename)
    return format_program(program, text, width)


def format_program(program: ast.Program, text: str, width: int = LINE_WIDTH) -> str:
    """Canonical text of ``program``, re-attaching the comments found in ``text`` (its source);
    statements longer than ``width`` columns are wrapped (:func:`wrap`)."""
    printer = Printer(program)
    # Only '\n' ends a line in .gm (as in the lexer); str.splitlines would also split at '\x85' etc.
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    comments = _comments(lines)
    out: list[str] = []
    pending = 0  # index into comments
    previous_end = 0  # last source line already emitted

    for s in program.statements:
        while pending < len(comments) and comments[pending].line < s.span.line:
            c = comments[pending]
            _blank_if_gap(out, lines, previous_end, c.line)
            out.append(c.text)
            previous_end = c.line
            pending += 1
        _blank_if_gap(out, lines, previous_end, s.span.line)
        inside = []
        trailing = None
        while pending < len(comments) and comments[pending].line <= s.span.end_line:
            c = comments[pending]
            if c.line == s.span.end_line and c.after_code:
                trailing = c
            else:
                inside.append(c)
            pending += 1
        out.extend(c.text for c in inside)
        statement = wrap(printer.statement(s), width)
        out.append(statement + (f"  {trailing.text}" if trailing else ""))
        previous_end = s.span.end_line
    for c in comments[pending:]:
        _blank_if_gap(out, lines, previous_end, c.line)
        out.append(c.text)
        previous_end = c.line
    return "\n".join(out) + "\n" if out else ""


def wrap(line: str, width: int = LINE_WIDTH) -> str:
    """``line`` (one statement in canonical form) broken into lines of at most ``width`` columns
    where it can be: a bracket group whose items are separated by ``, `` (or a player's ``; ``)
    puts each item on its own line with a hanging indent of 4 more spaces than the line it opens
    on, the closing bracket after the last item. The group broken is the last outermost one that
    opens within ``width`` (else the first); each new line is wrapped again the same way. A line
    without such a group stays long (a top-level sum, a compact signature). The lexer drops
    newlines inside brackets, so the result parses to the same statement."""
    if len(line) <= width:
        return line
    indent = len(line) - len(line.lstrip(" "))
    groups = _separated_groups(line)
    if not groups:
        return line
    fitting = [g for g in groups if g[0] < width]
    open_at, close_at, cuts = fitting[-1] if fitting else groups[0]
    inner = " " * (indent + 4)
    starts = [open_at + 1] + [c + 2 for c in cuts]  # each item begins after '(' or after ', '
    ends = cuts + [close_at]
    items = [line[a:b] + line[b] if b != close_at else line[a:] for a, b in zip(starts, ends)]
    pieces = [line[:open_at + 1]] + [wrap(inner + item, width) for item in items]
    return "\n".join(pieces)


def _separated_groups(line: str) -> list[tuple[int, int, list[int]]]:
    """Every outermost bracket group of ``line`` that has item separators at its own depth:
    (index of the open bracket, index of the close bracket, indices of the separators' ``,``
    or ``;``), in order. Outermost: not inside another group that has separators."""
    stack: list[tuple[int, list[int]]] = []
    found: list[tuple[int, int, list[int]]] = []
    for i, ch in enumerate(line):
        if ch in "([{":
            stack.append((i, []))
        elif ch in ")]}" and stack:
            start, cuts = stack.pop()
            if cuts:  # groups inside this one closed earlier: they are no longer outermost
                found = [f for f in found if not (f[0] > start and f[1] < i)] + [(start, i, cuts)]
        elif ch in ",;" and stack and line[i + 1:i + 2] == " ":
            stack[-1][1].append(i)
    return sorted(found)


def _blank_if_gap(out: list[str], lines: list[str], previous_end: int, line: int) -> None:
    """Append one blank line when the source has blank lines between ``previous_end`` and ``line``."""
    if out and any(not lines[i].strip() for i in range(previous_end, line - 1)):
        out.append("")


@dataclass(frozen=True)
class _Comment:
    line: int
    text: str  # from '#' to the end of the line, trailing spaces removed
    after_code: bool  # code precedes it on its line


def _comments(lines: list[str]) -> list[_Comment]:
    """Every comment of the source. The language has no string literals, so every '#' starts one."""
    found = []
    for number, line in enumerate(lines, start=1):
        at = line.find("#")
        if at >= 0:
            found.append(_Comment(number, line[at:].rstrip(), bool(line[:at].strip())))
    return found


class Printer:
    """Prints AST nodes; knows the program's factor names so references print compactly."""

    def __init__(self, program: ast.Program):
        self.factor_names = {s.signature.name for s in program.statements
                             if isinstance(s, (ast.FactorDef, ast.DataDecl))}

    # ---- statements --------------------------------------------------------------------
    def statement(self, s: ast.Statement) -> str:
        if isinstance(s, ast.ModelDecl):
            return f"model {s.name}"
        if isinstance(s, ast.ConstDecl):
            return f"const {s.name} = {self.expr(s.value)}"
        if isinstance(s, ast.ParamDecl):
            return f"param {s.name} = {self.expr(s.value)}"
        if isinstance(s, ast.WeightDecl):
            init = "" if s.init is None else f" = {self.expr(s.init)}"
            return f"weight {s.name}: {self.type(s.type)}{init}"
        if isinstance(s, ast.VarDecl):
            scope = "global " if s.is_global else ""
            return f"var {scope}{s.name}: {self.type(s.type)}"
        if isinstance(s, ast.SequenceDecl):
            return f"var {s.name}[{self.expr(s.length)}]: {self.type(s.type)}"
        if isinstance(s, ast.PlateDecl):
            return f"plate {s.name}({', '.join(n.id for n in s.variables)})"
        if isinstance(s, ast.RecurrenceDef):
            return f"{s.target.text} = {self.expr(s.value)}"
        if isinstance(s, ast.LetDecl):
            return f"let {s.name} = {self.expr(s.value)}"
        if isinstance(s, ast.NetDecl):
            return self.net(s)
        if isinstance(s, ast.FactorDef):
            terms = " ".join(self.call(t) for t in s.terms)
            if s.marginal_kind is not None:
                terms = f"{s.marginal_kind}_{{{','.join(n.id for n in s.marginalized)}}} {terms}"
            if s.proportional:
                return f"{self.signature(s.signature)} propto {terms}"
            if s.renames:
                renames = ", ".join(f"{a.id} -> {b.id}" for a, b in s.renames)
                terms += f"[{renames}]"
            return f"{self.signature(s.signature)} = {terms}"
        if isinstance(s, ast.LossDef):
            name = "" if s.name == "loss" else f" {s.name}"
            return f"loss{name} = {self.expr(s.value)}"
        if isinstance(s, ast.DataDecl):
            return f"data {self.signature(s.signature)}"
        if isinstance(s, ast.GameDef):
            players = " ".join(self.player(p) for p in s.players)
            return f"game {s.name} = {players} {self.expr(s.value)}"
        raise TypeError(f"cannot print statement {type(s).__name__}")

    def player(self, p: ast.Player) -> str:
        options = "; " + ", ".join(self.argument(o) for o in p.options) if p.options else ""
        return f"{p.kind}_{{{', '.join(n.id for n in p.nets)}{options}}}"

    def net(self, s: ast.NetDecl) -> str:
        inputs = ", ".join(n.id for n in s.inputs)
        if s.named_outputs:
            outputs = "(" + ", ".join(f"{o.name}: {self.type(o.type)}" for o in s.outputs) + ")"
        else:
            outputs = self.type(s.outputs[0].type)
        body = "" if s.body is None else f" = {self.call(s.body)}"
        return f"net {s.name}({inputs}) -> {outputs}{body}"

    def type(self, t: ast.TypeSpec) -> str:
        if not t.dims:
            return t.support
        return t.support + "[" + ", ".join(self.expr(d) for d in t.dims) + "]"

    def signature(self, sig: ast.Signature) -> str:
        return _compact(sig.name, sig.outputs, sig.given if sig.given else None)

    # ---- expressions -------------------------------------------------------------------
    def expr(self, e: ast.Expr, level: int = _SUM) -> str:
        """``e`` printed to sit where the grammar expects a form of at least ``level``."""
        text, own = self._expr(e)
        return f"({text})" if own < level else text

    def _expr(self, e: ast.Expr) -> tuple[str, int]:
        if isinstance(e, ast.Number):
            return e.text, _ATOM
        if isinstance(e, ast.Indexed):
            return e.text, _ATOM
        if isinstance(e, ast.Name):
            return e.id, _ATOM
        if isinstance(e, ast.Call):
            return self.call(e), _ATOM
        if isinstance(e, ast.Attribute):
            # '2.loc' would lex as the number '2.', so a number takes parentheses here.
            value = f"({e.value.text})" if isinstance(e.value, ast.Number) else self.expr(e.value, _POSTFIX)
            return f"{value}.{e.attr}", _POSTFIX
        if isinstance(e, ast.Neg):
            return "-" + self.expr(e.operand, _UNARY), _UNARY
        if isinstance(e, ast.BinOp):
            level = _OPERATOR_LEVEL[e.op]
            if e.op == "**":  # postfix "**" unary: right-associative
                return f"{self.expr(e.left, _POSTFIX)} ** {self.expr(e.right, _UNARY)}", _POWER
            right_level = _PRODUCT if level == _SUM else _UNARY
            return f"{self.expr(e.left, level)} {e.op} {self.expr(e.right, right_level)}", level
        if isinstance(e, ast.LogDensity):
            return f"log {self.call(e.factor)}", _ATOM
        if isinstance(e, ast.Expectation):
            options = "".join(", " + self.argument(o) for o in e.options)
            return f"E_{{{self.call(e.factor)}{options}}}[{self.expr(e.body)}]", _ATOM
        if isinstance(e, ast.Functional):
            second = "" if e.second is None else f" || {self.call(e.second)}"
            return f"{e.name}[{self.call(e.first)}{second}]", _ATOM
        if isinstance(e, ast.Adversarial):
            options = "".join(", " + self.argument(o) for o in e.options)
            return f"{e.name}[{self.call(e.first)} || {self.call(e.second)}{options}]", _ATOM
        raise TypeError(f"cannot print expression {type(e).__name__}")

    def call(self, c: ast.Call) -> str:
        if self._is_factor_reference(c):
            return _compact(c.func, c.args, c.given)
        if c.func == "log" and len(c.args) == 1 and not c.keywords and c.given is None:
            return f"log({self.expr(c.args[0])})"  # log_function in the grammar
        parts = [self.argument(a) for a in c.args + c.keywords]
        given = "" if c.given is None else " | " + ", ".join(_item(n) for n in c.given)
        return f"{c.func}({', '.join(parts)}{given})"

    def argument(self, a: ast.Expr | ast.Keyword) -> str:
        """A call argument or an expectation option: an expression or ``name=value``."""
        if isinstance(a, ast.Keyword):
            return f"{a.name}={self.expr(a.value)}"
        return self.expr(a)

    def _is_factor_reference(self, c: ast.Call) -> bool:
        # Only factors use '|', so a call with one is a reference even to an undefined factor.
        return ((c.func in self.factor_names or c.given is not None) and not c.keywords and bool(c.args)
                and all(isinstance(a, ast.Name) for a in c.args))


def _compact(name: str, outputs, given) -> str:
    text = name + "(" + ",".join(_item(n) for n in outputs)
    return text + ("|" + ",".join(_item(n) for n in given) if given is not None else "") + ")"


def _item(n: ast.Name) -> str:
    """A variable of a signature or factor reference: ``z``, or one step ``z[t-1]``."""
    return n.text if isinstance(n, ast.Indexed) else n.id


def print_statement(s: ast.Statement, factor_names: frozenset[str] = frozenset()) -> str:
    """One statement in canonical form (no comment); ``factor_names`` print compactly."""
    printer = Printer(ast.Program(()))
    printer.factor_names = set(factor_names)
    return printer.statement(s)

