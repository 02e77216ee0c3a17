"""The book's MyST pages -> passages, one per section (or part of a long section), each keeping its page.

A chapter is a jupytext MyST file: YAML front matter, ``#`` headings, prose with MyST roles
(``{cite}``, ``{doc}``, ``{glue:text}``), and fenced directives, of which ``{code-cell}`` holds code. The
chunker reads it line by line and tracks fences, so a ``# comment`` inside a code cell is never taken for
a heading. What it keeps:

* **front matter**: dropped (it is jupytext's metadata, not content);
* **code cells**: dropped by default (``keep_code=True`` keeps them); the prose around a cell says what
  it does, and code tokens (``np``, ``ops``) would swamp a word-matching index;
* **other directives** (``{exercise}``, ``{solution}``, ``{note}``): their text is kept, their
  ``:option:`` lines are not;
* **roles**: ``{doc}`x``` becomes ``x``, ``{cite}`` keys are dropped, and ``{glue:text}`name``` becomes the
  value that the paired notebook stored for ``name`` (when the ``.ipynb`` has outputs), otherwise ``…``.

Every chunk records its page (the file's path under ``book/``, without ``.md``), the page title (its
first ``#`` heading) and the section (the nearest heading above it): the citation comes from there.

>>> text = "# Title\\n\\nIntro words.\\n\\n## Part one\\n\\nSome text.\\n\\n```{code-cell} ipython3\\n# not a heading\\n```\\n"
>>> [(c.section, c.text) for c in chunk_myst(text, page="demo")]
[('Title', 'Intro words.'), ('Part one', 'Some text.')]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from llmbook.book import glue_values  # re-exported: the chunks fill in glued values
from llmbook.validation import positive_int

__all__ = ["Chunk", "chunk_myst", "book_pages", "find_book", "load_book_chunks"]


@dataclass(frozen=True)
class Chunk:
    """One passage of the book.

    Attributes:
        page: the page's path under ``book/`` without the suffix (``chapters/10-real-llm``, ``faq``).
        title: the page title (its first ``#`` heading).
        section: the heading the passage sits under (the title, before the first section).
        text: the passage's plain text.
        part: 0 for the first passage of a section, 1, 2, ... for the rest of a long one.
    """

    page: str
    title: str
    section: str
    text: str
    part: int = 0

    @property
    def indexed_text(self) -> str:
        """What the indexes see: the title and section, then the text (headings carry topic words)."""
        return f"{self.title}. {self.section}. {self.text}"

    @property
    def citation(self) -> str:
        """``page § section``, the reference printed with an answer."""
        return f"{self.page} § {self.section}"


_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^(`{3,}|~{3,}|:{3,})\s*(\{([^}]*)\})?(.*)$")
_GLUE = re.compile(r"\{glue(?::[a-z]*)?\}`([^`]*)`")
_ROLE_WITH_TARGET = re.compile(r"\{(?:doc|ref|numref|eq)\}`([^`<]*?)\s*<[^`]*>`")
_CITE = re.compile(r"\s*\{cite(?::[a-z]+)?\}`[^`]*`")
_ROLE = re.compile(r"\{[a-z:]+\}`([^`]*)`")


def _format_glue(spec: str, glued: dict[str, str]) -> str:
    name, _, format_spec = spec.partition(":")
    value = glued.get(name.strip())
    if value is None:
        return "…"
    value = value.strip().strip("'\"")
    if format_spec:
        for kind in (int, float):
            try:
                return format(kind(value), format_spec)
            except ValueError:
                continue
        return value
    return value


def _clean(line: str, glued: dict[str, str]) -> str:
    line = _GLUE.sub(lambda match: _format_glue(match.group(1), glued), line)
    line = _ROLE_WITH_TARGET.sub(lambda match: match.group(1), line)
    line = _CITE.sub("", line)
    return _ROLE.sub(lambda match: match.group(1), line)


def _split_long(blocks: list[str], max_words: int) -> list[str]:
    """Blocks (paragraphs) packed into pieces of at most ``max_words`` words; a longer block is cut by
    lines (a table's rows), and a longer line by words."""
    units = []
    for block in blocks:
        if len(block.split()) <= max_words:
            units.append(block)
            continue
        for line in block.split("\n"):
            words = line.split()
            units.extend(" ".join(words[i:i + max_words]) for i in range(0, len(words), max_words))
    pieces, current, size = [], [], 0
    for unit in units:
        count = len(unit.split())
        if current and size + count > max_words:
            pieces.append("\n\n".join(current))
            current, size = [], 0
        current.append(unit)
        size += count
    if current:
        pieces.append("\n\n".join(current))
    return pieces


def chunk_myst(text: str, page: str, *, max_words: int = 80, keep_code: bool = False,
               glued: dict[str, str] | None = None, skip_sections=("References",)) -> list[Chunk]:
    """One MyST page -> its chunks, in reading order.

    Args:
        text: the page's MyST source.
        page: the name to cite it by (``chapters/10-real-llm``).
        max_words: a section longer than this is cut into parts, at paragraph boundaries where possible.
        keep_code: keep the bodies of ``{code-cell}`` blocks.
        glued: glue name -> stored value, to fill in ``{glue:text}`` roles (see :func:`llmbook.book.glue_values`).
        skip_sections: headings whose sections are left out (a chapter's "References" section holds only
            a ``{bibliography}`` directive and a sentence that is the same on every page).

    Returns:
        The chunks; sections without text give none.

    Raises:
        TypeError: if ``text`` is not a string.
        ValueError: for an empty ``page`` or ``max_words < 1``.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be the page's source as a str, got {type(text).__name__}")
    if not page:
        raise ValueError("page is empty: give the name to cite the page by, e.g. 'chapters/10-real-llm'")
    max_words = positive_int("max_words", max_words)
    glued = glued or {}
    lines = text.split("\n")
    if lines and lines[0].strip() == "---":  # front matter
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
        if end is not None:
            lines = lines[end + 1:]
    title, section = None, None
    sections: list[tuple[str, list[str]]] = []
    body: list[str] = []
    fence = None          # the fence string that closes the open block
    in_code = False

    def close_section():
        if section is not None or body:
            sections.append((section or title or page, list(body)))

    for line in lines:
        stripped = line.strip()
        match = _FENCE.match(stripped)
        if fence is not None:
            if stripped == fence or (match and match.group(1) == fence and not match.group(2) and not match.group(4)):
                fence, in_code = None, False
                body.append("")
                continue
            if in_code and not keep_code:
                continue
            if not in_code and stripped.startswith(":") and re.match(r"^:[\w-]+:", stripped):
                continue  # a directive option such as :label:
            body.append(line if in_code else _clean(line, glued))
            continue
        if match and (match.group(1)[0] != ":" or match.group(2)):
            fence = match.group(1)
            directive = (match.group(3) or "").strip()
            in_code = directive.startswith("code-cell") or (not directive and match.group(1)[0] != ":")
            if not in_code and match.group(4).strip():
                body.append(_clean(match.group(4).strip(), glued))  # a directive's argument (its title)
            continue
        heading = _HEADING.match(line)
        if heading:
            close_section()
            body = []
            section = _clean(heading.group(2), glued)
            if title is None:
                title = section
            continue
        if stripped == "+++" or re.match(r"^\(.*\)=$", stripped) or stripped.startswith("<!--"):
            continue
        body.append(_clean(line, glued))
    close_section()

    chunks = []
    title = title or page
    for name, body_lines in sections:
        if name in skip_sections:
            continue
        blocks = [b.strip() for b in re.split(r"\n\s*\n", "\n".join(body_lines)) if b.strip()]
        for part, piece in enumerate(_split_long(blocks, max_words)):
            chunks.append(Chunk(page=page, title=title, section=name, text=piece, part=part))
    return chunks


def find_book(start: str | Path | None = None) -> Path:
    """The ``book`` folder: ``start`` (default: the working directory) or the nearest folder above it that
    is a ``book`` folder with ``chapters/`` or holds one (a chapter runs in ``book/chapters``, the command
    line in the repository root).

    Raises:
        FileNotFoundError: if there is none (run from inside the repository, or pass the path).
    """
    here = Path(start if start is not None else Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if folder.name == "book" and (folder / "chapters").is_dir():
            return folder
        if (folder / "book" / "chapters").is_dir():
            return folder / "book"
    raise FileNotFoundError(f"no book/chapters folder at or above {here}: run from inside the repository, "
                            "or pass the path of the book folder")


def book_pages(book: str | Path = "book", *, toc: bool = True) -> list[Path]:
    """The pages the book's index reads: ``chapters/*.md``, ``faq.md`` and ``errata.md`` under ``book``.

    With ``toc=True`` and a ``_toc.yml`` next to ``book`` (the repository root's), only the pages the
    table of contents lists are read: a draft chapter that is not in the book yet is not in the index.

    Raises:
        FileNotFoundError: if ``book`` has no ``chapters`` folder (run from the repository root, or pass
            the path of the ``book`` folder).
    """
    book = Path(book)
    if not (book / "chapters").is_dir():
        raise FileNotFoundError(f"{book}/chapters not found: run from the repository root or pass the "
                                "path of the book folder")
    pages = sorted((book / "chapters").glob("*.md"))
    pages += [book / name for name in ("faq.md", "errata.md") if (book / name).is_file()]
    contents = book.resolve().parent / "_toc.yml"
    if toc and contents.is_file():
        listed = set(re.findall(r"file:\s*(\S+)", contents.read_text(encoding="utf-8")))
        root = book.resolve().parent
        pages = [p for p in pages if p.resolve().relative_to(root).with_suffix("").as_posix() in listed]
    return pages


def load_book_chunks(book: str | Path | None = None, *, exclude=(), max_words: int = 80,
                     keep_code: bool = False, toc: bool = True) -> list[Chunk]:
    """Every chunk of the book's pages (:func:`book_pages`), glue values taken from the paired notebooks.

    Args:
        book: the ``book`` folder; ``None`` looks for it (:func:`find_book`).
        exclude: page names to leave out (``"chapters/20-ask-the-book"``).
        max_words, keep_code: as :func:`chunk_myst`.
        toc: read only the pages the table of contents lists (see :func:`book_pages`).

    Raises:
        FileNotFoundError: as :func:`book_pages` or :func:`find_book`.
        ValueError: if no page is left after ``exclude``.
    """
    book = find_book() if book is None else Path(book)
    exclude = {exclude} if isinstance(exclude, str) else set(exclude)
    chunks = []
    for path in book_pages(book, toc=toc):
        page = path.relative_to(book).with_suffix("").as_posix()
        if page in exclude:
            continue
        glued = glue_values(path.with_suffix(".ipynb"))
        chunks += chunk_myst(path.read_text(encoding="utf-8"), page, max_words=max_words,
                             keep_code=keep_code, glued=glued)
    if not chunks:
        raise ValueError(f"no chunks: every page under {book} was excluded or empty")
    return chunks
