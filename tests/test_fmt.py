"""``gmc fmt``: canonical text that parses to the same AST, is idempotent and keeps comments.

Random programs come from hypothesis strategies over the grammar's statements and
expressions; they are rendered by a deliberately different writer (every operand
parenthesized, random spacing, ``*`` in products, comments and blank lines sprinkled), so
the test also exercises the parser against the printer.
"""
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gmc.cli import main
from gmc.dsl import ast
from gmc.dsl.parser import parse
from gmc.dsl.printer import LINE_WIDTH, format_source

ROOT = Path(__file__).parent.parent
PROGRAMS = sorted((ROOT / "tests" / "golden" / "good").glob("*.gm")) + sorted((ROOT / "examples").glob("*.gm"))

KEYWORDS = {"model", "const", "param", "weight", "var", "let", "global", "net", "loss", "log"}
names = st.from_regex(r"[a-dA-D][a-z0-9_]{0,3}", fullmatch=True).filter(lambda n: n not in KEYWORDS)
factor_names = st.sampled_from(["p", "q", "r"])
numbers = st.one_of(
    st.integers(0, 10_000).map(str),
    st.tuples(st.integers(0, 999), st.integers(0, 999)).map(lambda t: f"{t[0]}.{t[1]}"),
    st.integers(0, 99).map(lambda i: f".{i}"),
    st.tuples(st.integers(1, 9), st.integers(-12, 12)).map(lambda t: f"{t[0]}e{t[1]}"),
)
spaces = st.sampled_from(["", " ", "  "])
# Built-in functions and option names of the language, mixed with random names (docs/design.md section 2, docs/language.md).
functions = st.one_of(names, st.sampled_from(["detach", "min", "max", "clamp", "mean", "sum", "elbo", "iwae", "renyi",
                                              "mmd", "Normal", "Bernoulli"]))
keyword_names = st.one_of(names, st.sampled_from(["k", "alpha", "kernel", "estimator", "baseline", "loc", "scale"]))
option_names = st.sampled_from(["estimator", "baseline", "k"])
option_values = st.sampled_from(["reparam", "reinforce", "vimco", "none", "average", "learned"]).map(lambda n: ast.Name(n))


def _name(n):
    return ast.Name(n)


def _factor_refs():
    return st.builds(lambda f, outs, given: ast.Call(f, tuple(map(_name, outs)), (), tuple(map(_name, given)) or None),
                     factor_names, st.lists(names, min_size=1, max_size=2), st.lists(names, max_size=2))


def _expressions():
    leaves = st.one_of(numbers.map(lambda t: ast.Number(float(t), t)), names.map(_name))

    def extend(inner):
        keyword = st.builds(ast.Keyword, keyword_names, inner)
        option = st.one_of(st.builds(ast.Keyword, option_names, st.one_of(option_values, inner)), inner)
        call = st.builds(lambda f, a, k: ast.Call(f, tuple(a), tuple(k)), functions,
                         st.lists(inner, max_size=2), st.lists(keyword, max_size=2))
        return st.one_of(
            st.builds(ast.BinOp, st.sampled_from(["+", "-", "*", "/", "@", "**"]), inner, inner),
            st.builds(ast.Neg, inner),
            call,
            st.builds(ast.Attribute, st.one_of(call, names.map(_name)), names),
            st.builds(ast.LogDensity, FACTOR_REFS),
            st.builds(ast.Expectation, FACTOR_REFS, inner, st.lists(option, max_size=2).map(tuple)),
            st.builds(ast.Functional, st.sampled_from(["KL", "CE"]), FACTOR_REFS, FACTOR_REFS),
            st.builds(ast.Functional, st.just("H"), FACTOR_REFS, st.none()),
            st.builds(lambda e: ast.Call("log", (e,), ()), inner),
        )

    return st.recursive(leaves, extend, max_leaves=8)


FACTOR_REFS = _factor_refs()
EXPRESSIONS = _expressions()
TYPES = st.builds(ast.TypeSpec, st.sampled_from(["real", "positive", "binary", "unit"]),
                  st.lists(EXPRESSIONS, max_size=2).map(tuple))


def _statements():
    expr = EXPRESSIONS
    distribution = st.builds(lambda f, a, k: ast.Call(f, tuple(a), tuple(k)), st.sampled_from(["Normal", "Bernoulli"]),
                             st.lists(expr, max_size=2), st.lists(st.builds(ast.Keyword, names, expr), max_size=2))
    signature = st.builds(lambda f, o, g: ast.Signature(f, tuple(map(_name, o)), tuple(map(_name, g))),
                          factor_names, st.lists(names, min_size=1, max_size=2), st.lists(names, max_size=2))
    outputs_single = TYPES.map(lambda t: (False, (ast.NetOutput(None, t),)))
    outputs_named = st.lists(st.builds(ast.NetOutput, names, TYPES), min_size=1, max_size=2).map(
        lambda o: (True, tuple(o)))
    mlp = st.builds(lambda a: ast.Call("MLP", tuple(a), ()), st.lists(numbers.map(lambda t: ast.Number(float(t), t)),
                                                                     max_size=2))
    net = st.builds(lambda n, i, o, b: ast.NetDecl(n, tuple(map(_name, i)), o[1], o[0], b), names,
                    st.lists(names, min_size=1, max_size=2), st.one_of(outputs_single, outputs_named),
                    st.one_of(st.none(), mlp))
    return st.one_of(
        st.builds(ast.ModelDecl, names),
        st.builds(ast.ConstDecl, names, expr),
        st.builds(ast.ParamDecl, names, expr),
        st.builds(ast.WeightDecl, names, TYPES, st.one_of(st.none(), expr, distribution)),
        st.builds(ast.VarDecl, names, TYPES, st.booleans()),
        st.builds(ast.LetDecl, names, expr),
        net,
        st.builds(lambda s, d: ast.FactorDef(s, (d,)), signature, distribution),
        st.builds(lambda s, t: ast.FactorDef(s, tuple(t)), signature, st.lists(FACTOR_REFS, min_size=2, max_size=3)),
        st.builds(lambda s, t, m, k: ast.FactorDef(s, tuple(t), tuple(map(_name, m)), k), signature,
                  st.lists(st.one_of(FACTOR_REFS, distribution), min_size=1, max_size=3),
                  st.lists(names, min_size=1, max_size=2), st.sampled_from(["sum", "int"])),
        st.builds(lambda s, t: ast.FactorDef(s, tuple(t), proportional=True), signature,
                  st.lists(FACTOR_REFS, min_size=1, max_size=3)),
        st.builds(lambda s, t, r: ast.FactorDef(s, (t,), renames=tuple((_name(a), _name(b)) for a, b in r)),
                  signature, FACTOR_REFS, st.lists(st.tuples(names, names), min_size=1, max_size=2)),
        st.builds(ast.LossDef, st.one_of(st.just("loss"), names), expr),
    )


STATEMENTS = _statements()


class Messy:
    """A writer unlike the printer: parenthesizes every operand, spaces at random."""

    def __init__(self, draw):
        self.draw = draw

    def sp(self):
        return self.draw(spaces)

    def expr(self, e):
        s = self.sp
        if isinstance(e, ast.Number):
            return e.text
        if isinstance(e, ast.Name):
            return e.id
        if isinstance(e, ast.Call):
            return self.call(e)
        if isinstance(e, ast.Attribute):
            return f"({self.expr(e.value)}).{e.attr}"
        if isinstance(e, ast.Neg):
            return f"-{s()}({self.expr(e.operand)})"
        if isinstance(e, ast.BinOp):
            return f"({self.expr(e.left)}){s()}{e.op}{s()}({self.expr(e.right)})"
        if isinstance(e, ast.LogDensity):
            return f"log {self.call(e.factor)}"
        if isinstance(e, ast.Expectation):
            options = "".join(f"{s()},{s()}{self.argument(o)}" for o in e.options)
            return f"E_{{{s()}{self.call(e.factor)}{options}{s()}}}[{s()}{self.expr(e.body)}{s()}]"
        if isinstance(e, ast.Functional):
            second = "" if e.second is None else f"{s()}||{s()}{self.call(e.second)}"
            return f"{e.name}[{s()}{self.call(e.first)}{second}]"
        raise TypeError(e)

    def call(self, c):
        s = self.sp
        if c.func == "log" and len(c.args) == 1 and not c.keywords:
            return f"log({self.expr(c.args[0])})"
        parts = [self.argument(a) for a in c.args + c.keywords]
        given = "" if c.given is None else f"{s()}|{s()}" + f"{s()},{s()}".join(n.id for n in c.given)
        return f"{c.func}({s()}{(s() + ',' + s()).join(parts)}{given}{s()})"

    def argument(self, a):
        if isinstance(a, ast.Keyword):
            return f"{a.name}{self.sp()}={self.sp()}{self.expr(a.value)}"
        return self.expr(a)

    def type(self, t):
        if not t.dims:
            return t.support
        return t.support + "[" + ", ".join(self.expr(d) for d in t.dims) + "]"

    def statement(self, st_):
        s = self.sp
        if isinstance(st_, ast.ModelDecl):
            return f"model {st_.name}"
        if isinstance(st_, (ast.ConstDecl, ast.ParamDecl)):
            kw = "const" if isinstance(st_, ast.ConstDecl) else "param"
            return f"{kw} {st_.name}{s()}={s()}{self.expr(st_.value)}"
        if isinstance(st_, ast.WeightDecl):
            init = "" if st_.init is None else f"{s()}={s()}{self.expr(st_.init)}"
            return f"weight {st_.name}{s()}:{s()}{self.type(st_.type)}{init}"
        if isinstance(st_, ast.VarDecl):
            scope = " global" if st_.is_global else ""
            return f"var{scope} {st_.name}{s()}:{s()}{self.type(st_.type)}"
        if isinstance(st_, ast.LetDecl):
            return f"let {st_.name}{s()}={s()}{self.expr(st_.value)}"
        if isinstance(st_, ast.NetDecl):
            if st_.named_outputs:
                out = "(" + ", ".join(f"{o.name}: {self.type(o.type)}" for o in st_.outputs) + ")"
            else:
                out = self.type(st_.outputs[0].type)
            body = "" if st_.body is None else f" = {self.call(st_.body)}"
            return f"net {st_.name}({', '.join(n.id for n in st_.inputs)}){s()}->{s()}{out}{body}"
        if isinstance(st_, ast.FactorDef):
            sig = st_.signature
            given = f"{s()}|{s()}" + ",".join(n.id for n in sig.given) if sig.given else ""
            left = f"{sig.name}({', '.join(n.id for n in sig.outputs)}{given})"
            joiner = self.draw(st.sampled_from([" ", " * ", "*"]))
            marginal = ""
            if st_.marginal_kind is not None:
                marginal = f"{st_.marginal_kind}_{{{s()}" + f"{s()},{s()}".join(n.id for n in st_.marginalized) + f"{s()}}}{s()}"
            if st_.proportional:
                relation = self.draw(st.sampled_from(["propto", "\u221d"]))
                return f"{left} {relation} " + joiner.join(self.call(t) for t in st_.terms)
            if st_.renames:
                pairs = f"{s()},{s()}".join(f"{a.id}{s()}->{s()}{b.id}" for a, b in st_.renames)
                return f"{left}{s()}={s()}{self.call(st_.terms[0])}[{s()}{pairs}{s()}]"
            return f"{left}{s()}={s()}{marginal}" + joiner.join(self.call(t) for t in st_.terms)
        if isinstance(st_, ast.LossDef):
            name = "" if st_.name == "loss" and self.draw(st.booleans()) else f" {st_.name}"
            return f"loss{name}{s()}={s()}{self.expr(st_.value)}"
        raise TypeError(st_)


@st.composite
def programs(draw):
    """(source text, expected statements, comment texts in order)."""
    body = draw(st.lists(STATEMENTS, max_size=6))
    messy = Messy(draw)
    lines, comments = [], []
    for s in body:
        for _ in range(draw(st.integers(0, 2))):
            kind = draw(st.sampled_from(["blank", "comment"]))
            if kind == "blank":
                lines.append(draw(st.sampled_from(["", "  "])))
            else:
                text = "#" + draw(st.text(st.characters(codec="utf-8", exclude_characters="\n\r"), max_size=8)).rstrip()
                lines.append(draw(spaces) + text)
                comments.append(text)
        line = draw(spaces) + messy.statement(s) + draw(spaces)
        if draw(st.booleans()):
            text = "# " + draw(st.from_regex(r"[a-z ]{0,6}", fullmatch=True)).rstrip()
            line += " " + text
            comments.append(text.rstrip())
        lines.append(line)
    return "\n".join(lines) + "\n", tuple(body), comments


def _comment_texts(text):
    return [line[line.index("#"):].rstrip() for line in text.split("\n") if "#" in line]


def _check_round_trip(program, width=LINE_WIDTH):
    source, expected, comments = program
    original = parse(source)
    assert original.statements == expected  # the messy writer and the parser agree
    formatted = format_source(source, width=width)
    assert parse(formatted).statements == original.statements
    assert format_source(formatted, width=width) == formatted
    assert _comment_texts(formatted) == comments


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_fmt_round_trips_and_is_idempotent(program):
    _check_round_trip(program)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_fmt_wrapped_narrow_round_trips_and_is_idempotent(program):
    """At 16 columns nearly every statement with a call wraps, nested groups too."""
    _check_round_trip(program, width=16)


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_fmt_round_trips_and_is_idempotent_many(program):
    _check_round_trip(program)


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.stem)
def test_fmt_on_good_programs(path):
    text = path.read_text()
    formatted = format_source(text)
    assert parse(formatted) == parse(text)
    assert format_source(formatted) == formatted
    assert _comment_texts(formatted) == _comment_texts(text)


def test_canonical_form():
    source = ("# header\n\n\nmodel  M   # the name\nconst K=2\nvar x : real[K,3]\n"
              "p(x , z|y)=p(x|z)*p(z)\n"
              "loss=mean( (a-(b-c)) *(-d)**2 + -(e**f)**g ) # end\n"
              "loss kl = mean(KL[ q(z|x)||p(z) ] + E_{ q(z|x) }[ log p(x|z) ] + H[q(z|x)] + log(2))\n\n# tail\n")
    assert format_source(source) == (
        "# header\n\nmodel M  # the name\nconst K = 2\nvar x: real[K, 3]\n"
        "p(x,z|y) = p(x|z) p(z)\n"
        "loss = mean((a - (b - c)) * (-d) ** 2 + -(e ** f) ** g)  # end\n"
        "loss kl = mean(KL[q(z|x) || p(z)] + E_{q(z|x)}[log p(x|z)] + H[q(z|x)] + log(2))\n\n# tail\n")


def test_comments_inside_a_multiline_statement_move_above_it():
    source = "var x: real\np(x) = Normal(0, 1)\nloss = mean(  # first\n  -log p(x)  # second\n)  # last\n"
    assert format_source(source) == ("var x: real\np(x) = Normal(0, 1)\n# first\n# second\n"
                                     "loss = mean(-log p(x))  # last\n")


def test_numbers_as_written_and_attribute_of_number():
    assert format_source("loss = 1.50e-3 + .5 + 2. + (2).a\n") == "loss = 1.50e-3 + .5 + 2. + (2).a\n"


def test_cli_fmt_prints_and_rewrites_in_place(tmp_path, capsys):
    f = tmp_path / "m.gm"
    f.write_text("var x: binary[4]  # data\np(x)=Bernoulli(probs=0.5)\nloss=mean(-log p(x))\n")
    assert main(["fmt", str(f)]) == 0
    printed = capsys.readouterr().out
    assert printed == "var x: binary[4]  # data\np(x) = Bernoulli(probs=0.5)\nloss = mean(-log p(x))\n"
    assert f.read_text().startswith("var x: binary[4]  # data\np(x)=")  # untouched without -i
    assert main(["fmt", "-i", str(f)]) == 0
    assert f.read_text() == printed and capsys.readouterr().out == ""


def test_cli_fmt_syntax_error_is_located(tmp_path, capsys):
    f = tmp_path / "bad.gm"
    f.write_text("var x: real\nloss = mean(\n")
    assert main(["fmt", str(f)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "Syntax error in 'bad.gm'" in captured.err and "Traceback" not in captured.err


def test_canonical_form_of_let_global_marginals_and_options():
    source = ("var  global w :real[3]\nweight W:real[3]=Normal( 0,scale = 1 )\nlet  L=detach( a )\n"
              "p(x)=sum_{ y , z }p(x|y,z)*p(y) p(z)\nr(x) = int_{z} Normal(z, 1)\n"
              "loss = mean(E_{ q(z|x) ,estimator = reinforce,baseline=none }[ min(a, b) + clamp(c, max=1) ])\n"
              "loss b = -elbo(p(x,z), q(z|x), k = 5) + iwae(p(x,z), q(z|x), k=5) + renyi(p(x,z), q(z|x), alpha=0.5)\n")
    assert format_source(source) == (
        "var global w: real[3]\nweight W: real[3] = Normal(0, scale=1)\nlet L = detach(a)\n"
        "p(x) = sum_{y,z} p(x|y,z) p(y) p(z)\nr(x) = int_{z} Normal(z, 1)\n"
        "loss = mean(E_{q(z|x), estimator=reinforce, baseline=none}[min(a, b) + clamp(c, max=1)])\n"
        "loss b = -elbo(p(x,z), q(z|x), k=5) + iwae(p(x,z), q(z|x), k=5) + renyi(p(x,z), q(z|x), alpha=0.5)\n")


def test_long_statements_wrap_at_argument_commas_with_a_hanging_indent():
    """The last outermost group with separators that opens within the limit breaks, one item per
    line, 4 spaces deeper than its first line; an item still too long breaks again; a statement
    without separators (a long sum) stays on one line."""
    planar = ", ".join(f"Planar(u=enc(x).u{k}, w=enc(x).w{k}, b=enc(x).b{k})" for k in (1, 2))
    source = (f"q(z|x) = Flow(Normal(loc=enc(x).loc, scale=enc(x).scale), {planar})  # flow\n"
              "game g = min_{gen; lr=1e-3} max_{disc; lr=1e-3} JS[p_data(x) || p(x), critic=disc, penalty=1]\n"
              "loss = aaaaaaaaaaaaaaaaaaaa + bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb + ccccccccccccccccccccccccccccccccccccccc\n")
    assert format_source(source, width=60) == (
        "q(z|x) = Flow(\n"
        "    Normal(loc=enc(x).loc, scale=enc(x).scale),\n"
        "    Planar(u=enc(x).u1, w=enc(x).w1, b=enc(x).b1),\n"
        "    Planar(u=enc(x).u2, w=enc(x).w2, b=enc(x).b2))  # flow\n"
        "game g = min_{gen; lr=1e-3} max_{disc; lr=1e-3} JS[\n"
        "    p_data(x) || p(x),\n"
        "    critic=disc,\n"
        "    penalty=1]\n"
        "loss = aaaaaaaaaaaaaaaaaaaa + bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb + ccccccccccccccccccccccccccccccccccccccc\n")
    assert format_source(source, width=40).startswith(
        "q(z|x) = Flow(\n"
        "    Normal(\n"
        "        loc=enc(x).loc,\n"
        "        scale=enc(x).scale),\n")
    formatted = format_source(source, width=40)
    assert parse(formatted).statements == parse(source).statements
    assert format_source(formatted, width=40) == formatted
    assert format_source(source) == format_source(format_source(source, width=40))  # the layout is from the AST
