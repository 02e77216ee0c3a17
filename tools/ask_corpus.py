"""Refresh book/data/ask-corpus.json, the frozen snapshot of the book's passages that chapter 20 evaluates on.

Usage, from the repository root::

    python tools/ask_corpus.py                 # the chapters, faq and errata that _toc.yml lists
    python tools/ask_corpus.py --all           # every chapters/*.md, faq.md and errata.md
    python tools/ask_corpus.py --check         # exit 1 if the snapshot differs from the live pages

Chapter 20 itself is always left out (its prose names the methods its questions ask about). Glue values
are filled in from the paired notebooks' stored outputs, as in ``llmbook.retrieval.load_book_chunks``.
The header records the git commit, the date, and a SHA-256 of each page's ``.md`` (with a flag for pages
that had uncommitted edits). After refreshing, re-execute chapter 20
(``python tools/chapters.py execute book/chapters/20-ask-the-book.md``): its stored outputs depend on it.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from llmbook.retrieval import book_pages, chunk_myst, glue_values  # noqa: E402
from llmbook.retrieval.snapshot import load_corpus_snapshot, write_corpus_snapshot  # noqa: E402

DEFAULT_OUTPUT = ROOT / "book" / "data" / "ask-corpus.json"
THIS_PAGE = "chapters/20-ask-the-book"


def _git(*args: str) -> str | None:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def snapshot_pages(book: Path, every: bool = False) -> list[Path]:
    """The ``.md`` files the snapshot reads, in the book's order (chapter 20 left out)."""
    pages = book_pages(book, toc=not every)
    return [p for p in pages if p.relative_to(book).with_suffix("").as_posix() != THIS_PAGE]


def build(book: Path, every: bool = False):
    """The passages and the provenance of the pages :func:`snapshot_pages` lists."""
    chunks, hashes = [], {}
    dirty = set((_git("status", "--porcelain", "--", str(book)) or "").splitlines())
    dirty = {line[3:].strip() for line in dirty}
    for path in snapshot_pages(book, every):
        page = path.relative_to(book).with_suffix("").as_posix()
        text = path.read_text(encoding="utf-8")
        chunks += chunk_myst(text, page, glued=glue_values(path.with_suffix(".ipynb")))
        relative = path.relative_to(ROOT).as_posix()
        hashes[page] = {"sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
                        "uncommitted": relative in dirty}
    source = {"commit": _git("rev-parse", "HEAD"), "selection": "every chapters/*.md, faq.md, errata.md" if every
              else "the chapters/*.md, faq.md and errata.md that _toc.yml lists", "excluded": [THIS_PAGE],
              "pages": hashes}
    return chunks, source


def main(argv=None) -> int:
    """The command line; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the snapshot file")
    parser.add_argument("--book", type=Path, default=ROOT / "book", help="the book folder")
    parser.add_argument("--all", action="store_true", help="every page, not only those the TOC lists")
    parser.add_argument("--check", action="store_true", help="compare with the snapshot, write nothing")
    args = parser.parse_args(argv)
    chunks, source = build(args.book, args.all)
    if args.check:
        stored = load_corpus_snapshot(args.output).chunks
        if stored == chunks:
            print(f"{args.output}: up to date ({len(chunks)} passages)")
            return 0
        print(f"{args.output}: differs from the live pages ({len(stored)} stored, {len(chunks)} now); "
              "refresh with `python tools/ask_corpus.py` and re-execute chapter 20")
        return 1
    path = write_corpus_snapshot(args.output, chunks, source=source)
    pages = len(source["pages"])
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {len(chunks)} passages "
          f"from {pages} pages, {path.stat().st_size / 1e6:.2f} MB, commit {source['commit']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
