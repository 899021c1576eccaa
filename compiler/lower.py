"""Lowering: resolve the AST's names and build the graph IR (:class:`gmc.compiler.ir.Model`).

``lower(program)`` returns the model or raises :class:`GmcError` listing every resolution
error it found: undefined or duplicate names, unknown distributions, parameters, supports,
functions and net outputs, right-hand sides that use variables outside their conditioning set.
Semantic checks that need the whole model (conflicts, recursion, supports, shapes) are in
:mod:`gmc.compiler.checks`.
"""
from __future__ import annotations

import math
import operator
import re

from gmc.compiler import diagnostics as diag
from gmc.compiler import ir, recurrence, sequences
from gmc.compiler.families import FAMILIES
from gmc.dsl import ast
from gmc.dsl.limits import MAX_CONSTANT_INTEGER, MAX_SIZE

_FUNCTIONALS = {"KL": 2, "H": 1, "CE": 2}
_CONSTANT_OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "**": operator.pow}
_ESTIMATORS = ("elbo", "iwae", "renyi", "mmd")
#: Each estimator call's written form and keyword options.
_ESTIMATOR_FORMS = {"elbo": "elbo(p(x,z), q(z|x))", "iwae": "iwae(p(x,z), q(z|x), k=K)",
                    "renyi": "renyi(p(x,z), q(z|x), alpha=a, k=K)", "mmd": "mmd(q(z|x), p(z))"}
_ESTIMATOR_OPTIONS = {"elbo": ("estimator", "baseline"), "iwae": ("k", "estimator", "baseline"),
                      "renyi": ("alpha", "k", "estimator", "baseline"), "mmd": ("kernel", "scale")}
_MMD_KERNELS = ("gaussian", "imq")


def lower(program: ast.Program) -> ir.Model:
    """Build the IR of ``program``; raises GmcError with every resolution error found."""
    model, errors = lower_partial(program)
    if errors:
        raise diag.GmcError(errors, program.source, program.filename)
    return model


def lower_partial(program: ast.Program) -> tuple[ir.Model, list[diag.Diagnostic]]:
    """(IR of everything that resolved, resolution errors). A statement with an error is left
    out together with everything that refers to it, so the partial model is consistent and
    the semantic checks can still run on it (independent errors are all reported)."""
    lowering = _Lowering(program)
    model = lowering.run()
    if lowering.errors:
        _prune(model)
    return model, lowering.errors


def _prune(model: ir.Model) -> None:
    """Drop products and losses that refer to a factor which failed to lower."""
    changed = True
    while changed:
        missing = [sig for sig, f in model.factors.items() if any(c not in model.factors for c in f.components)]
        changed = bool(missing)
        for sig in missing:
            del model.factors[sig]
    for name in [n for n, loss in model.losses.items()
                 if any(sig not in model.factors for sig in ir.factor_refs(loss.expr))]:
        del model.losses[name]


def default_model_name(filename: str) -> str:
    """CamelCase of a file stem: ``my_vae.gm`` -> ``MyVae``; ``<string>`` -> ``Model`` (see
    :func:`gmc.compiler.names.class_name_from_stem`)."""
    from gmc.compiler.names import class_name_from_stem

    return class_name_from_stem(filename)


class _Lowering:
    def __init__(self, program: ast.Program):
        self.program = program
        self.errors: list[diag.Diagnostic] = []
        self.model = ir.Model(default_model_name(program.filename), program.filename, program.source)
        self.first_line: dict[tuple[str, str], int] = {}
        self.factor_names: set[str] = set()
        self.all_signatures: list[str] = []
        self.signature_set: frozenset[str] = frozenset()  # all_signatures, for linear-time lookups
        # Names whose declaration already failed: later uses report nothing more.
        self.poisoned: set[str] = set()
        # let NAME = EXPR: the AST of EXPR, expanded at each use (see docs/language.md).
        self.lets: dict[str, ast.Expr] = {}
        # Derived factor definitions not lowered yet, by signature (see lowered_factor).
        self.derived: dict[str, ast.FactorDef] = {}
        self.busy: set[str] = set()
        self.chains: list[ast.FactorDef] = []  # lowered after the step factors (gmc.compiler.sequences)
        self.step_scope = None  # the slots of the step factor being lowered
        # The value of each IR node that is arithmetic of numbers and consts (see arithmetic),
        # by id, beside the node itself, which keeps the id from being reused.
        self.known_values: dict[int, tuple[ir.Expr, float | int]] = {}

    # ---- driver ------------------------------------------------------------------------
    def run(self) -> ir.Model:
        statements = self.program.statements
        factor_defs = [s.signature for s in statements if isinstance(s, ast.FactorDef)]
        self.factor_names = {sig.name for sig in factor_defs}
        self.all_signatures = [self.signature_text(sig) for sig in factor_defs]
        self.signature_set = frozenset(self.all_signatures)
        for kind in (ast.ModelDecl, ast.ConstDecl, ast.ParamDecl, ast.VarDecl, ast.SequenceDecl, ast.WeightDecl,
                     ast.NetDecl, ast.LetDecl, ast.PlateDecl):
            for s in statements:
                if isinstance(s, kind):
                    self.declare(s)
        # Products of experts and renamed factors read other factors' lowered parameters, so
        # they come after the plain definitions (and after each other on demand).
        derived = [s for s in statements if isinstance(s, ast.FactorDef) and (s.proportional or s.renames)]
        for s in statements:
            if isinstance(s, ast.FactorDef) and not (s.proportional or s.renames):
                self.factor(s)
        self.derived = {self.signature_text(s.signature): s for s in derived}
        for s in derived:
            self.lowered_factor(self.signature_text(s.signature))
        for s in statements:  # h[t] = cell(h[t-1], ...) (gmc.compiler.recurrence)
            if isinstance(s, ast.RecurrenceDef):
                recurrence.lower_recurrence(self, s)
        for s in self.chains:  # after the step factors they multiply (gmc.compiler.sequences)
            sequences.lower_chain(self, s)
        order = {sig: i for i, sig in enumerate(self.all_signatures)}
        self.model.factors = dict(sorted(self.model.factors.items(), key=lambda item: order[item[0]]))
        for s in statements:
            if isinstance(s, ast.LossDef):
                self.loss(s)
        from gmc.compiler.adversarial import lower_adversarial

        lower_adversarial(self, statements)
        return self.model

    def error(self, d: diag.Diagnostic) -> None:
        self.errors.append(d)

    def claim(self, what: str, name: str, span: ast.Span) -> bool:
        """Record a top-level name; False (with an error) when it is taken already."""
        key = ("name", name) if what not in ("factor", "loss") else (what, name)
        if key in self.first_line:
            self.error(diag.duplicate_definition(span, what, name, self.first_line[key]))
            return False
        self.first_line[key] = span.line
        return True

    def names_in_scope(self) -> list[str]:
        m = self.model
        return [*m.consts, *m.params, *m.weights, *m.vars, *self.lets, *m.nets]

    # ---- declarations ------------------------------------------------------------------
    def declare(self, s) -> None:
        if isinstance(s, ast.ModelDecl):
            if ("model", "") in self.first_line:
                self.error(diag.duplicate_model(s.span, self.model.name, self.first_line["model", ""]))
            else:
                self.first_line["model", ""] = s.span.line
                self.model.name = s.name
                self.model.name_span = s.span
            return
        if not self.claim(type(s).__name__.removesuffix("Decl").lower(), s.name, s.span):
            return
        errors_before = len(self.errors)
        self.define(s)
        if len(self.errors) > errors_before:
            self.poisoned.add(s.name)

    def define(self, s) -> None:
        """Record a declaration whose name is new."""
        m = self.model
        if isinstance(s, ast.ConstDecl):
            value = self.constant(s.value, f"The value of const '{s.name}'")
            if value is not None:
                m.consts[s.name] = ir.Const(s.name, value, s.span)
        elif isinstance(s, ast.ParamDecl):
            value = self.constant(s.value, f"The default of param '{s.name}'")
            if value is not None:
                m.params[s.name] = ir.Param(s.name, float(value), s.span)
        elif isinstance(s, ast.VarDecl):
            t = self.type_of(s.type)
            if t is not None:
                m.vars[s.name] = ir.Var(s.name, t, s.span, s.is_global)
        elif isinstance(s, ast.WeightDecl):
            t = self.type_of(s.type)
            init, scale = self.weight_init(s)
            if t is not None and init is not None and scale is not None:
                m.weights[s.name] = ir.Weight(s.name, t, float(init), s.span, float(scale))
        elif isinstance(s, ast.NetDecl):
            self.net(s)
        elif isinstance(s, ast.PlateDecl):
            from gmc.compiler.plates import lower_plate

            lower_plate(self, s)
        elif isinstance(s, ast.SequenceDecl):
            sequences.declare_sequence(self, s)
        elif isinstance(s, ast.LetDecl):
            # Resolve once here so mistakes in the body are reported at the definition; a
            # let may use only earlier lets, so expansion cannot recurse forever.
            v = s.value
            whole_net = isinstance(v, ast.Call) and v.func in m.nets and m.nets[v.func].named
            if (self.net_args(v, m.nets[v.func], None) if whole_net else self.expr(v, None)) is not None:
                self.lets[s.name] = v

    def weight_init(self, s: ast.WeightDecl) -> tuple[float | None, float | None]:
        """(mean, noise scale) of a weight's initializer: a constant, or ``Normal(m, s)`` for
        random values (needed to break the symmetry of mixture components)."""
        what = f"The initial value of weight '{s.name}'"
        if s.init is None:
            return 0.0, 0.0
        if isinstance(s.init, ast.Call) and s.init.func == "Normal":
            if s.init.keywords or s.init.given is not None or len(s.init.args) != 2:
                self.error(diag.bad_arguments(s.init.span, "a weight initializer",
                                              "write Normal(mean, scale) with two constants."))
                return None, None
            mean, scale = (self.constant(a, what) for a in s.init.args)
            if scale is not None and scale < 0:
                self.error(diag.not_a_constant(s.init.args[1].span, what))
                return None, None
            return mean, scale
        return self.constant(s.init, what), 0.0

    def constant(self, e: ast.Expr, what: str) -> float | int | None:
        """Evaluate a compile-time constant expression; ints stay ints.

        Values are bounded (docs/language.md, "Limits"): an integer beyond
        :data:`~gmc.dsl.limits.MAX_CONSTANT_INTEGER` in magnitude or a float that is not finite
        is an error, and a power is refused before it is computed when its size (estimated
        with logarithms) is out of range, so ``9**9**9`` fails at once instead of running for
        minutes."""
        if isinstance(e, ast.Number):
            if e.value.is_integer() and re.fullmatch(r"\d+", e.text):
                return self.bounded(int(e.text), e, what)
            return e.value
        if isinstance(e, ast.Name):
            if e.id in self.model.consts:
                return self.model.consts[e.id].value
            if e.id in self.poisoned:
                return None
            self.error(diag.undefined_name(e.span, e.id, self.model.consts) if e.id not in self.names_in_scope()
                       else diag.not_a_constant(e.span, what))
            return None
        if isinstance(e, ast.Neg):
            v = self.constant(e.operand, what)
            return None if v is None else -v
        if isinstance(e, ast.BinOp) and e.op in _CONSTANT_OPS:
            a, b = self.constant(e.left, what), self.constant(e.right, what)
            if a is None or b is None:
                return None
            return self.folded(e.op, a, b, e.span, what)
        self.error(diag.not_a_constant(e.span, what))
        return None

    def bounded(self, value: float | int, e: ast.Expr, what: str) -> float | int | None:
        """``value`` when it is within the constant range, else None with an error at ``e``."""
        if not _in_range(value):
            self.error(diag.constant_out_of_range(e.span, what))
            return None
        return value

    def folded(self, op: str, a: float | int, b: float | int, span: ast.Span, what: str) -> float | int | None:
        """``a op b`` for constants in range, or None with an error: out of range (a power is
        judged before it is computed), or undefined (division by zero, a complex power)."""
        if op == "**" and _power_too_large(a, b):
            self.error(diag.constant_out_of_range(span, what))
            return None
        try:
            value = _CONSTANT_OPS[op](a, b)
        except ZeroDivisionError:
            self.error(diag.undefined_arithmetic(span, what))
            return None
        except OverflowError:
            self.error(diag.constant_out_of_range(span, what))
            return None
        if isinstance(value, complex):
            self.error(diag.undefined_arithmetic(span, what))
            return None
        if not _in_range(value):
            self.error(diag.constant_out_of_range(span, what))
            return None
        return value

    def positive_int(self, e: ast.Expr, what: str) -> int | None:
        value = self.constant(e, what)
        if value is None:
            return None
        if not (isinstance(value, int) or float(value).is_integer()) or value < 1:
            self.error(diag.not_a_positive_integer(e.span, what, value))
            return None
        if value > MAX_SIZE:
            self.error(diag.size_too_large(e.span, what, int(value), MAX_SIZE))
            return None
        return int(value)

    def type_of(self, spec: ast.TypeSpec) -> ir.Type | None:
        if spec.support not in ir.SUPPORTS:
            self.error(diag.unknown_support(spec.span, spec.support, ir.SUPPORTS))
            return None
        dims = [self.positive_int(d, "A dimension") for d in spec.dims]
        if any(d is None for d in dims):
            return None
        t = ir.Type(spec.support, tuple(dims))
        if t.size > MAX_SIZE:
            self.error(diag.size_too_large(spec.span, "The number of elements of this type", t.size, MAX_SIZE))
            return None
        return t

    def net(self, s: ast.NetDecl) -> None:
        self.repeated(s.inputs, f"the inputs of net '{s.name}'")
        seen_outputs: set[str] = set()
        for out in s.outputs:
            if out.name in seen_outputs:
                self.error(diag.duplicate_net_output(out.span, s.name, out.name))
            seen_outputs.add(out.name)
        inputs = []
        for name in s.inputs:
            if self.variable(name) is not None:
                inputs.append(name.id)
        outputs = []
        for out in s.outputs:
            t = self.type_of(out.type)
            if t is not None:
                outputs.append((out.name, t))
        hidden = None
        cell = None
        if s.body is not None and s.body.func in recurrence.CELLS:  # net cell(h, x) -> real[H] = GRU()
            cell = recurrence.lower_cell(self, s)
            hidden = () if cell is not None else None
        elif s.body is not None:
            if s.body.func != "MLP":
                self.error(diag.unknown_net_body(s.body.func_span, s.body.func))
            elif s.body.keywords or s.body.given is not None:
                self.error(diag.bad_arguments(s.body.span, "MLP", "it takes hidden-layer sizes only, as in MLP(256, 256)."))
            else:
                sizes = [self.positive_int(a, "A hidden-layer size") for a in s.body.args]
                hidden = tuple(sizes) if all(x is not None for x in sizes) else None
        if len(inputs) == len(s.inputs) and len(outputs) == len(s.outputs):
            self.model.nets[s.name] = ir.Net(s.name, tuple(inputs), tuple(outputs),
                                             hidden if s.body is not None else None, s.span, cell)

    def repeated(self, names: tuple[ast.Name, ...], where: str) -> bool:
        """Report the second occurrence of a name listed twice; True when there is one."""
        seen: set[str] = set()
        for n in names:
            if n.id in seen:
                self.error(diag.repeated_variable(n.span, n.id, where))
                return True
            seen.add(n.id)
        return False

    def variable(self, name: ast.Name) -> str | None:
        """A name that must be a declared random variable."""
        if name.id in self.model.vars:
            return name.id
        if name.id in self.poisoned:
            return None
        for kind, table in (("const", self.model.consts), ("param", self.model.params),
                            ("weight", self.model.weights), ("net", self.model.nets)):
            if name.id in table:
                self.error(diag.not_a_variable(name.span, name.id, kind))
                return None
        self.error(diag.undefined_name(name.span, name.id, self.model.vars))
        return None

    # ---- factors -----------------------------------------------------------------------
    @staticmethod
    def signature_text(sig: ast.Signature) -> str:
        return ir.signature(sig.name, tuple(map(sequences.item_text, sig.outputs)),
                            tuple(map(sequences.item_text, sig.given)))

    def lowered_factor(self, text: str) -> ir.Factor | None:
        """The IR of factor ``text``, lowering a derived definition (product of experts,
        renaming) first when needed; None when it failed or refers to itself."""
        s = self.derived.pop(text, None)
        if s is not None:
            self.busy.add(text)
            self.factor(s)
            self.busy.discard(text)
        elif text in self.busy:
            self.error(diag.bad_arguments(self.derived_span(text), text,
                                          "a product of experts or renaming cannot refer to itself."))
        return self.model.factors.get(text)

    def derived_span(self, text: str) -> ast.Span:
        return next(s.span for s in self.program.statements
                    if isinstance(s, ast.FactorDef) and self.signature_text(s.signature) == text)

    def factor(self, s: ast.FactorDef) -> None:
        if sequences.is_step(s):
            return sequences.lower_step(self, s)
        if sequences.is_chain(s):
            return self.chains.append(s)
        sig = s.signature
        outputs = [self.variable(n) for n in sig.outputs]
        given = [self.variable(n) for n in sig.given]
        if None in outputs or None in given:
            return
        text = ir.signature(sig.name, tuple(outputs), tuple(given))
        if self.repeated(sig.outputs + sig.given, text):
            return
        if not self.claim("factor", text, sig.span):
            return
        first = s.terms[0]
        if s.proportional or s.renames:
            from gmc.compiler.experts import lower_product_of_experts
            from gmc.compiler.renaming import lower_rename

            build = lower_product_of_experts if s.proportional else lower_rename
            factor = build(self, s, sig.name, tuple(outputs), tuple(given), text)
            if factor is not None:
                self.model.factors[text] = factor
            return
        if s.marginalized:
            marginalized = [self.variable(n) for n in s.marginalized]
            refs = [self.factor_ref(t) for t in s.terms]
            if None not in refs and None not in marginalized:
                self.model.factors[text] = ir.Factor(sig.name, tuple(outputs), tuple(given), components=tuple(refs),
                                                     span=s.span, marginalized=tuple(marginalized),
                                                     marginal_kind=s.marginal_kind)
            return
        if len(s.terms) == 1 and first.func == "Flow" and first.func not in self.factor_names:
            from gmc.compiler.transforms.lower import lower_flow

            factor = lower_flow(self, first, sig.name, tuple(outputs), tuple(given), text, s.span)
        elif len(s.terms) == 1 and first.func not in self.factor_names:
            factor = self.distribution(first, sig.name, tuple(outputs), tuple(given), text, s.span)
        else:
            refs = [self.factor_ref(t) for t in s.terms]
            if None in refs:
                return
            factor = ir.Factor(sig.name, tuple(outputs), tuple(given), components=tuple(refs), span=s.span)
        if factor is not None:
            self.model.factors[text] = factor

    def distribution(self, call: ast.Call, name, outputs, given, text, span) -> ir.Factor | None:
        family = FAMILIES.get(call.func)
        if family is None:
            self.error(diag.unknown_distribution(call.func_span, call.func, FAMILIES))
            return None
        if call.given is not None:
            self.error(diag.bad_arguments(call.span, family.name, "'|' belongs in factors, not distribution calls."))
            return None
        if len(outputs) != 1:
            self.error(diag.distribution_defines_one_variable(span, text, family.name))
            return None
        if len(call.args) > len(family.params):
            self.error(diag.bad_arguments(call.span, family.name,
                                          f"it takes at most {len(family.params)} positional arguments "
                                          f"({', '.join(family.param_names)})."))
            return None
        named: dict[str, tuple[ast.Expr, ast.Span]] = {}
        for spec, arg in zip(family.params, call.args):
            named[spec.name] = (arg, arg.span)
        ok = True
        for kw in call.keywords:
            if kw.name not in family.param_names:
                self.error(diag.unknown_parameter(kw.name_span, family.name, kw.name, family.param_names))
                ok = False
            elif kw.name in named:
                self.error(diag.bad_arguments(kw.span, family.name, f"'{kw.name}' is given twice."))
                ok = False
            else:
                named[kw.name] = (kw.value, kw.span)
        if not ok:
            return None
        choice = family.complete(frozenset(named))
        if choice is None:
            self.error(diag.missing_parameter(call.span, family.name, family.describe_choices()))
            return None
        params = []
        for pname in family.param_names:
            if pname in named:
                value = self.expr(named[pname][0], _Scope(given, outputs, text))
                if value is None:
                    return None
                params.append((pname, value))
            elif pname in choice:
                params.append((pname, ir.Num(family.param(pname).default, span=call.span)))
        return ir.Factor(name, outputs, given, family=family.name, params=tuple(params), span=span)

    def factor_ref(self, call: ast.Call) -> str | None:
        """Resolve ``p(x|z)`` to the signature of a defined factor."""
        names = list(call.args) + list(call.given or ())
        if call.keywords or not all(isinstance(a, ast.Name) for a in names):
            self.error(diag.factor_arguments_must_be_variables(call.span))
            return None
        text = ir.signature(call.func, tuple(a.id for a in call.args), tuple(a.id for a in call.given or ()))
        if text not in self.signature_set:
            self.error(diag.undefined_factor(call.span, text, self.all_signatures))
            return None
        return text

    # ---- losses ------------------------------------------------------------------------
    def loss(self, s: ast.LossDef) -> None:
        if not self.claim("loss", s.name, s.name_span):
            return
        value = self.expr(s.value, None)
        if value is not None:
            self.model.losses[s.name] = ir.Loss(s.name, value, s.span)

    # ---- expressions -------------------------------------------------------------------
    def expr(self, e: ast.Expr, scope: "_Scope | None") -> ir.Expr | None:
        """Resolve an expression. ``scope`` limits the variables a factor's parameters may
        use; None (a loss) allows every variable and the functionals."""
        span = e.span
        if isinstance(e, ast.Number):
            return self.known(ir.Num(e.value, span=span), e.value)
        if isinstance(e, ast.Indexed):
            return sequences.indexed_ref(self, e, scope)
        if isinstance(e, ast.Name):
            value = self.name(e, scope)
            return self.known(value, value.value) if isinstance(value, ir.ConstRef) else value
        if isinstance(e, ast.Neg):
            operand = self.expr(e.operand, scope)
            if operand is None:
                return None
            return self.arithmetic(ir.Neg(operand, span=span), "-", 0, self.known_value(operand))
        if isinstance(e, ast.BinOp):
            left, right = self.expr(e.left, scope), self.expr(e.right, scope)
            if left is None or right is None:
                return None
            return self.arithmetic(ir.BinOp(e.op, left, right, span=span), e.op, self.known_value(left),
                                   self.known_value(right))
        if isinstance(e, ast.Attribute):
            return self.net_output(e, scope)
        if isinstance(e, ast.Call):
            return self.call(e, scope)
        if scope is not None:
            self.error(diag.bad_arguments(span, "a distribution", "log-densities, expectations and divergences "
                                                                  "belong in losses, not in factor parameters."))
            return None
        if isinstance(e, ast.LogDensity):
            sig = self.factor_ref(e.factor)
            return None if sig is None else ir.LogProb(sig, span=span)
        if isinstance(e, ast.Expectation):
            sig = self.factor_ref(e.factor)
            body = self.expr(e.body, None)
            how = self.expectation_options(e)
            return None if sig is None or body is None or how is None else ir.Expect(sig, body, how, span=span)
        if isinstance(e, ast.Functional):
            return self.functional(e)
        raise AssertionError(f"unhandled AST node {type(e).__name__}")

    def known(self, node: ir.Expr, value: float | int) -> ir.Expr:
        """``node``, remembered to have the value the generated code computes for it: an
        integral number below 1e15 is a Python int there (see the emitter's ``_literal``)."""
        exact = int(value) if float(value).is_integer() and abs(value) < 1e15 else float(value)
        self.known_values[id(node)] = (node, exact)
        return node

    def known_value(self, node: ir.Expr) -> float | int | None:
        """The value of ``node`` when it is arithmetic of numbers and consts, else None."""
        known = self.known_values.get(id(node))
        return None if known is None else known[1]

    def arithmetic(self, node: ir.Expr, op: str, a, b) -> ir.Expr | None:
        """``node`` (``a op b``, or ``-b`` when op is '-' and a is 0). Arithmetic of numbers and
        consts in an expression is evaluated here as the generated code will evaluate it, with
        the bounds of ``const`` (so ``9**9**9 * x`` fails now instead of hanging at run time).
        The node itself is kept as written, for LaTeX."""
        if a is None or b is None:
            return node
        value = self.folded(op, a, b, node.span, "This arithmetic of numbers")
        if value is None:
            return None
        self.known_values[id(node)] = (node, value)
        return node

    def name(self, e: ast.Name, scope: "_Scope | None") -> ir.Expr | None:
        m = self.model
        if e.id in self.lets:
            return self.expr(self.lets[e.id], scope)
        if e.id in m.consts:
            return ir.ConstRef(e.id, m.consts[e.id].value, span=e.span)
        if e.id in m.params:
            return ir.ParamRef(e.id, span=e.span)
        if e.id in m.weights:
            return ir.WeightRef(e.id, span=e.span)
        if e.id in m.vars:
            if scope is not None and e.id not in scope.given:
                if e.id in scope.outputs:
                    self.error(diag.self_dependency(e.span, e.id, scope.signature))
                else:
                    self.error(diag.out_of_scope(e.span, e.id, scope.signature, scope.given))
                return None
            return ir.VarRef(e.id, span=e.span)
        if e.id in self.poisoned:
            return None
        if e.id in m.nets:
            self.error(diag.bad_arguments(e.span, f"net '{e.id}'", f"call it, as in {e.id}(...)."))
            return None
        self.error(diag.undefined_name(e.span, e.id, self.names_in_scope()))
        return None

    def net_output(self, e: ast.Attribute, scope) -> ir.Expr | None:
        if isinstance(e.value, ast.Name) and e.value.id in self.poisoned:
            return None
        if isinstance(e.value, ast.Name) and e.value.id in self.lets:  # let h = enc(x); h.loc
            return self.net_output(ast.Attribute(self.lets[e.value.id], e.attr, span=e.span,
                                                 attr_span=e.attr_span), scope)
        if not (isinstance(e.value, ast.Call) and e.value.func in self.model.nets):
            if isinstance(e.value, ast.Call) and e.value.func not in self.names_in_scope():
                self.error(diag.undefined_name(e.value.func_span, e.value.func, self.model.nets))
            else:
                self.error(diag.bad_arguments(e.span, "'.'", "only a net's named outputs can be selected, "
                                                             "as in enc(x).loc."))
            return None
        net = self.model.nets[e.value.func]
        names = [n for n, _ in net.outputs if n is not None]
        if e.attr not in names:
            self.error(diag.unknown_net_output(e.attr_span, net.name, e.attr, names))
            return None
        args = self.net_args(e.value, net, scope)
        return None if args is None else ir.NetCall(net.name, args, e.attr, span=e.span)

    def net_args(self, call: ast.Call, net: ir.Net, scope) -> tuple[ir.Expr, ...] | None:
        if call.keywords or call.given is not None:
            self.error(diag.bad_arguments(call.span, f"net '{net.name}'", "it takes its inputs by position."))
            return None
        if len(call.args) != len(net.inputs):
            self.error(diag.net_input_mismatch(call.span, net.name, len(net.inputs), len(call.args), net.inputs))
            return None
        args = [self.expr(a, scope) for a in call.args]
        return None if None in args else tuple(args)

    def call(self, e: ast.Call, scope) -> ir.Expr | None:
        m = self.model
        if e.func in self.poisoned:
            return None
        if e.func in m.nets:
            net = m.nets[e.func]
            if net.named:
                self.error(diag.net_needs_attribute(e.span, net.name, [n for n, _ in net.outputs]))
                return None
            args = self.net_args(e, net, scope)
            return None if args is None else ir.NetCall(net.name, args, None, span=e.span)
        if e.func in ir.ELEMENTWISE or e.func in ir.REDUCTIONS:
            if len(e.args) != 1 or e.keywords or e.given is not None:
                self.error(diag.bad_arguments(e.span, f"{e.func}(...)", "it takes exactly one argument."))
                return None
            if e.func in ir.REDUCTIONS and scope is not None:
                self.error(diag.bad_arguments(e.span, f"{e.func}(...)", "batch reductions belong in losses."))
                return None
            arg = self.expr(e.args[0], scope)
            return None if arg is None else ir.Apply(e.func, (arg,), span=e.span)
        if e.func in ir.ELEMENTWISE_N or e.func in ir.EVENT_REDUCTIONS:
            arity = {**ir.ELEMENTWISE_N, **ir.EVENT_REDUCTIONS}[e.func]
            if len(e.args) != arity or e.keywords or e.given is not None:
                form = {"clamp": "clamp(x, low, high)", "sum_event": "sum_event(e)",
                        "mean_event": "mean_event(e)"}.get(e.func, f"{e.func}(a, b)")
                self.error(diag.bad_arguments(e.span, f"{e.func}(...)", f"write {form}."))
                return None
            args = [self.expr(a, scope) for a in e.args]
            return None if None in args else ir.Apply(e.func, tuple(args), span=e.span)
        if e.func in _ESTIMATORS and scope is None:
            return self.estimator(e)
        if e.func in self.factor_names:
            self.error(diag.bad_arguments(e.span, f"factor '{e.func}(...)'",
                                          "a factor is not a value; use log p(...), E_{q(...)}[...] or KL[...]."))
            return None
        known = [*m.nets, *ir.ELEMENTWISE, *ir.ELEMENTWISE_N, *ir.EVENT_REDUCTIONS, *ir.REDUCTIONS,
                 *(_ESTIMATORS if scope is None else ())]
        self.error(diag.unknown_function(e.func_span, e.func, known))
        return None

    def estimator(self, e: ast.Call) -> ir.Expr | None:
        """``elbo``, ``iwae``, ``renyi`` and ``mmd`` calls: two factors, then keyword options."""
        if len(e.args) != 2 or e.given is not None:
            self.error(diag.bad_arguments(e.span, f"{e.func}(...)", f"write {_ESTIMATOR_FORMS[e.func]}."))
            return None
        refs = []
        for a in e.args:
            if not isinstance(a, ast.Call):
                self.error(diag.not_a_factor_reference(a.span, _text(self.program.source, a.span)))
                return None
            refs.append(self.factor_ref(a))
        keywords = {kw.name: kw for kw in e.keywords}
        for kw in e.keywords:
            if kw.name not in _ESTIMATOR_OPTIONS[e.func]:
                self.error(diag.bad_arguments(kw.span, f"{e.func}(...)", f"unknown option '{kw.name}'."))
                return None
        if None in refs:
            return None
        if e.func == "mmd":
            return self.mmd(e, refs, keywords)
        how = self.estimation(f"{e.func}(...)", keywords, multi_sample=e.func != "elbo")
        if how is None:
            return None
        if e.func == "elbo":
            return ir.Elbo(refs[0], refs[1], how, span=e.span)
        for needed, example in (("k", "k=50"), *((("alpha", "alpha=0.5"),) if e.func == "renyi" else ())):
            if needed not in keywords:
                what = "the number of samples" if needed == "k" else "the order alpha"
                self.error(diag.bad_arguments(e.span, f"{e.func}(...)", f"give {what}, as in {example}."))
                return None
        k = self.positive_int(keywords["k"].value, "The number of samples k")
        if k is None:
            return None
        if e.func == "iwae":
            return ir.Iwae(refs[0], refs[1], k, how, span=e.span)
        alpha = self.constant(keywords["alpha"].value, "The order alpha of renyi(...)")
        return None if alpha is None else ir.Renyi(refs[0], refs[1], k, float(alpha), how, span=e.span)

    def mmd(self, e: ast.Call, refs: list[str], keywords: dict) -> ir.Expr | None:
        kernel = "gaussian"
        if "kernel" in keywords:
            kernel = self.option_name(keywords["kernel"], "mmd(...)", _MMD_KERNELS)
            if kernel is None:
                return None
        scale = None
        if "scale" in keywords:
            scale = self.constant(keywords["scale"].value, "The kernel scale of mmd(...)")
            if scale is None:
                return None
            if not scale > 0:
                self.error(diag.bad_arguments(keywords["scale"].span, "mmd(...)",
                                              f"the kernel scale must be positive, got {scale:g}."))
                return None
        return ir.Mmd(refs[0], refs[1], kernel, None if scale is None else float(scale), span=e.span)

    def expectation_options(self, e: ast.Expectation) -> ir.Estimation | None:
        """``E_{q, estimator=..., baseline=...}``: keyword options only."""
        keywords = {}
        for option in e.options:
            if not isinstance(option, ast.Keyword):
                self.error(diag.bad_arguments(option.span, "E_{...}", "options are written as keywords, as in "
                                                                      "E_{q(z|x), estimator=reinforce}[...]."))
                return None
            if option.name not in ("estimator", "baseline"):
                self.error(diag.bad_arguments(option.span, "E_{...}", f"unknown option '{option.name}'."))
                return None
            keywords[option.name] = option
        return self.estimation("E_{...}", keywords, multi_sample=False)

    def estimation(self, what: str, keywords: dict, multi_sample: bool) -> ir.Estimation | None:
        from gmc.compiler.estimation import BASELINES, METHODS, MULTI_SAMPLE_METHODS

        method, baseline = "auto", "auto"
        if "estimator" in keywords:
            method = self.option_name(keywords["estimator"], what, MULTI_SAMPLE_METHODS if multi_sample else METHODS)
        if "baseline" in keywords:
            baseline = self.option_name(keywords["baseline"], what, BASELINES)
        if method is None or baseline is None:
            return None
        return ir.Estimation(method, baseline)

    def option_name(self, kw: ast.Keyword, what: str, allowed) -> str | None:
        """The value of an option that takes a bare word (``estimator=reinforce``)."""
        value = kw.value
        text = value.id if isinstance(value, ast.Name) else _text(self.program.source, value.span)
        if not isinstance(value, ast.Name) or value.id not in allowed:
            self.error(diag.bad_option_value(value.span, what, kw.name, text, allowed))
            return None
        return value.id

    def functional(self, e: ast.Functional) -> ir.Expr | None:
        arity = _FUNCTIONALS.get(e.name)
        if arity is None:
            self.error(diag.unknown_functional(e.name_span, e.name))
            return None
        given = 1 if e.second is None else 2
        if given != arity:
            form = f"{e.name}[a || b]" if arity == 2 else f"{e.name}[a]"
            self.error(diag.bad_arguments(e.span, e.name, f"write {form}."))
            return None
        first = self.factor_ref(e.first)
        second = self.factor_ref(e.second) if e.second is not None else None
        if first is None or (arity == 2 and second is None):
            return None
        if e.name == "H":
            return ir.Entropy(first, span=e.span)
        return (ir.KL if e.name == "KL" else ir.CrossEntropy)(first, second, span=e.span)


class _Scope:
    """The variables a factor's right-hand side may use."""

    def __init__(self, given, outputs, signature):
        self.given, self.outputs, self.signature = tuple(given), tuple(outputs), signature


def _in_range(value: float | int) -> bool:
    return abs(value) <= MAX_CONSTANT_INTEGER if isinstance(value, int) else math.isfinite(value)


def _power_too_large(base: float | int, exponent: float | int) -> bool:
    """True when ``base ** exponent`` would exceed the constant range, judged from
    ``exponent * log2(|base|)`` without computing the power (exact integer powers of large
    exponents take time and memory that grow with the result)."""
    if exponent <= 0 or abs(base) <= 1:
        return False
    return exponent * math.log2(abs(base)) > math.log2(MAX_CONSTANT_INTEGER) + 1


def _text(source: str, span: ast.Span) -> str:
    lines = source.splitlines()
    if span.line < 1 or span.line > len(lines):
        return ""
    line = lines[span.line - 1]
    return line[span.column - 1: span.end_column if span.end_line == span.line else None]
