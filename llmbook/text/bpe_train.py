"""Training byte-level BPE from scratch: count adjacent pairs, merge the most frequent, repeat.

Each step merges the most frequent adjacent pair of tokens; ties go to the pair whose tokens have the
smaller ids. These are the rules of HF's ``BpeTrainer``, so both learn the same merges from the same text
(``tests/test_text_bpe.py`` checks it). Pair counts are kept up to date incrementally: a merge only touches
the words that contain the pair, found through an index, and a heap yields the next most frequent pair.

>>> vocab, merges = train_bpe(["low lower lowest"] * 3, vocab_size=262)
>>> merges[:2]
[('l', 'o'), ('lo', 'w')]
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from typing import Callable, Iterable, Sequence

from llmbook.text.byte_level import BYTE_ALPHABET, check_pre_tokenizer, pre_tokenize, to_byte_chars
from llmbook.validation import positive_int


def train_bpe(texts: Iterable[str], vocab_size: int, special_tokens: Sequence[str] = (),
              pre_tokenizer: str = "gpt2", min_frequency: int = 1,
              on_merge: Callable[[int, tuple[str, str], int], None] | None = None
              ) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Learn merges from ``texts`` until the vocabulary has ``vocab_size`` tokens.

    Ids: the special tokens first, then the 256 byte tokens (:data:`~llmbook.text.byte_level.BYTE_ALPHABET`
    order), then one id per merge. Training stops early when no pair occurs ``min_frequency`` times.

    Args:
        texts: the training text, as strings (documents, lines, ...).
        vocab_size: the wanted size, specials and the 256 bytes included.
        special_tokens: tokens that get the first ids and are never learned from the text.
        pre_tokenizer: a name from :data:`~llmbook.text.byte_level.PRE_TOKENIZERS`.
        min_frequency: the least count a pair needs to be merged.
        on_merge: called as ``on_merge(rank, (left, right), count)`` after each merge.

    Returns:
        ``(vocab, merges)``: token -> id, and the ``(left, right)`` merges in the order learned.

    Raises:
        ValueError: if the corpus is empty (or holds only empty strings), if ``vocab_size`` is
            smaller than 256 plus the special tokens, if ``min_frequency`` < 1, or for an unknown pre-tokenizer.
        TypeError: if a text is not a string.
    """
    if isinstance(texts, str):
        texts = [texts]
    check_pre_tokenizer(pre_tokenizer)
    minimum = 256 + len(special_tokens)
    if not isinstance(vocab_size, int) or vocab_size < minimum:
        raise ValueError(f"vocab_size must be an int >= {minimum} (256 bytes + {len(special_tokens)} special "
                         f"tokens), got {vocab_size!r}")
    min_frequency = positive_int("min_frequency", min_frequency)
    word_counts: Counter[str] = Counter()
    for text in texts:
        if not isinstance(text, str):
            raise TypeError(f"texts must be strings, got {type(text).__name__}")
        word_counts.update(pre_tokenize(text, pre_tokenizer))
    if not word_counts:
        raise ValueError("the training corpus is empty: pass at least one non-empty string")

    tokens = [*special_tokens, *BYTE_ALPHABET]  # id -> token
    byte_id = {char: tokens.index(char) for char in BYTE_ALPHABET}
    words = [[byte_id[c] for c in to_byte_chars(w)] for w in word_counts]  # each word as a list of ids
    counts = list(word_counts.values())

    pair_counts: Counter[tuple[int, int]] = Counter()
    where: defaultdict[tuple[int, int], set[int]] = defaultdict(set)  # pair -> words that contain it
    for index, (word, count) in enumerate(zip(words, counts)):
        for pair in zip(word, word[1:]):
            pair_counts[pair] += count
            where[pair].add(index)
    # A max-heap by (count, then smaller ids first); stale entries are skipped when popped.
    heap = [(-n, pair) for pair, n in pair_counts.items()]
    heapq.heapify(heap)

    merges: list[tuple[str, str]] = []
    while len(tokens) < vocab_size and heap:
        negative_count, pair = heapq.heappop(heap)
        if pair_counts.get(pair, 0) != -negative_count:
            continue  # stale: this pair's count changed after the entry was pushed
        if -negative_count < min_frequency:
            break
        new_id = len(tokens)
        tokens.append(tokens[pair[0]] + tokens[pair[1]])
        merges.append((tokens[pair[0]], tokens[pair[1]]))
        changed = set()
        for index in where.pop(pair):
            word, count = words[index], counts[index]
            for old in zip(word, word[1:]):  # take the word's pairs out ...
                pair_counts[old] -= count
                changed.add(old)
            words[index] = word = merge_pair(word, pair, new_id)
            for new in zip(word, word[1:]):  # ... and put the merged word's pairs back
                pair_counts[new] += count
                where[new].add(index)
                changed.add(new)
        for p in changed:
            if pair_counts[p] > 0:
                heapq.heappush(heap, (-pair_counts[p], p))
            else:
                del pair_counts[p]
        if on_merge is not None:
            on_merge(len(merges) - 1, merges[-1], -negative_count)
    return {token: i for i, token in enumerate(tokens)}, merges


def merge_pair(word: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every non-overlapping occurrence of ``pair`` in ``word``, left to right, with ``new_id``."""
    merged, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
            merged.append(new_id)
            i += 2
        else:
            merged.append(word[i])
            i += 1
    return merged


__all__ = ["merge_pair", "train_bpe"]
