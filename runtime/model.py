"""Base class of generated models: the name-based API over the generated methods.

A generated class declares what its source defined (class attributes below) and one method
per factor and loss (``log_q_z_given_x``, ``sample_q_z_given_x``, ``loss_loss``). This base
class maps the API of docs/design.md section 3 onto them, validating names and shapes once per
call; the generated methods themselves are straight-line torch with no checks.
"""
from __future__ import annotations

import functools
import operator
from typing import NamedTuple

import torch
from torch import nn

from gmc.runtime.errors import DataError


#: Floating-point types the API accepts: half precision (float16, bfloat16) overflows the
#: log-densities' intermediate values and torch's fused ops reject mixed dtypes.
_SUPPORTED_DTYPES = (torch.float32, torch.float64)


class FactorInfo(NamedTuple):
    log_prob: str
    sample: str
    outputs: tuple[str, ...]
    given: tuple[str, ...]


class LossInfo(NamedTuple):
    """``batch_from_n``: the loss reads no data and draws its own batch; the caller gives its size n."""

    method: str
    inputs: tuple[str, ...]
    batch_from_n: bool = False


@functools.lru_cache(maxsize=256)
def _as_set(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(names)


_DTYPE = operator.attrgetter("dtype")
_NUMEL = operator.methodcaller("numel")
_SUPPORTED_DTYPE_SET = frozenset(_SUPPORTED_DTYPES)


def _plain_order(cls: type, method: str, needed: tuple[str, ...]) -> tuple[str, ...] | None:
    """The positional parameters of ``cls.method`` when they are exactly ``needed`` and every
    one is a variable of event shape (), else None (cached on the class): the inputs such a
    method takes can be checked wholesale by :meth:`GeneratedModel._plain_args`."""
    cache = cls.__dict__.get("_gmc_plain_order")
    if cache is None:
        cache = {}
        setattr(cls, "_gmc_plain_order", cache)
    if method not in cache:
        order = _positional_names(cls, method)
        ranks = _event_ranks(cls)
        plain = (order is not None and len(order) == len(needed) and set(order) == set(needed)
                 and all(ranks.get(name, 1) == 0 for name in order))
        cache[method] = order if plain else None
    return cache[method]


def _event_ranks(cls: type) -> dict[str, int]:
    """Variable name -> number of event dimensions (cached on the class)."""
    ranks = cls.__dict__.get("_gmc_event_ranks")
    if ranks is None:
        ranks = {name: len(shape) for name, (_, shape) in cls.variables.items()}
        setattr(cls, "_gmc_event_ranks", ranks)
    return ranks


def _positional_names(cls: type, method: str) -> tuple[str, ...] | None:
    """Names of the positional parameters of ``cls.method`` after ``self``, in order (cached on
    the class); None when it is not a plain function (then callers pass keywords)."""
    cache = cls.__dict__.get("_gmc_positional")
    if cache is None:
        cache = {}
        setattr(cls, "_gmc_positional", cache)
    if method not in cache:
        code = getattr(getattr(cls, method, None), "__code__", None)
        cache[method] = None if code is None else code.co_varnames[1:code.co_argcount]
    return cache[method]


class GeneratedModel(nn.Module):
    """Shared API of generated models (see docs/design.md section 3).

    Class attributes set by generated code: ``variables`` (name -> (support, event shape)),
    ``factors`` (signature -> FactorInfo), ``losses`` (name -> LossInfo, in source order),
    ``param_defaults`` (name -> float), ``latex_source`` and ``source_file``.
    """

    variables: dict[str, tuple[str, tuple[int, ...]]] = {}
    factors: dict[str, FactorInfo] = {}
    losses: dict[str, LossInfo] = {}
    param_defaults: dict[str, float] = {}
    #: plate name -> its variables (``plate data(x, y)``); the plate's size N is a keyword like
    #: a param's (gmc.compiler.plates), None meaning "this batch is the whole data set".
    plates: dict[str, tuple[str, ...]] = {}
    #: chain signature -> its latent sequence (``p(x) = sum_{z} p(z[0]) p(z[t]|z[t-1]) p(x[t]|z[t])``)
    chains: dict[str, str] = {}
    latex_source: str = ""
    source_file: str = ""

    def __init__(self):
        super().__init__()
        # Carries dtype and device for sampling when no input tensor does (``.to()`` moves it).
        self.register_buffer("_anchor", torch.zeros(()), persistent=False)

    def __init_subclass__(cls, **kwargs):
        """Give each subclass's constructor the keyword ``compile`` (default False).

        ``VAE(compile=True)`` runs the loss methods through ``torch.compile``, falling back to
        eager code with a warning when that fails (:mod:`gmc.runtime.compiled`); generated
        constructors stay as they are."""
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return

        @functools.wraps(init)
        def __init__(self, *args, compile: bool = False, **kw):
            # Depth of nested wrapped constructors (a user's subclass calling ours): compile
            # once, when the outermost one returns. Kept in __dict__ because nn.Module's
            # __setattr__ cannot run before nn.Module.__init__.
            state = self.__dict__
            state["_gmc_init_depth"] = state.get("_gmc_init_depth", 0) + 1
            try:
                init(self, *args, **kw)
            finally:
                state["_gmc_init_depth"] -= 1
            if compile and state["_gmc_init_depth"] == 0:
                from gmc.runtime.compiled import compile_losses

                compile_losses(self)

        cls.__init__ = __init__

    def __reduce_ex__(self, protocol):
        """Pickle by the .gm source, so instances unpickle in any process (:mod:`gmc.runtime.pickling`)."""
        from gmc.runtime.pickling import reduce

        return reduce(self, protocol)

    def __setstate__(self, state):
        from gmc.runtime.pickling import restore

        restore(self, state)

    def forward(self, *args, **kwargs):
        """Overridden by generated classes with their first loss; a model without losses has none."""
        raise DataError(f"{type(self).__name__} defines no loss, so it has no forward(); use sample(...) and "
                        "log_prob(...)")

    # ---- API ---------------------------------------------------------------------------
    def loss(self, name: str | None = None, /, **inputs) -> torch.Tensor:
        """The scalar loss ``name`` (default: the first in the file), in nats.

        ``inputs``: a tensor [batch, *event_shape] for each variable the loss reads, and
        optionally overrides of params. ``name`` is positional-only, so a variable or param
        may itself be called ``name``. A loss that reads no data but draws per-example
        variables (a GAN's generator loss) takes ``n``, the number of draws it averages
        (default 1); any other refuses it. Raises DataError for unknown, missing or
        misshaped inputs, and an ``n`` that is not an integer >= 1."""
        if name is None:
            if not self.losses:
                raise DataError(f"{type(self).__name__} defines no loss; it can be sampled and scored "
                                "(sample(...), log_prob(...))")
            name = next(iter(self.losses))
        info = self.losses.get(name)
        if info is None:
            raise DataError(f"no loss named '{name}'; this model has: {', '.join(self.losses)}")
        if not info.batch_from_n:
            args = self._plain_args(info.method, info.inputs, inputs, nonempty=True)
            if args is not None:
                return getattr(self, info.method)(*args)
        n = inputs.pop("n", None) if info.batch_from_n else None
        data, params = self._split_inputs(f"loss '{name}'", info.inputs, inputs)
        for key, tensor in data.items():
            if tensor.numel() == 0:  # the mean over no examples would be NaN
                raise DataError(f"loss '{name}' got an empty batch: '{key}' has shape {list(tensor.shape)}; "
                                "a loss averages over at least one example")
        if info.batch_from_n:  # one draw unless the caller asks for a batch
            data["n"] = 1 if n is None else self._batch_size(f"loss '{name}' reads no data, so it", n)
        return self._call(info.method, data, params)

    @staticmethod
    def _batch_size(what: str, n) -> int:
        try:
            size = None if isinstance(n, bool) else operator.index(n)
        except TypeError:
            size = None
        if size is None or size < 1:
            raise DataError(f"{what} needs the number of draws, an integer n >= 1, e.g. n=128; got {n!r}")
        return size

    def log_prob(self, factor: str, /, **values) -> torch.Tensor:
        """log density of ``factor`` (e.g. ``"p(x|z)"``) at ``values``: shape [batch], nats."""
        info = self._factor(factor)
        needed = info.outputs + info.given
        args = self._plain_args(info.log_prob, needed, values)
        if args is not None:
            return getattr(self, info.log_prob)(*args)
        data, params = self._split_inputs(f"log {factor}", needed, values)
        return self._call(info.log_prob, data, params)

    def sample(self, factor: str, /, n: int | None = None, **given) -> dict[str, torch.Tensor]:
        """Ancestral samples of ``factor``'s variables, as a dict name -> [batch, *event].

        An unconditioned factor (``p(x,z)``) needs ``n``; a conditional one (``q(z|x)``)
        takes its conditioning variables and draws one sample per example. A factor
        conditioned on a variable named ``n`` takes it as ``n=``."""
        info = self._factor(factor)
        if "n" in info.given and n is not None:
            given, n = {**given, "n": n}, None
        data, params = self._split_inputs(f"sampling {factor}", info.given, given)
        if not info.given:
            if n is None or int(n) < 1:
                raise DataError(f"sampling {factor} needs the number of samples, e.g. n=16")
            data["n"] = int(n)
        elif n is not None:
            raise DataError(f"{factor} is conditioned on {', '.join(info.given)}: it draws one sample "
                            "per given example, so n is not used")
        return self._call(info.sample, data, params)

    def posterior_marginals(self, factor: str, /, **values) -> torch.Tensor:
        """p(z[t] = k | values) for a chain ``factor`` (``"p(x)"``) by forward-backward:
        [batch, T, K], each row summing to 1. Raises DataError for a factor that is not a chain."""
        info = self._factor(factor)
        sig = factor.replace(" ", "")
        if sig not in self.chains:
            raise DataError(f"'{factor}' is not a chain over a latent sequence; chains: "
                            f"{', '.join(self.chains) or 'none'}")
        data, params = self._split_inputs(f"posterior_marginals {factor}", info.outputs + info.given, values)
        return getattr(self, "marginals_" + info.log_prob.removeprefix("log_"))(**data, **params)

    def latex(self) -> str:
        """LaTeX of every factorization and loss, in source order."""
        return self.latex_source

    @classmethod
    def _repr_latex_(cls):
        """Jupyter shows a compiled class or instance as its equations (:mod:`gmc.notebook`);
        a classmethod, because IPython asks classes for bound methods only."""
        from gmc.notebook import equations

        return equations(cls)._repr_latex_()

    @classmethod
    def _repr_html_(cls):
        """Jupyter's richer view of a class or instance: variables, factors and losses as a
        table, the equations and the graphical model (:func:`gmc.notebook.model_html`)."""
        from gmc.notebook import model_html

        return model_html(cls)

    # ---- validation --------------------------------------------------------------------
    def _factor(self, factor: str) -> FactorInfo:
        info = self.factors.get(factor.replace(" ", ""))
        if info is None:
            raise DataError(f"no factor '{factor}'; this model has: {', '.join(self.factors)}")
        return info

    def _plain_args(self, method: str, needed: tuple[str, ...], inputs: dict, nonempty: bool = False) -> tuple | None:
        """``inputs`` as the positional arguments of ``method`` when they are exactly the
        variables it takes, all of event shape (), each a float32/64 tensor (with at least one
        element when ``nonempty``): what the checked path would accept unchanged, checked with loops that
        run in C (a 10,000-factor joint's checks otherwise cost a third of its log-density).
        None for anything else, which then takes the checked path."""
        order = _plain_order(type(self), method, needed)
        if order is None or len(inputs) != len(order):
            return None
        try:
            args = tuple(map(inputs.__getitem__, order))
        except KeyError:
            return None
        if (set(map(type, args)) == {torch.Tensor} and set(map(_DTYPE, args)) <= _SUPPORTED_DTYPE_SET
                and not (nonempty and 0 in map(_NUMEL, args))):
            return args
        return None

    def _call(self, method: str, data: dict, params: dict):
        """``method(**data, **params)``, with ``data`` passed positionally in the order of the
        generated signature: CPython binds each keyword argument by a scan over the parameter
        names, quadratic in their number (a 10,000-factor joint took 25x its positional call)."""
        order = _positional_names(type(self), method)
        if order is not None and len(order) == len(data):
            try:
                args = tuple(map(data.__getitem__, order))  # the loop in C: it runs once per input
            except KeyError:
                pass
            else:
                return getattr(self, method)(*args, **params)
        return getattr(self, method)(**data, **params)

    def _split_inputs(self, what: str, needed: tuple[str, ...], inputs: dict):
        wanted = _as_set(needed)
        data, params = {}, {}
        for key, value in inputs.items():
            if key in wanted:
                data[key] = self._as_tensor(key, value)
            elif key in self.param_defaults:
                params[key] = value
            elif key in self.plates:
                params[key] = self._plate_size(key, value)
            else:
                accepted = ", ".join(list(needed) + list(self.param_defaults) + list(self.plates)) or "nothing"
                raise DataError(f"{what} does not take '{key}'; it takes: {accepted}")
        missing = [k for k in needed if k not in data] if len(data) != len(needed) else None
        if missing:
            raise DataError(f"{what} needs {', '.join(missing)}")
        return data, params

    @staticmethod
    def _plate_size(plate: str, value):
        """A plate's size: None, or a number of examples >= 1 (an int or a float)."""
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 1:
            raise DataError(f"plate '{plate}' needs its size, the number of examples in the data set (a number "
                            f">= 1, e.g. {plate}=442); got {value!r}")
        return value

    def _as_tensor(self, name: str, value) -> torch.Tensor:
        support, shape = self.variables[name]
        tensor = value if isinstance(value, torch.Tensor) else torch.as_tensor(value)
        if not tensor.is_floating_point():
            tensor = tensor.to(self._anchor.dtype)
        elif tensor.dtype not in _SUPPORTED_DTYPES:
            raise DataError(f"'{name}' is a {str(tensor.dtype).replace('torch.', '')} tensor; gmc models compute in "
                            "float32 or float64: convert it with .float() or .double() (and the model with .double())")
        if tuple(tensor.shape[tensor.dim() - len(shape):]) != tuple(shape) or tensor.dim() < len(shape):
            expected = "[batch, " + ", ".join(map(str, shape)) + "]" if shape else "[batch]"
            raise DataError(f"'{name}' is {support}{list(shape) if shape else ''}: expected a tensor of "
                            f"shape {expected}, got {list(tensor.shape)}")
        return tensor
