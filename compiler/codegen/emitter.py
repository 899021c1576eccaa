"""Lower IR expressions to straight-line torch statements inside one generated method.

:class:`Emitter` walks an expression with an :class:`Env` (which Python name holds each
variable, the batch shape, the particle count) and emits statements into a
:class:`FunctionBuilder`, memoizing net calls, samples, log-densities and divergences so
each is computed once (common-subexpression elimination). Closed forms come from
:mod:`gmc.compiler.symbolic`; a KL or entropy without one is estimated by Monte Carlo
with the same reparameterized sample the rest of the loss uses.
"""
from __future__ import annotations

import re
from dataclasses import replace

import sympy as sp

from gmc.compiler import ir, symbolic
from gmc.compiler.codegen import broadcast, factor_kinds, marginal, text
from gmc.compiler.codegen.env import Env
from gmc.compiler.codegen.builder import FunctionBuilder
from gmc.compiler.codegen.samplers import SAMPLERS, noise
from gmc.compiler.codegen.samplers.transforms import location_scale
from gmc.compiler.families import FAMILIES
from gmc.compiler.symbolic.constants import UndefinedConstant, ir_number
from gmc.compiler.symbolic.functions import Scalar, number
from gmc.compiler.symbolic.vector import is_tensor
from gmc.compiler.marginals import enumerated_expectation
from gmc.compiler.names import mangle
from gmc.compiler.symbolic.vector import with_category_count
from gmc.compiler.types import ShapeError, constant_value, infer, matmul_shape
from gmc.compiler.types import broadcast as broadcast_shapes

_ATOM, _POWER, _UNARY, _MUL, _ADD = 100, 90, 80, 70, 60
_MAX_CHAIN = 200
_TENSOR_NODES = (ir.VarRef, ir.NetCall, ir.WeightRef, ir.LogProb, ir.Expect, ir.KL, ir.Entropy, ir.CrossEntropy,
                 ir.Elbo, ir.Iwae, ir.Renyi, ir.Mmd, ir.Apply, ir.FlowBaseKL, ir.FlowResidual)
_BINARY_PRECEDENCE = {"+": _ADD, "-": _ADD, "*": _MUL, "/": _MUL, "@": _MUL, "**": _POWER}
_TORCH_FUNCTIONS = {
    "exp": "torch.exp({})", "log": "torch.log({})", "softplus": "F.softplus({})",
    "sigmoid": "torch.sigmoid({})", "tanh": "torch.tanh({})", "relu": "torch.relu({})",
    "softmax": "torch.softmax({}, dim=-1)", "log_softmax": "torch.log_softmax({}, dim=-1)",
    "sqrt": "torch.sqrt({})", "abs": "torch.abs({})", "detach": "{}.detach()",
    # produced by rewrites (gmc.compiler.rewrites.stable)
    "log1p": "torch.log1p({})", "xlogy": "torch.xlogy({}, {})", "logsumexp": "torch.logsumexp(torch.flatten({}), 0)",
}
#: Element-wise functions of several arguments: on tensors, and on plain numbers (params).
_TORCH_FUNCTIONS_N = {"min": "torch.minimum({}, {})", "max": "torch.maximum({}, {})", "clamp": "torch.clamp({}, {}, {})"}
_PYTHON_FUNCTIONS_N = {"min": "min({}, {})", "max": "max({}, {})", "clamp": "min(max({}, {}), {})"}


def _receiver(code: str) -> str:
    """``code`` as the receiver of a method call (``code.sum(-1)``): as it is when it is a
    name or one call (``rt.bernoulli_nll(x, h)``), in brackets otherwise."""
    name = re.match(r"[A-Za-z_][\w.]*", code)
    if name is None:
        return f"({code})"
    rest, depth = code[name.end():], 0
    if not rest:
        return code
    if rest[0] == "(":
        for i, char in enumerate(rest):
            depth += (char == "(") - (char == ")")
            if depth == 0:
                return code if i == len(rest) - 1 else f"({code})"
    return f"({code})"


#: Families whose samplers call torch functions or tensor methods on their parameters.
_TENSOR_PARAM_SAMPLERS = frozenset({"Bernoulli"})


class Emitter:
    def __init__(self, model: ir.Model, fb: FunctionBuilder, extras=None):
        """``extras`` (:class:`~gmc.compiler.codegen.estimators.Extras`) collects the class
        attributes estimators need (baselines); only loss methods pass one."""
        self.model = model
        self.fb = fb
        self.extras = extras
        # Per-node facts, keyed by id() with the node kept alive beside its fact: asking them
        # of every operand of a chain of N terms must cost O(N) in all, not O(N^2).
        self._facts: dict[tuple, tuple[ir.Expr, object]] = {}

    def for_model(self, model: ir.Model) -> "Emitter":
        """An emitter of ``model`` (e.g. the per-step model of a sequence) that writes into the
        same method and collects into the same extras as this one."""
        return Emitter(model, self.fb, self.extras)

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
            # Python's compiler recurses once per operator of a chain and overflows past a few
            # thousand (at import of the generated module): every _MAX_CHAIN operators the
            # chain so far is assigned to a name (same operations, same order).
            run = self._facts.get(("chain", id(e.left)), (None, 0))[1] + 1
            self._facts["chain", id(e)] = (e, run)
            if run % _MAX_CHAIN == 0:
                left, lp = self.fb.assign("chain", left, e.span), _ATOM
            right, rp = self.value(e.right, env)
            if e.op == "@":
                return broadcast.matmul(self, e, (left, lp), (right, rp), env)
            left, lp = broadcast.operand(self, e.left, left, lp, e, env)
            right, rp = broadcast.operand(self, e.right, right, rp, e, env)
            identity = self._identity_param(e)
            if identity is not None:  # beta * kl with beta at its default 1.0: kl itself at run time
                other = (right, rp) if identity is e.left else (left, lp)
                return f"rt.scaled({self.param(identity.name)}, {other[0]})", _ATOM
            # ** is right-associative; - and / are not associative on the right.
            left_needed = prec + 1 if e.op == "**" else prec
            right_needed = prec if e.op == "**" else prec + 1
            return f"{_wrap(left, lp, left_needed)} {e.op} {_wrap(right, rp, right_needed)}", prec
        if isinstance(e, ir.Apply) and e.func in ir.ELEMENTWISE_N:
            return self.elementwise_n(e, env), _ATOM
        if isinstance(e, ir.Apply) and e.func in ir.EVENT_REDUCTIONS:
            return self.event_reduction(e, env), _ATOM
        if isinstance(e, ir.Apply):
            args = []
            for a in e.args:
                code, _ = self.value(a, env)
                args.append(code if self.is_tensor(a) else f"torch.as_tensor({code}, dtype={env.ref}.dtype)")
            if e.func in ir.REDUCTIONS:
                arg = args[0]
                if e.func == "sum" and env.plate is not None:
                    from gmc.compiler.plates import scaled_sum

                    return scaled_sum(_receiver(arg), self.param(env.plate)), _ATOM
                return f"{_receiver(arg)}.{e.func}()", _ATOM
            if e.func == "detach":
                return f"{_receiver(args[0])}.detach()", _ATOM
            return _TORCH_FUNCTIONS[e.func].format(*args), _ATOM
        if isinstance(e, ir.Expect):
            var = enumerated_expectation(self.model, e.factor)
            if var is not None and env.particles is None:
                return marginal.expect_enumerated(self, e, var, env), _ATOM
            from gmc.compiler.codegen import estimators

            return estimators.expect(self, e, env)
        return self.functional(e, env), _ATOM

    def elementwise_n(self, e: ir.Apply, env: Env) -> str:
        """min/max/clamp: plain Python on numbers (params), ``torch.clamp`` with number bounds,
        ``torch.minimum``/``torch.maximum`` between tensors."""
        # Arguments with fewer event axes than the result get them after their batch axes, as
        # the operands of binary operators do (min(x, s) with x: real[3], s: real).
        codes = [broadcast.operand(self, a, *self.value(a, env), e, env)[0] for a in e.args]
        tensors = [self.is_tensor(a) for a in e.args]
        if not any(tensors):
            return _PYTHON_FUNCTIONS_N[e.func].format(*codes)
        if e.func in ("min", "max") and tensors.count(True) == 1:
            tensor, number = (codes[0], codes[1]) if tensors[0] else (codes[1], codes[0])
            return f"torch.clamp({tensor}, {'max' if e.func == 'min' else 'min'}={number})"
        if e.func == "clamp" and not any(tensors[1:]):
            return f"torch.clamp({codes[0]}, {codes[1]}, {codes[2]})"
        codes = [c if t else f"torch.as_tensor({c}, dtype={env.ref}.dtype, device={env.ref}.device)"
                 for c, t in zip(codes, tensors)]
        return _TORCH_FUNCTIONS_N[e.func].format(*codes)

    def event_reduction(self, e: ir.Apply, env: Env) -> str:
        """``sum_event``/``mean_event`` over every event axis of their argument, ``dot`` over the
        last axis of its broadcast operands: per example, never over batch axes."""
        if e.func == "dot":
            rank = len(infer(self.model, e).shape) + 1
            a, b = (broadcast.to_rank(self, x, *self.value(x, env), rank, env) for x in e.args)
            return f"({_wrap(a[0], a[1], _MUL)} * {_wrap(b[0], b[1], _MUL + 1)}).sum(-1)"
        code, _ = self.value(e.args[0], env)
        rank = len(infer(self.model, e.args[0]).shape)
        dims = "-1" if rank == 1 else "(" + ", ".join(str(-i) for i in range(rank, 0, -1)) + ")"
        return f"{_receiver(code)}.{e.func.removesuffix('_event')}({dims})"

    def is_tensor(self, e: ir.Expr) -> bool:
        """True when the code of ``e`` is a tensor: some node is a variable, weight, net output,
        functional or element-wise function of one argument. ``min``, ``max`` and ``clamp`` of
        numbers and params stay Python numbers (:meth:`elementwise_n`), so they count only
        through their arguments (``relu(min(1, a))`` wraps ``min(1, a)`` in ``torch.as_tensor``)."""
        return self.any_node(e, "tensor", lambda n: isinstance(n, _TENSOR_NODES) and not (
            isinstance(n, ir.Apply) and n.func in ir.ELEMENTWISE_N))

    def any_node(self, e: ir.Expr, fact, test) -> bool:
        """Whether ``test`` holds for some node of ``e``, memoized per node under ``fact``
        (a hashable key that must identify ``test``), computed bottom-up without recursion."""
        facts = self._facts
        stack = [(e, False)]
        while stack:
            node, children_done = stack.pop()
            if (fact, id(node)) in facts:
                continue
            children = ir.children(node)
            if children_done or not children:
                holds = test(node) or any(facts[fact, id(c)][1] for c in children)
                facts[fact, id(node)] = (node, holds)
            else:
                stack.append((node, True))
                stack.extend((c, False) for c in children)
        return facts[fact, id(e)][1]

    def shape(self, e: ir.Expr) -> tuple[int, ...]:
        """The event shape of ``e`` (:func:`gmc.compiler.types.infer`), memoized along chains
        of binary operators and negations. Raises ShapeError as ``infer`` does."""
        facts = self._facts
        spine = []
        node = e
        while ("shape", id(node)) not in facts and isinstance(node, (ir.BinOp, ir.Neg)):
            spine.append(node)
            node = node.left if isinstance(node, ir.BinOp) else node.operand
        if ("shape", id(node)) not in facts:
            facts["shape", id(node)] = (node, infer(self.model, node).shape)
        for node in reversed(spine):
            if isinstance(node, ir.Neg):
                shape = facts["shape", id(node.operand)][1]
            else:
                left, right = facts["shape", id(node.left)][1], self.shape(node.right)
                shape = matmul_shape(left, right) if node.op == "@" else broadcast_shapes(left, right)
                if shape is None:
                    raise ShapeError(node, left, right)
            facts["shape", id(node)] = (node, shape)
        return facts["shape", id(e)][1]

    def _identity_param(self, e: ir.BinOp) -> "ir.ParamRef | None":
        """The operand of a product ``param * tensor`` (either order) that is a param whose
        default is 1.0, the identity of ``*``; None otherwise. It is printed as
        ``rt.scaled(param, tensor)``, which skips the multiply while the param is left at
        that default, and multiplies whenever it is overridden (construction, call, schedule)."""
        if e.op != "*":
            return None
        for side, other in ((e.left, e.right), (e.right, e.left)):
            param = self.model.params.get(side.name) if isinstance(side, ir.ParamRef) else None
            if param is not None and param.default == 1.0 and self.is_tensor(other):
                return side
        return None

    def param(self, name: str) -> str:
        key = ("param", name)
        if key not in self.fb.memo:
            self.fb.lines.insert(0, f"{name} = self.{name} if {name} is None else {name}")
            self.fb.memo[key] = name
        return name

    def net_output(self, call: ir.NetCall, env: Env) -> str:
        """Name of the net's output; one call per net and inputs in a method. Pre-activations
        (built-in MLPs only) come from a call of ``pre_activation``, memoized apart."""
        args = tuple(self.value(a, env)[0] for a in call.args)
        key = ("net", call.net, args, call.pre_activation)
        if key not in self.fb.memo:
            net = self.model.nets[call.net]
            method, suffix = (".pre_activation", "_logits") if call.pre_activation else ("", "")
            invocation = f"self.{net.name}{method}({', '.join(args)})"
            if net.named:
                names = [self.fb.ns.fresh(f"{net.name}_{out}{suffix}") for out, _ in net.outputs]
                targets = ", ".join(names) if len(names) > 1 else f"({names[0]},)"
                self.fb.emit(f"{targets} = {invocation}", call.span)
                self.fb.memo[key] = dict(zip((o for o, _ in net.outputs), names))
            else:
                base = f"{net.name}_{args[0]}" if len(args) == 1 and _is_name(args[0]) else f"{net.name}_out"
                name = self.fb.assign(base + suffix, invocation, call.span)
                self.fb.memo[key] = {None: name}
        return self.fb.memo[key][call.output]

    # ---- distributions -----------------------------------------------------------------
    def params(self, leaf: ir.Factor, env: Env) -> dict[str, sp.Expr]:
        """The leaf's parameters as sympy: numbers for constants, symbols for tensors."""
        out = {}
        for pname, expr in leaf.params:
            constant = constant_value(expr)
            if constant is not None:
                out[pname] = number(constant)
                continue
            folded = None if self.is_tensor(expr) else ir_number(expr)
            if folded is not None:  # 1.0 + 0.0: folded and checked like a literal, not math code at run time
                out[pname] = folded
                continue
            if isinstance(expr, ir.Apply) and expr.func == "exp" and self.is_tensor(expr):
                # scale = exp(s): keep s, so log(scale) is s itself, never log(exp(s))
                code = self._named(expr.args[0], f"{leaf.name}_log_{pname}", leaf.span, env)
                out[pname] = sp.exp(sp.Symbol(broadcast.aligned(self, code, expr, leaf, env), real=True))
                continue
            code = broadcast.aligned(self, self._named(expr, f"{leaf.name}_{pname}", leaf.span, env), expr, leaf, env)
            positive = ir.within(FAMILIES[leaf.family].param(pname).support, "positive")
            assumptions = {"positive": True} if positive else {}
            out[pname] = sp.Symbol(code, **assumptions) if self.is_tensor(expr) else Scalar(code, **assumptions)
        return out

    def _named(self, expr: ir.Expr, base: str, span, env: Env) -> str:
        """A name holding ``expr``'s value: one assignment per distinct code in a method, so a
        parameter that two factors, or a KL and a draw of one factor, share (``softplus(s)``)
        is computed once. Parameter code is deterministic and names are never rebound, so
        equal code means an equal value."""
        code, _ = self.value(expr, env)
        if _is_name(code):
            return code
        key = ("named", code)
        if key not in self.fb.memo:
            self.fb.memo[key] = self.fb.assign(base, code, span)
        return self.fb.memo[key]

    def log_prob(self, sig: str, env: Env) -> str:
        """Name of a [*particles, *batch] tensor holding log ``sig`` at the bound values."""
        try:
            return self._log_prob(sig, env)
        except UndefinedConstant as error:
            error.locate(self.model.factors[sig].span)
            raise

    def _log_prob(self, sig: str, env: Env) -> str:
        factor = self.model.factors[sig]
        key = ("log_prob", sig, env.key(factor.variables))
        if key in self.fb.memo:
            return self.fb.memo[key]
        code, comment = factor_kinds.kind_of(self.model, sig).log_density(self, sig, env)
        name = self.fb.assign(f"log_{mangle(sig)}", code, factor.span, comment)
        self.fb.memo[key] = name
        return name

    def leaf_log_density(self, factor: ir.Factor, value: str, env: Env) -> tuple[str, str]:
        """Code of the log-density of ``factor``'s family at the tensor named ``value``, summed
        over the event, and its reference (for a flow: of its base distribution)."""
        var = factor.outputs[0]
        from_noise = self._noise_log_density(factor, value, env)
        if from_noise is not None:
            return from_noise, "Gaussian density, from the reparameterization noise"
        density = symbolic.log_density_code(factor.family, sp.Symbol(value), self.params(factor, env))
        shape = self.model.vars[var].type.shape
        if shape and not symbolic.FORMULAS[factor.family].event_rank and value in density.names:
            # constants (log(2 pi)/2) are added once to the sum, times the event size, not to
            # every element: one full-size op fewer, forward and backward
            hoisted = density.hoisted(self.model.vars[var].type.size, symbolic.to_torch)
            # a constant printed as a float64 tensor (a param through a stable torch form) stays
            # element-wise: added to a 0-dim float32 sum it would promote the result to float64
            if hoisted is not None and "torch." not in hoisted[1]:
                summed = self.event_sum_code(hoisted[0], True, False, var, env, factor.family, value)
                return _plus(summed, hoisted[1]), density.reference
        code = self.event_sum_code(density.code, density.tensor, value not in density.names, var, env,
                                   factor.family, value)
        return code, density.reference

    def event_sum(self, expr: sp.Expr, var: str, env: Env, family: str, value: str | None = None,
                  hoist: bool = False) -> str:
        """Code summing an element-wise sympy expression over ``var``'s event dimensions.

        For a family of event rank 1 the expression already reduced the last axis to size 1.
        ``value`` names the tensor a log-density is evaluated at; a density that does not
        depend on it (Uniform: -log(high - low)) is broadcast to its shape first."""
        lacks_value = value is not None and sp.Symbol(value) not in expr.free_symbols
        shape = self.model.vars[var].type.shape
        if symbolic.FORMULAS[family].event_rank and shape:
            expr = with_category_count(expr, shape[-1])
        elif hoist and shape and expr.is_Add and not lacks_value:  # constants once per sum (leaf_log_density)
            constant = [t for t in expr.args if not is_tensor(t)]
            constant_code = symbolic.to_torch(self.model.vars[var].type.size * sp.Add(*constant)) if constant else ""
            if constant and len(constant) < len(expr.args) and "torch." not in constant_code:  # see above
                tensor = sp.Add(*(t for t in expr.args if is_tensor(t)))
                summed = self.event_sum_code(symbolic.to_torch(tensor), True, False, var, env, family, value)
                return _plus(summed, constant_code)
        return self.event_sum_code(symbolic.to_torch(expr), is_tensor(expr), lacks_value, var, env, family, value)

    def event_sum_code(self, code: str, tensor: bool, lacks_value: bool, var: str, env: Env, family: str,
                       value: str | None = None) -> str:
        """:meth:`event_sum` from the expression's code and what it mentions: ``tensor``, a
        tensor symbol; ``lacks_value``, not the value ``value`` it is evaluated at."""
        var_type = self.model.vars[var].type
        shape = var_type.shape
        if not tensor:  # numbers and params only: one value per event, same in every example
            count = var_type.size // (shape[-1] if symbolic.FORMULAS[family].event_rank and shape else 1)
            return (f"torch.full({self.sample_shape(env, (), self.model.vars[var].is_global)}, {count} * ({code}), "
                    f"dtype={env.ref}.dtype, "
                    f"device={env.ref}.device)")
        if lacks_value:
            code = f"{code} + torch.zeros_like({value})"
        if not shape:
            return code
        dims = "-1" if len(shape) == 1 else "(" + ", ".join(str(-i) for i in range(len(shape), 0, -1)) + ")"
        if code.startswith("-") and _receiver(code[1:]) == code[1:]:
            # -f(...).sum(): negating the sum, one value per example, instead of every element
            # (exact: the negated terms add to the negated sum bit for bit)
            return f"{code}.sum({dims})"
        return f"{_receiver(code)}.sum({dims})"

    def sample_shape(self, env: Env, extra: tuple[int, ...] = (), is_global: bool = False) -> str:
        parts = [f"({env.particles},)"] if env.particles else []
        batch = env.global_batch if is_global else env.batch
        if batch != "()" or not extra and not parts:
            parts.append(batch)
        if extra:
            parts.append("(" + ", ".join(map(str, extra)) + ",)")
        return " + ".join(parts)

    def sample(self, sig: str, env: Env) -> Env:
        """Emit a draw of ``sig``'s variables (ancestral order); returns env with them bound."""
        factor = self.model.factors[sig]
        key = ("sample", sig, env.key(factor.given))
        if key in self.fb.memo:
            return env.bind_all(self.fb.memo[key])
        whole = factor_kinds.kind_of(self.model, sig).sample
        if whole is not None:
            bound = whole(self, sig, env)
            self.fb.memo[key] = [(v, bound.name(v), False) for v in (*factor.outputs, *factor.marginalized)]
            return bound
        # One private env grows in place as the leaves are drawn: binding through copies would
        # make sampling a chain of N factors quadratic in N.
        names, carried = dict(env.names), set(env.particle_vars)
        growing = replace(env, names=names, particle_vars=carried)
        drawn = []
        for leaf in ir.ancestral_order(self.model, sig):
            var, name = self.sample_leaf(leaf, growing)
            names[var] = name
            (carried.add if env.particles is not None else carried.discard)(var)
            drawn.append((var, name, env.particles is not None))
        self.fb.memo[key] = drawn
        return replace(env, names=names, particle_vars=frozenset(carried))

    def sample_leaf(self, leaf: ir.Factor, env: Env) -> tuple[str, str]:
        """Emit a draw of one distribution factor; (its variable, the Python name of the draw)."""
        var = self.model.vars[leaf.outputs[0]]
        params = self.params(leaf, env)
        try:
            codes = {k: symbolic.to_torch(v) for k, v in params.items()}
        except UndefinedConstant as error:
            error.locate(leaf.span)
            raise
        # A param is a Python float: samplers that call tensor methods on their parameters
        # (torch.sigmoid(logits).expand(...)) get it as a tensor of the model's dtype.
        if leaf.family in _TENSOR_PARAM_SAMPLERS:
            codes = {k: (f"torch.as_tensor({codes[k]}, dtype={env.ref}.dtype, device={env.ref}.device)"
                         if v.free_symbols and not is_tensor(v) else codes[k]) for k, v in params.items()}
        # A parameter with one value per example fixes the sample's shape.
        full = next((codes[p] for p, e in leaf.params
                     if self.depends_on_batch(e) and infer(self.model, e).shape == var.type.shape), None)
        needs_particles = env.particles is not None and not set(leaf.given) & env.particle_vars
        if needs_particles:
            like = None
            shape = (f"({env.particles},) + {full}.shape" if full
                     else self.sample_shape(env, var.type.shape, var.is_global))
        else:
            like = full
            shape = "" if full else self.sample_shape(env, var.type.shape, var.is_global)
        if leaf.family == "Normal" and env.particles is not None and not leaf.flow:
            return var.name, self._sample_normal_particles(leaf, codes, noise("randn", like, shape, env.ref), env)
        code = SAMPLERS[leaf.family](codes, like, shape, env.ref)
        if leaf.flow:
            from gmc.compiler.transforms import codegen as flows

            return var.name, flows.sample(self, leaf, env, code)
        name = self.fb.assign(var.name, code, leaf.span,
                              f"[{env.particles}, batch, ...]" if env.particles else None)
        return var.name, name

    def _sample_normal_particles(self, leaf: ir.Factor, codes: dict[str, str], draw: str, env: Env) -> str:
        """Emit a particle draw loc + scale * eps of a Normal leaf with its noise eps named, so
        that the log-density at the draw reuses it (:meth:`_noise_log_density`); the name."""
        eps = self.fb.assign(f"eps_{leaf.outputs[0]}", draw, leaf.span, f"[{env.particles}, batch, ...]")
        name = self.fb.assign(leaf.outputs[0], location_scale(codes["loc"], codes["scale"], eps), leaf.span)
        self.fb.memo["noise", name] = (eps, codes["loc"], codes["scale"])
        return name

    def _noise_log_density(self, factor: ir.Factor, value: str, env: Env) -> str | None:
        """Code of log N(value; loc, scale) summed over the event, from the noise eps that drew
        ``value`` = loc + scale * eps in this method with the same loc and scale:
        ``-0.5*(eps**2).sum() - log(scale).sum() - n log(2 pi)/2``. It is the same function of
        loc, scale and eps as the density at the draw (so the same value, and the same
        gradients, to rounding), without recomputing (value - loc)^2 / (2 scale^2) per
        particle; scale's log is summed at its own shape and constants are added once. None
        when ``value`` was not drawn so, or the scale lacks the whole event shape."""
        noise = self.fb.memo.get(("noise", value))
        if noise is None or factor.family != "Normal":
            return None
        eps, loc_code, scale_code = noise
        params = self.params(factor, env)
        if (symbolic.to_torch(params["loc"]), symbolic.to_torch(params["scale"])) != (loc_code, scale_code):
            return None
        var = self.model.vars[factor.outputs[0]]
        shape, scale = var.type.shape, params["scale"]
        scale_tensor = is_tensor(scale)
        if scale_tensor and self.shape(dict(factor.params)["scale"]) != shape:
            return None
        count = var.type.size
        dims = "" if not shape else "-1" if len(shape) == 1 else \
            "(" + ", ".join(str(-i) for i in range(len(shape), 0, -1)) + ")"
        total = f"-0.5*{eps}**2" if not shape else f"-0.5*({eps}**2).sum({dims})"
        if scale_tensor:
            total += f" - torch.log({scale_code})" + (f".sum({dims})" if shape else "")
        constant = count * (-sp.log(2 * sp.pi) / 2 - (0 if scale_tensor else sp.log(scale)))
        return _plus(total, symbolic.to_torch(constant))

    def depends_on_batch(self, e: ir.Expr) -> bool:
        return any(isinstance(n, (ir.VarRef, ir.NetCall)) for n in ir.walk(e))

    # ---- functionals -------------------------------------------------------------------
    def functional(self, e: ir.Expr, env: Env) -> str:
        try:
            return self._functional(e, env)
        except UndefinedConstant as error:
            error.locate(e.span)
            raise

    def _functional(self, e: ir.Expr, env: Env) -> str:
        from gmc.compiler.codegen import estimators

        special = estimators.emit(self, e, env)
        if special is not None:
            return special
        if isinstance(e, ir.LogProb):
            return self.log_prob(e.factor, env)
        if isinstance(e, ir.KL):
            return self.kl(e, env)
        if isinstance(e, ir.Entropy):
            return self.entropy(e, env)
        if isinstance(e, ir.CrossEntropy):
            return self.cross_entropy(e, env)
        if isinstance(e, (ir.Elbo, ir.Iwae)) and e.joint in self.model.step_products:  # over time: one loop
            from gmc.compiler.codegen import recurrent

            return recurrent.functional(self, e, env)
        if isinstance(e, ir.Elbo):
            return self.monte_carlo(e.posterior, env, lambda inner: self.log_ratio(e.joint, e.posterior, inner),
                                    e.estimator, e.span, "elbo")
        if isinstance(e, ir.Iwae):
            return self.iwae(e, env)
        if isinstance(e, (ir.FlowBaseKL, ir.FlowResidual)):  # the flow ELBO's terms (rewrites/elbo.py)
            from gmc.compiler.transforms.codegen import ELBO_TERMS

            return ELBO_TERMS[type(e)](self, e, env)
        raise AssertionError(f"unhandled IR node {type(e).__name__}")

    def monte_carlo(self, sig: str, env: Env, body, how: ir.Estimation, span, base: str) -> str:
        """Name of a one-sample estimate of E_sig[body(env)] (body gives code), with the
        gradient estimator ``how`` resolves to (see :mod:`gmc.compiler.codegen.estimators`)."""
        from gmc.compiler.codegen import estimators

        name, _ = estimators.monte_carlo(self, sig, env, lambda inner: (body(inner), _ADD), how, span, base,
                                         comment="Monte Carlo, one sample")
        return name

    def log_ratio(self, numerator: str, denominator: str, env: Env) -> str:
        """Code for log numerator - log denominator at the values bound in ``env``."""
        return f"{self.log_prob(numerator, env)} - {self.log_prob(denominator, env)}"

    def closed_form(self, kind: str, signatures: tuple[str, ...], env: Env) -> "tuple[ir.Factor, symbolic.Derivation] | None":
        """The derived closed form of ``kind`` ("kl", "cross_entropy" or "entropy") over single
        distributions, with the factor whose variable it sums over; None when not closed."""
        factors = [self.model.factors[s] for s in signatures]
        if any(f.is_product or f.flow for f in factors):  # a flow's KL and entropy: Monte Carlo
            return None
        args = [a for f in factors for a in (f.family, self.params(f, env))]
        derivation = getattr(symbolic, kind)(*args)
        return None if derivation is None else (factors[0], derivation)

    def divergence(self, kind: str, e: ir.Expr, signatures: tuple[str, ...], base: str, env: Env) -> str:
        """A KL, cross-entropy or entropy term: closed form where derivable, else one-sample
        Monte Carlo with the reparameterized sample the rest of the loss uses."""
        given = tuple(v for s in signatures for v in self.model.factors[s].given)
        key = (kind, signatures, env.key(given))
        if key in self.fb.memo:
            return self.fb.memo[key]
        closed = self.closed_form(kind, signatures, env)
        if closed is not None:
            leaf, derivation = closed
            note = f" ({derivation.note})" if derivation.note else ""
            code = self.event_sum(derivation.expr, leaf.outputs[0], env, leaf.family,
                                  hoist=self._event_shaped(signatures, leaf.outputs[0]))
            if self._batch_free(signatures, env):  # one value per example all the same: sum(...) counts each
                code = f"{_receiver(code)}.expand({self.sample_shape(env)})"
            name = self.fb.assign(base, code, e.span, f"closed form: {derivation.reference}{note}")
        else:
            body = {"kl": lambda inner: self.log_ratio(signatures[0], signatures[-1], inner),
                    "cross_entropy": lambda inner: f"-{self.log_prob(signatures[-1], inner)}",
                    "entropy": lambda inner: f"-{self.log_prob(signatures[0], inner)}"}[kind]
            name = self.monte_carlo(signatures[0], env, body, ir.AUTO, e.span, base)
        self.fb.memo[key] = name
        return name

    def _event_shaped(self, signatures: tuple[str, ...], var: str) -> bool:
        """True when every tensor parameter of the factors has ``var``'s whole event shape, so
        every tensor term of their closed form does, and its constant terms may be added once
        to the sum, times the event size."""
        shape = self.model.vars[var].type.shape
        return all(self.shape(expr) == shape for s in signatures for _, expr in self.model.factors[s].params
                   if self.is_tensor(expr))

    def _batch_free(self, signatures: tuple[str, ...], env: Env) -> bool:
        """True when a per-example divergence's closed form has tensors but no batch axes (its
        factors' parameters are weights, numbers and params) although its variable is drawn
        per example, so its value must be spread over the batch (all-number closed forms are
        already made batch-shaped by :meth:`event_sum_code`)."""
        factors = [self.model.factors[s] for s in signatures]
        if any(self.model.vars[v].is_global for f in factors for v in f.outputs):
            return False
        tensors = [expr for f in factors for _, expr in f.params if self.is_tensor(expr)]
        return bool(tensors) and not any(broadcast.has_leading_axes(self.model, expr, env) for expr in tensors)

    def kl(self, e: ir.KL, env: Env) -> str:
        return self.divergence("kl", e, (e.first, e.second), f"kl_{_short(e.first)}_{_short(e.second)}", env)

    def entropy(self, e: ir.Entropy, env: Env) -> str:
        return self.divergence("entropy", e, (e.factor,), f"entropy_{_short(e.factor)}", env)

    def cross_entropy(self, e: ir.CrossEntropy, env: Env) -> str:
        return self.divergence("cross_entropy", e, (e.first, e.second), f"ce_{_short(e.first)}_{_short(e.second)}",
                               env)

    def iwae(self, e: ir.Iwae, env: Env) -> str:
        particles = replace(env, particles=e.k)
        inner = self.sample(e.posterior, particles)
        weights = self.fb.assign("log_w", self.log_ratio(e.joint, e.posterior, inner), e.span,
                                 f"[{e.k}, batch] log importance weights")
        return self.fb.assign("iwae", f"torch.logsumexp({weights}, dim=0) - math.log({e.k})", e.span,
                              "Burda et al. 2016, eq. 8")


def _literal(value: float) -> str:
    """A number as code: integral values as integers, the rest (inf and NaN included, which
    have no literal) by :func:`gmc.compiler.codegen.text.literal`."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else text.literal(float(value))


def _plus(code: str, constant: str) -> str:
    """``code + constant``, written ``code - c`` for a constant printed as ``-c``."""
    return f"{code} - {constant[1:]}" if constant.startswith("-") else f"{code} + {constant}"


def _wrap(code: str, precedence: int, needed: int) -> str:
    return code if precedence >= needed else f"({code})"


def _is_name(code: str) -> bool:
    return code.replace("_", "a").replace(".", "a").isalnum() and not code[0].isdigit()


def _short(sig: str) -> str:
    return sig.split("(")[0]
