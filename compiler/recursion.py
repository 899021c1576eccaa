"""Room for the recursive passes: run a compiler stage on a thread with a large stack.

Lowering, the checks, LaTeX, ``gmc fmt``, sympy and code generation recurse once per level of
an expression tree, and a chain ``a + b + c + ...`` of N terms is a tree N levels deep.
:mod:`gmc.dsl.limits` bounds every parsed expression (at most ``MAX_NODES`` nodes, at most
``MAX_NESTING`` levels of nesting), so the recursion is bounded too; this module makes sure
the bound fits: :func:`deep_stack` runs a stage with Python's recursion limit raised to
:data:`RECURSION_LIMIT` on a worker thread whose C stack (:data:`STACK_BYTES`, reserved, not
committed, until used) holds that many frames. Nested stages run directly on that thread.
"""
from __future__ import annotations

import functools
import sys
import threading

from gmc.dsl.limits import MAX_NESTING, MAX_NODES

#: Frames a pass may use per level of an expression, times the deepest possible tree.
RECURSION_LIMIT = 25 * (MAX_NODES + MAX_NESTING) + 10_000
#: Reserved for the worker's C stack (committed only as used). Every command at both limits
#: runs with 16 MiB (Python 3.11 frames live on the heap; C recursion comes from hashing and
#: comparing deep frozen dataclasses and sympy); 256 MiB leaves a wide margin.
STACK_BYTES = 256 << 20

_inside = threading.local()
_lock = threading.Lock()
_running = 0
_saved_limit = 0


def deep_stack(stage):
    """Decorator: ``stage(*args)`` runs on a worker thread with room for :data:`RECURSION_LIMIT`
    frames and returns (or raises) what it does, in the calling thread."""
    @functools.wraps(stage)
    def run(*args, **kwargs):
        if getattr(_inside, "active", False):
            return stage(*args, **kwargs)
        outcome: dict = {}

        def work():
            _inside.active = True
            try:
                outcome["value"] = stage(*args, **kwargs)
            except BaseException as error:  # handed to the caller below
                outcome["error"] = error
            finally:
                _inside.active = False

        _enter()
        try:
            worker = threading.Thread(target=work, name=f"gmc-{stage.__name__}", daemon=True)
            previous = threading.stack_size(STACK_BYTES)  # read when the thread starts
            try:
                worker.start()
                started = True
            except RuntimeError:  # no thread with that stack (a memory limit): run here instead
                started = False
            finally:
                threading.stack_size(previous)
            if started:
                worker.join()
            else:
                work()
        finally:
            _leave()
        if "error" in outcome:
            raise outcome.pop("error")
        return outcome["value"]
    return run


def _enter() -> None:
    """Raise the recursion limit while any stage runs (it is one setting for all threads)."""
    global _running, _saved_limit
    with _lock:
        if _running == 0:
            _saved_limit = sys.getrecursionlimit()
            sys.setrecursionlimit(max(_saved_limit, RECURSION_LIMIT))
        _running += 1


def _leave() -> None:
    global _running
    with _lock:
        _running -= 1
        if _running == 0:
            sys.setrecursionlimit(_saved_limit)
