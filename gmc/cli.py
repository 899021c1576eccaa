"""The ``gmc`` command line (docs/design.md section 4).

Every user mistake (a bad .gm file, bad data, a diverging run) ends with a message on
stderr and exit status 1, never a Python traceback.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    _printable_output()
    args = _parser().parse_args(argv)
    from gmc.compiler.diagnostics import GmcError
    from gmc.runtime.errors import UserError

    try:
        return args.command(args) or 0
    except GmcError as e:
        print(e.render(), file=sys.stderr)
        return 1
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _printable_output() -> None:
    """Print what the terminal's encoding cannot show (a file name that is not UTF-8, read
    by Python as lone surrogates) as backslash escapes instead of failing with a traceback."""
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gmc", description="Compile deep generative models written in .gm notation.")
    p.add_argument("--version", action="version", version=f"gmc {_version()}")
    sub = p.add_subparsers(required=True, metavar="COMMAND")

    c = sub.add_parser("check", help="check a .gm file; exit 1 with located errors")
    c.add_argument("file")
    c.set_defaults(command=_check)

    c = sub.add_parser("fmt", help="print the canonical form of a .gm file (comments kept)")
    c.add_argument("file")
    c.add_argument("-i", "--in-place", action="store_true", help="rewrite the file instead of printing")
    c.add_argument("--check", action="store_true",
                   help="print nothing; exit 1 naming the file when it is not in canonical form")
    c.set_defaults(command=_fmt)

    c = sub.add_parser("info", help="list variables, factors, nets, losses and how each term is computed")
    c.add_argument("file")
    c.add_argument("--json", action="store_true", help="machine-readable output (sorted keys)")
    c.set_defaults(command=_info)

    c = sub.add_parser("latex", help="print LaTeX of the factorizations and losses")
    c.add_argument("file")
    c.add_argument("--loss", help="print only this loss")
    c.add_argument("--derived", action="store_true",
                   help="print the losses after simplification, closed forms expanded")
    c.set_defaults(command=_latex)

    c = sub.add_parser("explain", help="list each rewrite and derivation applied, with its source")
    c.add_argument("file")
    c.set_defaults(command=_explain)

    c = sub.add_parser("graph", help="draw the graphical model (png, svg, pdf; dot for Graphviz text)")
    c.add_argument("file")
    c.add_argument("-o", "--output", help="output file, format from the extension (default: DOT text on stdout)")
    c.set_defaults(command=_graph)

    c = sub.add_parser("compile", help="write the generated PyTorch module")
    c.add_argument("file")
    c.add_argument("-o", "--output", help="output .py file (default: standard output)")
    c.set_defaults(command=_compile)

    # Defaults are filled in by gmc.training.TRAIN_DEFAULTS, so that --resume sees what was given.
    c = sub.add_parser("train", help="train the first loss on data")
    c.add_argument("file")
    c.add_argument("--data", help="'digits', 'iris', 'diabetes' or a path to .npz/.npy/.csv "
                                  "(required unless --resume)")
    c.add_argument("--epochs", type=_positive_int, help="total epochs (default 50; with --resume, the run's)")
    c.add_argument("--batch-size", type=_positive_int, help="examples per step (default 128)")
    c.add_argument("--lr", type=_positive_float, help="Adam learning rate (default 0.001)")
    c.add_argument("--seed", type=int, help="random seed (default 0)")
    c.add_argument("--out", help="output folder (default: runs/<file stem>)")
    c.add_argument("--resume", metavar="DIR",
                   help="continue the run saved in DIR (its model.pt) up to --epochs in total, with its settings")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.add_argument("--set", action="append", default=[], type=_assignment, metavar="PARAM=VALUE",
                   help="override a param's default, e.g. --set N=354 (repeatable)")
    c.add_argument("--loss", help="the loss to train (default: the first in the file)")
    c.add_argument("--schedule", action="append", default=[], metavar="NAME=linear:START:END:STEPS",
                   help="move a param linearly from START to END over STEPS optimizer steps (repeatable)")
    c.add_argument("--compile", action="store_true",
                   help="run the loss through torch.compile (falls back to eager, with a warning, if that fails)")
    c.add_argument("--device", default="auto", metavar="auto|cpu|cuda|mps",
                   help="where to train (default auto: CUDA, else MPS, else the CPU)")
    c.add_argument("--nproc", type=_positive_int, default=1, metavar="N",
                   help="data-parallel training in N processes (DistributedDataParallel: gloo on the CPU, "
                        "nccl with one GPU each); --batch-size is per process")
    c.add_argument("--player-lr", action="append", default=[], type=_assignment, metavar="PLAYER=LR",
                   help="a game player's Adam learning rate, e.g. --player-lr disc=1e-4 (repeatable)")
    c.add_argument("--player-betas", action="append", default=[], metavar="PLAYER=B1,B2",
                   help="a game player's Adam betas, e.g. --player-betas disc=0.5,0.999 (repeatable)")
    c.set_defaults(command=_train)

    c = sub.add_parser("sample", help="draw samples of the observed variable from a trained model")
    c.add_argument("file")
    c.add_argument("--checkpoint", required=True)
    c.add_argument("-n", type=_positive_int, default=64)
    c.add_argument("-o", "--output", help="output picture (default: sampled.png next to the checkpoint)")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--given", action="append", default=[], type=_assignment, metavar="VAR=VALUE",
                   help="condition on a variable, e.g. --given y=3 (a label for categorical[K]; repeatable)")
    c.add_argument("--device", default="auto", metavar="auto|cpu|cuda|mps",
                   help="where to sample (default auto: CUDA, else MPS, else the CPU)")
    c.set_defaults(command=_sample)

    from gmc.visualize_command import add_parser as add_visualize

    add_visualize(sub)
    from gmc import evaluation, inference  # gmc mcmc, gmc evaluate (issue 17)
    inference.add_command(sub)
    evaluation.add_command(sub)
    return p


def _version() -> str:
    from gmc import __version__

    return __version__


def _positive(cast, what: str):
    """An argparse type accepting values of ``cast`` greater than zero."""
    def parse(text: str):
        try:
            value = cast(text)
        except ValueError:
            value = None
        if value is None or not value > 0:
            raise argparse.ArgumentTypeError(f"expected a positive {what}, got {text!r}")
        return value
    return parse


def _assignment(text: str) -> tuple[str, float]:
    """``NAME=NUMBER`` (for --set) as a pair."""
    name, sep, value = text.partition("=")
    try:
        if sep and name.strip().isidentifier():
            return name.strip(), float(value)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"expected NAME=NUMBER, got {text!r}")


_positive_int = _positive(int, "integer")
_positive_float = _positive(float, "number")


# ---- commands ------------------------------------------------------------------------------

def _check(args) -> int:
    from gmc.compiler import driver
    from gmc.compiler.diagnostics import render_all

    text, filename = driver.read_source(args.file)
    model, warnings = driver.check_source(text, filename)
    if warnings:
        print(render_all(warnings, text, filename), file=sys.stderr)
    counts = f"{len(model.vars)} variables, {len(model.factors)} factors"
    if model.losses or not model.games:  # a game-only file has no losses to count
        counts += f", {len(model.losses)} losses"
    if model.games:
        counts += f", {len(model.games)} game{'s' if len(model.games) != 1 else ''}"
    noted = f", {len(warnings)} warning{'s' if len(warnings) != 1 else ''}" if warnings else ""
    print(f"{args.file}: ok ({counts}{noted})")
    return 0


def _fmt(args) -> int:
    from gmc.compiler import driver
    from gmc.dsl.printer import format_source

    text, filename = driver.read_source(args.file)
    canonical = format_source(text, filename)
    if getattr(args, "check", False):
        if canonical != text:
            print(f"{args.file}: not in canonical form; 'gmc fmt -i {args.file}' rewrites it", file=sys.stderr)
            return 1
        return 0
    if args.in_place:
        if canonical != text:
            Path(args.file).write_text(canonical, encoding="utf-8")
    else:
        sys.stdout.write(canonical)
    return 0


def _info(args) -> int:
    from gmc.compiler import driver
    from gmc.compiler.info import info_json, info_text, model_info

    text, filename = driver.read_source(args.file)
    summary = model_info(*driver.check_source(text, filename))
    print(info_json(summary) if args.json else info_text(summary))
    return 0


def _latex(args) -> int:
    from gmc.compiler import driver
    from gmc.compiler.latex import loss_latex
    from gmc.runtime.errors import DataError

    model = driver.compile_model(*driver.read_source(args.file))
    if args.loss is not None and args.loss not in model.losses:
        raise DataError(f"--loss {args.loss}: {model.filename} has no such loss (its losses: "
                        f"{', '.join(model.losses) or 'none'})")
    if args.derived:
        text = driver.derived_latex(model)
        if args.loss is not None:
            text = _loss_block(text, loss_latex(model, args.loss).split(" = ")[0])
        print(text)
    elif args.loss is None:
        print(driver.latex(model))
    else:
        print(loss_latex(model, args.loss))
    return 0


def _loss_block(text: str, symbol: str) -> str:
    """The lines of ``text`` that belong to the loss whose LaTeX symbol is ``symbol``."""
    out, inside = [], False
    for line in text.splitlines():
        if line.startswith(r"\mathcal{L}"):
            inside = line.split(" = ")[0] == symbol
        if inside:
            out.append(line)
    return "\n".join(out)


def _explain(args) -> int:
    from gmc.compiler import driver

    print(driver.explain(driver.compile_model(*driver.read_source(args.file))))
    return 0


def _graph(args) -> int:
    from gmc.graphical import graph
    from gmc.runtime.errors import DataError
    from gmc.runtime.train import atomic_output

    picture = graph(args.file)
    if args.output is None:
        sys.stdout.write(picture.dot())
        return 0
    out = Path(args.output)
    if out.suffix.lower() not in (".dot", ".gv", ".png", ".svg", ".pdf"):
        raise DataError(f"-o {args.output}: unknown picture format '{out.suffix}'; use .png, .svg, .pdf or .dot")
    atomic_output(out, picture.save)
    print(f"wrote {out}", file=sys.stderr)
    return 0


def _compile(args) -> int:
    from gmc.compiler import driver
    from gmc.compiler.diagnostics import render_all

    text, filename = driver.read_source(args.file)
    model, warnings = driver.check_source(text, filename)
    if warnings:
        print(render_all(warnings, text, filename), file=sys.stderr)
    source = driver.python_source(model)
    if args.output is None:
        sys.stdout.write(source)
    else:
        Path(args.output).write_text(source, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _train(args) -> int:
    from gmc import training

    return training.train_command(args)


def _sample(args) -> int:
    from gmc import training

    return training.sample_command(args)
