"""Quantize a built decoder's weights in place: the int8 (or bfloat16) model of chapter 23.

:func:`quantize_model` replaces every ``Dense`` of a :class:`~llmbook.models.decoder.TransformerDecoder`
by a :class:`~llmbook.layers.quantized.QuantizedDense` and its token embedding by a
:class:`~llmbook.layers.quantized.QuantizedEmbedding` (which also computes a tied head's logits);
:func:`weight_bytes` counts the bytes a model's weights take as stored.

>>> import numpy as np
>>> from llmbook.models import LlamaDecoder
>>> model = LlamaDecoder(vocab_size=40, num_layers=1, hidden_dim=16, num_heads=4, num_kv_heads=2,
...                      intermediate_dim=32)
>>> _ = model(np.zeros((1, 3), "int32"))
>>> float_bytes = weight_bytes(model)
>>> weight_bytes(quantize_model(model, "int8")) < float_bytes / 3
True
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from llmbook.layers.quantized import WEIGHT_FORMATS, QuantizedDense, QuantizedEmbedding, TiedHead, check_format

__all__ = ["WEIGHT_FORMATS", "quantize_model", "weight_bytes"]


def _replace(parent, name: str, old, new) -> None:
    parent._tracker.replace_tracked_value("layers", old, new)
    setattr(parent, name, new)


def _quantize_children(layer, mode: str, count: list) -> None:
    for name, child in list(vars(layer).items()):
        if name.startswith("_") or not isinstance(child, keras.layers.Layer):
            continue
        if type(child) is keras.layers.Dense:
            _replace(layer, name, child, QuantizedDense.from_dense(child, mode))
            count[0] += 1
        elif isinstance(child, (QuantizedDense, QuantizedEmbedding, keras.layers.Embedding)):
            continue
        else:
            _quantize_children(child, mode, count)
    for child in getattr(layer, "blocks", None) or ():
        _quantize_children(child, mode, count)


def quantize_model(model, mode: str = "int8"):
    """Replace the Dense layers and the token embedding of a built decoder by quantized ones, in place.

    Every ``keras.layers.Dense`` (attention and MLP projections, a separate output head) becomes a
    :class:`QuantizedDense`; ``model.token_embedding`` becomes a :class:`QuantizedEmbedding`, which, when
    the model ties its output head to the embedding, also computes the logits (one table, not two).
    Norms, biases and scales stay float32, and so does all arithmetic. It sets ``model.quantization``, which
    the generation functions' caches key on, so functions compiled for the float model are not reused.

    Args:
        model: a built :class:`~llmbook.models.decoder.TransformerDecoder` (GPT, LlamaDecoder, SmolLM2).
        mode: ``"int8"`` (1 byte a weight plus a float32 scale per row) or ``"bfloat16"`` (2 bytes).

    Returns:
        ``model`` itself.

    Raises:
        ValueError: for an unknown ``mode``, a model that is not built, a model already quantized, or
            one with no ``token_embedding``.
    """
    check_format(mode)
    if not getattr(model, "built", False):
        raise ValueError("the model is not built: call it once (or load its weights) before quantizing")
    embedding = getattr(model, "token_embedding", None)
    if isinstance(embedding, QuantizedEmbedding):
        raise ValueError("the model is already quantized; load the float model again to change the format")
    if not isinstance(embedding, keras.layers.Embedding):
        raise ValueError(f"expected a decoder with a keras Embedding named token_embedding, got "
                         f"{type(embedding).__name__}")
    count = [0]
    _quantize_children(model, mode, count)
    table = QuantizedEmbedding(ops.convert_to_numpy(embedding.embeddings), mode=mode, name=embedding.name)
    _replace(model, "token_embedding", embedding, table)
    if getattr(model, "tie_embeddings", False) and getattr(model, "lm_head_enabled", True):
        locked = model._tracker.locked
        model._tracker.unlock()
        model.lm_head = TiedHead(table, name="tied_head")
        if locked:
            model._tracker.lock()
    model.quantization = mode
    return model


def weight_bytes(model) -> int:
    """Bytes of all of ``model``'s weights as stored (int8, bfloat16 and float32 counted as such)."""
    sizes = {"bfloat16": 2}
    return sum(int(np.prod(v.shape)) * sizes.get(str(v.dtype), np.dtype(str(v.dtype)).itemsize)
               for v in model.weights)
