"""A reference interpreter for checked gmc programs: the oracle of the differential tests.

It evaluates the checked IR (``gmc.compiler.driver.compile_model``) directly, with
torch.distributions objects and ONE EXAMPLE AT A TIME: every per-example value is an
unbatched event tensor, so batch axes cannot be confused with event axes by construction,
and ``mean(...)``/``sum(...)`` are the only places where examples meet. It shares nothing
with the code generator except the nets and weights of the compiled module (so both compute
with the same parameters) and is deliberately slow and simple.

Modes:
- exact (``exact=True``): every functional that needs a sample raises :class:`NotExact`;
  log-densities, closed-form KL/H/CE (torch.distributions' own formulas), enumerated
  expectations and marginals over discrete variables are exact.
- sampling (``exact=False``): expectations, ELBO, IWAE and Renyi bounds draw fresh samples
  (one per ``E``, K for the multi-sample bounds), and KL/H/CE without a torch closed form
  are one-sample Monte Carlo terms; each call is one stochastic estimate, compared with the
  generated code's in distribution.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from gmc.compiler import ir
from gmc.compiler.transforms.checks import uninvertible
from . import distributions as rd
from . import quadrature


#: Draws of a precise Monte Carlo value of a divergence torch.distributions has no closed form for.
PRECISE_DRAWS = 4096


class NotExact(Exception):
    """Raised in exact mode where the value needs a sample."""


class Reference:
    """Evaluates ``model`` (a checked IR) with the nets and weights of ``module`` (an instance
    of the class gmc compiled from the same program).

    Values are tensors [batch, *event] (global variables: [*event]); results are float64 if
    the module is. ``params`` overrides ``param`` defaults. ``closed(node)`` says whether the
    program computes a KL, H or CE term exactly or by one draw (which estimator a term gets is
    part of its meaning, docs/language.md); None: exactly wherever torch.distributions can."""

    def __init__(self, model: ir.Model, module: torch.nn.Module, *, exact: bool = True, params=None,
                 closed=None):
        self.model, self.module, self.exact, self.closed = model, module, exact, closed
        self.params = {n: float(p.default) for n, p in model.params.items()}
        self.params.update({k: float(getattr(module, k)) for k in self.params if hasattr(module, k)})
        self.params.update(params or {})
        # A plate's size N (gmc.compiler.plates): a loss reading its data scales sum(...) by N / B.
        self.plate_sizes = {p: getattr(module, p, None) for p in model.plates}
        self._plate_size = None
        self.dtype = next((b.dtype for b in module.buffers()), torch.get_default_dtype())

    # ---- public ------------------------------------------------------------------------
    def log_prob(self, sig: str, values: dict[str, torch.Tensor]) -> torch.Tensor:
        """log p(values) of factor ``sig``: [batch], nats (one number, 0-d, over global variables)."""
        self.__dict__.pop("_step_reference", None)  # chain tables are kept within one call only
        if all(self.model.vars[k].is_global for k in values):
            return self._log_prob(sig, dict(values))
        n = self._batch_size(values)
        return torch.stack([self._log_prob(sig, self._example(values, i)) for i in range(n)])

    def loss(self, name: str, inputs: dict[str, torch.Tensor], n: int | None = None) -> torch.Tensor:
        """The value of loss ``name`` on ``inputs`` (0-d tensor, nats)."""
        from gmc.compiler.plates import loss_plate

        batch = self._batch_size(inputs) if n is None else n
        self._global_draws = {}
        self.__dict__.pop("_step_reference", None)  # chain tables are kept within one call only
        plate = loss_plate(self.model, self.model.losses[name])
        self._plate_size = None if plate is None else self.plate_sizes[plate]
        return self._batch_value(self.model.losses[name].expr, inputs, batch)

    def sample(self, sig: str, given: dict | None = None) -> dict[str, torch.Tensor]:
        """One ancestral draw of ``sig``'s variables (unbatched event tensors) given the
        unbatched values in ``given``; a fresh draw of global variables too. Sampling mode only."""
        self._global_draws = {}
        return self._sample(sig, dict(given or {}))

    # ---- batch level -------------------------------------------------------------------
    def _batch_value(self, e: ir.Expr, inputs, n: int) -> torch.Tensor:
        if isinstance(e, ir.Apply) and e.func in ir.REDUCTIONS:
            per_example = torch.stack([self._value(e.args[0], self._example(inputs, i)) for i in range(n)])
            if e.func == "sum" and self._plate_size is not None:  # N / B times the batch's sum
                return per_example.sum(0) * (self._plate_size / n)
            return per_example.mean(0) if e.func == "mean" else per_example.sum(0)
        if isinstance(e, ir.Mmd):
            return self._mmd(e, inputs, n)
        if isinstance(e, ir.BinOp):
            return _binop(e.op, self._batch_value(e.left, inputs, n), self._batch_value(e.right, inputs, n))
        if isinstance(e, ir.Neg):
            return -self._batch_value(e.operand, inputs, n)
        if isinstance(e, ir.Apply):
            return _apply(e.func, [self._batch_value(a, inputs, n) for a in e.args])
        return self._value(e, {})  # constants, params, weights

    # ---- one example -------------------------------------------------------------------
    def _value(self, e: ir.Expr, env: dict) -> torch.Tensor:
        """The value of per-example expression ``e`` with variables bound in ``env``."""
        if isinstance(e, (ir.Num, ir.ConstRef)):
            return torch.tensor(float(e.value), dtype=self.dtype)
        if isinstance(e, ir.ParamRef):
            return torch.tensor(self.params[e.name], dtype=self.dtype)
        if isinstance(e, ir.WeightRef):
            return getattr(self.module, e.name)
        if isinstance(e, ir.VarRef):
            return env[e.name]
        if isinstance(e, ir.NetCall):
            return self._net(e, env)
        if isinstance(e, ir.BinOp):
            return _binop(e.op, self._value(e.left, env), self._value(e.right, env))
        if isinstance(e, ir.Neg):
            return -self._value(e.operand, env)
        if isinstance(e, ir.Apply):
            return _apply(e.func, [self._value(a, env) for a in e.args])
        if isinstance(e, ir.LogProb):
            return self._log_prob(e.factor, env)
        if isinstance(e, ir.Expect):
            return self._expect(e, env)
        if isinstance(e, ir.KL):
            return self._divergence(e, "kl", e.first, e.second, env)
        if isinstance(e, ir.Entropy):
            return self._divergence(e, "h", e.factor, None, env)
        if isinstance(e, ir.CrossEntropy):
            return self._divergence(e, "ce", e.first, e.second, env)
        if isinstance(e, ir.Elbo):
            return self._bound(e.joint, e.posterior, env, k=1, alpha=1.0)
        if isinstance(e, ir.Iwae):
            return self._bound(e.joint, e.posterior, env, k=e.k, alpha=0.0)
        if isinstance(e, ir.Renyi):
            return self._bound(e.joint, e.posterior, env, k=e.k, alpha=e.alpha)
        raise NotImplementedError(type(e).__name__)

    def _net(self, e: ir.NetCall, env) -> torch.Tensor:
        args = [self._value(a, env).unsqueeze(0) for a in e.args]  # a batch of one example
        out = getattr(self.module, e.net)(*args)
        net = self.model.nets[e.net]
        if net.named:
            names = [name for name, _ in net.outputs]
            out = out[names.index(e.output)] if isinstance(out, (tuple, list)) else out[e.output]
        return out[0]

    # ---- factors -----------------------------------------------------------------------
    def _leaf(self, f: ir.Factor, env):
        """The torch distribution of leaf factor ``f`` given the variables in ``env``."""
        var = self.model.vars[f.outputs[0]]
        shape = var.type.shape
        params = {}
        for name, expr in f.params:
            value = self._value(expr, env)
            spec = next(p for p in _family(f.family).params if p.name == name)
            params[name] = value if spec.shared else torch.broadcast_to(value, shape)
        if f.flow:
            from .flows import flow_distribution

            return flow_distribution(rd.build(f.family, params), self.model, f, self.module, len(shape),
                                     lambda e: self._value(e, env))
        return rd.build(f.family, params)

    def _log_prob(self, sig: str, env) -> torch.Tensor:
        f = self.model.factors[sig]
        if sig in self.model.chains:
            return self._chain_log_prob(sig, env)
        if sig in self.model.step_products:
            return self._product_over_time(sig, env)
        if self.exact and uninvertible(self.model, sig):
            raise NotExact(f"{sig} is a flow without a cheap inverse")
        if not f.is_product:
            return rd.log_density(f.family, self._leaf(f, env), env[f.outputs[0]])
        if f.marginalized:
            (v,) = f.marginalized
            terms = [self._product_log_prob(f, {**env, v: value}) for value in self._values_of(v)]
            return torch.logsumexp(torch.stack(terms), 0)
        return self._product_log_prob(f, env)

    # ---- chains over a latent sequence (gmc.compiler.sequences), by brute force --------------
    def _steps(self) -> "Reference":
        """An interpreter of the step factors over per-step variables (same module, same params)."""
        from gmc.compiler.sequences import step_model

        if "_step_reference" not in self.__dict__:
            self._step_reference = Reference(step_model(self.model), self.module, exact=self.exact,
                                             params=self.params, closed=self.closed)
        return self._step_reference

    #: Chains with at most this many latent paths are summed path by path; longer ones by a
    #: forward recursion over tables this interpreter fills itself (hmm_digits has 32^8 paths).
    MAX_PATHS = 4096

    def _chain_log_prob(self, sig: str, env) -> torch.Tensor:
        """log p(x) as the logsumexp over every one of the K^T latent paths (no recursion), or,
        past :attr:`MAX_PATHS`, the forward recursion written out with per-state evaluations."""
        import itertools

        from gmc.compiler.sequences import slot_name

        chain, steps = self.model.chains[sig], self._steps()
        z, before = chain.latent, slot_name(chain.latent, 1)
        states = torch.eye(self.model.sequences[z].step.shape[0], dtype=self.dtype)
        if len(states) ** chain.length > self.MAX_PATHS:
            return self._chain_forward(chain, steps, states, env)
        totals = []
        for path in itertools.product(range(len(states)), repeat=chain.length):
            total = steps._log_prob(chain.initial, {z: states[path[0]]})
            for t, k in enumerate(path):
                now = {z: states[k], **{x: env[x][t] for x in chain.observed}}
                if t:
                    total = total + steps._log_prob(chain.transition, {**now, before: states[path[t - 1]]})
                for emission in chain.emissions:
                    total = total + steps._log_prob(emission, now)
            totals.append(total)
        return torch.logsumexp(torch.stack(totals), 0)

    @staticmethod
    def _chain_forward(chain, steps, states, env) -> torch.Tensor:
        """log p(x) = logsumexp_k alpha_{T-1}(k), alpha_t(j) = logsumexp_i [alpha_{t-1}(i) +
        log p(z_t = j | z_{t-1} = i)] + log p(x_t | z_t = j) (Rabiner 1989, eqs. 19-21), every
        table entry one evaluation of a step factor."""
        from gmc.compiler.sequences import slot_name

        z, before, k = chain.latent, slot_name(chain.latent, 1), len(states)
        # The initial and transition tables read no data: filled once per public call (log_prob,
        # loss), which starts a fresh step interpreter.
        key = chain.signature
        tables = steps.__dict__.setdefault("_chain_tables", {})
        if key not in tables:
            init = torch.stack([steps._log_prob(chain.initial, {z: states[j]}) for j in range(k)])
            trans = torch.stack([torch.stack([steps._log_prob(chain.transition, {z: states[j], before: states[i]})
                                              for j in range(k)]) for i in range(k)])
            tables.clear()
            tables[key] = (init, trans)
        init, trans = tables[key]

        def emit(t):
            now = {x: env[x][t] for x in chain.observed}
            return torch.stack([sum(steps._log_prob(e, {**now, z: states[j]}) for e in chain.emissions)
                                for j in range(k)])
        alpha = init + emit(0)
        for t in range(1, chain.length):
            alpha = torch.logsumexp(alpha[:, None] + trans, 0) + emit(t)
        return torch.logsumexp(alpha, 0)

    def _chain_draw(self, sig: str) -> dict[str, torch.Tensor]:
        """One ancestral draw of the observed sequences, step by step."""
        from gmc.compiler.sequences import slot_name

        chain, steps = self.model.chains[sig], self._steps()
        z, before = chain.latent, slot_name(chain.latent, 1)
        factors = steps.model.factors
        state = steps._draw(factors[chain.initial], {})[z]
        drawn: dict[str, list] = {x: [] for x in chain.observed}
        for t in range(chain.length):
            if t:
                state = steps._draw(factors[chain.transition], {before: state})[z]
            for emission in chain.emissions:
                f = factors[emission]
                drawn[f.outputs[0]].append(steps._draw(f, {z: state})[f.outputs[0]])
        return {x: torch.stack(values) for x, values in drawn.items()}

    def _product_over_time(self, sig: str, env) -> torch.Tensor:
        """log p of a product of step factors: every factor at every step where it holds, one
        step at a time."""
        product, steps = self.model.step_products[sig], self._steps()
        if self.model.recurrences and hasattr(product, "states"):
            return self._recurrent(product, env, draw=False)
        total = torch.zeros((), dtype=self.dtype)
        for initial in product.initial:
            v = self.model.steps[initial].factor.outputs[0]
            total = total + steps._log_prob(initial, {v: env[v][0]})
        for step_sig in product.order:
            step = self.model.steps[step_sig]
            first = max((step.lag(g) for g in step.factor.given), default=0)
            for t in range(first, product.length):
                values = {slot: env[seq][t - lag] for slot, seq, lag in step.slots}
                total = total + steps._log_prob(step_sig, values)
        return total

    def _recurrent(self, product, env, draw: bool):
        """A product over recurrent states (gmc.compiler.recurrence), one step at a time: the
        states start at zero, each step's parts run in the product's plan; log p at the
        sequences in ``env``, or one ancestral draw (given the sequences it is conditioned on)."""
        from gmc.compiler.sequences import slot_name

        steps = self._steps()
        states = {s: torch.zeros(self.model.sequences[s].step.shape, dtype=self.dtype) for s in product.states}
        drawn: dict[str, list] = {v: [] for v in product.outputs}
        total = torch.zeros((), dtype=self.dtype)
        for t in range(product.length):
            values = {slot_name(s, 1): h for s, h in states.items()}
            values.update({v: env[v][t] for v in (product.given if draw else product.outputs + product.given)})
            for kind, key in product.plan:
                if kind == "state":
                    values[key] = steps._value(self.model.recurrences[key].expr, values)
                    states[key] = values[key]
                elif draw:
                    f = steps.model.factors[key]
                    values[f.outputs[0]] = steps._draw(f, values)[f.outputs[0]]
                    drawn[f.outputs[0]].append(values[f.outputs[0]])
                else:
                    total = total + steps._log_prob(key, values)
        return {v: torch.stack(d) for v, d in drawn.items()} if draw else total

    def _product_draw(self, sig: str, env=None) -> dict[str, torch.Tensor]:
        product, steps = self.model.step_products[sig], self._steps()
        if self.model.recurrences and hasattr(product, "states"):
            return self._recurrent(product, env or {}, draw=True)
        factors = steps.model.factors
        drawn: dict[str, list] = {v: [] for v in product.outputs}
        for initial in product.initial:
            v = factors[initial].outputs[0]
            drawn[v].append(steps._draw(factors[initial], {})[v])
        for t in range(product.length):
            for step_sig in product.order:
                step = self.model.steps[step_sig]
                first = max((step.lag(g) for g in step.factor.given), default=0)
                if t < first:
                    continue
                values = {slot: drawn[seq][t - lag] for slot, seq, lag in step.slots if slot in step.factor.given}
                v = step.factor.outputs[0]
                drawn[v].append(steps._draw(factors[step_sig], values)[v])
        return {v: torch.stack(values) for v, values in drawn.items()}

    def _product_log_prob(self, f: ir.Factor, env) -> torch.Tensor:
        return sum((self._log_prob(c, env) for c in f.components), torch.zeros((), dtype=self.dtype))

    def _values_of(self, v: str) -> list[torch.Tensor]:
        """Every value of an enumerable variable (one-hot categories, or 0 and 1)."""
        t = self.model.vars[v].type
        if t.support == "categorical":
            return list(torch.eye(t.shape[0], dtype=self.dtype))
        if t.support == "binary":
            return [torch.tensor(b, dtype=self.dtype).reshape(t.shape) for b in (0.0, 1.0)]
        raise NotExact(f"'{v}' ({t}) cannot be enumerated")

    def _sample(self, sig: str, env) -> dict[str, torch.Tensor]:
        """Ancestral draw of ``sig``'s variables given ``env`` (marginalized ones dropped)."""
        if self.exact:
            raise NotExact(f"sampling {sig}")
        f = self.model.factors[sig]
        if all(self.model.vars[v].is_global for v in f.variables):
            # a global variable is drawn once per loss evaluation, shared by every example
            cache = self.__dict__.setdefault("_global_draws", {})
            if sig not in cache:
                cache[sig] = self._draw(f, env)
            return cache[sig]
        return self._draw(f, env)

    def _draw(self, f: ir.Factor, env) -> dict[str, torch.Tensor]:
        if f.signature in self.model.chains:
            return self._chain_draw(f.signature)
        if f.signature in self.model.step_products:
            return self._product_draw(f.signature, env)
        if not f.is_product:
            return {f.outputs[0]: rd.draw(f.family, self._leaf(f, env))}
        drawn, pending = dict(env), list(f.components)
        while pending:
            ready = next(c for c in pending if set(self.model.factors[c].given) <= set(drawn))
            drawn.update(self._sample(ready, drawn))
            pending.remove(ready)
        return {v: drawn[v] for v in f.outputs}

    # ---- functionals -------------------------------------------------------------------
    def _expect(self, e: ir.Expect, env) -> torch.Tensor:
        f = self.model.factors[e.factor]
        if not f.is_product and f.family in ("Categorical", "Bernoulli") and self._enumerable(f.outputs[0]):
            v = f.outputs[0]  # an exact sum over the values (Kingma et al. 2014, eq. 7)
            total = torch.zeros((), dtype=self.dtype)
            for value in self._values_of(v):
                inner = {**env, v: value}
                total = total + torch.exp(self._log_prob(e.factor, inner)) * self._value(e.body, inner)
            return total
        return self._value(e.body, {**env, **self._sample(e.factor, env)})

    def _enumerable(self, v: str) -> bool:
        t = self.model.vars[v].type
        return (t.support == "categorical" and len(t.shape) == 1) or (t.support == "binary" and t.size == 1)

    def _divergence(self, node: ir.Expr, kind: str, first: str, second: str | None, env) -> torch.Tensor:
        """KL[first || second] (``kind`` "kl"), CE[first || second] ("ce") or H[first] ("h") of
        one example, in nats.

        Exact where the program computes the term exactly (``closed``; by default wherever
        torch.distributions has a closed form): torch's closed form, +inf for mutually singular
        pairs, or where torch has none a precise Monte Carlo average of ``PRECISE_DRAWS``
        draws. Otherwise one draw, the program's own estimate: inside a nonlinear function
        (``abs(KL[...])``) a one-draw estimate and the exact value differ in mean."""
        exact = None if self.closed is None else bool(self.closed(node))
        if exact is not False:
            value = self._closed_divergence(kind, first, second, env)
            if value is not None:
                return value
            if exact:
                if self.exact:
                    raise NotExact(f"{kind} without a closed form in torch.distributions")
                return self._precise_divergence(kind, first, second, env)
        inner = {**env, **self._sample(first, env)}
        if kind == "h":
            return -self._log_prob(first, inner)
        cross = -self._log_prob(second, inner)
        return cross if kind == "ce" else self._log_prob(first, inner) + cross

    def _closed_divergence(self, kind: str, first: str, second: str | None, env) -> torch.Tensor | None:
        """torch.distributions' closed form of a divergence between leaf factors, or None."""
        a = self.model.factors[first]
        b = self.model.factors[second] if second is not None else None
        if a.is_product or b is not None and b.is_product:
            return None
        da = _with_support(self._leaf(a, env))
        if kind == "h":
            if isinstance(da, rd.PointMass):
                return None
            try:
                return da.entropy().sum()
            except NotImplementedError:
                return None
        db = _with_support(self._leaf(b, env))
        singular = _singular(a, b, da, db)
        if singular is not None:
            return torch.tensor(singular, dtype=self.dtype)
        try:
            kl = torch.distributions.kl_divergence(da, db).sum()
        except NotImplementedError:
            return None
        if kind == "kl":
            return kl
        entropy = self._closed_divergence("h", first, None, env)
        return None if entropy is None else entropy + kl

    def _precise_divergence(self, kind: str, first: str, second: str | None, env) -> torch.Tensor:
        """A divergence between leaf factors: by quadrature for element-wise continuous
        families (:mod:`.quadrature`), else averaged over ``PRECISE_DRAWS`` draws of ``first``."""
        a = self.model.factors[first]
        da = _with_support(self._leaf(a, env))
        db = None if second is None else _with_support(self._leaf(self.model.factors[second], env))
        var = self.model.vars[a.outputs[0]].type
        if a.family not in rd.VECTOR_FAMILIES and len(a.outputs) == 1:
            value = quadrature.divergence(kind, da, db, var.support, var.shape)
            if value is not None:
                return value
        with torch.no_grad():
            x = da.sample((PRECISE_DRAWS,))
            log_q = da.log_prob(x).reshape(PRECISE_DRAWS, -1).sum(-1)
            if kind == "h":
                return -log_q.mean()
            log_p = db.log_prob(x).reshape(PRECISE_DRAWS, -1).sum(-1)
            return (log_q - log_p).mean() if kind == "kl" else -log_p.mean()

    def _bound(self, joint: str, posterior: str, env, k: int, alpha: float) -> torch.Tensor:
        """ELBO (k=1), IWAE (alpha=0) and Renyi bounds of log p from k draws of the posterior."""
        log_w = []
        for _ in range(k):
            inner = {**env, **self._sample(posterior, env)}
            log_w.append(self._log_prob(joint, inner) - self._log_prob(posterior, inner))
        log_w = torch.stack(log_w)
        if alpha == 1.0:
            return log_w.mean()
        return (torch.logsumexp((1 - alpha) * log_w, 0) - math.log(k)) / (1 - alpha)

    def _mmd(self, e: ir.Mmd, inputs, n: int) -> torch.Tensor:
        """Unbiased squared MMD (Gretton et al. 2012, eq. 3) between one draw of ``first`` per
        example and ``n`` draws of ``second``."""
        xs = torch.stack([self._flat_draw(e.first, self._example(inputs, i)) for i in range(n)])
        ys = torch.stack([self._flat_draw(e.second, self._example(inputs, i)) for i in range(n)])
        c = e.scale if e.scale is not None else 2.0 * xs.shape[-1]

        def kernel(a, b):
            d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
            return torch.exp(-d2 / c) if e.kernel == "gaussian" else c / (c + d2)

        off = 1 - torch.eye(n, dtype=xs.dtype)
        kxx = (kernel(xs, xs) * off).sum() / (n * (n - 1))
        kyy = (kernel(ys, ys) * off).sum() / (n * (n - 1))
        return kxx + kyy - 2 * kernel(xs, ys).mean()

    def _flat_draw(self, sig: str, env) -> torch.Tensor:
        f = self.model.factors[sig]
        return torch.cat([v.reshape(-1) for v in self._sample(sig, env).values()]) if f.outputs else None

    # ---- helpers -----------------------------------------------------------------------
    def _example(self, values: dict, i: int) -> dict:
        return {k: (v if self.model.vars[k].is_global else v[i]) for k, v in values.items()}

    def _batch_size(self, values: dict) -> int:
        sizes = {v.shape[0] for k, v in values.items() if not self.model.vars[k].is_global}
        if len(sizes) != 1:
            raise ValueError(f"inputs disagree on the batch size: {sorted(sizes)}")
        return sizes.pop()


def _with_support(dist):
    """``dist`` with its support for a divergence: gmc scores Uniform data by -log(high - low)
    anywhere, but its KL, H and CE count the mass outside [low, high) (+inf)."""
    return dist.inner if isinstance(dist, rd.FlatUniform) else dist


def _family(name: str):
    from gmc.compiler.families.registry import FAMILIES

    return FAMILIES[name]


_CONTINUOUS = {"real", "positive", "unit", "simplex"}


def _singular(a: ir.Factor, b: ir.Factor, da, db) -> float | None:
    """KL[a || b] for mutually singular pairs (a point mass against a density, discrete against
    continuous): +inf, or 0 for two equal point masses; None otherwise."""
    if isinstance(da, rd.PointMass) and isinstance(db, rd.PointMass):
        return 0.0 if torch.equal(da.value, db.value) else math.inf
    if isinstance(da, rd.PointMass) != isinstance(db, rd.PointMass):
        return math.inf
    discrete_a = _family(a.family).support not in _CONTINUOUS
    discrete_b = _family(b.family).support not in _CONTINUOUS
    return math.inf if discrete_a != discrete_b else None


def _binop(op: str, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b
    if op == "**":
        return a ** b
    if op == "@":
        return torch.matmul(a, b)  # event tensors: one example, so only event axes contract
    raise NotImplementedError(op)


def _apply(func: str, args: list[torch.Tensor]) -> torch.Tensor:
    x = args[0]
    table = {
        "exp": torch.exp, "log": torch.log, "softplus": F.softplus, "sigmoid": torch.sigmoid,
        "tanh": torch.tanh, "relu": torch.relu, "sqrt": torch.sqrt, "abs": torch.abs,
        "softmax": lambda t: torch.softmax(t, -1), "log_softmax": lambda t: torch.log_softmax(t, -1),
        "detach": torch.Tensor.detach,
    }
    if func in table:
        return table[func](x)
    if func == "min":
        return torch.minimum(*torch.broadcast_tensors(x, args[1]))
    if func == "max":
        return torch.maximum(*torch.broadcast_tensors(x, args[1]))
    if func == "clamp":
        return torch.minimum(torch.maximum(x, args[1]), args[2])
    raise NotImplementedError(func)

