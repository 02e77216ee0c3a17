r"""Byte-level BPE's alphabet and its Python encoder: bytes as printable characters, pre-tokenization, merges.

Byte-level BPE (Sennrich et al. 2016; GPT-2, Radford et al. 2019) starts from the 256 byte values, so every
string has an encoding and nothing is ever out of vocabulary. Tokens are stored the way GPT-2, HF
``tokenizers`` and GGUF files store them: each byte is written as one printable character
(:data:`BYTE_TO_CHAR`; the space byte is ``"Ġ"``), and a token is the string of its bytes' characters
(``"Ġthe"`` is the bytes of ``" the"``). That makes our vocabularies and merges interchangeable with theirs.

Encoding a text: :func:`pre_tokenize` cuts it into pieces that no token crosses; each piece is spelled in
byte characters (:func:`to_byte_chars`) and :func:`apply_merges` merges its symbols by rank.

>>> to_byte_chars(" the")
'Ġthe'
>>> apply_merges("Ġthe", {("Ġ", "t"): 0, ("h", "e"): 1, ("Ġt", "he"): 2})
('Ġthe',)
"""

from __future__ import annotations

from typing import Mapping

import regex


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's table: byte value -> one printable character (printable Latin-1 bytes map to themselves)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, shifted = {}, 0
    for byte in range(256):
        if byte in printable:
            table[byte] = chr(byte)
        else:  # control bytes, space, and a few others move to code points 256, 257, ...
            table[byte] = chr(256 + shifted)
            shifted += 1
    return table


#: Each byte 0-255 as the printable character that stands for it in a token string (``32 -> "Ġ"``).
BYTE_TO_CHAR: dict[int, str] = _bytes_to_unicode()
#: The inverse of :data:`BYTE_TO_CHAR`.
CHAR_TO_BYTE: dict[str, int] = {char: byte for byte, char in BYTE_TO_CHAR.items()}
#: The 256 one-byte tokens in the order a new vocabulary numbers them (sorted by character, as HF does).
BYTE_ALPHABET: tuple[str, ...] = tuple(sorted(BYTE_TO_CHAR.values()))

#: GPT-2's pre-tokenizer: contractions, letters, numbers, other symbols, each with at most one leading space.
GPT2_SPLIT = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
#: Pre-tokenizers by their GGUF name (``tokenizer.ggml.pre``): does it isolate every digit first?
PRE_TOKENIZERS: dict[str, bool] = {"gpt2": False, "smollm": True}
_GPT2_PATTERN = regex.compile(GPT2_SPLIT)
_DIGIT = regex.compile(r"(\p{N})")


def pre_tokenize(text: str, pre_tokenizer: str = "gpt2") -> list[str]:
    """Cut text into the pieces that BPE merges never cross (no token spans two pieces).

    ``"gpt2"`` uses :data:`GPT2_SPLIT`; ``"smollm"`` first isolates every digit (``\\p{N}``), then
    applies the GPT-2 pattern to the text between digits, as SmolLM2's tokenizer and llama.cpp do.

    >>> pre_tokenize("I've 20 cats.")
    ['I', "'ve", ' 20', ' cats', '.']
    >>> pre_tokenize("I've 20 cats.", "smollm")
    ['I', "'ve", ' ', '2', '0', ' cats', '.']

    Raises:
        ValueError: for an unknown pre-tokenizer name (the message lists the known ones).
    """
    check_pre_tokenizer(pre_tokenizer)
    if not PRE_TOKENIZERS[pre_tokenizer]:
        return _GPT2_PATTERN.findall(text)
    pieces = []
    for part in _DIGIT.split(text):
        if part:
            pieces.extend([part] if _DIGIT.fullmatch(part) else _GPT2_PATTERN.findall(part))
    return pieces


def check_pre_tokenizer(name: str) -> None:
    """Raises ValueError unless ``name`` is in :data:`PRE_TOKENIZERS` (the message lists them)."""
    if name not in PRE_TOKENIZERS:
        raise ValueError(f"unknown pre-tokenizer {name!r}; supported: {', '.join(sorted(PRE_TOKENIZERS))}")


def to_byte_chars(piece: str) -> str:
    """The byte-level spelling of a string: ``" the"`` -> ``"Ġthe"``."""
    return "".join(BYTE_TO_CHAR[b] for b in piece.encode("utf-8"))


def from_byte_chars(token: str) -> bytes:
    """The bytes a byte-level token stands for: ``"Ġthe"`` -> ``b" the"``.

    Raises:
        ValueError: if a character is not one of the 256 byte characters.
    """
    try:
        return bytes(CHAR_TO_BYTE[c] for c in token)
    except KeyError as missing:
        raise ValueError(f"{token!r} is not a byte-level token: character {missing} is not a byte character") from None


def apply_merges(word: str, ranks: Mapping[tuple[str, str], int]) -> tuple[str, ...]:
    """The tokens of one pre-token (in byte characters): repeatedly merge the adjacent pair of lowest rank
    (leftmost on ties) until no pair has a rank.

    Args:
        word: a pre-token spelled in byte characters (:func:`to_byte_chars`).
        ranks: ``(left, right)`` -> rank, 0 first.

    Returns:
        The tokens, as strings of byte characters.
    """
    symbols = list(word)
    while len(symbols) > 1:
        pairs = [(ranks.get(pair, len(ranks)), i) for i, pair in enumerate(zip(symbols, symbols[1:]))]
        rank, i = min(pairs)
        if rank == len(ranks):  # no pair left that a merge knows
            break
        symbols[i:i + 2] = [symbols[i] + symbols[i + 1]]
    return tuple(symbols)


__all__ = ["BYTE_ALPHABET", "BYTE_TO_CHAR", "CHAR_TO_BYTE", "GPT2_SPLIT", "PRE_TOKENIZERS", "apply_merges",
           "check_pre_tokenizer", "from_byte_chars", "pre_tokenize", "to_byte_chars"]
