"""A generator of random, valid-looking .gm programs, with a description of what each declares.

    program = generate_program(random.Random(7))
    program.text            # the source
    program.variables       # name -> VariableSpec(support, shape, is_global, role, family)
    program.losses          # loss name -> the variables it reads as data

Programs follow one of a few model templates (a VAE with one or two latents, a supervised
conditional, a Bayesian regression with a global weight, a finite mixture marginalized with
``sum_{y}``, a product of experts over renamed views, an M2 semi-supervised model whose label
is data in one loss and summed out in the other) with every free choice drawn at
random: supports, event shapes (literal or
``const``), the family of each factor from the catalogue (``compiler/families``), parameter
sets (keyword or positional, defaults left out), parameter expressions (numbers, params,
weights mapped to the support, MLP outputs, arithmetic), and losses built from ``log``,
``E``, ``KL``, ``H``, ``CE``, ``elbo``, ``iwae``, ``renyi``, ``mmd``, ``mean``/``sum`` and
arithmetic. The generator is meant to be reused by differential tests: the description says
what data each loss needs without parsing the text.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from gmc.compiler.families import FAMILIES

#: Families by the support of the values they define. Uniform and Deterministic are drawn
#: rarely: their log-densities are not informative at arbitrary data (the smoke run does not
#: require them finite), but the differential tests compare them all the same.
FAMILIES_BY_SUPPORT = {
    "real": ("Normal", "Laplace", "Logistic", "StudentT") * 4 + ("Uniform", "Deterministic"),
    "positive": ("Exponential", "Gamma", "LogNormal", "Weibull"),
    "unit": ("Beta", "Kumaraswamy", "RelaxedBernoulli"),
    "binary": ("Bernoulli",),
    "categorical": ("Categorical",),
    "simplex": ("Dirichlet", "RelaxedCategorical"),
    "count": ("Poisson", "Multinomial"),
}
VECTOR_SUPPORTS = frozenset({"categorical", "simplex"})
#: How a real-valued expression is mapped into each parameter support.
SQUASH = {"real": ("{}", "tanh({})", "2 * {} - 1"), "positive": ("softplus({})", "exp({})", "softplus({}) + 0.1"),
          "unit": ("sigmoid({})",), "simplex": ("softmax({})",)}
#: Parameters kept away from 0: StudentT with df near 0 and Weibull with a concentration near
#: 0 draw values beyond float32's range (torch.distributions' samplers as well), and a
#: StudentT's moments are infinite for df <= 2, so its KL against a Normal or Laplace is
#: rightly +inf: a finiteness check on such a program would test the model, not the compiler.
HEAVY_TAILS = {("StudentT", "df"), ("Weibull", "concentration")}
NUMBERS = {"real": ("0", "1.5", "-0.5", "2"), "positive": ("0.5", "1", "2.0", "1.5"), "unit": ("0.3", "0.5", "0.7")}


@dataclass(frozen=True)
class VariableSpec:
    """A declared variable: ``support``, event ``shape``, ``is_global``, ``role`` (observed or
    latent in the template) and the ``family`` of the factor that generates it."""

    name: str
    support: str
    shape: tuple[int, ...]
    is_global: bool = False
    role: str = "observed"
    family: str = ""


@dataclass(frozen=True)
class Program:
    """A generated program and what it declares."""

    text: str
    template: str
    variables: dict[str, VariableSpec]
    factors: tuple[str, ...]
    losses: dict[str, tuple[str, ...]]
    features: frozenset[str] = field(default_factory=frozenset)


class _Builder:
    """Declarations collected while a template is filled in, printed in a valid order."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.head: list[str] = []     # model, const, param, weight
        self.vars: list[str] = []
        self.nets: list[str] = []
        self.factors: list[str] = []
        self.lets: list[str] = []
        self.losses: list[str] = []
        self.variables: dict[str, VariableSpec] = {}
        self.signatures: list[str] = []
        self.loss_inputs: dict[str, tuple[str, ...]] = {}
        self.features: set[str] = set()
        self.counter = 0

    def fresh(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}{self.counter}"

    # ---- declarations ----------------------------------------------------------------------
    def dim(self, size: int) -> str:
        if self.rng.random() < 0.3:
            name = self.fresh("D")
            self.head.append(f"const {name} = {size}")
            return name
        return str(size)

    def type_text(self, support: str, shape: tuple[int, ...]) -> str:
        if not shape:
            return support
        return f"{support}[{', '.join(self.dim(d) for d in shape)}]"

    def var(self, name, support, shape, role, is_global=False):
        self.vars.append(f"var {'global ' if is_global else ''}{name}: {self.type_text(support, shape)}")
        self.variables[name] = VariableSpec(name, support, shape, is_global, role)

    def param(self, support: str) -> str:
        name = self.fresh("a")
        self.head.append(f"param {name} = {self.rng.choice(NUMBERS.get(support, NUMBERS['positive']))}")
        return name

    def weight(self, shape) -> str:
        name = self.fresh("w")
        init = self.rng.choice(("", " = 0.1", " = -0.5", " = Normal(0, 0.1)"))
        self.head.append(f"weight {name}: {self.type_text('real', shape)}{init}")
        return name

    def factor(self, signature: str, rhs: str):
        self.factors.append(f"{signature} = {rhs}")
        self.signatures.append(signature)

    # ---- distributions -----------------------------------------------------------------------
    def distribution(self, variable: str, given: list[str], net_stem: str) -> str:
        """A random family for ``variable`` with parameter expressions that may read ``given``."""
        spec = self.variables[variable]
        names = FAMILIES_BY_SUPPORT[spec.support]
        if spec.support == "count" and not spec.shape:
            names = ("Poisson",)  # Multinomial's event is a vector of K counts
        family = FAMILIES[self.rng.choice(names)]
        self.variables[variable] = VariableSpec(spec.name, spec.support, spec.shape, spec.is_global, spec.role,
                                                spec.family or family.name)
        choice = self.rng.choice(family.choices)
        chosen = [p for p in family.params if p.name in choice
                  and (p.default is None or p.constant or self.rng.random() < 0.8)]
        outputs = []  # (param name, support) of a net's named outputs
        net = self.fresh(net_stem) if given and self.rng.random() < 0.85 else None
        args = []
        for p in chosen:
            args.append((p.name, self.parameter(p, spec, net, outputs, family.name)))
        if family.name == "Uniform":  # high = low + a positive width: never an empty interval
            low = dict(args).get("low", "0")
            args = [("low", low), ("high", f"({low}) + {self.rng.choice(NUMBERS['positive'])}")]
        if outputs:
            types = ", ".join(f"{n}: {self.type_text(s, spec.shape)}" for n, s in outputs)
            hidden = ", ".join(str(self.rng.choice((4, 8, 16))) for _ in range(self.rng.randint(0, 2)))
            body = f" = MLP({hidden})" if hidden or self.rng.random() < 0.5 else " = MLP()"
            if self.rng.random() < 0.1:
                body = ""  # a net the user passes as a module
            self.nets.append(f"net {net}({', '.join(given)}) -> ({types}){body}")
            self.features.add("net")
        positional = [p.name for p in family.params[:len(args)]] == [n for n, _ in args] and self.rng.random() < 0.3
        text = ", ".join(value if positional else f"{name}={value}" for name, value in args)
        return f"{family.name}({text})"

    def parameter(self, p, spec: VariableSpec, net: str | None, outputs: list, family: str) -> str:
        rng = self.rng
        if p.constant:
            return str(rng.randint(1, 5))
        support = "real" if p.support == "count" else p.support
        if p.shared:
            return rng.choice(NUMBERS["positive"]) if rng.random() < 0.7 else self.param("positive")
        if (family, p.name) in HEAVY_TAILS:
            floor = "2.5" if p.name == "df" else "1"
            if net is not None and rng.random() < 0.8:
                outputs.append((p.name, "real"))
                return f"softplus({net}.@{p.name}) + {floor}"
            return rng.choice(("2.5", "3.0", "5.0") if p.name == "df" else ("1", "1.5", "2.0"))
        roll = rng.random()
        if net is not None and roll < 0.8 and support in SQUASH:
            # ``net.@name`` is a placeholder: the net's inputs are known once it is declared
            if rng.random() < 0.5 or support == "real":
                outputs.append((p.name, support))
                return f"{net}.@{p.name}"
            outputs.append((p.name, "real"))
            return rng.choice(SQUASH[support]).format(f"{net}.@{p.name}")
        if support == "simplex":
            k = spec.shape[-1]
            return rng.choice((repr(1.0 / k), f"softmax({self.weight(spec.shape)})"))
        if roll < 0.9 and support in NUMBERS:
            return rng.choice(NUMBERS[support]) if rng.random() < 0.6 else self.param(support)
        return rng.choice(SQUASH[support]).format(self.weight(spec.shape))


def _resolve_net_calls(text: str, nets: list[str]) -> str:
    """Replace the placeholders ``net.@out`` by calls ``net(inputs).out``."""
    for line in nets:
        name, rest = line[4:].split("(", 1)
        inputs = rest.split(")", 1)[0]
        text = text.replace(f"{name}.@", f"{name}({inputs}).")
    return text


# ---- templates -------------------------------------------------------------------------------
def _observed_support(rng):
    return rng.choice(("real", "real", "binary", "binary", "positive", "unit", "categorical", "simplex", "count"))


def _latent_support(rng):
    return rng.choice(("real", "real", "real", "positive", "unit", "binary", "categorical", "simplex"))


def _shape(rng, support):
    if support in VECTOR_SUPPORTS:
        return (rng.randint(2, 4),)
    return rng.choice(((), (1,), (2,), (3,), (5,), (2, 3))) if support == "real" else rng.choice(((), (2,), (3,)))


def _options(rng, b: _Builder, q_sig: str, multi: bool = False) -> str:
    if rng.random() > 0.25:
        return ""
    b.features.add("estimator")
    estimator = rng.choice(("reinforce", "auto") + (("vimco",) if multi else ()))
    baseline = rng.choice(("", ", baseline=none", ", baseline=average", ", baseline=learned"))
    return f", estimator={estimator}{baseline if estimator == 'reinforce' else ''}"


def _combine(rng, b: _Builder, terms: list[str]) -> str:
    """Per-example terms joined with signs and coefficients, possibly wrapped, then reduced."""
    picked = rng.sample(terms, rng.randint(1, min(3, len(terms))))
    parts = []
    for i, term in enumerate(picked):
        coefficient = rng.choice(("", "", "2 * ", "0.5 * ", f"{b.param('positive')} * "))
        wrapped = rng.choice(("{}", "{}", "{}", "abs({})", "detach({})", "clamp({}, -1000, 1000)", "({}) / 2"))
        sign = rng.choice((" + ", " - ")) if i else rng.choice(("", "-"))
        parts.append(sign + coefficient + wrapped.format(term))
    body = "".join(parts)
    if len(picked) >= 2 and rng.random() < 0.15:
        body = f"{rng.choice(('max', 'min'))}({picked[0]}, {picked[1]})"
    if rng.random() < 0.2:
        name = b.fresh("L")
        b.lets.append(f"let {name} = {body}")
        b.features.add("let")
        body = name
    reduce = rng.choice(("mean", "mean", "mean", "sum"))
    return f"{reduce}({body})"


def _vae(rng, b: _Builder) -> None:
    xs = _observed_support(rng)
    b.var("x", xs, _shape(rng, xs), "observed")
    zs = _latent_support(rng)
    b.var("z", zs, _shape(rng, zs), "latent")
    two = rng.random() < 0.3
    if two:
        us = rng.choice(("real", "real", "binary", "categorical"))
        b.var("u", us, _shape(rng, us), "latent")
        b.factor("p(u)", b.distribution("u", [], "prior"))
        b.factor("p(z|u)", b.distribution("z", ["u"], "top"))
    else:
        b.factor("p(z)", b.distribution("z", [], "prior"))
    b.factor("p(x|z)", b.distribution("x", ["z"], "dec"))
    b.factor("q(z|x)", b.distribution("z", ["x"], "enc"))
    if two:
        b.factor("q(u|z)", b.distribution("u", ["z"], "encu"))
        b.factor("p(x,z,u)", "p(x|z) p(z|u) p(u)")
        b.factor("q(z,u|x)", "q(u|z) q(z|x)")
        joint, post, prior = "p(x,z,u)", "q(z,u|x)", None
    else:
        b.factor("p(x,z)", rng.choice(("p(x|z) p(z)", "p(x|z) * p(z)", "p(z) p(x|z)")))
        joint, post, prior = "p(x,z)", "q(z|x)", "p(z)"
    k = rng.choice((1, 2, 3, 5))
    terms = [f"elbo({joint}, {post}{_options(rng, b, post)})",
             f"iwae({joint}, {post}, k={k}{_options(rng, b, post, multi=k > 1)})",
             f"E_{{{post}{_options(rng, b, post)}}}[log {joint} - log {post}]"]
    if rng.random() < 0.3:
        terms.append(f"renyi({joint}, {post}, alpha={rng.choice((0, 0.5, 1, 2, -1))}, k={k})")
        b.features.add("renyi")
    if prior:
        terms += ["KL[q(z|x) || p(z)]", "H[q(z|x)]", "CE[q(z|x) || p(z)]",
                  f"E_{{q(z|x){_options(rng, b, post)}}}[log p(x|z)]"]
    loss = _combine(rng, b, terms)
    if prior and zs in ("real", "positive", "unit") and rng.random() < 0.2:
        loss += f" + {rng.choice(('', '0.5 * '))}mmd(q(z|x), p(z){rng.choice(('', ', kernel=imq', ', scale=3'))})"
        b.features.add("mmd")
    b.losses.append(f"loss = {loss}")
    b.loss_inputs["loss"] = ("x",)
    if rng.random() < 0.4:  # a supervised loss reads the latent as data
        b.losses.append(f"loss supervised = -{rng.choice(('mean', 'sum'))}(log p(x|z) + log q(z|x))")
        b.loss_inputs["supervised"] = ("x", "z")


def _conditional(rng, b: _Builder) -> None:
    xs, ys = _observed_support(rng), _observed_support(rng)
    b.var("x", xs, _shape(rng, xs), "observed")
    b.var("y", ys, _shape(rng, ys), "observed")
    b.factor("p(y|x)", b.distribution("y", ["x"], "f"))
    b.factor("p(x)", b.distribution("x", [], "prior"))
    b.factor("p(x,y)", "p(y|x) p(x)")
    b.losses.append(f"loss = {_combine(rng, b, ['log p(y|x)', 'log p(x,y)', 'log p(x)'])}")
    b.loss_inputs["loss"] = ("x", "y")


def _regression(rng, b: _Builder) -> None:
    d = rng.randint(1, 4)
    b.var("x", "real", (d,), "observed")
    b.var("y", "real", (), "observed")
    b.var("w", "real", (d,), "latent", is_global=True)
    loc, scale = b.weight((d,)), b.weight((d,))
    b.factor("q(w)", f"Normal(loc={loc}, scale=softplus({scale}))")
    b.factor("p(w)", rng.choice(("Normal(0, 1)", "Laplace()", f"Normal(0, exp({b.weight(())}))")))
    noise = rng.choice(("1", f"exp({b.weight(())})", b.param("positive")))
    b.factor("p(y|x,w)", f"{rng.choice(('Normal', 'Laplace', 'Logistic'))}(loc=x @ w, scale={noise})")
    n = b.param("positive")
    b.losses.append(f"loss = KL[q(w) || p(w)] / {n} - mean(E_{{q(w)}}[log p(y|x,w)])")
    b.loss_inputs["loss"] = ("x", "y")
    b.features.add("global")
    for name, family in (("w", "Normal"), ("y", "Normal")):
        spec = b.variables[name]
        b.variables[name] = VariableSpec(spec.name, spec.support, spec.shape, spec.is_global, spec.role, family)


def _mixture(rng, b: _Builder) -> None:
    k = rng.randint(2, 4)
    xs = rng.choice(("real", "binary", "positive"))
    label = "categorical" if rng.random() < 0.7 else "binary"
    b.var("x", xs, _shape(rng, xs), "observed")
    b.var("y", label, (k,) if label == "categorical" else (), "latent")
    b.factor("p(y)", b.distribution("y", [], "prior"))
    b.factor("p(x|y)", b.distribution("x", ["y"], "comp"))
    b.factor("p(x)", "sum_{y} p(x|y) p(y)")
    b.losses.append(f"loss = {_combine(rng, b, ['log p(x)'])}")
    b.loss_inputs["loss"] = ("x",)
    b.features.add("marginal")


def _experts(rng, b: _Builder) -> None:
    """A product-of-experts posterior over two renamed views (MVAE, Wu & Goodman 2018)."""
    xs = rng.choice(("real", "binary", "unit", "positive"))
    shape = rng.choice(((2,), (3,), ()))
    b.var("x", xs, shape, "observed")
    b.var("v", xs, shape, "observed")
    b.var("z", "real", rng.choice(((), (2,))), "latent")
    b.factor("p(z)", rng.choice(("Normal(0, 1)", "Normal()")))
    b.variables["z"] = VariableSpec("z", "real", b.variables["z"].shape, False, "latent", "Normal")
    net = b.fresh("enc")
    zt = b.type_text("real", b.variables["z"].shape)
    b.nets.append(f"net {net}(x) -> (loc: {zt}, scale: {b.type_text('positive', b.variables['z'].shape)}) = MLP(8)")
    b.factor("q(z|x)", f"Normal(loc={net}(x).loc, scale={net}(x).scale)")
    b.factor("q(z|v)", "q(z|x)[x -> v]")
    experts = rng.choice(("p(z) q(z|x) q(z|v)", "q(z|x) * q(z|v)", "q(z|v) q(z|x) p(z)"))
    propto = rng.choice(("propto", "\u221d"))
    b.factors.append(f"q(z|x,v) {propto} {experts}")
    b.signatures.append("q(z|x,v)")
    b.factor("p(x|z)", b.distribution("x", ["z"], "dec"))
    b.factor("p(v|z)", "p(x|z)[x -> v]")
    b.variables["v"] = VariableSpec("v", xs, shape, False, "observed", b.variables["x"].family)
    b.factor("p(x,v,z)", "p(x|z) p(v|z) p(z)")
    terms = ["elbo(p(x,v,z), q(z|x,v))", "KL[q(z|x,v) || p(z)]", "E_{q(z|x,v)}[log p(x|z) + log p(v|z)]",
             f"iwae(p(x,v,z), q(z|x,v), k={rng.choice((2, 4))})", "KL[q(z|x) || p(z)]", "KL[q(z|v) || q(z|x)]"]
    b.losses.append(f"loss = {_combine(rng, b, terms)}")
    b.loss_inputs["loss"] = ("x", "v")
    b.features.add("experts")


def _semisupervised(rng, b: _Builder) -> None:
    """M2 (Kingma et al. 2014): a label that is data in one loss and summed out exactly in another."""
    xs = _observed_support(rng)
    b.var("x", xs, _shape(rng, xs), "observed")
    label = rng.choice(("categorical", "categorical", "binary"))
    b.var("y", label, (rng.randint(2, 4),) if label == "categorical" else (), "observed")
    zs = rng.choice(("real", "real", "positive", "unit"))
    b.var("z", zs, _shape(rng, zs), "latent")
    b.factor("q(y|x)", b.distribution("y", ["x"], "cls"))
    b.factor("q(z|x,y)", b.distribution("z", ["x", "y"], "enc"))
    b.factor("p(y)", b.distribution("y", [], "prior"))
    b.factor("p(z)", b.distribution("z", [], "prior"))
    b.factor("p(x|y,z)", b.distribution("x", ["z", "y"], "dec"))
    term = rng.choice(("KL[q(z|x,y) || p(z)] - E_{q(z|x,y)}[log p(x|y,z)]",
                       "-E_{q(z|x,y)}[log p(x|y,z) + log p(z) - log q(z|x,y)]"))
    b.lets.append(f"let L = {term} - log p(y)")
    alpha = rng.choice(("1", "0.5", b.param("positive")))
    b.losses.append(f"loss labeled = {rng.choice(('mean', 'sum'))}(L - {alpha} * log q(y|x))")
    b.losses.append("loss unlabeled = mean(E_{q(y|x)}[L] - H[q(y|x)])")
    b.loss_inputs.update({"labeled": ("x", "y"), "unlabeled": ("x",)})
    b.features.update({"let", "enumeration"})


def _hierarchy(rng, b: _Builder) -> None:
    """A chain of 2 to 4 latents: p(x|z1) p(z1|z2) ... p(zL), and an inference model either
    bottom-up (q(z1|x) q(z2|z1) ...) or top-down from x (q(zi|x, z(i-1)))."""
    xs = _observed_support(rng)
    b.var("x", xs, _shape(rng, xs), "observed")
    depth = rng.randint(2, 4)
    zs = [f"z{i}" for i in range(1, depth + 1)]
    for z in zs:
        support = rng.choice(("real", "real", "positive", "binary", "categorical"))
        b.var(z, support, _shape(rng, support), "latent")
    b.factor(f"p({zs[-1]})", b.distribution(zs[-1], [], "prior"))
    for lower, upper in reversed(list(zip(zs, zs[1:]))):
        b.factor(f"p({lower}|{upper})", b.distribution(lower, [upper], "gen"))
    b.factor(f"p(x|{zs[0]})", b.distribution("x", [zs[0]], "dec"))
    bottom_up = rng.random() < 0.5
    q_factors = []
    for i, z in enumerate(zs):
        given = ["x"] if i == 0 else ([zs[i - 1]] if bottom_up else ["x", zs[i - 1]])
        sig = f"q({z}|{','.join(given)})"
        b.factor(sig, b.distribution(z, given, "inf"))
        q_factors.append(sig)
    joint = f"p(x,{','.join(zs)})"
    b.factor(joint, " ".join([f"p(x|{zs[0]})"] + [f"p({lo}|{up})" for lo, up in zip(zs, zs[1:])] + [f"p({zs[-1]})"]))
    post = f"q({','.join(zs)}|x)"
    b.factor(post, " ".join(reversed(q_factors)))
    k = rng.choice((1, 2, 3))
    terms = [f"elbo({joint}, {post}{_options(rng, b, post)})",
             f"iwae({joint}, {post}, k={k}{_options(rng, b, post, multi=k > 1)})",
             f"E_{{{post}{_options(rng, b, post)}}}[log {joint} - log {post}]"]
    b.losses.append(f"loss = {_combine(rng, b, terms)}")
    b.loss_inputs["loss"] = ("x",)
    b.features.add("hierarchy")


TEMPLATES = {"vae": _vae, "conditional": _conditional, "regression": _regression, "mixture": _mixture,
             "experts": _experts, "semisupervised": _semisupervised, "hierarchy": _hierarchy}
WEIGHTS = {"vae": 6, "conditional": 2, "regression": 1, "mixture": 2, "experts": 1, "semisupervised": 2,
           "hierarchy": 2}


def generate_program(rng: random.Random, template: str | None = None) -> Program:
    """A random program of ``template`` (drawn by :data:`WEIGHTS` when None)."""
    if template is None:
        template = rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
    b = _Builder(rng)
    TEMPLATES[template](rng, b)
    lines = [f"model Gen{template.capitalize()}"] + b.head + b.vars + b.nets + b.factors + b.lets + b.losses
    text = _resolve_net_calls("\n".join(lines) + "\n", b.nets)
    return Program(text, template, dict(b.variables), tuple(b.signatures), dict(b.loss_inputs),
                   frozenset(b.features))


def program_case(seed: int, index: int) -> Program:
    """Program ``index`` of run ``seed`` (independent of every other index)."""
    return generate_program(random.Random(f"gmc-programs:{seed}:{index}"))
