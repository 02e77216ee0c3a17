"""A frozen, committed snapshot of the book's passages, so that an evaluation does not move with the book.

Chapter 20 measures retrieval on the book's own pages. Indexing the live ``.md`` files would make every
edit of any page change its stored outputs; instead it reads ``book/data/ask-corpus.json``, written by
``python tools/ask_corpus.py`` (which calls :func:`write_corpus_snapshot`). The file is JSON (gzip-compressed
when its name ends in ``.gz``)::

    {"format": "llmbook-ask-corpus", "version": 1,
     "header": {"created": "...", "pages": [...], "n_passages": 123, "source": {...}},
     "passages": [{"page": ..., "title": ..., "section": ..., "text": ..., "part": 0}, ...]}

``source`` is free-form provenance (the git commit, the pages' hashes); :func:`load_corpus_snapshot`
checks the structure and that ``n_passages`` and ``pages`` agree with the passages.

>>> import tempfile, pathlib
>>> from llmbook.retrieval.chunking import Chunk
>>> path = pathlib.Path(tempfile.mkdtemp()) / "corpus.json"
>>> _ = write_corpus_snapshot(path, [Chunk("faq", "FAQ", "Why?", "Because.")], created="2026-01-01")
>>> load_corpus_snapshot(path).chunks[0].citation
'faq § Why?'
"""

from __future__ import annotations

import datetime
import gzip
import json
from dataclasses import dataclass
from pathlib import Path

from llmbook.retrieval.chunking import Chunk, find_book

__all__ = ["CorpusSnapshot", "SNAPSHOT_FORMAT", "load_corpus_snapshot", "write_corpus_snapshot"]

SNAPSHOT_FORMAT = "llmbook-ask-corpus"
_VERSION = 1
_FIELDS = ("page", "title", "section", "text", "part")


@dataclass(frozen=True)
class CorpusSnapshot:
    """A loaded snapshot.

    Attributes:
        chunks: the passages, in the order they were written.
        header: ``created`` (UTC date and time), ``pages`` (in order of first passage), ``n_passages`` and
            ``source`` (provenance: git commit, page hashes), as written.
    """

    chunks: list
    header: dict

    @property
    def pages(self) -> list[str]:
        """The pages the snapshot holds, in order."""
        return list(self.header["pages"])


def _open(path: Path, mode: str):
    if path.suffix == ".gz":
        return gzip.open(path, mode + "t", encoding="utf-8")
    return open(path, mode, encoding="utf-8")


def write_corpus_snapshot(path, chunks, *, source: dict | None = None, created: str | None = None) -> Path:
    """Write ``chunks`` to ``path`` as a corpus snapshot (gzip-compressed if the name ends in ``.gz``).

    Args:
        path: the file to write (its folder must exist).
        chunks: the passages (:class:`~llmbook.retrieval.Chunk`), e.g. from
            :func:`~llmbook.retrieval.load_book_chunks`.
        source: provenance stored in the header (JSON-serialisable): the git commit, page hashes.
        created: the date stored in the header; default now, in UTC, to the second.

    Returns:
        The path written.

    Raises:
        ValueError: if ``chunks`` is empty or holds something that is not a ``Chunk``.
        FileNotFoundError: if the folder of ``path`` does not exist.
    """
    path = Path(path)
    chunks = list(chunks)
    if not chunks:
        raise ValueError("chunks is empty: load the book first, e.g. load_book_chunks('book')")
    bad = next((c for c in chunks if not isinstance(c, Chunk)), None)
    if bad is not None:
        raise ValueError(f"chunks must all be llmbook.retrieval.Chunk, got {type(bad).__name__}")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"folder {path.parent} does not exist: create it or choose another path")
    if created is None:
        created = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    pages = list(dict.fromkeys(c.page for c in chunks))
    document = {
        "format": SNAPSHOT_FORMAT,
        "version": _VERSION,
        "header": {"created": created, "pages": pages, "n_passages": len(chunks), "source": source or {}},
        "passages": [{name: getattr(c, name) for name in _FIELDS} for c in chunks],
    }
    with _open(path, "w") as handle:
        json.dump(document, handle, ensure_ascii=False, indent=0)
        handle.write("\n")
    return path


def load_corpus_snapshot(path=None) -> CorpusSnapshot:
    """Read a snapshot written by :func:`write_corpus_snapshot`.

    Args:
        path: the file; ``None`` reads the book's ``data/ask-corpus.json``
            (the book folder found by :func:`~llmbook.retrieval.find_book`).

    Raises:
        FileNotFoundError: if ``path`` does not exist (write it with ``python tools/ask_corpus.py``).
        ValueError: if the file is not valid JSON or not a corpus snapshot, or its header disagrees with its
            passages (a hand-edited or truncated file: write it again with ``python tools/ask_corpus.py``).
    """
    path = find_book() / "data" / "ask-corpus.json" if path is None else Path(path)
    fix = "write it again with `python tools/ask_corpus.py`"
    if not path.is_file():
        raise FileNotFoundError(f"corpus snapshot {path} not found: {fix}, or pass the right path")
    try:
        with _open(path, "r") as handle:
            document = json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError, OSError, EOFError) as error:
        raise ValueError(f"corpus snapshot {path} is not readable JSON ({error}): {fix}") from error
    if not isinstance(document, dict) or document.get("format") != SNAPSHOT_FORMAT:
        raise ValueError(f"{path} is not a corpus snapshot (no \"format\": \"{SNAPSHOT_FORMAT}\"): {fix}")
    if document.get("version") != _VERSION:
        raise ValueError(f"{path} has snapshot version {document.get('version')!r}, this code reads "
                         f"{_VERSION}: {fix}")
    header, passages = document.get("header"), document.get("passages")
    if not isinstance(header, dict) or not isinstance(passages, list):
        raise ValueError(f"{path} lacks a \"header\" object or a \"passages\" list: {fix}")
    chunks = []
    for number, record in enumerate(passages):
        if not isinstance(record, dict) or any(name not in record for name in _FIELDS):
            raise ValueError(f"{path}: passage {number} lacks one of {_FIELDS}: {fix}")
        if not all(isinstance(record[name], str) for name in _FIELDS[:4]) or not isinstance(record["part"], int):
            raise ValueError(f"{path}: passage {number} has a field of the wrong type: {fix}")
        chunks.append(Chunk(**{name: record[name] for name in _FIELDS}))
    if header.get("n_passages") != len(chunks):
        raise ValueError(f"{path}: the header says {header.get('n_passages')!r} passages, the file holds "
                         f"{len(chunks)}: {fix}")
    if header.get("pages") != list(dict.fromkeys(c.page for c in chunks)):
        raise ValueError(f"{path}: the header's pages do not match the passages' pages: {fix}")
    return CorpusSnapshot(chunks=chunks, header=header)
