"""The one convention every checkpoint loader follows: a weight map, one report of what does not fit, one error.

A **weight map** says, for every variable of the model (by its Keras path, ``"block_0/attention/query/kernel"``),
which tensor of the checkpoint fills it and how that tensor is turned into the variable's layout:
``{variable path: Source(tensor name, transform)}``. The safetensors loader (BERT) and the GGUF loader (Llama)
write such a map; :func:`resolve` then does the same for both:

1. compare names: tensors the map needs but the checkpoint lacks (*missing*), tensors the checkpoint has but
   the map does not use (*unexpected*), model variables the map forgets;
2. read every tensor (for GGUF: dequantize it), transform it and compare its shape with the variable's;
3. if anything failed, raise one :class:`WeightLoadError` whose message lists every problem
   (:func:`mismatch_report`), before any variable is assigned; otherwise return the values, which
   :func:`assign` copies in.

So loading is all or nothing: a wrong name, a wrong shape or a tensor that cannot be read (an unsupported
quantization type) leaves the model exactly as it was.

>>> import numpy as np
>>> transpose(np.zeros((2, 3))).shape
(3, 2)
>>> Source("pooler.dense.weight", transpose)
Source(tensor='pooler.dense.weight', transform=transpose)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

#: How many names a report lists per kind of problem before it says how many more there are.
REPORT_LIMIT = 20


class WeightLoadError(ValueError):
    """A checkpoint that does not fit the model, or cannot be read; the model was left unchanged.

    The message names every offending tensor (see :func:`mismatch_report`) or the damaged file.
    """


def identity(array: np.ndarray) -> np.ndarray:
    """The tensor as it is (embedding tables, normalization vectors, biases)."""
    return array


def transpose(array: np.ndarray) -> np.ndarray:
    """A PyTorch ``Linear`` weight ``(out, in)`` as a Keras ``Dense`` kernel ``(in, out)``."""
    return array.T


@dataclass(frozen=True)
class Source:
    """Where one model variable comes from: the checkpoint tensor ``tensor``, passed through ``transform``.

    Attributes:
        tensor: the tensor's name in the checkpoint.
        transform: array -> array in the variable's layout (:func:`identity`, :func:`transpose`, ...); its
            ``__name__`` appears in error messages.
    """

    tensor: str
    transform: Callable[[np.ndarray], np.ndarray] = identity

    def __repr__(self) -> str:
        return f"Source(tensor={self.tensor!r}, transform={_name(self.transform)})"


def _name(transform) -> str:
    return getattr(transform, "__name__", type(transform).__name__)


def _listed(items: list[str], separator: str = ", ") -> str:
    shown = separator.join(items[:REPORT_LIMIT])
    return shown + (f"{separator}... ({len(items) - REPORT_LIMIT} more)" if len(items) > REPORT_LIMIT else "")


def mismatch_report(checkpoint: str, target: str, *, missing=(), unexpected=(), mis_shaped=(), unusable=(),
                    unfilled=(), hint: str = "") -> str:
    """The message of a :class:`WeightLoadError`: one line per kind of problem, each with its count and names.

    Args:
        checkpoint: the checkpoint's name (a file name).
        target: the model, e.g. ``"this BertEncoder ('minilm')"``.
        missing: tensors the model needs that the checkpoint lacks.
        unexpected: tensors of the checkpoint the model does not use.
        mis_shaped: ``"name: what the checkpoint has, what the model expects"`` descriptions.
        unusable: ``"name: why it cannot be used"`` (cannot be read or dequantized, a wrong buffer).
        unfilled: model variables that the weight map gives no tensor (a loader bug, not a checkpoint one).
        hint: what to do, as a last line.

    Returns:
        The message (several lines).

    >>> print(mismatch_report("x.safetensors", "this model", missing=["a.weight"], hint="Check the config."))
    x.safetensors does not fit this model; nothing was assigned:
      missing tensors (1): a.weight
    Check the config.
    """
    lines = [f"{checkpoint} does not fit {target}; nothing was assigned:"]
    for label, items, separator in (("missing tensors", missing, ", "), ("unexpected tensors", unexpected, ", "),
                                    ("mis-shaped tensors", mis_shaped, "; "), ("unusable tensors", unusable, "; "),
                                    ("model variables without a tensor", unfilled, ", ")):
        items = list(items)
        if items:
            lines.append(f"  {label} ({len(items)}): {_listed(items, separator)}")
    if hint:
        lines.append(hint)
    return "\n".join(lines)


def resolve(model, weight_map: Mapping[str, Source], names, read: Callable[[str], np.ndarray], *,
            checkpoint: str, hint: str = "", buffers: Mapping[str, Callable[[np.ndarray], str | None]] | None = None,
            error: type[WeightLoadError] = WeightLoadError) -> dict:
    """Every value the checkpoint gives ``model``, read, transformed and checked; nothing is assigned.

    Args:
        model: a built Keras layer or model; ``model.weights`` are the variables to fill.
        weight_map: variable path -> :class:`Source`, covering every variable of ``model``.
        names: the names of all tensors in the checkpoint.
        read: tensor name -> numpy array (read or dequantized); it may raise for a tensor it cannot read.
        checkpoint: the checkpoint's name, for the message.
        hint: the last line of the message (what to do).
        buffers: tensors that are read and checked but not assigned: name -> check returning a problem (a
            string) or None. They are not unexpected; they may be absent.
        error: the :class:`WeightLoadError` subclass to raise.

    Returns:
        ``{variable path: (variable, float32 C-contiguous array in the variable's shape)}``, in map order.

    Raises:
        WeightLoadError: (or ``error``) listing every missing, unexpected, mis-shaped and unusable tensor and
            every variable the map leaves without a tensor.
    """
    buffers = dict(buffers or {})
    variables = {variable.path: variable for variable in model.weights}
    names = list(names)
    available = set(names)
    used = {source.tensor for source in weight_map.values()}
    missing = sorted({source.tensor for source in weight_map.values()} - available)
    unexpected = [name for name in names if name not in used and name not in buffers]
    unfilled = [path for path in variables if path not in weight_map]
    unfilled += [f"{path} (not a variable of the model)" for path in weight_map if path not in variables]
    mis_shaped, unusable, values = [], [], {}
    for path, source in weight_map.items():
        if source.tensor not in available or path not in variables:
            continue
        try:
            raw = np.asarray(read(source.tensor), dtype=np.float32)
        except WeightLoadError as failure:  # the reader's own explanation
            unusable.append(f"{source.tensor}: {failure}")
            continue
        except Exception as failure:
            unusable.append(f"{source.tensor}: cannot be read ({type(failure).__name__}: {failure})")
            continue
        variable = variables[path]
        expected = tuple(variable.shape)
        try:
            value = np.ascontiguousarray(source.transform(raw))
        except ValueError as failure:   # a reshape that does not fit (the RoPE row order of a wrong-sized matrix)
            mis_shaped.append(f"{source.tensor}: checkpoint {raw.shape}, cannot {_name(source.transform)} it "
                              f"({failure}); model variable {path} is {expected}")
            continue
        if value.shape != expected:
            after = "" if source.transform is identity else f" ({_name(source.transform)}: {value.shape})"
            mis_shaped.append(f"{source.tensor}: checkpoint {raw.shape}{after}, model variable {path} expects "
                              f"{expected}")
            continue
        values[path] = (variable, value)
    for name, check in buffers.items():
        if name in available:
            problem = check(np.asarray(read(name)))
            if problem:
                unusable.append(f"{name}: {problem}")
    if missing or unexpected or mis_shaped or unusable or unfilled:
        target = f"this {type(model).__name__} ({model.name!r})"
        raise error(mismatch_report(checkpoint, target, missing=missing, unexpected=unexpected,
                                    mis_shaped=mis_shaped, unusable=unusable, unfilled=unfilled, hint=hint))
    return values


def assign(values: Mapping) -> int:
    """Copy the values of :func:`resolve` into their variables.

    Returns:
        The number of values copied (parameters).
    """
    count = 0
    for variable, value in values.values():
        variable.assign(value)
        count += value.size
    return int(count)


__all__ = ["REPORT_LIMIT", "Source", "WeightLoadError", "assign", "identity", "mismatch_report", "resolve",
           "transpose"]
