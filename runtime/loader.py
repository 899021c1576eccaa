"""Load generated source as a Python module, with tracebacks that show the generated lines.

The source is registered with :mod:`linecache` under a unique pseudo-filename before it is
executed, the same technique torch.fx uses, so ``traceback`` and debuggers can display it.
"""
from __future__ import annotations

import itertools
import linecache
import types

_counter = itertools.count()


def load_module(source: str, origin: str = "<string>") -> types.ModuleType:
    """Execute generated ``source`` as a fresh module; ``origin`` names the .gm file."""
    from gmc.compiler.codegen.text import inert
    from gmc.runtime.piecewise import exec_source

    # the file name is user text: no line break or control character in tracebacks' headers
    key = f"<gmc-generated {inert(origin)} #{next(_counter)}>"
    linecache.cache[key] = (len(source), None, source.splitlines(keepends=True), key)
    module = types.ModuleType(f"gmc_generated_{next(_counter)}")
    module.__file__ = key
    exec_source(source, key, module.__dict__)  # a large module in pieces: gmc.runtime.piecewise
    return module


def load_class(source: str, class_name: str, origin: str = "<string>") -> type:
    """The class ``class_name`` defined by generated ``source``."""
    return getattr(load_module(source, origin), class_name)
