"""Parse .gm text into the AST of :mod:`gmc.dsl.ast`, with a located syntax error on bad input.

``parse(text, filename)`` is the only entry point. The grammar is ``grammar.lark`` beside this
file, parsed LALR(1) by lark; a post-lexer drops newlines inside brackets so expressions may
span lines.
"""
from __future__ import annotations

import functools
import re
from dataclasses import replace
from pathlib import Path

import lark
from lark import Token

from gmc.compiler import diagnostics as diag
from gmc.dsl import ast
from gmc.dsl.limits import check_limits

_OPEN = {"LPAR": "RPAR", "LSQB": "RSQB", "EXPECT": "RBRACE", "MARGINAL": "RBRACE", "PLAYER": "RBRACE"}
_CLOSE = {"RPAR", "RSQB", "RBRACE"}

_TOKEN_WORDS = {
    "_NL": "end of line", "$END": "end of file", "NAME": "a name", "NUMBER": "a number",
    "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'", "RBRACE": "'}'", "EQUAL": "'='",
    "COMMA": "','", "COLON": "':'", "VBAR": "'|'", "DOT": "'.'", "PLUS": "'+'", "MINUS": "'-'",
    "STAR": "'*'", "SLASH": "'/'", "AT": "'@'", "__ANON_0": "'->'", "__ANON_1": "'**'",
    "__ANON_2": "'||'", "EXPECT": "'E_{'", "MARGINAL": "'sum_{'", "PROPTO": "'propto'",
    "PLAYER": "'min_{'", "SEMICOLON": "';'",
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
    # The AST is built during the parse by one callback per rule (no parse tree), and spans
    # come from the tokens each callback sees; lark's own position propagation was 40% of
    # parsing a long program. keep_all_tokens keeps brackets and keywords, whose positions
    # the spans need; maybe_placeholders puts None where an optional part is absent, so each
    # rule's children have fixed positions.
    return lark.Lark(grammar, parser="lalr", lexer="contextual", postlex=_POSTLEX,
                     keep_all_tokens=True, maybe_placeholders=True, transformer=_callbacks(),
                     cache=True)


_POSTLEX = _BracketNewlines()


class _Node:
    """A reduced rule: its AST value and its position in the text (lark's Token convention:
    1-based line and column, end_column one past the last character). The position covers
    the rule's first to last token, brackets included, so ``(a + b) * c`` starts at '('."""

    __slots__ = ("value", "line", "column", "end_line", "end_column")

    def __init__(self, line, column, end_line, end_column):
        self.line, self.column, self.end_line, self.end_column = line, column, end_line, end_column


def _reduction(build):
    """lark's callback for one rule: children (tokens, None placeholders, reduced _Nodes) ->
    a _Node whose value is ``build(node, children's values)``."""
    def reduce(children):
        first = last = None
        for child in children:
            if child is not None:
                first = child
                break
        for child in reversed(children):
            if child is not None:
                last = child
                break
        node = _Node(first.line, first.column, last.end_line, last.end_column)
        node.value = build(node, [c.value if type(c) is _Node else c for c in children])
        return node
    return reduce


def _callbacks():
    """An object with one lark callback per grammar rule or alias (see :class:`_ToAst`)."""
    build = _ToAst()
    callbacks = type("_Callbacks", (), {})()
    for name in dir(build):
        if not name.startswith("_"):
            setattr(callbacks, name, _reduction(getattr(build, name)))
    return callbacks


def _span(meta) -> ast.Span:
    return ast.Span(meta.line, meta.column, meta.end_line, max(meta.column, meta.end_column - 1))


def _token_span(token: Token) -> ast.Span:
    return ast.Span(token.line, token.column, token.end_line, max(token.column, token.end_column - 1))


def _values(children) -> list:
    """The reduced children (AST values), without tokens and placeholders."""
    return [c for c in children if c is not None and not isinstance(c, Token)]


class _ToAst:
    """One method per grammar rule or alias: ``(position, children) -> AST value``.

    ``children`` are every symbol of the rule's expansion in order: tokens (keywords and
    brackets too), the values of reduced sub-rules, and None for an absent optional part."""

    # ---- statements --------------------------------------------------------------------
    def start(self, meta, c):
        return _values(c)

    def model_decl(self, meta, c):
        return ast.ModelDecl(str(c[1]), span=_span(meta))

    def const_decl(self, meta, c):
        return ast.ConstDecl(str(c[1]), c[3], span=_span(meta))

    def param_decl(self, meta, c):
        return ast.ParamDecl(str(c[1]), c[3], span=_span(meta))

    def weight_decl(self, meta, c):
        return ast.WeightDecl(str(c[1]), c[3], c[5], span=_span(meta))

    def var_decl(self, meta, c):
        _, modifier, name, _, type_spec = c
        return ast.VarDecl(str(name), type_spec, modifier is not None, span=_span(meta))

    def sequence_decl(self, meta, c):
        return ast.SequenceDecl(str(c[1]), c[3], c[6], span=_span(meta))

    def sig_list(self, meta, c):
        return tuple(_values(c))

    def indexed(self, meta, c):
        return ast.Indexed(str(c[0]), c[2], span=_span(meta))

    def time_index(self, meta, c):
        return str(c[0])

    def lag_index(self, meta, c):
        return f"{c[0]}-{c[2]}"

    def lead_index(self, meta, c):
        return f"{c[0]}+{c[2]}"

    def fixed_index(self, meta, c):
        return str(c[0])

    def plate_decl(self, meta, c):
        return ast.PlateDecl(str(c[1]), c[3], span=_span(meta))

    def recurrence_def(self, meta, c):
        return ast.RecurrenceDef(c[0], c[2], span=_span(meta))

    def let_decl(self, meta, c):
        return ast.LetDecl(str(c[1]), c[3], span=_span(meta))

    def net_decl(self, meta, c):
        name, inputs, (named, outputs), body = c[1], c[3], c[6], c[8]
        return ast.NetDecl(str(name), inputs, outputs, named, body, span=_span(meta))

    def factor_def(self, meta, c):
        kind, marginalized, terms = c[2]
        return ast.FactorDef(c[0], tuple(terms), marginalized, kind, span=_span(meta))

    def poe_def(self, meta, c):
        terms = tuple(item for item in c[2:] if isinstance(item, ast.Call))
        return ast.FactorDef(c[0], terms, proportional=True, span=_span(meta))

    def rename_def(self, meta, c):
        renames = tuple(item for item in c[4:] if isinstance(item, tuple))
        return ast.FactorDef(c[0], (c[2],), renames=renames, span=_span(meta))

    def rename(self, meta, c):
        return tuple(ast.Name(str(t), span=_token_span(t)) for t in (c[0], c[2]))

    def loss_def(self, meta, c):
        name, value = c[1], c[3]
        if name is None:
            return ast.LossDef("loss", value, span=_span(meta), name_span=_span(meta))
        return ast.LossDef(str(name), value, span=_span(meta), name_span=_token_span(name))

    def data_decl(self, meta, c):
        return ast.DataDecl(c[1], span=_span(meta))

    def game_def(self, meta, c):
        players = tuple(item for item in c[3:-1] if isinstance(item, ast.Player))
        return ast.GameDef(str(c[1]), players, c[-1], span=_span(meta), name_span=_token_span(c[1]))

    def player(self, meta, c):
        return ast.Player(str(c[0])[:3], c[1], tuple(c[3] or ()), span=_span(meta))

    # ---- pieces of declarations --------------------------------------------------------
    def type_spec(self, meta, c):
        return ast.TypeSpec(str(c[0]), tuple(_values(c[1:])), span=_span(meta))

    def single_output(self, meta, c):
        return False, (ast.NetOutput(None, c[0], span=_span(meta)),)

    def named_outputs(self, meta, c):
        return True, tuple(_values(c))

    def net_output(self, meta, c):
        return ast.NetOutput(str(c[0]), c[2], span=_span(meta))

    def name_list(self, meta, c):
        return tuple(ast.Name(str(t), span=_token_span(t)) for t in c if t.type == "NAME")

    def signature(self, meta, c):
        return ast.Signature(str(c[0]), c[2], c[4] or (), span=_span(meta))

    def factor_rhs(self, meta, c):
        kind = str(c[0])[:3] if c[0] is not None else None
        marginalized = c[1] if c[1] is not None else ()
        return kind, marginalized, [item for item in c[3:] if isinstance(item, ast.Call)]

    # ---- expressions -------------------------------------------------------------------
    def _binary(op):
        def build(self, meta, c):
            return ast.BinOp(op, c[0], c[2], span=_span(meta))
        return build

    add = _binary("+")
    sub = _binary("-")
    mul = _binary("*")
    div = _binary("/")
    matmul = _binary("@")
    pow = _binary("**")

    def neg(self, meta, c):
        return ast.Neg(c[1], span=_span(meta))

    def unary(self, meta, c):  # unary plus: the operand, its container starting at '+'
        return c[1]

    def atom(self, meta, c):  # '(' expr ')': the expression, its container the brackets
        return c[1]

    def number(self, meta, c):
        return ast.Number(float(c[0]), str(c[0]), span=_span(meta))

    def name(self, meta, c):
        return ast.Name(str(c[0]), span=_span(meta))

    def attribute(self, meta, c):
        return ast.Attribute(c[0], str(c[2]), span=_span(meta), attr_span=_token_span(c[2]))

    def call(self, meta, c):
        func, arguments, given = c[0], c[2] or [], c[4]
        args = tuple(a for a in arguments if not isinstance(a, ast.Keyword))
        keywords = tuple(a for a in arguments if isinstance(a, ast.Keyword))
        return ast.Call(str(func), args, keywords, given, span=_span(meta), func_span=_token_span(func))

    def arguments(self, meta, c):
        return _values(c)

    def keyword(self, meta, c):
        return ast.Keyword(str(c[0]), c[2], span=_span(meta), name_span=_token_span(c[0]))

    def log_density(self, meta, c):
        return ast.LogDensity(c[1], span=_span(meta))

    def log_function(self, meta, c):
        return ast.Call("log", (c[2],), (), None, span=_span(meta), func_span=_token_span(c[0]))

    def expectation(self, meta, c):  # E_{ call (, option)* } [ body ]
        return ast.Expectation(c[1], c[-2], tuple(_values(c[2:-4])), span=_span(meta))

    def functional(self, meta, c):
        name, first, second = c[0], c[2], c[4]
        return ast.Functional(str(name), first, second, span=_span(meta), name_span=_token_span(name))


    def adversarial(self, meta, c):  # NAME [ call || call , arguments ]
        return ast.Adversarial(str(c[0]), c[2], c[4], tuple(c[6]), span=_span(meta), name_span=_token_span(c[0]))


def parse(text: str, filename: str = "<string>") -> ast.Program:
    """Parse ``text`` (the contents of ``filename``) into an :class:`ast.Program`.

    Raises :class:`gmc.GmcError` with one located 'Syntax error' diagnostic on malformed input,
    and with the located errors of :func:`gmc.dsl.limits.check_limits` for expressions nested
    too deep or too large and numbers that overflow.
    """
    source = text if text.endswith("\n") else text + "\n"
    tree, error = _try_parse(source)
    if error is not None:
        raise diag.GmcError(_statement_errors(source) or [error], text, filename) from None
    program = ast.Program(tuple(tree.value), source=text, filename=filename)
    too_large = check_limits(program)  # so no later pass sees deeper or larger trees
    if too_large:
        raise diag.GmcError(too_large, text, filename)
    return program


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


#: At most this many syntax errors are reported, as compilers cap theirs: each further one
#: costs a parse, and nobody reads the ten-thousandth.
MAX_SYNTAX_ERRORS = 100


def _statement_errors(source: str) -> list[diag.Diagnostic]:
    """The syntax error of each statement that fails on its own (at most
    :data:`MAX_SYNTAX_ERRORS`), located in ``source``: independent errors in different
    statements are all reported, not only the first."""
    errors = []
    for first_line, chunk in _statement_chunks(source):
        error = _try_parse(chunk)[1]
        if error is not None:
            span = error.span
            errors.append(replace(error, span=ast.Span(span.line + first_line, span.column,
                                                       span.end_line + first_line, span.end_column)))
            if len(errors) == MAX_SYNTAX_ERRORS:
                break
    return errors


def _statement_chunks(source: str) -> list[tuple[int, str]]:
    """Each statement of ``source`` alone, with the number of lines before it (a chunk is
    parsed alone and its errors moved down by that many lines: linear in the file's length,
    where padding each chunk with blank lines was quadratic).

    A statement ends at a newline outside brackets, as in the lexer; an unclosed bracket
    runs its statement until a line that starts with a declaration keyword. Used only after a syntax error."""
    chunks, start, depth = [], 0, 0
    lines = source.split("\n")
    for number, line in enumerate(lines):
        if depth > 0 and _STATEMENT_START.match(line):
            # An unclosed bracket: a keyword at the start of a line begins the next statement.
            chunks.append((start, "\n".join(lines[start:number]) + "\n"))
            start, depth = number, 0
        code = line.split("#", 1)[0]
        depth += code.count("(") + code.count("[") + code.count("{") - code.count(")") - code.count("]") - code.count("}")
        if depth <= 0:
            depth = 0
            chunk = "\n".join(lines[start:number + 1])
            if chunk.strip():
                chunks.append((start, chunk + "\n"))
            start = number + 1
    rest = "\n".join(lines[start:])
    if rest.strip():
        chunks.append((start, rest + "\n"))
    return chunks


_STATEMENT_START = re.compile(r"(model|const|param|weight|var|net|loss|data|game)\b")


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
