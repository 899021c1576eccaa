"""One fuzz case run in this process: the pipeline up to import (and, for generated
programs, the smoke run), classified.

Classes: ``ok``; ``gmc_error`` (a located diagnostic: the expected outcome for a bad
program); ``bug`` (any other exception before run time); ``import_failure`` (the generated
module does not load); ``run_failure`` (a program the checker accepted raised at run time,
or a loss that should be finite was not); ``hang`` and ``crash`` are decided by
:mod:`.workers` (no answer within the timeout; the worker process died).
"""
from __future__ import annotations

import linecache
import re
import traceback

from gmc.compiler import driver
from gmc.compiler.diagnostics import GmcError

BUG_CLASSES = ("bug", "import_failure", "run_failure", "hang", "crash", "rejected", "disagreement")


def generated_sources() -> set[str]:
    """The loader's linecache keys of generated modules."""
    return {key for key in linecache.cache if key.startswith("<gmc-generated")}


def forget_generated_sources(known: set[str]) -> None:
    """Drop the linecache entries of generated modules loaded since ``known`` was taken (one
    module per case would otherwise pile up); modules loaded before keep their tracebacks."""
    for key in generated_sources() - known:
        del linecache.cache[key]


def describe_exception(error: BaseException) -> dict:
    """Type, message and innermost frame of ``error``. A frame in a generated module is
    named by the kind of method only (``<generated>:sample_*``): line numbers and factor
    names differ from program to program while the cause is the same."""
    frames = traceback.extract_tb(error.__traceback__)
    last = frames[-1] if frames else None
    where = ""
    if last is not None:
        if last.filename.startswith("<gmc-generated"):
            where = f"<generated>:{last.name.split('_')[0]}_*"
        else:
            where = f"{'/'.join(last.filename.split('/')[-2:])}:{last.lineno} in {last.name}"
    return {"type": type(error).__name__, "message": str(error)[:300], "frame": where}


def _message_shape(message: str) -> str:
    """A message with its numbers and quoted names blanked, so equal causes compare equal."""
    return re.sub(r"'[^']*'|\d+(\.\d+)?", "_", message.split("\n")[0])[:60]


def signature(result: dict) -> str:
    """What makes two failures the same failure: class, stage, exception type, innermost
    frame and the shape of the message."""
    return "|".join((result["class"], result.get("stage", ""), result.get("type", ""), result.get("frame", ""),
                     _message_shape(result.get("message", ""))))


def compile_case(text: str) -> tuple[dict, object, object]:
    """(result, checked model or None, class or None) of compiling and importing ``text``."""
    stage, known = "check", generated_sources()
    try:
        model = driver.compile_model(text, "fuzz.gm")
        stage = "codegen"
        source = driver.python_source(model)
        stage = "import"
        cls = driver.load(source, model)
        return {"class": "ok"}, model, cls
    except GmcError:
        return {"class": "gmc_error", "stage": stage}, None, None
    except Exception as error:  # noqa: BLE001  (classifying every failure is the point)
        kind = "import_failure" if stage == "import" else "bug"
        return {"class": kind, "stage": stage, **describe_exception(error)}, None, None
    finally:
        forget_generated_sources(known)


def run_mutated(text: str) -> dict:
    """Classify one mutated source: compile, generate and import only."""
    return compile_case(text)[0]
