r"""The production engine of :class:`~llmbook.text.bpe.ByteLevelBPE`: a HF ``tokenizers`` (Rust) tokenizer with the
same vocabulary, merges, special tokens and pre-tokenizer. This is the one place the package builds it.

The Python encoder (:mod:`llmbook.text.byte_level`) and this engine give identical ids;
``tests/test_text_bpe.py`` checks it. (One caveat: ``\p{L}`` and ``\p{N}`` come from two Unicode databases,
the ``regex`` module's and Oniguruma's, which disagree on a few code points that only one of them assigns,
e.g. U+3D000.)

>>> engine = build_tokenizers_engine({"a": 0, "b": 1, "ab": 2}, [("a", "b")])
>>> engine.encode("ab", add_special_tokens=False).ids
[2]
"""

from __future__ import annotations

from typing import Mapping, Sequence

from llmbook.text.byte_level import PRE_TOKENIZERS, check_pre_tokenizer


def build_tokenizers_engine(vocab: Mapping[str, int], merges: Sequence[tuple[str, str]],
                            special_tokens: Sequence[str] = (), pre_tokenizer: str = "gpt2"):
    """A ``tokenizers.Tokenizer`` for a byte-level BPE: no unknown token, no byte fallback, GPT-2's byte-level
    pre-tokenizer (after isolating digits for ``"smollm"``) and decoder, the special tokens matched first.

    Args:
        vocab: token (byte-level spelling) -> id.
        merges: ``(left, right)`` pairs, highest priority first.
        special_tokens: tokens matched in the raw text and never split.
        pre_tokenizer: a name from :data:`~llmbook.text.byte_level.PRE_TOKENIZERS`.

    Returns:
        A ``tokenizers.Tokenizer``.

    Raises:
        ValueError: for an unknown pre-tokenizer.
        ImportError: if ``tokenizers`` is not installed (``pip install tokenizers``).
    """
    check_pre_tokenizer(pre_tokenizer)
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    engine = Tokenizer(models.BPE(vocab=dict(vocab), merges=[tuple(m) for m in merges], fuse_unk=False,
                                  byte_fallback=False))
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if PRE_TOKENIZERS[pre_tokenizer]:
        engine.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
    else:
        engine.pre_tokenizer = byte_level
    engine.decoder = decoders.ByteLevel()
    if special_tokens:
        engine.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in special_tokens])
    return engine


__all__ = ["build_tokenizers_engine"]
