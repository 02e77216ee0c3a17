"""Text augmentation on token lists: EDA's four operations and word-level back-translation.

EDA (Wei and Zou, 2019) makes new training sentences from a labelled one by four cheap edits, each
scaled by ``alpha``, the share of the sentence's words it touches:

- :func:`synonym_replacement`: ``n`` positions whose word has neighbours get a random neighbour;
- :func:`random_insertion`: ``n`` times, a neighbour of a random word is inserted at a random place;
- :func:`random_swap`: ``n`` times, two random positions exchange their tokens;
- :func:`random_deletion`: every token is deleted with probability ``alpha`` (never all of them),

with ``n = max(1, round(alpha * len(tokens)))``. :func:`eda` applies one operation drawn at random.
:func:`back_translate` sends every word through a pivot language and back, one word at a time, with
two lexicons (for example the Ding dictionary's English->German and German->English word entries).
:func:`augmented_copies` turns a labelled training set into the originals plus ``k`` copies of each.

The *neighbours* (synonyms) are an argument, a mapping from a word to the words that may replace it
(for example the nearest neighbours in a word2vec table): this module does not depend on where they
come from. Every function takes a ``numpy.random.Generator`` (or an integer seed), so the same seed
gives the same output, and returns a new list; the input is never changed.

>>> rng = np.random.default_rng(0)
>>> random_swap(["a", "good", "film"], 1, rng)
['a', 'film', 'good']
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Callable

import numpy as np

from llmbook.validation import non_negative_int

__all__ = ["EDA_OPERATIONS", "augmented_copies", "back_translate", "eda", "edit_count", "random_deletion",
           "random_insertion", "random_swap", "synonym_replacement"]

EDA_OPERATIONS = ("synonym", "insertion", "swap", "deletion")


def _generator(rng) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be a numpy.random.Generator or a non-negative integer seed, got {rng!r}; "
                    "pass np.random.default_rng(seed)")


def _tokens(tokens) -> list[str]:
    if isinstance(tokens, str) or not isinstance(tokens, Sequence):
        raise TypeError(f"tokens must be a list of strings (a tokenized sentence), got {type(tokens).__name__}; "
                        "split the text first")
    if not all(isinstance(t, str) for t in tokens):
        raise TypeError("tokens must be a list of strings; found a non-string token")
    return list(tokens)


def _alpha(alpha, name: str = "alpha") -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 <= alpha <= 1:
        raise ValueError(f"{name} must be a share of the words in [0, 1], got {alpha!r}; EDA uses 0.05 to 0.5")
    return float(alpha)


def _neighbours(neighbours) -> Mapping:
    if not isinstance(neighbours, Mapping):
        raise TypeError(f"neighbours must be a mapping from a word to its neighbour words, got "
                        f"{type(neighbours).__name__}")
    if not any(len(v) for v in neighbours.values()):
        raise ValueError("neighbours is empty (no word has a neighbour): build it from word vectors or a "
                         "thesaurus, e.g. {word: [w for w, _ in vectors.most_similar(word, 5)]}")
    return neighbours


def edit_count(length: int, alpha: float) -> int:
    """EDA's number of edits for a sentence of ``length`` tokens: ``max(1, round(alpha * length))``,
    or 0 when ``alpha`` is 0 or the sentence is empty.

    Raises:
        ValueError: if ``alpha`` is not in [0, 1] or ``length`` is negative.
    """
    length = non_negative_int("length", length)
    alpha = _alpha(alpha)
    if alpha == 0 or length == 0:
        return 0
    return max(1, int(round(alpha * length)))


def synonym_replacement(tokens: Sequence[str], neighbours: Mapping[str, Sequence[str]], n: int,
                        rng) -> list[str]:
    """Replace the words at up to ``n`` distinct random positions by a random neighbour each.

    Only positions whose word has at least one neighbour are candidates; if fewer than ``n`` exist, all
    of them are replaced. Other tokens are unchanged, and the length stays the same.

    Args:
        tokens: the sentence as a list of tokens.
        neighbours: word -> the words that may replace it (words without an entry are never replaced).
        n: the number of positions to replace (>= 0).
        rng: a ``numpy.random.Generator`` or an integer seed.

    Returns:
        A new token list.

    Raises:
        TypeError: for tokens that are not a list of strings, a ``neighbours`` that is not a mapping, or
            a bad ``rng``.
        ValueError: if ``n`` is negative or no word in ``neighbours`` has a neighbour.
    """
    tokens, neighbours = _tokens(tokens), _neighbours(neighbours)
    n, rng = non_negative_int("n", n), _generator(rng)
    candidates = [i for i, t in enumerate(tokens) if len(neighbours.get(t, ())) > 0]
    if n == 0 or not candidates:
        return tokens
    chosen = rng.choice(len(candidates), size=min(n, len(candidates)), replace=False)
    for c in sorted(int(c) for c in chosen):
        i = candidates[c]
        options = neighbours[tokens[i]]
        tokens[i] = options[int(rng.integers(len(options)))]
    return tokens


def random_insertion(tokens: Sequence[str], neighbours: Mapping[str, Sequence[str]], n: int,
                     rng) -> list[str]:
    """Insert ``n`` times a random neighbour of a random word (one that has neighbours) at a random
    position. A sentence with no such word comes back unchanged.

    Args and raises as for :func:`synonym_replacement`.

    Returns:
        A new token list, ``n`` tokens longer (or unchanged).
    """
    tokens, neighbours = _tokens(tokens), _neighbours(neighbours)
    n, rng = non_negative_int("n", n), _generator(rng)
    candidates = [t for t in tokens if len(neighbours.get(t, ())) > 0]
    if not candidates:
        return tokens
    for _ in range(n):
        options = neighbours[candidates[int(rng.integers(len(candidates)))]]
        tokens.insert(int(rng.integers(len(tokens) + 1)), options[int(rng.integers(len(options)))])
    return tokens


def random_swap(tokens: Sequence[str], n: int, rng) -> list[str]:
    """Swap the tokens at two distinct random positions, ``n`` times (the multiset of tokens is kept).

    Args:
        tokens: the sentence as a list of tokens (one of fewer than 2 tokens comes back unchanged).
        n: the number of swaps (>= 0).
        rng: a ``numpy.random.Generator`` or an integer seed.

    Returns:
        A new token list.

    Raises:
        TypeError: for tokens that are not a list of strings or a bad ``rng``.
        ValueError: if ``n`` is negative.
    """
    tokens, n, rng = _tokens(tokens), non_negative_int("n", n), _generator(rng)
    if len(tokens) < 2:
        return tokens
    for _ in range(n):
        i, j = (int(x) for x in rng.choice(len(tokens), size=2, replace=False))
        tokens[i], tokens[j] = tokens[j], tokens[i]
    return tokens


def random_deletion(tokens: Sequence[str], p: float, rng) -> list[str]:
    """Delete each token independently with probability ``p``; if that would delete every token, one
    random token is kept, so a non-empty sentence never comes back empty.

    Args:
        tokens: the sentence as a list of tokens.
        p: the deletion probability, in [0, 1].
        rng: a ``numpy.random.Generator`` or an integer seed.

    Returns:
        A new token list: a subsequence of ``tokens``, in order.

    Raises:
        TypeError: for tokens that are not a list of strings or a bad ``rng``.
        ValueError: if ``p`` is not in [0, 1].
    """
    tokens, p, rng = _tokens(tokens), _alpha(p, "p"), _generator(rng)
    if len(tokens) < 2:
        return tokens
    keep = rng.random(len(tokens)) >= p
    if not keep.any():
        return [tokens[int(rng.integers(len(tokens)))]]
    return [t for t, k in zip(tokens, keep) if k]


def eda(tokens: Sequence[str], neighbours: Mapping[str, Sequence[str]] | None, alpha: float, rng,
        operations: Sequence[str] = EDA_OPERATIONS) -> list[str]:
    """One EDA copy: an operation drawn uniformly from ``operations``, applied with strength ``alpha``.

    ``synonym``, ``insertion`` and ``swap`` make :func:`edit_count` edits; ``deletion`` deletes with
    probability ``alpha``.

    Args:
        tokens: the sentence as a list of tokens.
        neighbours: word -> replacement words; needed only when ``operations`` has ``synonym`` or
            ``insertion`` (may be None otherwise).
        alpha: the share of words changed, in [0, 1].
        rng: a ``numpy.random.Generator`` or an integer seed.
        operations: a non-empty subset of ``EDA_OPERATIONS`` (one name, e.g. ``("swap",)``, gives
            that operation alone).

    Returns:
        A new token list.

    Raises:
        ValueError: for an unknown or empty ``operations``, ``alpha`` outside [0, 1], or a needed
            ``neighbours`` that is empty.
        TypeError: as for the operations.
    """
    tokens, alpha, rng = _tokens(tokens), _alpha(alpha), _generator(rng)
    if isinstance(operations, str):
        operations = (operations,)
    unknown = [op for op in operations if op not in EDA_OPERATIONS]
    if not operations or unknown:
        raise ValueError(f"operations must be a non-empty subset of {EDA_OPERATIONS}, got {tuple(operations)!r}")
    if neighbours is None and {"synonym", "insertion"} & set(operations):
        raise ValueError("synonym and insertion need neighbours: pass a mapping word -> neighbour words, "
                         "or use operations=('swap', 'deletion')")
    operation = operations[int(rng.integers(len(operations)))]
    n = edit_count(len(tokens), alpha)
    if operation == "synonym":
        return synonym_replacement(tokens, neighbours, n, rng)
    if operation == "insertion":
        return random_insertion(tokens, neighbours, n, rng)
    if operation == "swap":
        return random_swap(tokens, n, rng)
    return random_deletion(tokens, alpha, rng)


def back_translate(tokens: Sequence[str], forward: Mapping[str, Sequence[str]],
                   backward: Mapping[str, str], rng) -> list[str]:
    """Word-by-word back-translation: each token is translated into the pivot language and back.

    A token with entries in ``forward`` goes to one of its pivot words, drawn uniformly (so copies
    differ), and the pivot word comes back as ``backward[pivot]``, split at spaces (a translation may
    have several words). A token without a ``forward`` entry, or whose pivot word has no ``backward``
    entry, is kept as it is. Word order is kept: this is the dictionary system of chapter 16 run twice.

    Args:
        tokens: the sentence as a list of tokens.
        forward: word -> pivot-language words (e.g. English -> German candidates).
        backward: pivot word -> its one translation back (e.g. German -> English).
        rng: a ``numpy.random.Generator`` or an integer seed.

    Returns:
        A new token list.

    Raises:
        TypeError: for tokens that are not a list of strings, lexicons that are not mappings, or a bad
            ``rng``.
        ValueError: if ``forward`` or ``backward`` is empty.
    """
    tokens, rng = _tokens(tokens), _generator(rng)
    for name, lexicon in (("forward", forward), ("backward", backward)):
        if not isinstance(lexicon, Mapping):
            raise TypeError(f"{name} must be a mapping (a lexicon), got {type(lexicon).__name__}")
        if not lexicon:
            raise ValueError(f"{name} lexicon is empty: load one, e.g. "
                             "llmbook.data.ding_round_trip.load_ding_round_trip(words)")
    output = []
    for token in tokens:
        pivots = [p for p in forward.get(token, ()) if p in backward]
        if not pivots:
            output.append(token)
            continue
        pivot = pivots[int(rng.integers(len(pivots)))]
        output.extend(backward[pivot].split())
    return output


def augmented_copies(examples: Sequence[Sequence[str]], labels, k: int,
                     augment: Callable[[list[str], np.random.Generator], list[str]], rng):
    """The training set with ``k`` augmented copies of every example, each keeping its label.

    Args:
        examples: tokenized training sentences.
        labels: one label per example (any array-like).
        k: augmented copies per example (0 returns the originals).
        augment: ``augment(tokens, rng) -> tokens``, e.g.
            ``lambda t, r: eda(t, neighbours, 0.1, r)``.
        rng: a ``numpy.random.Generator`` or an integer seed, passed on to ``augment``.

    Returns:
        ``(tokens, labels)``: the originals first, in order, then the copies of example 0, 1, ... (k
        each, consecutive); ``labels`` is a numpy array of length ``(k + 1) * len(examples)``.

    Raises:
        ValueError: if ``k`` is negative or ``labels`` and ``examples`` differ in length.
        TypeError: if ``augment`` is not callable or ``rng`` is bad.
    """
    k, rng = non_negative_int("k", k), _generator(rng)
    labels = np.asarray(labels)
    if len(labels) != len(examples):
        raise ValueError(f"labels has {len(labels)} entries for {len(examples)} examples; give one label each")
    if not callable(augment):
        raise TypeError("augment must be a function (tokens, rng) -> tokens")
    originals = [_tokens(e) for e in examples]
    copies = [augment(list(e), rng) for e in originals for _ in range(k)]
    return originals + copies, np.concatenate([labels, np.repeat(labels, k)])
