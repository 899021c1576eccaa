"""The ``gmc`` command line (DESIGN.md section 4).

Every user mistake (a bad .gm file, bad data, a diverging run) ends with a message on
stderr and exit status 1, never a Python traceback.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
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


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gmc", description="Compile deep generative models written in .gm notation.")
    sub = p.add_subparsers(required=True, metavar="COMMAND")

    c = sub.add_parser("check", help="check a .gm file; exit 1 with located errors")
    c.add_argument("file")
    c.set_defaults(command=_check)

    c = sub.add_parser("latex", help="print LaTeX of the factorizations and losses")
    c.add_argument("file")
    c.add_argument("--loss", help="print only this loss")
    c.set_defaults(command=_latex)

    c = sub.add_parser("compile", help="write the generated PyTorch module")
    c.add_argument("file")
    c.add_argument("-o", "--output", help="output .py file (default: standard output)")
    c.set_defaults(command=_compile)

    c = sub.add_parser("train", help="train the first loss on data")
    c.add_argument("file")
    c.add_argument("--data", required=True, help="'digits' or a path to .npz/.npy/.csv")
    c.add_argument("--epochs", type=_positive_int, default=50)
    c.add_argument("--batch-size", type=_positive_int, default=128)
    c.add_argument("--lr", type=_positive_float, default=1e-3)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--out", help="output folder (default: runs/<file stem>)")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.add_argument("--compile", action="store_true",
                   help="run the loss through torch.compile (falls back to eager, with a warning, if that fails)")
    c.set_defaults(command=_train)

    c = sub.add_parser("sample", help="draw samples of the observed variable from a trained model")
    c.add_argument("file")
    c.add_argument("--checkpoint", required=True)
    c.add_argument("-n", type=_positive_int, default=64)
    c.add_argument("-o", "--output", default="samples.png")
    c.add_argument("--seed", type=int, default=0)
    c.set_defaults(command=_sample)
    return p


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


_positive_int = _positive(int, "integer")
_positive_float = _positive(float, "number")


# ---- commands ------------------------------------------------------------------------------

def _check(args) -> int:
    from gmc.compiler import driver

    model = driver.compile_model(*driver.read_source(args.file))
    print(f"{args.file}: ok ({len(model.vars)} variables, {len(model.factors)} factors, {len(model.losses)} losses)")
    return 0


def _latex(args) -> int:
    from gmc.compiler import driver
    from gmc.compiler.diagnostics import GmcError, undefined_name
    from gmc.compiler.latex import loss_latex
    from gmc.dsl.ast import NO_SPAN

    model = driver.compile_model(*driver.read_source(args.file))
    if args.loss is None:
        print(driver.latex(model))
    elif args.loss not in model.losses:
        raise GmcError([undefined_name(NO_SPAN, args.loss, model.losses)], model.source, model.filename)
    else:
        print(loss_latex(model, args.loss))
    return 0


def _compile(args) -> int:
    from gmc.compiler import driver

    source = driver.python_source(driver.compile_model(*driver.read_source(args.file)))
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
