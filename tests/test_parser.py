"""The parser builds the AST during lark's LALR parse; spans come from the tokens each rule sees.

The golden transcripts of bad programs pin the spans of error messages; these tests pin the
span rules themselves (brackets belong to the enclosing expression's span) and the coverage
of the callbacks (a grammar rule without one would leak a lark Tree into the AST).
"""
from __future__ import annotations

from gmc.dsl import ast
from gmc.dsl.parser import _parser, _ToAst, parse


def _let_value(source: str):
    program = parse("var x: real\n" + source + "\n")
    return program.statements[-1].value


def test_every_rule_that_builds_a_node_has_a_callback():
    # lark splices rules named with a leading underscore (its repetition helpers) into their
    # parent, and passes a ?rule's single child through
    named = {rule.alias or rule.origin.name for rule in _parser().rules
             if not (rule.options.expand1 and len(rule.expansion) == 1 and not rule.alias)}
    named = {name for name in named if not name.startswith("_")}
    assert named <= set(vars(_ToAst)), named - set(vars(_ToAst))


def test_brackets_are_inside_the_enclosing_span_not_the_inner_one():
    product = _let_value("let a = (x + 1) * x")
    assert isinstance(product, ast.BinOp) and product.op == "*"
    assert (product.span.column, product.span.end_column) == (9, 19)  # from '(' to the last x
    assert (product.left.span.column, product.left.span.end_column) == (10, 14)  # x + 1


def test_unary_plus_is_the_operand_with_the_sign_in_the_enclosing_span():
    total = _let_value("let a = +x - 2")
    assert isinstance(total.left, ast.Name)
    assert (total.span.column, total.left.span.column) == (9, 10)


def test_statement_spans_run_from_keyword_to_closing_bracket():
    program = parse("var z: real[2]\nq(z) = Normal(0,\n  1)\n")
    var, factor = program.statements
    assert (var.span.column, var.span.end_column) == (1, 14)
    assert (factor.span.line, factor.span.column, factor.span.end_line, factor.span.end_column) == (2, 1, 3, 4)


def test_deeply_nested_expression_parses_without_recursion():
    depth = 5000
    value = _let_value("let a = " + "(" * depth + "x" + ")" * depth)
    assert isinstance(value, ast.Name) and value.id == "x"
