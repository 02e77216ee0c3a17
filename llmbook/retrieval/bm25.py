"""BM25 (Robertson and Sparck Jones's probabilistic relevance model with Okapi's term-frequency saturation).

A document :math:`d` scores, for a query :math:`q`,

.. math::

    \\operatorname{BM25}(q, d) = \\sum_{t \\in q} \\operatorname{idf}(t)\\,
        \\frac{f(t, d)\\,(k_1 + 1)}{f(t, d) + k_1 \\left(1 - b + b\\,\\frac{|d|}{\\overline{|d|}}\\right)}

with :math:`f(t, d)` the count of term :math:`t` in :math:`d`, :math:`|d|` its length in terms and
:math:`\\overline{|d|}` the mean length. :math:`k_1` sets how fast repeats saturate (0: presence only), and
:math:`b` how much long documents are discounted (0: not at all, 1: fully). Two idf variants, with
:math:`N` documents and :math:`n_t` of them containing :math:`t`:

* ``"okapi"``: Robertson/Sparck Jones :math:`\\log\\frac{N - n_t + 0.5}{n_t + 0.5}`, negative for a term in
  more than half the documents; like ``rank_bm25.BM25Okapi``, a negative idf is replaced by
  ``epsilon`` times the mean idf (the tests check the scores against that library);
* ``"lucene"`` (the default): :math:`\\log\\left(1 + \\frac{N - n_t + 0.5}{n_t + 0.5}\\right)`, always
  positive, as in Lucene and Elasticsearch.

>>> index = BM25([["red", "fox"], ["lazy", "dog"], ["red", "dog", "dog"]])
>>> [int(i) for i in index.rank(["red", "dog"])]
[2, 0, 1]
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np

from llmbook.validation import positive_int

__all__ = ["BM25", "STOPWORDS", "tokenize"]

#: Function words left out of the index: they match everywhere and carry no topic.
STOPWORDS = frozenset("""
a about above after again all also an and any are as at be been before being below between both but by
can could did do does doing down during each few for from further had has have having he her here hers
how i if in into is it its itself just me more most my no nor not now of off on once only or other our
out over own same she should so some such than that the their them then there these they this those
through to too under until up very was we were what when where which while who whom why will with would
you your
""".split())

_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


def tokenize(text: str, stopwords=STOPWORDS) -> list[str]:
    """Lower-cased words and numbers of ``text``, without ``stopwords`` (no stemming).

    >>> tokenize("The GPT's 4-bit weights, in Q4_1!")
    ["gpt's", '4-bit', 'weights', 'q4', '1']

    Raises:
        TypeError: if ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return [word for word in _WORD.findall(text.lower()) if word not in stopwords]


class BM25:
    """A BM25 index over tokenized documents.

    Args:
        documents: a list of documents, each a list of terms (see :func:`tokenize`).
        k1: term-frequency saturation, >= 0 (1.2 to 2 are usual; 1.5 as in rank_bm25).
        b: length normalization, in [0, 1].
        idf: ``"lucene"`` or ``"okapi"`` (see the module docstring).
        epsilon: for ``"okapi"``, the floor of a negative idf as a fraction of the mean idf.

    Raises:
        ValueError: for no documents, an empty corpus (every document empty), ``k1 < 0``, ``b`` outside
            [0, 1] or an unknown idf.
        TypeError: if a document is a string instead of a list of terms.
    """

    def __init__(self, documents, *, k1: float = 1.5, b: float = 0.75, idf: str = "lucene",
                 epsilon: float = 0.25):
        documents = list(documents)
        if not documents:
            raise ValueError("documents is empty: give at least one document (a list of terms)")
        for index, document in enumerate(documents):
            if isinstance(document, str):
                raise TypeError(f"document {index} is a string; tokenize it first: tokenize(text)")
        if not (isinstance(k1, (int, float)) and k1 >= 0):
            raise ValueError(f"k1 must be a number >= 0, got {k1!r}")
        if not (isinstance(b, (int, float)) and 0 <= b <= 1):
            raise ValueError(f"b must be between 0 and 1, got {b!r}")
        if idf not in ("lucene", "okapi"):
            raise ValueError(f"unknown idf {idf!r}; choose 'lucene' or 'okapi'")
        self.k1, self.b, self.idf_kind, self.epsilon = float(k1), float(b), idf, float(epsilon)
        self.counts = [Counter(document) for document in documents]
        self.lengths = np.array([len(document) for document in documents], dtype=np.float64)
        if self.lengths.sum() == 0:
            raise ValueError("every document is empty: nothing to index")
        self.mean_length = float(self.lengths.mean())
        frequency = Counter(term for counts in self.counts for term in counts)
        n = len(documents)
        if idf == "lucene":
            self.idf = {t: math.log(1 + (n - df + 0.5) / (df + 0.5)) for t, df in frequency.items()}
        else:
            self.idf = {t: math.log((n - df + 0.5) / (df + 0.5)) for t, df in frequency.items()}
            floor = self.epsilon * sum(self.idf.values()) / len(self.idf)
            self.idf = {t: (value if value >= 0 else floor) for t, value in self.idf.items()}
        # Postings: term -> (document indices, counts), for scoring a query without a loop over documents.
        postings: dict[str, tuple[list[int], list[int]]] = {}
        for index, counts in enumerate(self.counts):
            for term, count in counts.items():
                entry = postings.setdefault(term, ([], []))
                entry[0].append(index)
                entry[1].append(count)
        self.postings = {t: (np.array(d), np.array(c, dtype=np.float64)) for t, (d, c) in postings.items()}

    def __len__(self) -> int:
        return len(self.counts)

    def scores(self, query) -> np.ndarray:
        """BM25 scores of every document for ``query`` (a list of terms), shape ``(len(self),)``.

        A query term repeated counts once per occurrence (as in rank_bm25); unknown terms add nothing.

        Raises:
            TypeError: if ``query`` is a string (tokenize it first).
        """
        if isinstance(query, str):
            raise TypeError("query is a string; tokenize it first: index.scores(tokenize(text))")
        total = np.zeros(len(self.counts))
        norm = self.k1 * (1 - self.b + self.b * self.lengths / self.mean_length)
        for term in query:
            if term not in self.postings:
                continue
            documents, counts = self.postings[term]
            total[documents] += self.idf[term] * counts * (self.k1 + 1) / (counts + norm[documents])
        return total

    def rank(self, query, k: int | None = None) -> np.ndarray:
        """Document indices by decreasing score (ties: the earlier document first); the top ``k`` if given."""
        scores = self.scores(query)
        order = np.argsort(-scores, kind="stable")
        return order if k is None else order[:positive_int("k", k)]
