"""BERT's WordPiece tokenizer: basic tokenization, then greedy longest-match subwords from a ``vocab.txt``.

Two stages, as in the original BERT code (Devlin et al., 2019) and Hugging Face's ``BertTokenizerFast``:

1. **Basic tokenization** (normalization and pre-tokenization):

   - drop NUL, U+FFFD and control characters, and turn every whitespace character into a space;
   - put spaces around every CJK ideograph, so Chinese is split into single characters;
   - for an uncased vocabulary, strip accents (NFD, then drop combining marks) and lower-case
     character by character;
   - split on whitespace and around every punctuation character (ASCII symbols and Unicode ``P*``).

2. **WordPiece**: each word becomes the longest vocabulary entry that starts it, then the longest
   ``##``-prefixed entry that continues it, and so on. If some position has no match, or the word is
   longer than ``max_chars_per_word``, the whole word becomes ``[UNK]``.

>>> vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "!"])}
>>> tokenizer = WordPieceTokenizer(vocab)
>>> tokenizer.tokenize("Unaffable!")
['un', '##aff', '##able', '!']

One job, kept in one module: BERT's basic tokenizer, WordPiece and the encoding of pairs are one
pipeline that must match the reference step by step.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from llmbook.validation import positive_int

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def _is_whitespace(char: str) -> bool:
    return char in " \t\n\r" or unicodedata.category(char) == "Zs"


def _is_control(char: str) -> bool:
    if char in "\t\n\r":
        return False
    return unicodedata.category(char) in ("Cc", "Cf")


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


# The CJK Unified Ideographs blocks BERT splits into single characters (not Hangul, not kana).
_CJK_RANGES = (
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
)


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _CJK_RANGES)


def basic_tokenize(text: str, *, lowercase: bool = True, strip_accents: bool | None = None) -> list[str]:
    """Split ``text`` into words and punctuation the way BERT does before WordPiece.

    Args:
        text: any Unicode string.
        lowercase: lower-case every character (an "uncased" vocabulary).
        strip_accents: remove combining marks after NFD decomposition; ``None`` means "same as lowercase".

    Returns:
        The list of words, punctuation characters and single CJK ideographs.

    Raises:
        TypeError: if ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if strip_accents is None:
        strip_accents = lowercase
    cleaned = []
    for char in text:
        if char == "\x00" or char == "\ufffd" or _is_control(char):
            continue
        if _is_whitespace(char):
            cleaned.append(" ")
        elif _is_cjk(char):
            cleaned.append(f" {char} ")
        else:
            cleaned.append(char)
    text = "".join(cleaned)
    if strip_accents:
        text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    if lowercase:
        # Character by character, like the Rust tokenizer (so a final sigma stays "σ", not "ς").
        text = "".join(c.lower() for c in text)
    words = []
    for chunk in text.split():
        current = []
        for char in chunk:
            if _is_punctuation(char):
                if current:
                    words.append("".join(current))
                    current = []
                words.append(char)
            else:
                current.append(char)
        if current:
            words.append("".join(current))
    return words


def load_vocab(path: str | os.PathLike) -> dict[str, int]:
    """Read a BERT ``vocab.txt``: one token per line, its id is its line number (from 0).

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: if it is empty, repeats a token, or lacks one of [PAD] [UNK] [CLS] [SEP] [MASK].
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"vocabulary file {path} does not exist; pass the path of a BERT vocab.txt")
    with open(path, encoding="utf-8") as handle:
        tokens = [line.rstrip("\n").rstrip("\r") for line in handle]
    if tokens and tokens[-1] == "":
        tokens = tokens[:-1]
    if not tokens:
        raise ValueError(f"vocabulary file {path} is empty")
    vocab: dict[str, int] = {}
    for index, token in enumerate(tokens):
        if token in vocab:
            raise ValueError(f"{path}:{index + 1}: token {token!r} repeats line {vocab[token] + 1}; "
                             "a vocab.txt must list each token once")
        vocab[token] = index
    return vocab


def _truncate_pair(first: list[int], second: list[int], budget: int) -> tuple[list[int], list[int]]:
    """Cut two token lists to ``budget`` tokens in all, "longest first" as Hugging Face ``tokenizers`` does.

    The shorter list keeps everything if the longer one can absorb the cut; otherwise both are cut to
    half the budget, the longer one getting the odd token. Ties count the first list as the shorter.
    """
    if len(first) + len(second) <= budget:
        return first, second
    swap = len(first) > len(second)
    short, long = (second, first) if swap else (first, second)
    keep_short, keep_long = len(short), max(len(short), budget - len(short))
    if keep_short + keep_long > budget:
        keep_short = budget // 2
        keep_long = keep_short + budget % 2
    short, long = short[:keep_short], long[:keep_long]
    return (long, short) if swap else (short, long)


@dataclass(frozen=True)
class Encoding:
    """A batch of encoded texts (or text pairs), padded to one length.

    Attributes:
        token_ids: int32 ``(batch, length)``.
        segment_ids: int32 ``(batch, length)``: 0 for the first text (and [CLS]), 1 for the second.
        padding_mask: bool ``(batch, length)``: True on real tokens, False on padding.
    """

    token_ids: np.ndarray
    segment_ids: np.ndarray
    padding_mask: np.ndarray

    def as_dict(self) -> dict[str, np.ndarray]:
        """The three arrays under the input names of :class:`llmbook.models.bert.BertEncoder`."""
        return {"token_ids": self.token_ids, "segment_ids": self.segment_ids, "padding_mask": self.padding_mask}


class WordPieceTokenizer:
    """WordPiece with BERT's basic tokenization, from a vocabulary mapping token -> id.

    Args:
        vocab: token -> id (ids 0..n-1, each once). It must contain [PAD] [UNK] [CLS] [SEP] [MASK].
        lowercase: True for an uncased vocabulary (accents are then stripped too).
        max_chars_per_word: longer words become [UNK] (BERT uses 100).

    Raises:
        ValueError: if a special token is missing or the ids are not 0..n-1.
    """

    def __init__(self, vocab: Mapping[str, int], *, lowercase: bool = True, max_chars_per_word: int = 100):
        if not isinstance(vocab, Mapping):
            raise TypeError(f"vocab must map each token to its id (a dict), got {type(vocab).__name__}; for a "
                            "list of tokens in id order pass {token: i for i, token in enumerate(tokens)}")
        missing = [t for t in SPECIAL_TOKENS if t not in vocab]
        if missing:
            raise ValueError(f"the vocabulary lacks the special tokens {missing}; BERT needs {list(SPECIAL_TOKENS)}")
        if sorted(vocab.values()) != list(range(len(vocab))):
            raise ValueError("vocabulary ids must be 0..n-1, each used once")
        max_chars_per_word = positive_int("max_chars_per_word", max_chars_per_word)
        self.vocab = dict(vocab)
        self.inverse = [""] * len(self.vocab)
        for token, index in self.vocab.items():
            self.inverse[index] = token
        self.lowercase = lowercase
        self.max_chars_per_word = max_chars_per_word
        self.pad_id, self.unk_id, self.cls_id, self.sep_id, self.mask_id = (self.vocab[t] for t in SPECIAL_TOKENS)
        self._cache: dict[str, tuple[str, ...]] = {}

    @classmethod
    def from_file(cls, path: str | os.PathLike, **options) -> "WordPieceTokenizer":
        """A tokenizer from a ``vocab.txt`` (see :func:`load_vocab` for the errors raised)."""
        return cls(load_vocab(path), **options)

    def __len__(self) -> int:
        return len(self.vocab)

    def wordpiece(self, word: str) -> tuple[str, ...]:
        """Greedy longest-match-first WordPiece of one basic-tokenized word; ``("[UNK]",)`` if impossible."""
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        if len(word) > self.max_chars_per_word:
            pieces: tuple[str, ...] = ("[UNK]",)
        else:
            found, start = [], 0
            while start < len(word):
                end = len(word)
                piece = None
                while start < end:
                    candidate = word[start:end] if start == 0 else "##" + word[start:end]
                    if candidate in self.vocab:
                        piece = candidate
                        break
                    end -= 1
                if piece is None:
                    found = ["[UNK]"]
                    break
                found.append(piece)
                start = end
            pieces = tuple(found)
        if len(self._cache) < 200_000:
            self._cache[word] = pieces
        return pieces

    def tokenize(self, text: str) -> list[str]:
        """Text -> WordPiece tokens (no [CLS]/[SEP]).

        Raises:
            TypeError: if ``text`` is not a string.
        """
        return [piece for word in basic_tokenize(text, lowercase=self.lowercase) for piece in self.wordpiece(word)]

    def encode(self, text: str, pair: str | None = None) -> tuple[list[int], list[int]]:
        """One text (or pair) -> ``(token_ids, segment_ids)`` as ``[CLS] text [SEP] (pair [SEP])``."""
        ids = [self.cls_id] + [self.vocab[t] for t in self.tokenize(text)] + [self.sep_id]
        segments = [0] * len(ids)
        if pair is not None:
            second = [self.vocab[t] for t in self.tokenize(pair)] + [self.sep_id]
            ids += second
            segments += [1] * len(second)
        return ids, segments

    def decode(self, ids: Sequence[int], *, skip_special: bool = True) -> str:
        """Ids -> text: ``##`` pieces are glued to the previous piece; special tokens dropped if asked.

        Raises:
            ValueError: for an id outside the vocabulary.
        """
        words: list[str] = []
        for index in ids:
            index = int(index)
            if not 0 <= index < len(self.inverse):
                raise ValueError(f"token id {index} is outside the vocabulary (0..{len(self.inverse) - 1})")
            token = self.inverse[index]
            if skip_special and token in SPECIAL_TOKENS:
                continue
            if token.startswith("##") and words:
                words[-1] += token[2:]
            else:
                words.append(token)
        return " ".join(words)

    def __call__(self, texts: str | Sequence[str], pairs: Sequence[str] | None = None, *,
                 max_length: int = 512, pad_to: int | None = None) -> Encoding:
        """Encode a batch: add [CLS]/[SEP], truncate, pad with [PAD] to the longest (or to ``pad_to``).

        Truncation keeps ``max_length`` tokens: a single text loses its tail (its final [SEP] is kept);
        a pair is cut "longest first", with the rule of Hugging Face ``tokenizers`` (see :func:`_truncate_pair`).

        Args:
            texts: a string or a list of strings.
            pairs: optional second texts, one per text (NSP / sentence-pair tasks).
            max_length: the most tokens per row, special tokens included (>= 3, or >= 4 for pairs).
            pad_to: pad every row to this length (>= the longest row); default: the longest row.

        Returns:
            An :class:`Encoding`.

        Raises:
            ValueError: for an empty batch, a pairs list of another length, a too small max_length or pad_to.
            TypeError: if a text is not a string.
        """
        if isinstance(texts, str):
            texts = [texts]
            if isinstance(pairs, str):
                pairs = [pairs]
        if len(texts) == 0:
            raise ValueError("texts is empty; pass at least one string")
        if pairs is not None and len(pairs) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(pairs)} pairs; pass one pair per text")
        minimum = 3 if pairs is None else 4
        if max_length < minimum:
            raise ValueError(f"max_length must be at least {minimum} (room for the special tokens), got {max_length}")
        rows = []
        for i, text in enumerate(texts):
            first = [self.vocab[t] for t in self.tokenize(text)]
            if pairs is None:
                first = first[:max_length - 2]
                ids = [self.cls_id] + first + [self.sep_id]
                segments = [0] * len(ids)
            else:
                second = [self.vocab[t] for t in self.tokenize(pairs[i])]
                first, second = _truncate_pair(first, second, max_length - 3)
                ids = [self.cls_id] + first + [self.sep_id] + second + [self.sep_id]
                segments = [0] * (len(first) + 2) + [1] * (len(second) + 1)
            rows.append((ids, segments))
        longest = max(len(ids) for ids, _ in rows)
        length = longest if pad_to is None else pad_to
        if length < longest:
            raise ValueError(f"pad_to={pad_to} is shorter than the longest row ({longest} tokens); raise it")
        token_ids = np.full((len(rows), length), self.pad_id, dtype=np.int32)
        segment_ids = np.zeros((len(rows), length), dtype=np.int32)
        padding_mask = np.zeros((len(rows), length), dtype=bool)
        for r, (ids, segments) in enumerate(rows):
            token_ids[r, :len(ids)] = ids
            segment_ids[r, :len(ids)] = segments
            padding_mask[r, :len(ids)] = True
        return Encoding(token_ids, segment_ids, padding_mask)
