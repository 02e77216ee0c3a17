"""What every loader shares: finding a data package, clear errors, deterministic splits."""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Sequence, TypeVar

import numpy as np

T = TypeVar("T")
_SPEAKER_OR_DIRECTION = re.compile(r"^(?:[A-Z][A-Za-z']*\.?\s?){1,4}\.$|^\[.*\]$|^(?:ACT|SCENE)\b", re.ASCII)


class DataPackageMissingError(ImportError):
    """A corpus's package is not installed; the message gives the exact install command."""


def package_file(module: str, relative: str, install: str) -> Path:
    """Path of ``relative`` inside the installed package ``module``.

    Raises:
        DataPackageMissingError: if the package is not installed, or is installed without the file.
            The message names the install command ``install``.
    """
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise DataPackageMissingError(f"the data package '{module}' is not installed: {install}")
    root = Path(list(spec.submodule_search_locations)[0])
    path = root / relative
    if not path.exists():
        raise DataPackageMissingError(
            f"'{module}' is installed at {root} but has no {relative}; reinstall it: {install}"
        )
    return path


def read_lines(path: Path, encoding: str = "utf-8-sig") -> list[str]:
    """The non-empty, stripped lines of a text file (UTF-8 by default; a byte-order mark is dropped)."""
    return [line for _, line in numbered_lines(path, encoding)]


def numbered_lines(path: Path, encoding: str = "utf-8-sig") -> list[tuple[int, str]]:
    """``(line number in the file, stripped line)`` for every non-empty line, so that an error about a
    damaged line names the line an editor shows (blank lines are counted, not renumbered)."""
    with open(path, encoding=encoding) as handle:
        return [(number, line.strip()) for number, line in enumerate(handle, start=1) if line.strip()]


@dataclass(frozen=True)
class Split(Generic[T]):
    """A train/validation/test split of one corpus."""

    train: T
    validation: T
    test: T

    def __iter__(self):
        """Unpack as ``train, validation, test = split``."""
        return iter((self.train, self.validation, self.test))


def split_indices(n: int, fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0) -> Split:
    """Shuffle ``range(n)`` with ``seed`` and cut it into train/validation/test index arrays.

    The same ``n``, ``fractions`` and ``seed`` always give the same split, on every machine.

    Raises:
        ValueError: if the fractions are not three non-negative numbers summing to 1, or if a part
            with a positive fraction would be empty.
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError(f"fractions must be three non-negative numbers that sum to 1, got {tuple(fractions)}")
    order = np.random.default_rng(seed).permutation(n)
    n_train = int(round(fractions[0] * n))
    n_validation = int(round(fractions[1] * n))
    parts = (order[:n_train], order[n_train:n_train + n_validation], order[n_train + n_validation:])
    for name, fraction, part in zip(("train", "validation", "test"), fractions, parts):
        if fraction > 0 and len(part) == 0:
            raise ValueError(f"the {name} part of a split of {n} items is empty; use fewer parts or more data")
    return Split(*(np.sort(part) for part in parts))


@dataclass(frozen=True)
class TextCorpus:
    """Named documents of running text, with where they came from.

    Attributes:
        name: the corpus name, as ``llmbook.data.load`` knows it.
        documents: document id -> full text, in a fixed order.
        titles: document id -> human-readable title.
        source: where the files come from.
        licence: the licence of the text.
    """

    name: str
    documents: dict[str, str]
    titles: dict[str, str]
    source: str
    licence: str

    def __post_init__(self):
        if not self.documents:
            raise ValueError(f"corpus {self.name!r} has no documents")

    def __len__(self) -> int:
        return len(self.documents)

    def text(self) -> str:
        """All documents joined by blank lines."""
        return "\n\n".join(self.documents.values())

    def lines(self, *, drop_headings: bool = True) -> list[str]:
        """The non-empty lines of every document, in order (see :meth:`document_lines`)."""
        return [line for lines in self.document_lines(drop_headings=drop_headings).values() for line in lines]

    def document_lines(self, *, drop_headings: bool = True) -> dict[str, list[str]]:
        """Document id -> its non-empty lines.

        With ``drop_headings`` (the default), lines that are only a speaker tag (``Ham.``), an act or
        scene heading, or a bracketed stage direction are left out, so that what remains is what is
        spoken.
        """
        return {
            document: [line.strip() for line in text.splitlines()
                       if line.strip() and not (drop_headings and _SPEAKER_OR_DIRECTION.match(line.strip()))]
            for document, text in self.documents.items()
        }

    def split(self, fractions=(0.8, 0.1, 0.1), seed: int = 0) -> Split["TextCorpus"]:
        """Split by whole document (no work is shared between parts), deterministically for a seed."""
        ids = list(self.documents)
        parts = split_indices(len(ids), fractions, seed)

        def subset(indices) -> TextCorpus:
            chosen = [ids[i] for i in indices]
            return TextCorpus(
                name=self.name,
                documents={d: self.documents[d] for d in chosen},
                titles={d: self.titles[d] for d in chosen},
                source=self.source,
                licence=self.licence,
            )

        return Split(subset(parts.train), subset(parts.validation), subset(parts.test))


@dataclass(frozen=True)
class LabelledTexts:
    """Texts with integer class labels.

    Attributes:
        texts: the texts.
        labels: int64 array, ``labels[i]`` indexes ``label_names``.
        label_names: the class names.
        removed_duplicates: lines dropped as exact repeats.
        removed_conflicts: distinct texts dropped because they carry both labels.
    """

    texts: tuple[str, ...]
    labels: np.ndarray
    label_names: tuple[str, ...]
    removed_duplicates: int = 0
    removed_conflicts: int = 0

    def __post_init__(self):
        if len(self.texts) != len(self.labels):
            raise ValueError(f"{len(self.texts)} texts but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices) -> "LabelledTexts":
        return LabelledTexts(tuple(self.texts[i] for i in indices), self.labels[np.asarray(indices, dtype=int)],
                             self.label_names)

    def split(self, fractions=(0.8, 0.1, 0.1), seed: int = 0) -> Split["LabelledTexts"]:
        """A deterministic random split by text."""
        parts = split_indices(len(self), fractions, seed)
        return Split(self.subset(parts.train), self.subset(parts.validation), self.subset(parts.test))
