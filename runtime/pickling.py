"""Pickling instances of classes that gmc generated at run time.

``pickle`` saves an instance as a reference to its class (module and name) plus its state;
a class made by :func:`gmc.compile_file` lives in a module that exists only in the process
that compiled it, so ``torch.save(model)`` used to fail with ``Can't pickle <class
'gmc_generated_1.VAE'>``. Instead, an instance of a generated class pickles as a call of
:func:`rebuild` with the ``.gm`` source it was compiled from (text, file name, class name),
then the usual ``nn.Module`` state (parameters, buffers, submodules, attributes). Unpickling
compiles that source again, in any process where gmc is installed (once per source and
process, through the on-disk source cache), and restores the state into a new instance.

A subclass a user writes in their own importable module pickles the usual way, by
reference, since its name can be imported again. Classes themselves (``pickle.dumps(VAE)``)
are not picklable across processes: pickle saves every class by reference.
"""
from __future__ import annotations

import weakref

#: Class attribute holding ``(source text, file name, class name)`` of a generated class.
ORIGIN = "_gmc_origin"


#: Generated classes of this process by origin, so an instance unpickled (or deep-copied)
#: where its class already exists gets that very class, not a recompiled twin.
_classes: "weakref.WeakValueDictionary[tuple, type]" = weakref.WeakValueDictionary()


def register(cls: type, text: str, filename: str, name: str) -> None:
    """Record ``cls`` as compiled from ``(text, filename, name)`` (by the compiler's driver)."""
    origin = (text, filename, name)
    setattr(cls, ORIGIN, origin)
    _classes[origin] = cls


def generated_class(text: str, filename: str, name: str) -> type:
    """The class compiled from ``text``: the one this process already has, else compiled now."""
    cls = _classes.get((text, filename, name))
    if cls is None:
        from gmc.compiler import driver

        cls = driver.compile_class(text, filename, name, cached=True)[1]
    return cls


def rebuild(text: str, filename: str, name: str):
    """A new, uninitialized instance of the class compiled from ``text``; pickle then
    restores its state with ``__setstate__``."""
    cls = generated_class(text, filename, name)
    return cls.__new__(cls)


def reduce(model, protocol: int):
    """``model.__reduce_ex__(protocol)`` for a generated model (see the module docstring)."""
    origin = type(model).__dict__.get(ORIGIN)
    if origin is None:  # a user's subclass, or a class made without the compiler's driver
        return object.__reduce_ex__(model, protocol)
    from gmc.runtime.compiled import CompiledLoss

    state = {k: v for k, v in model.__dict__.items() if not isinstance(v, CompiledLoss)}
    state["_gmc_compiled"] = any(isinstance(v, CompiledLoss) for v in model.__dict__.values())
    return rebuild, tuple(origin), state


def restore(model, state: dict) -> None:
    """``__setstate__``: the nn.Module state, then ``torch.compile`` again if it was on."""
    state = dict(state)
    compiled = state.pop("_gmc_compiled", False)
    import torch

    torch.nn.Module.__setstate__(model, state)
    if compiled:
        from gmc.runtime.compiled import compile_losses

        compile_losses(model)
