"""Lower IR expressions to straight-line torch statements inside one generated method.

:class:`Emitter` walks an expression with an :class:`Env` (which Python name holds each
variable, the batch shape, the particle count) and emits statements into a
:class:`FunctionBuilder`, memoizing net calls, samples, log-densities and divergences so
each is computed once (common-subexpression elimination). Closed forms come from
:mod:`gmc.compiler.symbolic`; a KL or entropy without one is estimated by Monte Carlo
with the same reparameterized sample the rest of the loss uses.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import sympy as sp

from gmc.compiler import ir, symbolic
from gmc.compiler.codegen.builder import FunctionBuilder
from gmc.compiler.codegen.samplers import SAMPLERS
from gmc.compiler.codegen.vectorize import product_parts
from gmc.compiler.symbolic.functions import Scalar
from gmc.compiler.types import constant_value, infer

_ATOM, _POWER, _UNARY, _MUL, _ADD = 100, 90, 80, 70, 60
_MAX_PLUS_CHAIN = 256
_BINARY_PRECEDENCE = {"+": _ADD, "-": _ADD, "*": _MUL, "/": _MUL, "@": _MUL, "**": _POWER}
_TORCH_FUNCTIONS = {
    "exp": "torch.exp({})", "log": "torch.log({})", "softplus": "F.softplus({})",
    "sigmoid": "torch.sigmoid({})", "tanh": "torch.tanh({})", "relu": "torch.relu({})",
    "softmax": "torch.softmax({}, dim=-1)", "log_softmax": "torch.log_softmax({}, dim=-1)",
    "sqrt": "torch.sqrt({})", "abs": "torch.abs({})",
}


@dataclass(frozen=True)
class Env:
    """Where values live while emitting: variable -> Python name, plus shape information.

    ``batch`` is code for the batch shape; ``ref`` names a tensor with the right dtype and
    device; ``particles`` is K inside ``iwae`` and ``particle_vars`` the variables that carry
    the leading K dimension."""

    bindings: tuple[tuple[str, str], ...]
    batch: str
    ref: str
    particles: int | None = None
    particle_vars: frozenset[str] = frozenset()

    @cached_property
    def _names(self) -> dict[str, str]:
        # Built once per Env: lookups stay O(1) as a long chain binds thousands of variables.
        return dict(self.bindings)

    def name(self, var: str) -> str:
        return self._names[var]

    def bind(self, var: str, name: str, with_particles: bool) -> "Env":
        if var in self._names:
            bindings = tuple((k, v) for k, v in self.bindings if k != var) + ((var, name),)
        else:
            bindings = self.bindings + ((var, name),)
        pv = self.particle_vars | {var} if with_particles else self.particle_vars - {var}
        bound = replace(self, bindings=bindings, particle_vars=pv)
        bound.__dict__["_names"] = {**self._names, var: name}  # a C-level copy, not a rebuild
        return bound

    def key(self, variables) -> tuple:
        b = self._names
        return tuple((v, b.get(v)) for v in variables) + (self.particles,)


class Emitter:
    def __init__(self, model: ir.Model, fb: FunctionBuilder):
        self.model = model
        self.fb = fb

    # ---- plain values ------------------------------------------------------------------
    def value(self, e: ir.Expr, env: Env) -> tuple[str, int]:
        """Code for ``e`` and its precedence (to parenthesize only where Python needs it)."""
        if isinstance(e, (ir.Num, ir.ConstRef)):
            return _literal(e.value), _ATOM if e.value >= 0 else _UNARY
        if isinstance(e, ir.ParamRef):
            return self.param(e.name), _ATOM
        if isinstance(e, ir.WeightRef):
            return f"self.{e.name}", _ATOM
        if isinstance(e, ir.VarRef):
            return env.name(e.name), _ATOM
        if isinstance(e, ir.NetCall):
            return self.net_output(e, env), _ATOM
        if isinstance(e, ir.Neg):
            code, prec = self.value(e.operand, env)
            return "-" + _wrap(code, prec, _UNARY), _UNARY
        if isinstance(e, ir.BinOp):
            prec = _BINARY_PRECEDENCE[e.op]
            left, lp = self.value(e.left, env)
            right, rp = self.value(e.right, env)
            # ** is right-associative; - and / are not associative on the right.
            left_needed = prec + 1 if e.op == "**" else prec
            right_needed = prec if e.op == "**" else prec + 1
            return f"{_wrap(left, lp, left_needed)} {e.op} {_wrap(right, rp, right_needed)}", prec
        if isinstance(e, ir.Apply):
            arg, _ = self.value(e.args[0], env)
            if not self.is_tensor(e.args[0]):
                arg = f"torch.as_tensor({arg}, dtype={env.ref}.dtype)"
            if e.func in ir.REDUCTIONS:
                return f"{arg if _is_name(arg) else '(' + arg + ')'}.{e.func}()", _ATOM
            return _TORCH_FUNCTIONS[e.func].format(arg), _ATOM
        return self.functional(e, env), _ATOM

    def is_tensor(self, e: ir.Expr) -> bool:
        return any(isinstance(n, (ir.VarRef, ir.NetCall, ir.WeightRef, ir.LogProb, ir.Expect, ir.KL, ir.Entropy,
                                  ir.CrossEntropy, ir.Elbo, ir.Iwae, ir.Apply)) for n in ir.walk(e))

    def param(self, name: str) -> str:
        key = ("param", name)
        if key not in self.fb.memo:
            self.fb.lines.insert(0, f"{name} = self.{name} if {name} is None else {name}")
            self.fb.memo[key] = name
        return name

    def net_output(self, call: ir.NetCall, env: Env) -> str:
        args = tuple(self.value(a, env)[0] for a in call.args)
        key = ("net", call.net, args)
        if key not in self.fb.memo:
            net = self.model.nets[call.net]
            if net.named:
                names = [self.fb.ns.fresh(f"{net.name}_{out}") for out, _ in net.outputs]
                targets = ", ".join(names) if len(names) > 1 else f"({names[0]},)"
                self.fb.emit(f"{targets} = self.{net.name}({', '.join(args)})", call.span)
                self.fb.memo[key] = dict(zip((o for o, _ in net.outputs), names))
            else:
                base = f"{net.name}_{args[0]}" if len(args) == 1 and _is_name(args[0]) else f"{net.name}_out"
                name = self.fb.assign(base, f"self.{net.name}({', '.join(args)})", call.span)
                self.fb.memo[key] = {None: name}
        return self.fb.memo[key][call.output]

    # ---- distributions -----------------------------------------------------------------
    def params(self, leaf: ir.Factor, env: Env) -> dict[str, sp.Expr]:
        """The leaf's parameters as sympy: numbers for constants, symbols for tensors."""
        out = {}
        for pname, expr in leaf.params:
            constant = constant_value(expr)
            if constant is not None:
                out[pname] = sp.Integer(int(constant)) if float(constant).is_integer() else sp.Float(constant)
                continue
            code, _ = self.value(expr, env)
            if not _is_name(code):
                code = self.fb.assign(f"{leaf.name}_{pname}", code, leaf.span)
            out[pname] = sp.Symbol(code) if self.is_tensor(expr) else Scalar(code)
        return out

    def log_prob(self, sig: str, env: Env) -> str:
        """Name of a [*particles, *batch] tensor holding log ``sig`` at the bound values."""
        factor = self.model.factors[sig]
        key = ("log_prob", sig, env.key(factor.variables))
        if key in self.fb.memo:
            return self.fb.memo[key]
        if factor.is_product:
            parts = product_parts(self, sig, env)  # repeated leaves: one stacked term per group
            # Python's compiler recurses once per "+" of a chain: past a few thousand terms it
            # overflows, so long products sum a flat tuple instead (same additions, in order).
            total = " + ".join(parts) if len(parts) <= _MAX_PLUS_CHAIN else f"sum(({', '.join(parts)}))"
            name = self.fb.assign(f"log_{_mangle(sig)}", total, factor.span)
        else:
            var = factor.outputs[0]
            expr, rule = symbolic.log_density(factor.family, sp.Symbol(env.name(var)), self.params(factor, env))
            name = self.fb.assign(f"log_{_mangle(sig)}", self.event_sum(expr, var, env, factor.family), factor.span,
                                  rule)
        self.fb.memo[key] = name
        return name

    def event_sum(self, expr: sp.Expr, var: str, env: Env, family: str) -> str:
        """Code summing an element-wise sympy expression over ``var``'s event dimensions.

        For a family of event rank 1 the expression already reduced the last axis to size 1."""
        var_type = self.model.vars[var].type
        shape = var_type.shape
        code = symbolic.to_torch(expr)
        if not expr.free_symbols:
            count = var_type.size // (shape[-1] if symbolic.FORMULAS[family].event_rank and shape else 1)
            return (f"torch.full({self.sample_shape(env)}, {count} * ({code}), dtype={env.ref}.dtype, "
                    f"device={env.ref}.device)")
        if not shape:
            return code
        dims = "-1" if len(shape) == 1 else "(" + ", ".join(str(-i) for i in range(len(shape), 0, -1)) + ")"
        return f"({code}).sum({dims})"

    def sample_shape(self, env: Env, extra: tuple[int, ...] = ()) -> str:
        parts = [f"({env.particles},)"] if env.particles else []
        parts.append(env.batch)
        if extra:
            parts.append("(" + ", ".join(map(str, extra)) + ",)")
        return " + ".join(parts)

    def sample(self, sig: str, env: Env) -> Env:
        """Emit a draw of ``sig``'s variables (ancestral order); returns env with them bound."""
        factor = self.model.factors[sig]
        key = ("sample", sig, env.key(factor.given))
        if key in self.fb.memo:
            bound = env
            for var, name, particles in self.fb.memo[key]:
                bound = bound.bind(var, name, particles)
            return bound
        drawn = []
        for leaf in ir.ancestral_order(self.model, sig):
            env = self.sample_leaf(leaf, env)
            var = leaf.outputs[0]
            drawn.append((var, env.name(var), var in env.particle_vars))
        self.fb.memo[key] = drawn
        return env

    def sample_leaf(self, leaf: ir.Factor, env: Env) -> Env:
        var = self.model.vars[leaf.outputs[0]]
        params = self.params(leaf, env)
        codes = {k: symbolic.to_torch(v) for k, v in params.items()}
        # A parameter with one value per example fixes the sample's shape.
        full = next((codes[p] for p, e in leaf.params
                     if self.depends_on_batch(e) and infer(self.model, e).shape == var.type.shape), None)
        needs_particles = env.particles is not None and not set(leaf.given) & env.particle_vars
        if needs_particles:
            like = None
            shape = f"({env.particles},) + {full}.shape" if full else self.sample_shape(env, var.type.shape)
        else:
            like = full
            shape = "" if full else self.sample_shape(env, var.type.shape)
        code = SAMPLERS[leaf.family](codes, like, shape, env.ref)
        name = self.fb.assign(var.name, code, leaf.span,
                              f"[{env.particles}, batch, ...]" if env.particles else None)
        return env.bind(var.name, name, env.particles is not None)

    def depends_on_batch(self, e: ir.Expr) -> bool:
        return any(isinstance(n, (ir.VarRef, ir.NetCall)) for n in ir.walk(e))

    # ---- functionals -------------------------------------------------------------------
    def functional(self, e: ir.Expr, env: Env) -> str:
        if isinstance(e, ir.LogProb):
            return self.log_prob(e.factor, env)
        if isinstance(e, ir.Expect):
            code, _ = self.value(e.body, self.sample(e.factor, env))
            return code
        if isinstance(e, ir.KL):
            return self.kl(e, env)
        if isinstance(e, ir.Entropy):
            return self.entropy(e, env)
        if isinstance(e, ir.CrossEntropy):
            inner = self.sample(e.first, env)
            return self.fb.assign(f"ce_{_short(e.first)}_{_short(e.second)}",
                                  f"-{self.log_prob(e.second, inner)}", e.span, "Monte Carlo, one sample")
        if isinstance(e, ir.Elbo):
            inner = self.sample(e.posterior, env)
            return self.fb.assign("elbo", self.log_ratio(e.joint, e.posterior, inner), e.span,
                                  "Monte Carlo, one sample")
        if isinstance(e, ir.Iwae):
            return self.iwae(e, env)
        raise AssertionError(f"unhandled IR node {type(e).__name__}")

    def log_ratio(self, numerator: str, denominator: str, env: Env) -> str:
        """Code for log numerator - log denominator at the values bound in ``env``."""
        return f"{self.log_prob(numerator, env)} - {self.log_prob(denominator, env)}"

    def closed_pair(self, first: str, second: str) -> tuple[ir.Factor, ir.Factor] | None:
        a, b = self.model.factors[first], self.model.factors[second]
        if a.is_product or b.is_product or not symbolic.has_closed_kl(a.family, b.family):
            return None
        return a, b

    def kl(self, e: ir.KL, env: Env) -> str:
        key = ("kl", e.first, e.second, env.key(self.model.factors[e.first].given + self.model.factors[e.second].given))
        if key in self.fb.memo:
            return self.fb.memo[key]
        base = f"kl_{_short(e.first)}_{_short(e.second)}"
        pair = self.closed_pair(e.first, e.second)
        if pair is not None:
            a, b = pair
            expr, rule = symbolic.kl(a.family, self.params(a, env), b.family, self.params(b, env))
            name = self.fb.assign(base, self.event_sum(expr, a.outputs[0], env, a.family), e.span,
                                  f"closed form: {rule}")
        else:
            inner = self.sample(e.first, env)
            name = self.fb.assign(base, self.log_ratio(e.first, e.second, inner), e.span, "Monte Carlo, one sample")
        self.fb.memo[key] = name
        return name

    def entropy(self, e: ir.Entropy, env: Env) -> str:
        f = self.model.factors[e.factor]
        key = ("entropy", e.factor, env.key(f.given))  # like KL: H[q] written twice is computed once
        if key in self.fb.memo:
            return self.fb.memo[key]
        closed = None if f.is_product else symbolic.entropy(f.family, self.params(f, env))
        if closed is not None:
            expr, rule = closed
            name = self.fb.assign(f"entropy_{_short(e.factor)}", self.event_sum(expr, f.outputs[0], env, f.family),
                                  e.span, f"closed form: {rule}")
        else:
            inner = self.sample(e.factor, env)
            name = self.fb.assign(f"entropy_{_short(e.factor)}", f"-{self.log_prob(e.factor, inner)}", e.span,
                                  "Monte Carlo, one sample")
        self.fb.memo[key] = name
        return name

    def iwae(self, e: ir.Iwae, env: Env) -> str:
        particles = replace(env, particles=e.k)
        inner = self.sample(e.posterior, particles)
        weights = self.fb.assign("log_w", self.log_ratio(e.joint, e.posterior, inner), e.span,
                                 f"[{e.k}, batch] log importance weights")
        return self.fb.assign("iwae", f"torch.logsumexp({weights}, dim=0) - math.log({e.k})", e.span,
                              "Burda et al. 2016, eq. 8")


def _literal(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


def _wrap(code: str, precedence: int, needed: int) -> str:
    return code if precedence >= needed else f"({code})"


def _is_name(code: str) -> bool:
    return code.replace("_", "a").replace(".", "a").isalnum() and not code[0].isdigit()


def _mangle(sig: str) -> str:
    """``q(z|x)`` -> ``q_z_given_x``; ``p(x,z)`` -> ``p_x_z``."""
    return sig.replace("|", "_given_").replace(",", "_").replace("(", "_").replace(")", "")


def _short(sig: str) -> str:
    return sig.split("(")[0]
