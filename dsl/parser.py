"""Parse .gm text into the AST of :mod:`gmc.dsl.ast`, with a located syntax error on bad input.

``parse(text, filename)`` is the only entry point. The grammar is ``grammar.lark`` beside this
file, parsed LALR(1) by lark; a post-lexer drops newlines inside brackets so expressions may
span lines.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import lark
from lark import Token, Tree

from gmc.compiler import diagnostics as diag
from gmc.dsl import ast

_OPEN = {"LPAR": "RPAR", "LSQB": "RSQB", "EXPECT": "RBRACE", "MARGINAL": "RBRACE"}
_CLOSE = {"RPAR", "RSQB", "RBRACE"}

_TOKEN_WORDS = {
    "_NL": "end of line", "$END": "end of file", "NAME": "a name", "NUMBER": "a number",
    "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'", "RBRACE": "'}'", "EQUAL": "'='",
    "COMMA": "','", "COLON": "':'", "VBAR": "'|'", "DOT": "'.'", "PLUS": "'+'", "MINUS": "'-'",
    "STAR": "'*'", "SLASH": "'/'", "AT": "'@'", "__ANON_0": "'->'", "__ANON_1": "'**'",
    "__ANON_2": "'||'", "EXPECT": "'E_{'", "MARGINAL": "'sum_{'", "PROPTO": "'propto'",
}


class _BracketNewlines:
    """Post-lexer: newlines inside (), [] or E_{...} do not end a statement."""

    always_accept = ("_NL",)

    def __init__(self):
        self.open_brackets: list[Token] = []

    def process(self, stream):
        self.open_brackets = []
        for token in stream:
            if token.type in _OPEN:
                self.open_brackets.append(token)
            elif token.type in _CLOSE:
                if self.open_brackets:
                    self.open_brackets.pop()
            elif token.type == "_NL" and self.open_brackets:
                continue
            yield token


@functools.lru_cache(maxsize=1)
def _parser() -> lark.Lark:
    grammar = (Path(__file__).with_name("grammar.lark")).read_text()
    # cache=True keeps the LALR tables in a file in the temp folder (keyed by a hash of the
    # grammar and options): building them is most of a cold `gmc check`.
    return lark.Lark(grammar, parser="lalr", lexer="contextual", postlex=_POSTLEX,
                     propagate_positions=True, maybe_placeholders=True, cache=True)


_POSTLEX = _BracketNewlines()


def _span(meta) -> ast.Span:
    return ast.Span(meta.line, meta.column, meta.end_line, max(meta.column, meta.end_column - 1))


def _token_span(token: Token) -> ast.Span:
    return ast.Span(token.line, token.column, token.end_line, max(token.column, token.end_column - 1))


def _to_ast(root: Tree):
    """The AST value of lark's parse tree ``root``, built bottom-up.

    Each tree node goes to the :class:`_ToAst` method named after its rule (or alias) with the
    node's positions and its children's values. An explicit stack instead of recursion, so a
    deeply nested expression cannot exhaust Python's recursion limit; a direct dispatch
    instead of ``lark.Transformer``, whose per-node wrappers were a third of parsing a long
    chain."""
    build = _ToAst()
    order, stack = [], [root]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(c for c in node.children if isinstance(c, Tree))
    values: dict[int, object] = {}
    for node in reversed(order):  # every node after all of its children
        children = [values.pop(id(c)) if isinstance(c, Tree) else c for c in node.children]
        values[id(node)] = getattr(build, node.data)(node.meta, children)
    return values[id(root)]


class _ToAst:
    """One method per grammar rule or alias: ``(meta, children's values) -> AST value``."""

    # ---- statements --------------------------------------------------------------------
    def start(self, meta, statements):
        return [s for s in statements if s is not None]

    def model_decl(self, meta, c):
        return ast.ModelDecl(str(c[0]), span=_span(meta))

    def const_decl(self, meta, c):
        return ast.ConstDecl(str(c[0]), c[1], span=_span(meta))

    def param_decl(self, meta, c):
        return ast.ParamDecl(str(c[0]), c[1], span=_span(meta))

    def weight_decl(self, meta, c):
        return ast.WeightDecl(str(c[0]), c[1], c[2], span=_span(meta))

    def var_decl(self, meta, c):
        modifier, name, type_spec = c
        return ast.VarDecl(str(name), type_spec, modifier is not None, span=_span(meta))

    def let_decl(self, meta, c):
        return ast.LetDecl(str(c[0]), c[1], span=_span(meta))

    def net_decl(self, meta, c):
        name, inputs, (named, outputs), body = c
        return ast.NetDecl(str(name), inputs, outputs, named, body, span=_span(meta))

    def factor_def(self, meta, c):
        kind, marginalized, terms = c[1]
        return ast.FactorDef(c[0], tuple(terms), marginalized, kind, span=_span(meta))

    def poe_def(self, meta, c):
        terms = tuple(item for item in c[2:] if isinstance(item, ast.Call))
        return ast.FactorDef(c[0], terms, proportional=True, span=_span(meta))

    def rename_def(self, meta, c):
        return ast.FactorDef(c[0], (c[1],), renames=tuple(c[2:]), span=_span(meta))

    def rename(self, meta, c):
        return tuple(ast.Name(str(t), span=_token_span(t)) for t in c)

    def loss_def(self, meta, c):
        name, value = c
        if name is None:
            return ast.LossDef("loss", value, span=_span(meta), name_span=_span(meta))
        return ast.LossDef(str(name), value, span=_span(meta), name_span=_token_span(name))

    # ---- pieces of declarations --------------------------------------------------------
    def type_spec(self, meta, c):
        dims = tuple(d for d in c[1:] if d is not None)
        return ast.TypeSpec(str(c[0]), dims, span=_span(meta))

    def single_output(self, meta, c):
        return False, (ast.NetOutput(None, c[0], span=_span(meta)),)

    def named_outputs(self, meta, c):
        return True, tuple(c)

    def net_output(self, meta, c):
        return ast.NetOutput(str(c[0]), c[1], span=_span(meta))

    def name_list(self, meta, c):
        return tuple(ast.Name(str(t), span=_token_span(t)) for t in c)

    def signature(self, meta, c):
        return ast.Signature(str(c[0]), c[1], c[2] or (), span=_span(meta))

    def factor_rhs(self, meta, c):
        kind = str(c[0])[:3] if c[0] is not None else None
        marginalized = c[1] if c[1] is not None else ()
        return kind, marginalized, [item for item in c[2:] if isinstance(item, ast.Call)]

    # ---- expressions -------------------------------------------------------------------
    def _binary(op):
        def build(self, meta, c):
            return ast.BinOp(op, c[0], c[1], span=_span(meta))
        return build

    add = _binary("+")
    sub = _binary("-")
    mul = _binary("*")
    div = _binary("/")
    matmul = _binary("@")
    pow = _binary("**")

    def neg(self, meta, c):
        return ast.Neg(c[0], span=_span(meta))

    def unary(self, meta, c):  # unary plus
        return c[0]

    def number(self, meta, c):
        return ast.Number(float(c[0]), str(c[0]), span=_span(meta))

    def name(self, meta, c):
        return ast.Name(str(c[0]), span=_span(meta))

    def attribute(self, meta, c):
        return ast.Attribute(c[0], str(c[1]), span=_span(meta), attr_span=_token_span(c[1]))

    def call(self, meta, c):
        func, arguments, given = c
        arguments = arguments or []
        args = tuple(a for a in arguments if not isinstance(a, ast.Keyword))
        keywords = tuple(a for a in arguments if isinstance(a, ast.Keyword))
        return ast.Call(str(func), args, keywords, given, span=_span(meta), func_span=_token_span(func))

    def arguments(self, meta, c):
        return list(c)

    def keyword(self, meta, c):
        return ast.Keyword(str(c[0]), c[1], span=_span(meta), name_span=_token_span(c[0]))

    def log_density(self, meta, c):
        return ast.LogDensity(c[0], span=_span(meta))

    def log_function(self, meta, c):
        return ast.Call("log", (c[0],), (), None, span=_span(meta),
                        func_span=ast.Span(meta.line, meta.column, meta.line, meta.column + 2))

    def expectation(self, meta, c):
        return ast.Expectation(c[1], c[-1], tuple(c[2:-1]), span=_span(meta))

    def functional(self, meta, c):
        name, first, second = c
        return ast.Functional(str(name), first, second, span=_span(meta), name_span=_token_span(name))


def parse(text: str, filename: str = "<string>") -> ast.Program:
    """Parse ``text`` (the contents of ``filename``) into an :class:`ast.Program`.

    Raises :class:`gmc.GmcError` with one located 'Syntax error' diagnostic on malformed input.
    """
    source = text if text.endswith("\n") else text + "\n"
    tree, error = _try_parse(source)
    if error is not None:
        # Report every statement that fails on its own, not only the first (see _statement_chunks).
        errors = [e for chunk in _statement_chunks(source) for e in [_try_parse(chunk)[1]] if e is not None]
        raise diag.GmcError(errors or [error], text, filename) from None
    statements = _to_ast(tree)
    return ast.Program(tuple(statements), source=text, filename=filename)


def _try_parse(source: str):
    """(tree, None) or (None, the located syntax error)."""
    try:
        return _parser().parse(source), None
    except lark.UnexpectedCharacters as e:
        span = ast.Span(e.line, e.column, e.line, e.column)
        return None, diag.unexpected_character(span, source[e.pos_in_stream])
    except lark.UnexpectedToken as e:
        at_end = e.token.type == "$END"
        unclosed = [t for t in _POSTLEX.open_brackets if at_end or t.line < e.token.line]
        if unclosed:
            bracket = unclosed[-1]
            return None, diag.unbalanced_bracket(_token_span(bracket), str(bracket))
        return None, _unexpected_token(e, source)
    except lark.UnexpectedEOF as e:
        lines = source.splitlines() or [""]
        span = ast.Span(len(lines), len(lines[-1]) + 1, len(lines), len(lines[-1]) + 1)
        return None, diag.syntax_error(span, "end of file", _expected(e.expected))


def _statement_chunks(source: str) -> list[str]:
    """Each statement of ``source`` alone, preceded by blank lines so line numbers stay put.

    A statement ends at a newline outside brackets, as in the lexer; an unclosed bracket
    runs its statement until a line that starts with a declaration keyword. Used only after a syntax error, so that
    independent errors in different statements are all reported."""
    chunks, start, depth = [], 0, 0
    lines = source.split("\n")
    for number, line in enumerate(lines):
        if depth > 0 and _STATEMENT_START.match(line):
            # An unclosed bracket: a keyword at the start of a line begins the next statement.
            chunks.append("\n" * start + "\n".join(lines[start:number]) + "\n")
            start, depth = number, 0
        code = line.split("#", 1)[0]
        depth += code.count("(") + code.count("[") + code.count("{") - code.count(")") - code.count("]") - code.count("}")
        if depth <= 0:
            depth = 0
            chunk = "\n".join(lines[start:number + 1])
            if chunk.strip():
                chunks.append("\n" * start + chunk + "\n")
            start = number + 1
    rest = "\n".join(lines[start:])
    if rest.strip():
        chunks.append("\n" * start + rest + "\n")
    return chunks


_STATEMENT_START = re.compile(r"(model|const|param|weight|var|net|loss)\b")


def _expected(names) -> list[str]:
    return [_TOKEN_WORDS.get(n, f"'{n.lower()}'" if n.isupper() else n) for n in names]


def _unexpected_token(e: lark.UnexpectedToken, source: str) -> diag.Diagnostic:
    token = e.token
    if token.type == "$END":
        lines = source.splitlines() or [""]
        span = ast.Span(len(lines), len(lines[-1]) + 1, len(lines), len(lines[-1]) + 1)
        return diag.syntax_error(span, "end of file", _expected(e.expected))
    if token.type == "_NL":
        line, column = token.line, token.column
        found = "end of line"
    else:
        line, column = token.line, token.column
        found = _TOKEN_WORDS.get(token.type, f"'{token}'")
        if token.type in ("NAME", "NUMBER"):
            found = f"{token.type.lower()} '{token}'"
    end = column if token.type == "_NL" else max(column, (token.end_column or column + 1) - 1)
    return diag.syntax_error(ast.Span(line, column, line, end), found, _expected(e.expected))
