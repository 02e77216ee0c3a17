"""A vocabulary: tokens <-> integer ids, with a padding token and an unknown-token fallback.

Id 0 is ``<pad>`` (so a zero-filled batch is all padding) and id 1 is ``<unk>``, which stands for every
token that was not kept when the vocabulary was built. The kept tokens follow, most frequent first.

>>> vocab = Vocabulary.build([["to", "be", "or", "not", "to", "be"]])
>>> vocab.tokens
('<pad>', '<unk>', 'be', 'to', 'not', 'or')
>>> vocab.encode(["to", "sleep"])
[3, 1]
>>> vocab.encode_batch([["to", "be"], ["or"]]).tolist()
[[3, 2], [5, 0]]
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence

import numpy as np

from llmbook.validation import positive_int


class Vocabulary:
    """A fixed list of tokens; a token's id is its position.

    Args:
        tokens: the ordinary tokens, in id order (they get ids 2, 3, ...); duplicates are an error.
        pad_token, unk_token: the two special tokens, ids 0 and 1.

    Raises:
        ValueError: if a token repeats, if a token equals a special token, or the specials are equal.
        TypeError: if a token is not a string.
    """

    def __init__(self, tokens: Iterable[str], pad_token: str = "<pad>", unk_token: str = "<unk>"):
        if pad_token == unk_token:
            raise ValueError(f"pad_token and unk_token must differ, both are {pad_token!r}")
        self.pad_token, self.unk_token = pad_token, unk_token
        self.tokens: tuple[str, ...] = (pad_token, unk_token, *tokens)
        bad = [t for t in self.tokens if not isinstance(t, str)]
        if bad:
            raise TypeError(f"tokens must be strings, got {type(bad[0]).__name__}: {bad[0]!r}")
        self._ids = {token: i for i, token in enumerate(self.tokens)}
        if len(self._ids) != len(self.tokens):
            repeated = [t for t, n in Counter(self.tokens).items() if n > 1]
            raise ValueError(f"tokens must be unique (and differ from the special tokens); repeated: {repeated[:5]}")
        self.pad_id, self.unk_id = 0, 1
        self.counts: Counter[str] = Counter()  # filled by build()

    @classmethod
    def build(cls, sequences: Iterable[Sequence[str]], min_count: int = 1, max_size: int | None = None,
              pad_token: str = "<pad>", unk_token: str = "<unk>") -> "Vocabulary":
        """Keep the tokens seen at least ``min_count`` times, most frequent first (ties: alphabetical).

        Args:
            sequences: tokenized texts, e.g. ``[["to", "be"], ["or", "not"]]``.
            max_size: at most this many ids in all, the two special tokens included.

        Returns:
            A :class:`Vocabulary`; its ``counts`` attribute holds every token's count in ``sequences``.

        Raises:
            ValueError: if there are no tokens, if ``min_count`` < 1 or ``max_size`` < 3.
            TypeError: if ``sequences`` is a string or holds strings instead of token lists.
        """
        min_count = positive_int("min_count", min_count)
        if max_size is not None:
            max_size = positive_int("max_size (<pad>, <unk> and at least one token)", max_size, minimum=3)
        counts: Counter[str] = Counter()
        for sequence in _token_lists(sequences):
            counts.update(sequence)
        if not counts:
            raise ValueError("there are no tokens to build a vocabulary from; pass a non-empty list of token lists")
        kept = sorted((t for t, n in counts.items() if n >= min_count and t not in (pad_token, unk_token)),
                      key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[: max_size - 2]
        vocabulary = cls(kept, pad_token, unk_token)
        vocabulary.counts = counts
        return vocabulary

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self._ids

    def __getitem__(self, token: str) -> int:
        """The id of ``token``, or the ``<unk>`` id."""
        return self._ids.get(token, self.unk_id)

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} tokens, pad={self.pad_token!r}, unk={self.unk_token!r})"

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """The ids of a token list; unknown tokens become the ``<unk>`` id.

        Raises:
            TypeError: if ``tokens`` is a single string (tokenize it first).
        """
        if isinstance(tokens, str):
            raise TypeError("encode takes a list of tokens, not a string; tokenize the text first")
        return [self._ids.get(t, self.unk_id) for t in tokens]

    def decode(self, ids: Iterable[int], skip_padding: bool = True) -> list[str]:
        """The tokens of a list of ids (padding dropped unless ``skip_padding=False``).

        Raises:
            ValueError: if an id is outside ``0 .. len(self) - 1``.
        """
        tokens = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self.tokens):
                raise ValueError(f"id {i} is outside the vocabulary (0 to {len(self.tokens) - 1})")
            if not (skip_padding and i == self.pad_id):
                tokens.append(self.tokens[i])
        return tokens

    def encode_batch(self, sequences: Iterable[Sequence[str]], length: int | None = None) -> np.ndarray:
        """A ``(batch, length)`` int64 array of ids, padded at the end with the ``<pad>`` id (0).

        ``length=None`` pads to the longest sequence; a longer sequence is cut to ``length``.

        Raises:
            ValueError: if ``length`` < 1.
            TypeError: as :meth:`encode`.
        """
        encoded = [self.encode(s) for s in _token_lists(sequences)]
        if length is None:
            length = max((len(e) for e in encoded), default=0)
        else:
            length = positive_int("length", length)
        batch = np.full((len(encoded), length), self.pad_id, dtype=np.int64)
        for row, ids in enumerate(encoded):
            batch[row, : min(len(ids), length)] = ids[:length]
        return batch

    def oov_rate(self, sequences: Iterable[Sequence[str]]) -> float:
        """The fraction of tokens in ``sequences`` that are not in the vocabulary (they would become ``<unk>``).

        Raises:
            ValueError: if ``sequences`` holds no tokens.
        """
        total = unknown = 0
        for sequence in _token_lists(sequences):
            total += len(sequence)
            unknown += sum(t not in self._ids for t in sequence)
        if total == 0:
            raise ValueError("no tokens to measure an OOV rate on")
        return unknown / total


def _token_lists(sequences) -> Iterable[Sequence[str]]:
    if isinstance(sequences, str):
        raise TypeError("pass a list of token lists, e.g. [['to', 'be']], not a string")
    for sequence in sequences:
        if isinstance(sequence, str):
            raise TypeError("pass a list of token lists, e.g. [['to', 'be']], not a list of strings")
        yield sequence
