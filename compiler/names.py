"""Which .gm names may become Python names in the generated module (the naming rule).

The generated module uses a user's names as they are: a variable is a method argument and a
keyword of ``m.loss(...)``/``m.log_prob(...)``/``m.sample(...)``; a param is a method and
constructor keyword and an attribute ``self.NAME``; a weight or a net is an attribute (a net
also a constructor keyword); the model names the class. So such a name must be a Python
identifier that is not

- a Python keyword (``lambda``, ``if``, ``None``, ``True``, ...; the soft keywords ``match``,
  ``case``, ``type`` and ``_`` are ordinary identifiers and allowed),
- a name the generated module itself uses (:data:`GENERATED_NAMES`: ``self``, the modules
  ``torch``, ``F``, ``math``, ``rt`` and the builtins its code calls),

and a param, weight or net, being an attribute, must not start with ``_`` nor be an attribute
every generated model has (:data:`MODEL_ATTRIBUTES`: torch.nn.Module's and gmc's API), nor the
name of one of this model's generated methods (``log_p_x_given_z``, ``sample_q_z_given_x``,
``loss_NAME``) or other attributes (a flow's layers ``flow_q_z_given_x``, a game model's
``games``; :func:`generated_attributes`). (A game's methods ``draw_GAME`` and ``loss_GAME_PLAYER``
are checked with the game, gmc.compiler.adversarial.) A param may not be ``n`` either: sample methods of unconditioned factors take
the number of draws as ``n`` beside every param. (A variable may be ``n``: it is a method
argument only where that count is not.) :func:`reserved_name_errors` reports each violation as a located error, so
``gmc check`` rejects exactly what code generation cannot handle. Constants, lets, factors,
losses and net outputs never become bare Python names and may be called anything.

A model name taken from a file's stem (no ``model`` line) is made to fit instead of rejected:
``none.gm`` names the class ``NoneModel`` (:func:`class_name_from_stem`).

This module imports neither torch nor sympy: ``gmc check`` uses it. A test keeps
:data:`MODEL_ATTRIBUTES` and :data:`GENERATED_NAMES` in step with torch and the generated code.
"""
from __future__ import annotations

import keyword
import re

from gmc.compiler import diagnostics as diag
from gmc.compiler import ir

#: Names the generated code refers to: ``self``, module globals and the builtins it calls.
GENERATED_NAMES = frozenset({
    "self", "torch", "F", "math", "rt",
    "super", "len", "sum", "min", "max", "TypeError", "NotImplementedError",
})

#: The argument of unconditioned sample methods (the number of draws); params are keywords there too.
SAMPLE_COUNT = "n"

#: Public attributes of every generated model (torch.nn.Module 2.x and gmc.runtime.GeneratedModel).
MODEL_ATTRIBUTES = frozenset({
    "T_destination", "add_module", "apply", "bfloat16", "buffers", "call_super_init", "children", "compile",
    "cpu", "cuda", "double", "dump_patches", "eval", "extra_repr", "factors", "float", "forward", "get_buffer",
    "get_extra_state", "get_parameter", "get_submodule", "half", "ipu", "latex", "latex_source",
    "load_state_dict", "log_prob", "loss", "losses", "modules", "mtia", "named_buffers", "named_children",
    "named_modules", "named_parameters", "param_defaults", "parameters", "register_backward_hook",
    "plates", "chains", "posterior_marginals",
    "register_buffer", "register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook",
    "register_full_backward_pre_hook", "register_load_state_dict_post_hook",
    "register_load_state_dict_pre_hook", "register_module", "register_parameter",
    "register_state_dict_post_hook", "register_state_dict_pre_hook", "requires_grad_", "sample",
    "set_extra_state", "set_submodule", "share_memory", "source_file", "state_dict", "to", "to_empty", "train",
    "training", "type", "variables", "xpu", "zero_grad",
})


def mangle(signature: str) -> str:
    """``q(z|x)`` -> ``q_z_given_x``; ``p(x,z)`` -> ``p_x_z`` (the factor's part of its method names)."""
    return signature.replace("|", "_given_").replace(",", "_").replace("(", "_").replace(")", "")


def method_names(model: ir.Model) -> dict[str, str]:
    """Each generated method's name -> the signature or loss it belongs to, in source order."""
    out: dict[str, str] = {}
    for sig in model.factors:
        for prefix in ("log_", "sample_") + (("marginals_",) if sig in model.chains else ()):
            out.setdefault(prefix + mangle(sig), sig)
    for name in model.losses:
        out.setdefault("loss_" + name, f"loss '{name}'")
    return out


def flow_attribute(signature: str) -> str:
    """The module attribute holding the learned layers of the flow factor ``signature``:
    ``q(z|x)`` -> ``flow_q_z_given_x`` (gmc.compiler.transforms.codegen builds it)."""
    return "flow_" + mangle(signature)


def generated_attributes(model: ir.Model) -> dict[str, str]:
    """Each attribute the generated class adds for this model (not a method) -> what it holds:
    the layers of every flow factor (a renamed flow shares its source's) and, for a model
    with games, the class attribute ``games``."""
    out: dict[str, str] = {}
    for sig, factor in model.factors.items():
        if factor.flow and factor.renamed_from is None:
            out.setdefault(flow_attribute(sig), f"the layers of the flow {sig}")
    if model.games:
        out["games"] = "the description of the model's games"
    return out


def identifier_problem(name: str) -> str | None:
    """Why ``name`` cannot be a bare Python name in generated code (the reason, completing
    "it ..."), or None when it can."""
    if not (name.isascii() and name.isidentifier()):
        return "is not a Python identifier"
    if keyword.iskeyword(name):
        return "is a Python keyword"
    if name in GENERATED_NAMES:
        return "is a name the generated Python module uses itself"
    return None


def attribute_problem(name: str, methods: dict[str, str], attributes: dict[str, str] | None = None) -> str | None:
    """Why ``name`` cannot be an attribute of the generated model, or None. ``methods``: the
    generated methods (:func:`method_names`); ``attributes``: the other generated attributes
    (:func:`generated_attributes`)."""
    problem = identifier_problem(name)
    if problem is not None:
        return problem
    if name.startswith("_"):
        return "starts with '_', which generated models keep for their own attributes"
    if name == SAMPLE_COUNT:
        return "is the number of draws of every sample method, which params are keywords of"
    if name in MODEL_ATTRIBUTES:
        return "is an attribute every generated model has (torch.nn.Module or gmc's API)"
    if name in methods:
        return f"is the name of the generated method for {methods[name]}"
    if attributes and name in attributes:
        return f"is the name of the generated attribute holding {attributes[name]}"
    return None


def reserved_name_errors(model: ir.Model) -> list[diag.Diagnostic]:
    """A located error for each declared name that cannot be used as the generated code uses
    it, and for each factor whose method names another factor's already took."""
    methods, attributes = method_names(model), generated_attributes(model)
    errors = []
    problem = identifier_problem(model.name)
    if problem is not None:
        errors.append(diag.reserved_name(model.name_span, "model", model.name, problem))
    for kind, table in (("variable", model.vars), ("param", model.params), ("weight", model.weights),
                        ("net", model.nets), ("plate", model.plates)):
        for name, decl in table.items():
            problem = identifier_problem(name) if kind == "variable" else attribute_problem(name, methods, attributes)
            if problem is not None:
                errors.append(diag.reserved_name(decl.span, kind, name, problem))
    owner: dict[str, str] = {}
    for sig, factor in model.factors.items():
        method = "log_" + mangle(sig)
        if method in owner:
            errors.append(diag.method_name_clash(factor.span, sig, method, owner[method]))
        owner.setdefault(method, sig)
    return errors


def class_name_from_stem(filename: str) -> str:
    """CamelCase of a file stem, made a valid class name: ``my_vae.gm`` -> ``MyVae``;
    ``none.gm`` -> ``NoneModel`` (a keyword), ``f.gm`` -> ``FModel``; ``<string>``,
    ``123.gm`` -> ``Model``."""
    stem = re.sub(r"\.gm$", "", filename.replace("\\", "/").rsplit("/", 1)[-1])
    words = [w for w in re.split(r"[^A-Za-z0-9]+", stem) if w]
    name = "".join(w[:1].upper() + w[1:] for w in words)
    if not (name and name[0].isalpha()):
        return "Model"
    return name + "Model" if identifier_problem(name) else name
