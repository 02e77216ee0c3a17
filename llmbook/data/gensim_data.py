"""Word-vector evaluation sets and a small news corpus from gensim's test data.

Source: the PyPI package ``gensim`` (4.x), folder ``gensim/test/test_data``:
- ``questions-words.txt``: the Google analogy set (Mikolov et al., 2013), 14 sections;
- ``wordsim353.tsv``: WordSim-353 (Finkelstein et al., 2002);
- ``simlex999.txt``: SimLex-999 (Hill et al., 2015);
- ``lee_background.cor`` / ``lee.cor``: the Lee news corpus (Lee et al., 2005), 300 + 50 documents.
Licence: gensim is LGPL-2.1; the data sets keep their authors' terms for research use.
Install: ``pip install gensim``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from llmbook.data._common import TextCorpus, numbered_lines, package_file, read_lines

INSTALL = "pip install gensim"


class AnalogyQuestion(NamedTuple):
    """``a`` is to ``b`` as ``c`` is to ``expected``."""

    a: str
    b: str
    c: str
    expected: str


@dataclass(frozen=True)
class AnalogySet:
    """Analogy questions grouped by section, in file order.

    Attributes:
        sections: section name (``"capital-common-countries"``, ``"gram3-comparative"``, ...) -> questions.
    """

    sections: dict[str, tuple[AnalogyQuestion, ...]]

    def __len__(self) -> int:
        return sum(len(q) for q in self.sections.values())

    @property
    def questions(self) -> list[AnalogyQuestion]:
        """All questions of all sections."""
        return [q for section in self.sections.values() for q in section]

    def lowercased(self) -> "AnalogySet":
        """The same questions with every word lower-cased (for lower-cased vocabularies)."""
        return AnalogySet(
            {name: tuple(AnalogyQuestion(*(w.lower() for w in q)) for q in qs) for name, qs in self.sections.items()}
        )


class SimilarityPair(NamedTuple):
    word1: str
    word2: str
    score: float


@dataclass(frozen=True)
class SimilaritySet:
    """Word pairs with a human similarity (or relatedness) score."""

    name: str
    pairs: tuple[SimilarityPair, ...]

    def __len__(self) -> int:
        return len(self.pairs)


def load_analogies() -> AnalogySet:
    """The Google analogy set: 19,544 questions in 14 sections.

    Raises:
        DataPackageMissingError: if gensim is not installed.
        ValueError: if a line has other than four words (a damaged file).
    """
    path = package_file("gensim", "test/test_data/questions-words.txt", INSTALL)
    sections: dict[str, list[AnalogyQuestion]] = {}
    current = None
    for number, line in numbered_lines(path):
        if line.startswith(":"):
            current = line[1:].strip()
            sections[current] = []
            continue
        words = line.split()
        if current is None or len(words) != 4:
            raise ValueError(f"{path}:{number}: expected a ': section' line or four words, got {line!r}")
        sections[current].append(AnalogyQuestion(*words))
    return AnalogySet({name: tuple(qs) for name, qs in sections.items()})


def _load_similarity(name: str, filename: str) -> SimilaritySet:
    path = package_file("gensim", f"test/test_data/{filename}", INSTALL)
    pairs = []
    for number, line in numbered_lines(path):
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise ValueError(f"{path}:{number}: expected 'word<TAB>word<TAB>score', got {line!r}")
        pairs.append(SimilarityPair(fields[0], fields[1], float(fields[2])))
    return SimilaritySet(name, tuple(pairs))


def load_wordsim353() -> SimilaritySet:
    """WordSim-353: 353 word pairs with mean human relatedness on a 0-10 scale."""
    return _load_similarity("wordsim353", "wordsim353.tsv")


def load_simlex999() -> SimilaritySet:
    """SimLex-999: 999 word pairs with mean human *similarity* (not relatedness) on a 0-10 scale."""
    return _load_similarity("simlex999", "simlex999.txt")


def load_lee(part: str = "background") -> TextCorpus:
    """The Lee news corpus: ``"background"`` (300 documents) or ``"test"`` (50 documents).

    Raises:
        ValueError: for an unknown part.
        DataPackageMissingError: if gensim is not installed.
    """
    files = {"background": "lee_background.cor", "test": "lee.cor"}
    if part not in files:
        raise ValueError(f"part must be 'background' or 'test', got {part!r}")
    path = package_file("gensim", f"test/test_data/{files[part]}", INSTALL)
    lines = read_lines(path, encoding="latin-1")  # the files use Latin-1 (e.g. the pound sign)
    ids = [f"lee-{part}-{i:03d}" for i in range(len(lines))]
    return TextCorpus(
        name="lee",
        documents=dict(zip(ids, lines)),
        titles={i: i for i in ids},
        source=f"gensim test data, {path.name}",
        licence="research use (Lee, Pincombe and Welsh, 2005), distributed with gensim (LGPL-2.1)",
    )
