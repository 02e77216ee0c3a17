"""A byte-level BPE tokenizer from a GGUF file's metadata (llama.cpp's ``tokenizer.ggml.*`` keys).

A GGUF file stores its tokenizer as metadata: ``tokenizer.ggml.model`` (``"gpt2"`` for byte-level BPE),
``tokenizer.ggml.pre`` (the pre-tokenizer's name), ``tokenizer.ggml.tokens`` (the vocabulary, in id order),
``tokenizer.ggml.token_type`` (3 CONTROL and 4 USER_DEFINED mark special tokens) and
``tokenizer.ggml.merges`` (``"Ġ t"``, ...). The file is parsed by :mod:`llmbook.gguf_format`; this module
turns the metadata into the parts :class:`~llmbook.text.bpe.ByteLevelBPE` is built from.

>>> tokenizer_parts({"tokenizer.ggml.model": "gpt2", "tokenizer.ggml.tokens": ["a", "b", "ab", "<s>"],
...                  "tokenizer.ggml.token_type": [1, 1, 1, 3], "tokenizer.ggml.merges": ["a b"]})
({'a': 0, 'b': 1, 'ab': 2, '<s>': 3}, [('a', 'b')], ['<s>'], 'gpt2')
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from llmbook.gguf_format import read_gguf_file
from llmbook.text.byte_level import PRE_TOKENIZERS

#: The GGUF metadata keys that describe a byte-level BPE tokenizer.
GGUF_TOKENIZER_KEYS: tuple[str, ...] = ("tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens",
                                        "tokenizer.ggml.token_type", "tokenizer.ggml.merges")
#: GGUF token types that become special tokens: CONTROL and USER_DEFINED.
SPECIAL_TOKEN_TYPES = (3, 4)


def read_tokenizer_metadata(path: str | Path) -> dict:
    """The :data:`GGUF_TOKENIZER_KEYS` entries of a GGUF file's metadata (those it has).

    Raises:
        FileNotFoundError: if the file does not exist.
        llmbook.gguf_format.GGUFFormatError: (a ValueError) if it is not a readable GGUF file.
    """
    metadata = read_gguf_file(path).metadata
    return {key: metadata[key] for key in GGUF_TOKENIZER_KEYS if key in metadata}


def tokenizer_parts(metadata: Mapping, source: str = "the GGUF file"):
    """``(vocab, merges, special_tokens, pre_tokenizer)`` of the tokenizer that GGUF metadata describes.

    Args:
        metadata: key -> value; keys other than :data:`GGUF_TOKENIZER_KEYS` are ignored.
        source: the file's name, for error messages.

    Returns:
        ``vocab`` (token -> id, in file order), ``merges`` (pairs), ``special_tokens`` (the tokens of a type in
        :data:`SPECIAL_TOKEN_TYPES`) and the pre-tokenizer's name (``"gpt2"`` if the file does not say).

    Raises:
        ValueError: if the metadata holds no byte-level BPE tokenizer (``tokenizer.ggml.model`` is not
            ``"gpt2"``), its pre-tokenizer is not supported, it has no token list, or the token types do not
            match the tokens.
        TypeError: if ``metadata`` is not a mapping.
    """
    if not isinstance(metadata, Mapping):
        raise TypeError(f"metadata must be a mapping key -> value, got {type(metadata).__name__}")

    def value(key: str, default=None):
        return metadata[key] if key in metadata else default

    model = value("tokenizer.ggml.model")
    if model != "gpt2":
        raise ValueError(f"{source} holds a {model!r} tokenizer, not byte-level BPE ('gpt2'); "
                         "ByteLevelBPE cannot read it")
    pre = value("tokenizer.ggml.pre", "gpt2")
    if pre not in PRE_TOKENIZERS:
        raise ValueError(f"{source} uses the pre-tokenizer {pre!r}; supported: {', '.join(PRE_TOKENIZERS)}")
    tokens = value("tokenizer.ggml.tokens")
    if not tokens:
        raise ValueError(f"{source} has no tokenizer.ggml.tokens list")
    token_types = value("tokenizer.ggml.token_type", [1] * len(tokens))
    if len(token_types) != len(tokens):
        raise ValueError(f"{source} has {len(tokens)} tokens but {len(token_types)} token types")
    merges = [tuple(m.split(" ")) for m in value("tokenizer.ggml.merges", [])]
    specials = [t for t, kind in zip(tokens, token_types) if kind in SPECIAL_TOKEN_TYPES]
    return {t: i for i, t in enumerate(tokens)}, merges, specials, pre


__all__ = ["GGUF_TOKENIZER_KEYS", "SPECIAL_TOKEN_TYPES", "read_tokenizer_metadata", "tokenizer_parts"]
