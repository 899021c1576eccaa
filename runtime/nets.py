"""Built-in nets and the adapter for user-supplied ones.

A net maps its input variables (tensors [*batch, *event_shape]) to its outputs
([*batch, *output_shape]); named outputs come back as a tuple in declaration order, so
generated code unpacks them without dictionary lookups.
"""
from __future__ import annotations

import math

import torch
from torch import nn
import torch.nn.functional as F

#: Output support -> the map from unconstrained values to that support.
_SUPPORT_MAPS = {"real": None, "positive": F.softplus, "unit": torch.sigmoid,
                 "simplex": lambda h: torch.softmax(h, dim=-1)}


class MLP(nn.Module):
    """A multilayer perceptron with ReLU hidden layers and one linear layer for all outputs.

    ``input_shapes``: event shape of each input; inputs are flattened and concatenated.
    ``hidden``: hidden-layer widths. ``outputs``: (name or None, event shape, support) per
    output; each output's values are mapped to its support (positive: softplus, unit:
    sigmoid, simplex: softmax over the last dimension, real: identity).
    """

    def __init__(self, input_shapes, hidden, outputs):
        super().__init__()
        self.input_ranks = tuple(len(s) for s in input_shapes)
        sizes = [sum(math.prod(s) for s in input_shapes), *hidden]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))
        self.output_shapes = tuple(tuple(shape) for _, shape, _ in outputs)
        self.output_sizes = tuple(math.prod(s) for s in self.output_shapes)
        self.output_maps = tuple(_SUPPORT_MAPS[support] for _, _, support in outputs)
        self.named = outputs[0][0] is not None
        self.out = nn.Linear(sizes[-1], sum(self.output_sizes))
        self._one_flat_input = self.input_ranks == (1,)
        self._unchanged = tuple(len(shape) == 1 and mapping is None
                                for shape, mapping in zip(self.output_shapes, self.output_maps))

    def forward(self, *inputs: torch.Tensor):
        return self._outputs(inputs, mapped=True)

    def pre_activation(self, *inputs: torch.Tensor):
        """The outputs before their maps to the supports (logits of ``unit`` and ``simplex``
        outputs), shaped as :meth:`forward`'s; generated code asks for these where a family
        takes logits (``Bernoulli(probs=net(z))`` is computed as ``Bernoulli(logits=...)``)."""
        return self._outputs(inputs, mapped=False)

    def _outputs(self, inputs, mapped: bool):
        # one flat input (the common case) goes straight in: this runs on every training step
        h = inputs[0] if self._one_flat_input else self._join(inputs)
        for layer in self.hidden:
            h = F.relu(layer(h))
        h = self.out(h)
        if not self.named:
            return self._finish(h, 0, mapped)
        return tuple(self._finish(part, i, mapped) for i, part in enumerate(h.split(self.output_sizes, dim=-1)))

    def _join(self, inputs):
        flat = [x.reshape(*x.shape[:x.dim() - r], -1) if r != 1 else x for x, r in zip(inputs, self.input_ranks)]
        if len(flat) == 1:
            return flat[0]
        if _needs_broadcast(flat):
            # e.g. x [batch, D] with every label y [K, batch, K]: broadcast the batch dimensions only
            batch = torch.broadcast_shapes(*(t.shape[:-1] for t in flat))
            flat = [t.expand(*batch, t.shape[-1]) for t in flat]
        return torch.cat(flat, dim=-1)

    def _finish(self, h, i, mapped=True):
        if self._unchanged[i]:
            return h
        shape = self.output_shapes[i]
        if len(shape) != 1:
            h = h.reshape(h.shape[:-1] + shape)  # shape () (a scalar output) drops the last axis
        mapping = self.output_maps[i] if mapped else None
        return h if mapping is None else mapping(h)


def _needs_broadcast(tensors) -> bool:
    return len({t.shape[:-1] for t in tensors}) > 1


class UserNet(nn.Module):
    """Wraps a user's module so it returns what generated code expects.

    A net with named outputs may return a dict keyed by those names or a tuple in
    declaration order; either becomes a tuple. Raises TypeError naming the missing key.
    ``supports`` (one per output) is given when the module replaces a built-in MLP, whose
    pre-activations generated code may ask for: see :meth:`pre_activation`."""

    def __init__(self, module: nn.Module, name: str, output_names, supports=None):
        super().__init__()
        self.module = module
        self.net_name = name
        self.output_names = tuple(output_names) if output_names else None
        self.supports = tuple(supports) if supports is not None else None

    def pre_activation(self, *inputs):
        """Logits of the module's outputs where the replaced MLP would have squashed them:
        ``logit(p)`` for a ``unit`` output, ``log(p)`` (logits up to a constant) for a
        ``simplex`` one, the output itself otherwise. Exact only as far as the module's
        probabilities are: a module that can, should return logits from a ``real`` output."""
        outputs = self.forward(*inputs)
        single = self.output_names is None
        mapped = tuple(_PRE_ACTIVATIONS.get(s, _identity)(o)
                       for o, s in zip((outputs,) if single else outputs, self.supports or ()))
        return mapped[0] if single else mapped

    def forward(self, *inputs):
        result = self.module(*inputs)
        if self.output_names is None:
            return result
        if isinstance(result, dict):
            missing = [k for k in self.output_names if k not in result]
            if missing:
                raise TypeError(f"net '{self.net_name}' returned a dict without {missing}; "
                                f"it must have keys {list(self.output_names)}")
            return tuple(result[k] for k in self.output_names)
        if isinstance(result, (tuple, list)) and len(result) == len(self.output_names):
            return tuple(result)
        raise TypeError(f"net '{self.net_name}' must return a dict with keys {list(self.output_names)} "
                        f"or a tuple of {len(self.output_names)} tensors")


def _identity(h):
    return h


#: Output support -> the inverse of its map in :data:`_SUPPORT_MAPS` where logits are wanted.
_PRE_ACTIVATIONS = {"unit": torch.logit, "simplex": torch.log}


def user_net(module: nn.Module, name: str, output_names=None, supports=None) -> nn.Module:
    """The module to install for a user-supplied net (see :class:`UserNet`); ``supports``
    when it replaces a built-in MLP."""
    if not isinstance(module, nn.Module) and not callable(module):
        raise TypeError(f"net '{name}' must be a torch.nn.Module or a callable, got {type(module).__name__}")
    if output_names is None and supports is None:
        return module if isinstance(module, nn.Module) else _Callable(module)
    return UserNet(module if isinstance(module, nn.Module) else _Callable(module), name, output_names, supports)


class _Callable(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *inputs):
        return self.fn(*inputs)
