"""``gmc.mcmc`` and ``gmc mcmc``: NUTS over a model's global latents, using its compiled log-joint.

The pipeline: compile the .gm file (checked IR and generated class), choose the joint and its
latents (:mod:`gmc.compiler.mcmc_plan`, located errors), unconstrain each latent through its
support's bijection (:mod:`gmc.compiler.symbolic.bijections`, log-Jacobians derived by
sympy), assemble the potential from the generated per-factor log-densities
(:mod:`gmc.runtime.log_joint`) and sample it with Pyro's NUTS (:mod:`gmc.runtime.mcmc`).
The result is an ArviZ ``InferenceData`` whose ``posterior`` holds the constrained draws.
"""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Mapping

#: Defaults of the command and the function (CmdStan's: 1000 warmup, 1000 draws, 4 chains).
MCMC_DEFAULTS = {"chains": 4, "draws": 1000, "warmup": 1000, "seed": 0}


def mcmc(path: str | Path | None = None, data=None, *, source: str | None = None, chains: int = 4,
         draws: int = 1000, warmup: int = 1000, seed: int = 0, kernel: str = "nuts", factor: str | None = None,
         params: Mapping[str, float] | None = None, model=None, max_tree_depth: int = 10,
         target_accept: float = 0.8, num_steps: int | None = None, progress: bool = False):
    """Sample p(global latents | data) of a .gm model with NUTS (or static HMC).

    Args:
        path: the .gm file (or give its text as ``source``).
        data: variable name -> array-like ``[N, *event]`` for per-example variables (a global
            variable given as data: ``[*event]``), or a data-set spec as for ``gmc mcmc --data``
            (``diabetes``, ``iris``, ``digits``: the training split, features ``x`` and
            targets or labels ``y``; a ``.npz`` whose arrays are named after variables).
        chains, draws, warmup, seed: chains run one after another, chain c seeded ``seed + c``.
        kernel: ``"nuts"`` (default) or ``"hmc"`` (``num_steps`` leapfrog steps, default 10).
        factor: the joint to sample, e.g. ``"p(y,w|x)"`` (default: see mcmc_plan).
        params: overrides of the model's params; ``model``: an instance of the compiled class
            to use (its weights are held fixed), e.g. one loaded from a checkpoint.
        max_tree_depth, target_accept: NUTS settings (Stan's defaults 10 and 0.8).

    Returns:
        ``arviz.InferenceData``: ``posterior`` (latent -> [chain, draw, *event], on its support),
        ``sample_stats.diverging`` [chain, draw] and attrs (joint, kernel, seconds, settings).

    Raises:
        GmcError: a bad program, or latents MCMC cannot sample (located).
        DataError: unknown or misshaped data, bad settings; UserError: pyro/arviz missing.
    """
    import numpy as np
    import torch

    from gmc.compiler import driver, mcmc_plan
    from gmc.runtime import log_joint, mcmc as sampler
    from gmc.runtime.errors import DataError

    if (path is None) == (source is None):
        raise DataError("give the model as a .gm path or as source=TEXT, not both or neither")
    text, filename = driver.read_source(path) if source is None else (source, "<string>")
    ir_model, cls = driver.compile_class(text, filename)
    if factor is not None and factor not in ir_model.factors:
        raise DataError(f"--factor {factor}: no such factor; this model has: {', '.join(ir_model.factors)}")
    tensors = _data_tensors(ir_model, data)
    plan = mcmc_plan.plan(ir_model, tensors, factor)
    _check_data(ir_model, plan, tensors)

    dtype = torch.float64
    # a copy: the caller's model keeps its dtype and its parameters' requires_grad
    instance = cls(**dict(params or {})) if model is None else copy.deepcopy(model)
    instance = instance.to(dtype)
    for p in instance.parameters():
        p.requires_grad_(False)
    data_used = {name: tensors[name].to(dtype) for name in plan.data}
    terms, arguments = [], {}
    for term in plan.terms:
        info = cls.factors[term.signature]
        terms.append((info.log_prob, term.per_example))
        arguments[info.log_prob] = info.outputs + info.given
    transforms = {lat.name: _transform(lat) for lat in plan.latents}
    joint = log_joint.LogJoint(instance, terms, arguments, data_used, transforms)
    shapes = {name: t.unconstrained_shape for name, t in transforms.items()}
    drawn = sampler.run_chains(joint.potential, shapes, chains=chains, draws=draws, warmup=warmup, seed=seed,
                               kernel=kernel, dtype=dtype, max_tree_depth=max_tree_depth,
                               target_accept=target_accept, num_steps=num_steps, progress=progress)
    with torch.no_grad():
        posterior = {name: transforms[name].constrain(u).numpy() for name, u in drawn.samples.items()}
    import gmc

    attrs = {"model": cls.__name__, "source_file": filename, "joint": plan.joint, "kernel": kernel,
             "sampler": "pyro.infer.mcmc." + kernel.upper(), "chains": chains, "draws": draws, "warmup": warmup,
             "seed": seed, "sampling_seconds": drawn.seconds, "gmc_version": gmc.__version__}
    return sampler.inference_data({k: np.asarray(v) for k, v in posterior.items()}, drawn.diverging, attrs)


def summary(idata) -> str:
    """The stansummary-style table of an ``InferenceData`` returned by :func:`mcmc`."""
    from gmc.runtime import mcmc as sampler

    a = idata.attrs
    title = (f"Inference for {a.get('model', '?')}: {a.get('joint', '?')} by {str(a.get('kernel', '')).upper()}, "
             f"{a.get('chains')} chains x {a.get('draws')} draws ({a.get('warmup')} warmup each)")
    return sampler.summary_text(idata, title)


def _transform(latent):
    from gmc.compiler.symbolic.bijections import bijection
    from gmc.runtime import log_joint

    if latent.support == "simplex":
        return log_joint.stick_breaking(latent.shape)
    b = bijection(latent.support)
    return log_joint.element_wise(b.constrain, b.unconstrain, b.log_det, latent.shape)


def _data_tensors(model, data) -> dict:
    """Variable name -> float tensor; a spec string goes through gmc's data loaders."""
    import numpy as np
    import torch

    from gmc.runtime.errors import DataError

    if isinstance(data, (str, os.PathLike)):
        return _load_spec(model, os.fspath(data))
    if not isinstance(data, Mapping):
        raise DataError(f"data must be a dict of variable name -> array or a data-set spec, got "
                        f"{type(data).__name__}")
    out = {}
    for name, value in data.items():
        if name not in model.vars:
            raise DataError(f"the data gives '{name}', which is not a variable of {model.name} "
                            f"(variables: {', '.join(model.vars)})")
        tensor = torch.as_tensor(np.asarray(value) if not torch.is_tensor(value) else value)
        if not tensor.is_floating_point():
            tensor = tensor.to(torch.float64)
        out[name] = tensor
    return out


def _load_spec(model, spec: str) -> dict:
    import numpy as np

    from gmc import training
    from gmc.runtime import data as datasets
    from gmc.runtime.errors import DataError

    if spec.lower().endswith(".npz"):
        if not Path(spec).is_file():
            raise DataError(f"{spec}: data file not found")
        try:
            with np.load(spec, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
        except Exception as exc:  # corrupt file, pickled objects
            raise DataError(f"{spec}: cannot read as a .npz file ({exc})") from None
        return _data_tensors(model, arrays)
    ds = datasets.load_dataset(spec)
    out = {}
    if "x" in model.vars:
        out["x"] = training.shape_for(model.vars["x"], ds.train, spec)
    targets = ds.train_targets if ds.train_targets is not None else ds.train_labels
    if "y" in model.vars and targets is not None:
        out["y"] = training.shape_for(model.vars["y"], training._columns(model.vars["y"], targets, spec), spec)
    return out


def _check_data(model, plan, tensors) -> None:
    """Every data variable is read by the joint, has the declared event shape after its
    example axis, and all per-example variables have the same number of examples."""
    from gmc.runtime.errors import DataError

    unused = [name for name in tensors if name not in plan.data]
    if unused:
        raise DataError(f"the data gives {', '.join(repr(n) for n in unused)}, which the joint {plan.joint} does "
                        f"not read (it reads: {', '.join(plan.data) or 'nothing'})")
    sizes = {}
    for name in plan.data:
        var, t = model.vars[name], tensors[name]
        shape = tuple(var.type.shape)
        if var.is_global:
            if tuple(t.shape) != shape:
                raise DataError(f"'{name}' is global {var.type}, so its data must have shape {list(shape)}; got "
                                f"{list(t.shape)}")
            continue
        if t.dim() == len(shape) or tuple(t.shape[1:]) != shape or t.shape[0] < 1:
            raise DataError(f"'{name}' is {var.type}, so its data must have shape [N, {', '.join(map(str, shape))}]"
                            .replace(", ]", "]") + f" with N >= 1 examples; got {list(t.shape)}")
        sizes[name] = int(t.shape[0])
    if len(set(sizes.values())) > 1:
        raise DataError("the per-example data must have one number of examples; got "
                        + ", ".join(f"{n}: {s}" for n, s in sizes.items()))
    for name in plan.data:
        if not bool(tensors[name].isfinite().all()):
            raise DataError(f"the data of '{name}' holds NaN or inf")


# ---- command line --------------------------------------------------------------------------

def add_command(sub) -> None:
    """Register ``gmc mcmc`` on the command line's subparsers."""
    from gmc import cli

    c = sub.add_parser("mcmc", help="sample the posterior of the global latents with NUTS")
    c.add_argument("file")
    c.add_argument("--data", required=True, help="'diabetes', 'iris', 'digits' (training split: x, y) or a .npz "
                                                 "whose arrays are named after variables")
    c.add_argument("--chains", type=cli._positive_int, default=MCMC_DEFAULTS["chains"])
    c.add_argument("--draws", type=cli._positive_int, default=MCMC_DEFAULTS["draws"], help="draws per chain")
    c.add_argument("--warmup", type=_non_negative_int, default=MCMC_DEFAULTS["warmup"],
                   help="adaptation steps per chain (discarded)")
    c.add_argument("--seed", type=int, default=MCMC_DEFAULTS["seed"])
    c.add_argument("--out", help="output folder for posterior.nc (default: runs/<file stem>)")
    c.add_argument("--kernel", choices=("nuts", "hmc"), default="nuts")
    c.add_argument("--factor", help="the joint to sample, e.g. 'p(y,w|x)' (default: the largest product p)")
    c.add_argument("--set", action="append", default=[], type=cli._assignment, metavar="PARAM=VALUE",
                   help="override a param's default (repeatable)")
    c.add_argument("--max-tree-depth", type=cli._positive_int, default=10)
    c.add_argument("--target-accept", type=_probability, default=0.8)
    c.add_argument("--progress", action="store_true", help="show Pyro's progress bar")
    c.set_defaults(command=mcmc_command)


def _non_negative_int(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _probability(text: str) -> float:
    import argparse

    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number strictly between 0 and 1, got {text!r}")
    return value


def mcmc_command(args) -> int:
    import sys

    from gmc import training
    from gmc.compiler import driver
    from gmc.runtime.run_folder import claimed_folder
    from gmc.runtime.train import atomic_output

    text, filename = driver.read_source(args.file)
    params = training.param_overrides(driver.compile_model(text, filename), args.set)
    out = Path(args.out) if args.out else Path("runs") / Path(args.file).stem
    with claimed_folder(out, ("posterior.nc",)):
        idata = mcmc(args.file, args.data, chains=args.chains, draws=args.draws, warmup=args.warmup,
                     seed=args.seed, kernel=args.kernel, factor=args.factor, params=params,
                     max_tree_depth=args.max_tree_depth, target_accept=args.target_accept, progress=args.progress)
        print(summary(idata))
        atomic_output(out / "posterior.nc", lambda tmp: idata.to_netcdf(str(tmp), engine="h5netcdf"))
    print(f"wrote {out / 'posterior.nc'}", file=sys.stderr)
    return 0


__all__ = ["MCMC_DEFAULTS", "add_command", "mcmc", "mcmc_command", "summary"]
