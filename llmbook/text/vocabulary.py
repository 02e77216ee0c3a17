"""A vocabulary: tokens <-> integer ids, with optional special tokens first, then the kept tokens.

One class serves two conventions, chosen by its arguments:

- **a model's input vocabulary** (the default): id 0 is ``<pad>`` (so a zero-filled batch is all
  padding), id 1 is ``<unk>``, which stands for every token that was not kept; the kept tokens follow,
  most frequent first, ties in alphabetical order.
- **word2vec's vocabulary** (``specials=(), ties="first_occurrence"``): no special tokens, rare words
  are dropped rather than replaced (as in the word2vec C tool and gensim), and ties keep the order in
  which the words first appear (gensim leaves the order of ties to numpy's ``argsort``).

>>> vocab = Vocabulary.build([["to", "be", "or", "not", "to", "be"]])
>>> vocab.tokens
('<pad>', '<unk>', 'be', 'to', 'not', 'or')
>>> vocab.encode(["to", "sleep"])
[3, 1]
>>> vocab.encode_batch([["to", "be"], ["or"]]).tolist()
[[3, 2], [5, 0]]
>>> words = Vocabulary.build([["to", "be", "or", "not", "to", "be"]], specials=(), ties="first_occurrence")
>>> words.tokens, words.counts.tolist()
(('to', 'be', 'or', 'not'), [2, 2, 1, 1])
>>> words.encode(["to", "sleep"], unknown="drop")
[0]
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Mapping, Sequence

import numpy as np

from llmbook.validation import positive_int

TIES = ("alphabetical", "first_occurrence")
UNKNOWN = ("unk", "error", "drop")


class Vocabulary:
    """A fixed list of tokens; a token's id is its position. Special tokens come first.

    Args:
        tokens: the ordinary tokens, in id order (after the specials); duplicates are an error.
        specials: reserved tokens that take the first ids, in this order (may be empty).
        pad_token: the special that pads :meth:`encode_batch` and that :meth:`decode` skips; by default
            ``"<pad>"`` if it is among ``specials``, else the vocabulary has none.
        unk_token: the special that stands for unknown tokens; by default ``"<unk>"`` if it is among
            ``specials``, else the vocabulary has none (then encoding an unknown token is an error
            unless it is dropped, see :meth:`encode`).
        counts: how often each token occurred in the text the vocabulary comes from, for instance a
            ``Counter``; tokens that were not kept may be included (they count in ``total_tokens``).

    Attributes:
        tokens: every token in id order, specials first.
        counts: int64 array, ``counts[i]`` is the count of ``tokens[i]`` (0 for specials and without ``counts``).
        total_tokens: the sum of ``counts`` as given: every token of the text, those not kept included.
        pad_id, unk_id: the ids of ``pad_token`` and ``unk_token``, or None.

    Raises:
        ValueError: if a token repeats (specials included), if ``pad_token`` or ``unk_token`` is not
            among ``specials``, or if they are the same token.
        TypeError: if a token is not a string, or ``specials`` is a string instead of a list.
    """

    def __init__(self, tokens: Iterable[str] = (), specials: Sequence[str] = ("<pad>", "<unk>"),
                 pad_token: str | None = None, unk_token: str | None = None,
                 counts: Mapping[str, int] | None = None):
        self.specials: tuple[str, ...] = _specials(specials)
        self.tokens: tuple[str, ...] = (*self.specials, *tokens)
        bad = [t for t in self.tokens if not isinstance(t, str)]
        if bad:
            raise TypeError(f"tokens must be strings, got {type(bad[0]).__name__}: {bad[0]!r}")
        self._ids = {token: i for i, token in enumerate(self.tokens)}
        if len(self._ids) != len(self.tokens):
            repeated = [t for t, n in Counter(self.tokens).items() if n > 1]
            raise ValueError(f"tokens must be unique (and differ from the special tokens); repeated: {repeated[:5]}")
        self.pad_token = self._special("pad_token", pad_token, "<pad>")
        self.unk_token = self._special("unk_token", unk_token, "<unk>")
        if self.pad_token is not None and self.pad_token == self.unk_token:
            raise ValueError(f"pad_token and unk_token must differ, both are {self.pad_token!r}")
        self.pad_id = None if self.pad_token is None else self._ids[self.pad_token]
        self.unk_id = None if self.unk_token is None else self._ids[self.unk_token]
        counts = counts or {}
        self.counts = np.array([counts.get(t, 0) if i >= len(self.specials) else 0 for i, t in enumerate(self.tokens)],
                               dtype=np.int64)
        self.total_tokens = int(sum(counts.values()))

    def _special(self, role: str, token: str | None, default: str) -> str | None:
        if token is None:
            return default if default in self.specials else None
        if token not in self.specials:
            raise ValueError(f"{role} {token!r} is not one of the specials {self.specials}; add it to specials")
        return token

    @classmethod
    def build(cls, sequences: Iterable[Sequence[str]], min_count: int = 1, max_size: int | None = None,
              specials: Sequence[str] = ("<pad>", "<unk>"), pad_token: str | None = None,
              unk_token: str | None = None, ties: str = "alphabetical") -> "Vocabulary":
        """Count the tokens of ``sequences`` and keep those seen at least ``min_count`` times, most frequent first.

        Args:
            sequences: tokenized texts, e.g. ``[["to", "be"], ["or", "not"]]`` (an iterator is read once).
            min_count: the smallest count a token needs to be kept.
            max_size: at most this many ids in all, the special tokens included (None: no limit).
            specials, pad_token, unk_token: as in :class:`Vocabulary`; a token equal to a special is not
                kept as an ordinary token.
            ties: the order of tokens with equal counts: ``"alphabetical"`` or ``"first_occurrence"``
                (the order in which they first appear in ``sequences``).

        Returns:
            A :class:`Vocabulary` whose ``counts`` and ``total_tokens`` come from ``sequences``.

        Raises:
            ValueError: if there are no tokens, no token reaches ``min_count``, ``min_count`` < 1,
                ``max_size`` leaves no room for an ordinary token, or ``ties`` is unknown.
            TypeError: if ``sequences`` is a string or holds strings instead of token lists.
        """
        min_count = positive_int("min_count", min_count)
        if ties not in TIES:
            raise ValueError(f"ties must be one of {', '.join(TIES)}, got {ties!r}")
        reserved = _specials(specials)
        if max_size is not None:
            name = f"max_size ({', '.join(reserved)} and at least one token)" if reserved else "max_size"
            max_size = positive_int(name, max_size, minimum=len(reserved) + 1)
        counts: Counter[str] = Counter()  # keeps the order of first occurrence
        for sequence in _token_lists(sequences):
            counts.update(sequence)
        if not counts:
            raise ValueError("there are no tokens to build a vocabulary from; pass a non-empty list of token lists")
        kept = [t for t, n in counts.items() if n >= min_count and t not in reserved]
        if not kept:
            raise ValueError(f"no token occurs at least min_count={min_count} times ({sum(counts.values())} tokens, "
                             f"{len(counts)} distinct); lower min_count or add text")
        if ties == "alphabetical":
            kept.sort(key=lambda t: (-counts[t], t))
        else:
            kept.sort(key=lambda t: -counts[t])  # a stable sort: ties keep their first-occurrence order
        if max_size is not None:
            kept = kept[: max_size - len(reserved)]
        return cls(kept, specials, pad_token, unk_token, counts)

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self._ids

    def __getitem__(self, token: str) -> int:
        """The id of ``token``; an unknown token gets the ``unk_token``'s id.

        Raises:
            KeyError: for an unknown token when the vocabulary has no ``unk_token``.
        """
        if token in self._ids:
            return self._ids[token]
        if self.unk_id is None:
            raise self._unknown(token)
        return self.unk_id

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} tokens, pad={self.pad_token!r}, unk={self.unk_token!r})"

    def _unknown(self, token: str) -> KeyError:
        return KeyError(f"{token!r} is not in the vocabulary ({len(self)} tokens, no unk_token); check the "
                        "spelling, or encode with unknown='drop' to leave unknown tokens out")

    def encode(self, tokens: Sequence[str], unknown: str | None = None) -> list[int]:
        """The ids of a token list.

        Args:
            tokens: one tokenized text.
            unknown: what an unknown token becomes: ``"unk"`` (the ``unk_token``'s id), ``"error"`` (a
                ``KeyError``) or ``"drop"`` (left out). Default: ``"unk"`` if the vocabulary has an
                ``unk_token``, else ``"error"``.

        Raises:
            TypeError: if ``tokens`` is a single string (tokenize it first).
            ValueError: for ``unknown="unk"`` without an ``unk_token``, or an unknown policy.
            KeyError: for an unknown token under ``"error"``.
        """
        if isinstance(tokens, str):
            raise TypeError("encode takes a list of tokens, not a string; tokenize the text first")
        if unknown is None:
            unknown = "error" if self.unk_id is None else "unk"
        if unknown not in UNKNOWN:
            raise ValueError(f"unknown must be one of {', '.join(UNKNOWN)}, got {unknown!r}")
        ids = self._ids
        if unknown == "drop":
            return [ids[t] for t in tokens if t in ids]
        if unknown == "unk":
            if self.unk_id is None:
                raise ValueError("this vocabulary has no unk_token: encode with unknown='drop' or 'error', or "
                                 "build it with an '<unk>' among specials")
            return [ids.get(t, self.unk_id) for t in tokens]
        missing = [t for t in tokens if t not in ids]
        if missing:
            raise self._unknown(missing[0])
        return [ids[t] for t in tokens]

    def encode_corpus(self, sentences: Iterable[Sequence[str]], unknown: str = "drop") -> tuple[np.ndarray, np.ndarray]:
        """A whole corpus as one stream of ids, with the sentence each id came from.

        Args:
            sentences: token lists.
            unknown: as in :meth:`encode`; by default unknown tokens are left out, as word2vec drops
                the words below its ``min_count``.

        Returns:
            ``(ids, sentence_ids)``: two int32 arrays of the same length; ``sentence_ids[k]`` is the
            index of the sentence that ``ids[k]`` came from, so that windows need not cross a sentence.

        Raises:
            TypeError, ValueError, KeyError: as :meth:`encode`.
        """
        encoded = [self.encode(sentence, unknown) for sentence in _token_lists(sentences)]
        ids = np.fromiter((i for sentence in encoded for i in sentence), dtype=np.int32)
        owners = np.repeat(np.arange(len(encoded), dtype=np.int32), [len(e) for e in encoded])
        return ids, owners

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
        """A ``(batch, length)`` int64 array of ids, padded at the end with the ``pad_token``'s id.

        ``length=None`` pads to the longest sequence; a longer sequence is cut to ``length``. Unknown
        tokens are handled as by :meth:`encode`'s default.

        Raises:
            ValueError: if ``length`` < 1, or the vocabulary has no ``pad_token``.
            TypeError, KeyError: as :meth:`encode`.
        """
        if self.pad_id is None:
            raise ValueError("this vocabulary has no pad_token to pad a batch with; build it with a '<pad>' "
                             "among specials")
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
        """The fraction of tokens in ``sequences`` that are not in the vocabulary (``<unk>`` or dropped when encoded).

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


def _specials(specials: Sequence[str]) -> tuple[str, ...]:
    if isinstance(specials, str):
        raise TypeError(f"specials must be a list of tokens, e.g. ['<pad>', '<unk>'], not the string {specials!r}")
    return tuple(specials)


def _token_lists(sequences) -> Iterable[Sequence[str]]:
    if isinstance(sequences, str):
        raise TypeError("pass a list of token lists, e.g. [['to', 'be']], not a string")
    for sequence in sequences:
        if isinstance(sequence, str):
            raise TypeError("pass a list of token lists, e.g. [['to', 'be']], not a list of strings")
        yield sequence
