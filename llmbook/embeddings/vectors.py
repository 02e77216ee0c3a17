"""Trained word vectors and what one does with them: neighbours, similarity, analogies, files.

:class:`WordVectors` holds a word list and a matrix. Similarities are cosines. Analogies
(``a : b :: c : ?``) use 3CosAdd (Mikolov et al., 2013): the word closest to ``b - a + c`` after
normalizing every vector, or 3CosMul (Levy and Goldberg, 2014), which multiplies the three similarities
(shifted to [0, 1]) instead of adding them. The input words are never answers, as in gensim.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from llmbook.validation import positive_int


class WordVectors:
    """A vocabulary with one vector per word.

    Args:
        words: the words, row ``i`` of ``vectors`` belongs to ``words[i]``; earlier = more frequent
            (``restrict_vocab`` arguments keep the first rows).
        vectors: a ``(len(words), dim)`` array.

    Raises:
        ValueError: if shapes disagree, a word repeats, the vocabulary is empty, or a vector holds NaN
            or infinity (training diverged; every similarity with it would be NaN).
    """

    def __init__(self, words: Sequence[str], vectors: np.ndarray):
        vectors = np.asarray(vectors, dtype=np.float32)
        if len(words) == 0:
            raise ValueError("no words: WordVectors needs at least one word")
        if vectors.ndim != 2 or vectors.shape[0] != len(words):
            raise ValueError(f"vectors must have shape ({len(words)}, dim), got {vectors.shape}")
        bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
        if bad.size:
            raise ValueError(f"{bad.size} vectors hold NaN or infinity (first: {words[bad[0]]!r}); training "
                             "diverged: lower the learning rate")
        self.words = tuple(words)
        self.index = {w: i for i, w in enumerate(self.words)}
        if len(self.index) != len(self.words):
            raise ValueError("words must be distinct")
        self.vectors = vectors
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.unit = vectors / np.maximum(norms, 1e-12)

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def row(self, word: str) -> int:
        """The row of ``word``; ``KeyError`` with a clear message if it is out of vocabulary."""
        try:
            return self.index[word]
        except KeyError:
            raise KeyError(f"{word!r} is not in the vocabulary ({len(self)} words); check its spelling and case, "
                           f"or train with a lower min_count") from None

    def __getitem__(self, word: str) -> np.ndarray:
        return self.vectors[self.row(word)]

    def similarity(self, word1: str, word2: str) -> float:
        """The cosine similarity of two words. Raises ``KeyError`` for an out-of-vocabulary word."""
        return float(self.unit[self.row(word1)] @ self.unit[self.row(word2)])

    def _top(self, scores: np.ndarray, exclude: Sequence[int], topn: int) -> list[tuple[str, float]]:
        scores = scores.copy()
        scores[list(exclude)] = -np.inf
        topn = min(topn, len(scores) - len(set(exclude)))
        best = np.argpartition(-scores, topn - 1)[:topn] if topn > 0 else np.zeros(0, int)
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(self.words[i], float(scores[i])) for i in best]

    def most_similar(self, word: str, topn: int = 10) -> list[tuple[str, float]]:
        """The ``topn`` nearest words to ``word`` by cosine, without the word itself.

        Raises:
            KeyError: for an out-of-vocabulary word. ValueError: if ``topn`` < 1.
        """
        topn = positive_int("topn", topn)
        i = self.row(word)
        return self._top(self.unit @ self.unit[i], [i], topn)

    def analogy(self, a: str, b: str, c: str, topn: int = 1, method: str = "3cosadd") -> list[tuple[str, float]]:
        """Solve ``a : b :: c : ?`` (e.g. ``man : king :: woman : ?``).

        Args:
            method: ``"3cosadd"``: argmax cos(x, b) - cos(x, a) + cos(x, c);
                ``"3cosmul"``: argmax cos'(x, b) cos'(x, c) / (cos'(x, a) + 1e-3) with cos' = (cos + 1) / 2.

        Returns:
            The ``topn`` best answers with their scores; ``a``, ``b`` and ``c`` are never answers.

        Raises:
            KeyError: for an out-of-vocabulary word. ValueError: for an unknown method.
        """
        rows = [self.row(w) for w in (a, b, c)]
        return self._top(self._analogy_scores(np.array([rows]), method)[0], rows, topn)

    def _analogy_scores(self, rows: np.ndarray, method: str) -> np.ndarray:
        """Scores of every word for a batch of questions ``rows`` = ``(n, 3)`` rows of a, b, c."""
        if method == "3cosadd":
            target = self.unit[rows[:, 1]] - self.unit[rows[:, 0]] + self.unit[rows[:, 2]]
            return target @ self.unit.T
        if method == "3cosmul":
            cos = [(self.unit[rows[:, k]] @ self.unit.T + 1.0) / 2.0 for k in range(3)]
            return cos[1] * cos[2] / (cos[0] + 1e-3)
        raise ValueError(f"method must be '3cosadd' or '3cosmul', got {method!r}")

    # ------------------------------------------------------------------------------------ files
    def save(self, path: str | Path) -> None:
        """Save to a ``.npz`` file (words and float32 vectors); :meth:`load` reads it back exactly."""
        np.savez(Path(path), words=np.array(self.words, dtype=object).astype(str), vectors=self.vectors)

    @classmethod
    def load(cls, path: str | Path) -> "WordVectors":
        """Read a file written by :meth:`save`. Raises ``FileNotFoundError`` if it does not exist."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no word-vector file at {path}")
        with np.load(path, allow_pickle=False) as data:
            return cls([str(w) for w in data["words"]], data["vectors"])

    def save_word2vec_format(self, path: str | Path) -> None:
        """Write the word2vec text format: a ``count dim`` header, then ``word v1 v2 ...`` per line.

        gensim reads it with ``KeyedVectors.load_word2vec_format(path, binary=False)``.

        Raises:
            ValueError: if a word contains whitespace (the format could not be read back).
        """
        if any(len(w.split()) != 1 for w in self.words):
            raise ValueError("a word contains whitespace or is empty; the word2vec text format cannot hold it")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(f"{len(self)} {self.dim}\n")
            for word, vector in zip(self.words, self.vectors):
                handle.write(word + " " + " ".join(repr(float(x)) for x in vector) + "\n")

    @classmethod
    def load_word2vec_format(cls, path: str | Path) -> "WordVectors":
        """Read the word2vec text format.

        Raises:
            ValueError: if the header or a line does not match the format (the message names the line).
        """
        with open(path, encoding="utf-8") as handle:
            header = handle.readline().split()
            if len(header) != 2 or not all(h.isdigit() for h in header):
                raise ValueError(f"{path}: the first line must be '<count> <dim>', got {' '.join(header)!r}")
            count, dim = map(int, header)
            words, rows = [], []
            for number, line in enumerate(handle, start=2):
                fields = line.rstrip("\r\n ").split(" ")  # the C tool ends lines with a space
                if len(fields) != dim + 1:
                    raise ValueError(f"{path}:{number}: expected a word and {dim} numbers, got {len(fields)} fields")
                words.append(fields[0])
                rows.append(np.asarray(fields[1:], dtype=np.float32))
        if len(words) != count:
            raise ValueError(f"{path}: the header says {count} words but the file has {len(words)}")
        return cls(words, np.stack(rows))
