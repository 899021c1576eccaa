"""``gmc evaluate`` and ``gmc.evaluate``: held-out log p(x) of a trained model by AIS or IWAE.

The model must define a joint p(x, z) over the observed variables and per-example continuous
latents (a factor named ``p`` with no conditioning variables) and a proposal q(z|x) over
exactly those latents, conditioned on observed variables only (the VAE's encoder). The
estimators are in :mod:`gmc.runtime.ais`; this module picks the factors, loads the checkpoint
and the held-out split, and batches the examples.
"""
from __future__ import annotations

import copy
import math
import sys
from pathlib import Path

#: Defaults of the command and the function.
EVALUATE_DEFAULTS = {"method": "ais", "k_ais": 16, "k_iwae": 5000, "steps": 500, "leapfrog": 10,
                     "step_size": 0.05, "batch_size": 100, "seed": 0}


def evaluation_factors(model, observed: tuple[str, ...]) -> tuple[str, str, tuple[str, ...]]:
    """(joint signature, proposal signature, latents) for ``observed`` variables.

    The joint is the largest factor named ``p`` with no conditioning variables that defines
    every observed variable; the proposal a factor named ``q`` over exactly its other variables,
    conditioned on observed ones. DataError when either is missing or a latent is global or
    not real-valued (AIS moves real latents; IWAE would accept others, but one rule for both
    keeps the comparison fair)."""
    from gmc.runtime.errors import DataError

    joints = [sig for sig, f in model.factors.items()
              if f.name == "p" and not f.given and set(observed) <= set(f.outputs)]
    if not joints:
        raise DataError(f"evaluation needs a joint p({', '.join(observed)}, z) with no conditioning variables; "
                        f"{model.filename} has none")
    joint = max(joints, key=lambda s: len(model.factors[s].outputs))
    latents = tuple(v for v in model.factors[joint].outputs if v not in observed)
    if not latents:
        raise DataError(f"{joint} has no latent variables: its log-density is exact, nothing to estimate")
    for v in latents:
        var = model.vars[v]
        if var.is_global or var.type.support != "real":
            kind = "global" if var.is_global else str(var.type)
            raise DataError(f"AIS and IWAE here need per-example real latents, but '{v}' is {kind}")
    proposals = [sig for sig, f in model.factors.items()
                 if f.name == "q" and set(f.outputs) == set(latents) and set(f.given) <= set(observed)]
    if not proposals:
        raise DataError(f"evaluation needs a proposal q({', '.join(latents)}|{', '.join(observed)}); "
                        f"{model.filename} has none")
    return joint, proposals[0], latents


def evaluate(path=None, *, source: str | None = None, checkpoint=None, model=None, data=None,
             method: str = "ais", k: int | None = None, steps: int = 500, leapfrog: int = 10,
             step_size: float = 0.05, batch_size: int = 100, limit: int | None = None, seed: int = 0,
             progress: bool = False, device=None) -> dict:
    """Estimate the mean held-out log p(x) (nats per example) of a trained model.

    Args:
        path / source: the .gm file or its text. checkpoint: a ``model.pt`` of ``gmc train``
            (its weights, params and, unless ``data`` is given, its data set's held-out split);
            or ``model``: an instance of the compiled class.
        data: variable name -> tensor [N, *event] of the observed variables.
        method: ``"ais"`` (k chains per example, default 16; ``steps`` intermediate
            distributions, ``leapfrog`` steps per HMC move, initial ``step_size``) or ``"iwae"``
            (k samples, default 5000).
        batch_size: examples estimated together; limit: use only the first ``limit`` examples.
        device: ``"auto"`` (or None: CUDA when available, else the CPU), ``"cpu"``, ``"cuda"``,
            ``"cuda:N"``; the estimate runs in float64, which Apple's MPS lacks, so ``auto`` never
            picks MPS here and ``"mps"`` is refused.

    Returns:
        dict: ``method``, ``log_px`` (mean over examples), ``stderr`` (its standard error from
        the per-example delta-method errors), ``examples``, ``k``, settings, ``acceptance`` (AIS)
        and ``per_example`` (list of floats).

    Raises:
        DataError: no joint or proposal, non-real or global latents, bad data or settings.
    """
    import torch

    from gmc.compiler import driver
    from gmc.runtime import ais as estimators
    from gmc.runtime.errors import DataError

    if method not in ("ais", "iwae"):
        raise DataError(f"unknown method '{method}'; choose 'ais' or 'iwae'")
    if (path is None) == (source is None):
        raise DataError("give the model as a .gm path or as source=TEXT, not both or neither")
    text, filename = driver.read_source(path) if source is None else (source, "<string>")
    model_ir, cls = driver.compile_class(text, filename)
    if model is None:
        model, data_spec, loss_name = _from_checkpoint(model_ir, cls, checkpoint, text)
    else:
        data_spec, loss_name = None, next(iter(model_ir.losses), None)
    if data is None:
        if data_spec is None:
            raise DataError("give data=... (or a checkpoint that names its data set)")
        data = _heldout(model_ir, loss_name, data_spec)
    observed = tuple(data)
    joint, proposal, latents = evaluation_factors(model_ir, observed)
    k = k or (EVALUATE_DEFAULTS["k_ais"] if method == "ais" else EVALUATE_DEFAULTS["k_iwae"])
    for what, value in (("k", k), ("steps", steps), ("leapfrog", leapfrog), ("batch_size", batch_size)):
        if not isinstance(value, int) or value < 1:
            raise DataError(f"{what} must be an integer >= 1, got {value!r}")
    device = evaluation_device(device)
    model = copy.deepcopy(model).to(device=device, dtype=torch.float64).eval()  # the caller's model stays as it is
    for p in model.parameters():
        p.requires_grad_(False)
    data = {name: torch.as_tensor(v).to(device=device, dtype=torch.float64) for name, v in data.items()}
    n = min(len(next(iter(data.values()))), limit or math.inf)
    torch.manual_seed(seed)
    joint_info, proposal_info = cls.factors[joint], cls.factors[proposal]
    estimates, errors, acceptance = [], [], []
    for start in range(0, n, batch_size):
        batch = {name: v[start:min(n, start + batch_size)] for name, v in data.items()}
        b = len(next(iter(batch.values())))
        repeated = {name: v.repeat(k, *([1] * (v.dim() - 1))) for name, v in batch.items()}

        def log_p(z, repeated=repeated):
            scope = {**repeated, **z}
            return getattr(model, joint_info.log_prob)(**{a: scope[a] for a in joint_info.outputs})

        def log_q(z, repeated=repeated):
            scope = {**repeated, **z}
            return getattr(model, proposal_info.log_prob)(
                **{a: scope[a] for a in proposal_info.outputs + proposal_info.given})

        def sample_q(repeated=repeated):
            drawn = getattr(model, proposal_info.sample)(**{a: repeated[a] for a in proposal_info.given})
            return {name: drawn[name] for name in latents}

        if method == "iwae":
            est = estimators.iwae(log_p, log_q, sample_q, k, b)
        else:
            est = estimators.ais(log_p, log_q, sample_q, k, b, steps=steps, leapfrog=leapfrog, step_size=step_size)
            acceptance.append(est.acceptance)
        estimates.append(est.log_px)
        errors.append(est.stderr)
        if progress:
            print(f"{method}: {start + b}/{n} examples", file=sys.stderr, flush=True)
    log_px, stderr = torch.cat(estimates).cpu(), torch.cat(errors).cpu()
    return {"method": method, "log_px": float(log_px.mean()), "stderr": float(stderr.pow(2).sum().sqrt() / n),
            "examples": int(n), "k": k, "joint": joint, "proposal": proposal,
            **({"steps": steps, "leapfrog": leapfrog, "acceptance": sum(acceptance) / len(acceptance)}
               if method == "ais" else {}),
            "per_example": [float(v) for v in log_px]}


def evaluation_device(name=None):
    """The torch device ``gmc evaluate`` runs on: as :func:`gmc.runtime.devices.resolve_device`,
    except that the float64 estimate cannot run on Apple's MPS (it has no float64), so ``auto``
    falls back to the CPU there and ``mps`` raises DataError naming ``--device``."""
    import torch

    from gmc.runtime.devices import resolve_device
    from gmc.runtime.errors import DataError

    if name is not None and str(name).strip().lower() == "mps":
        raise DataError("--device mps: evaluation runs in float64, which Apple's MPS backend lacks; "
                        "use --device cpu or cuda")
    device = resolve_device(name)
    return torch.device("cpu") if device.type == "mps" else device


def _from_checkpoint(model_ir, cls, checkpoint, text):
    from gmc.runtime import train
    from gmc.runtime.errors import DataError

    if checkpoint is None:
        raise DataError("give a checkpoint (gmc train's DIR/model.pt) or a model instance")
    state = train.load_checkpoint(checkpoint)
    if state["class_name"] != model_ir.name:
        raise DataError(f"{checkpoint}: is a checkpoint of model '{state['class_name']}', but the file defines "
                        f"'{model_ir.name}'")
    if state.get("source") != text:
        print("warning: the .gm file differs from the source the checkpoint was trained with", file=sys.stderr)
    model = cls(**state["extra"].get("params", {}))
    train.check_state_dict(model, state["state_dict"], str(checkpoint))
    model.load_state_dict(state["state_dict"])
    return model, state["extra"].get("data"), state["extra"].get("loss") or next(iter(model_ir.losses), None)


def _heldout(model_ir, loss_name, spec):
    """The held-out split of a data set, fed to the variables as ``gmc train`` feeds them."""
    from gmc import training
    from gmc.runtime import data as datasets
    from gmc.runtime.errors import DataError

    if loss_name is None:
        raise DataError("the model has no loss to say which variables the data feeds; give data=...")
    return training.observed_tensors(model_ir, loss_name, datasets.load_dataset(spec), spec)[1]


# ---- command line --------------------------------------------------------------------------

def add_command(sub) -> None:
    """Register ``gmc evaluate`` on the command line's subparsers."""
    from gmc import cli

    c = sub.add_parser("evaluate", help="estimate the held-out log-likelihood of a trained model (AIS or IWAE)")
    c.add_argument("file")
    c.add_argument("--checkpoint", required=True, help="DIR/model.pt written by gmc train")
    c.add_argument("--method", choices=("ais", "iwae"), default="ais")
    c.add_argument("--data", help="data set (default: the checkpoint's; its held-out split is used)")
    c.add_argument("-k", type=cli._positive_int, help="AIS chains per example (default 16) or IWAE samples "
                                                      "(default 5000)")
    c.add_argument("--steps", type=cli._positive_int, default=EVALUATE_DEFAULTS["steps"],
                   help="AIS intermediate distributions")
    c.add_argument("--leapfrog", type=cli._positive_int, default=EVALUATE_DEFAULTS["leapfrog"],
                   help="leapfrog steps per AIS transition")
    c.add_argument("--batch-size", type=cli._positive_int, default=EVALUATE_DEFAULTS["batch_size"])
    c.add_argument("--limit", type=cli._positive_int, help="evaluate only the first N held-out examples")
    c.add_argument("--seed", type=int, default=EVALUATE_DEFAULTS["seed"])
    c.add_argument("--json", action="store_true", help="print the result as JSON (with per-example values)")
    c.add_argument("--device", default="auto", metavar="auto|cpu|cuda",
                   help="where to estimate (default auto: CUDA, else the CPU; float64, so not MPS)")
    c.set_defaults(command=evaluate_command)


def evaluate_command(args) -> int:
    import json

    evaluation_device(args.device)  # a device this machine lacks stops before any loading
    data = None
    if args.data is not None:
        from gmc.compiler import driver
        from gmc.runtime import train

        model_ir = driver.compile_model(*driver.read_source(args.file))
        loss = train.load_checkpoint(args.checkpoint)["extra"].get("loss") or next(iter(model_ir.losses), None)
        data = _heldout(model_ir, loss, args.data)
    result = evaluate(args.file, checkpoint=args.checkpoint, data=data, method=args.method, k=args.k,
                      steps=args.steps, leapfrog=args.leapfrog, batch_size=args.batch_size, limit=args.limit,
                      seed=args.seed, progress=not args.json, device=args.device)
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    detail = (f"K={result['k']} chains, {result['steps']} steps x {result['leapfrog']} leapfrog, acceptance "
              f"{result['acceptance']:.2f}" if args.method == "ais" else f"K={result['k']} samples")
    print(f"{args.method.upper()} log p(x): {result['log_px']:.3f} +- {result['stderr']:.3f} nats per example "
          f"({result['examples']} held-out examples; {detail}; {result['joint']} with proposal {result['proposal']})")
    return 0


__all__ = ["EVALUATE_DEFAULTS", "add_command", "evaluate", "evaluate_command", "evaluation_device",
           "evaluation_factors"]
