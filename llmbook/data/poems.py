"""Three hundred Tang poems (唐诗三百首), from the Debian package ``fortunes-zh``.

Source: Debian ``fortunes-zh`` (``apt-get install fortunes-zh``), file
``/usr/share/games/fortunes/tang300.u8``: 313 poems in UTF-8, simplified characters, one fortune per
poem separated by ``%`` lines. Each poem is a title line ``《...》`` and an author line ``作者：...``,
both wrapped in ANSI colour codes (stripped here), then the poem's lines.
Licence: GPL-3+ (the Debian package's copyright file); the poems themselves are over a thousand years old.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llmbook.data._common import DataPackageMissingError

TANG300_PATH = Path("/usr/share/games/fortunes/tang300.u8")
INSTALL = "apt-get install fortunes-zh (the Debian package fortunes-zh)"
SOURCE = "Debian fortunes-zh, /usr/share/games/fortunes/tang300.u8"
LICENCE = "GPL-3+"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_TITLE = re.compile(r"^《(.+)》$")
_AUTHOR = re.compile(r"^作者[：:]\s*(.+)$")
# a verse line (句) ends at one of these; a printed line usually holds two of them
VERSE_END = "，。？！；、"
_VERSE = re.compile(f"[^{VERSE_END}]+[{VERSE_END}]")


@dataclass(frozen=True)
class Poem:
    """One poem: its title (without the 《》 brackets), its author and its printed lines."""

    title: str
    author: str
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        """The poem's lines joined by newlines."""
        return "\n".join(self.lines)

    def verses(self) -> list[str]:
        """The poem cut at its punctuation: each verse line with its closing mark (see :func:`verses`)."""
        return verses(self.text)


@dataclass(frozen=True)
class PoemCorpus:
    """A list of poems with their source and licence."""

    poems: tuple[Poem, ...]
    source: str
    licence: str

    def __len__(self) -> int:
        return len(self.poems)

    def split(self, held_out: float = 0.1, seed: int = 0) -> tuple[list[Poem], list[Poem]]:
        """Shuffle the poems with ``seed`` and return ``(train, held_out)`` lists of whole poems.

        Raises:
            ValueError: if ``held_out`` is not strictly between 0 and 1, or leaves a part empty.
        """
        if not 0 < held_out < 1:
            raise ValueError(f"held_out must be a fraction strictly between 0 and 1, got {held_out!r}")
        order = np.random.default_rng(seed).permutation(len(self.poems))
        n_held = int(round(held_out * len(self.poems)))
        if n_held == 0 or n_held == len(self.poems):
            raise ValueError(f"held_out={held_out} of {len(self.poems)} poems leaves one part empty; "
                             "choose a fraction nearer 0.5")
        held = [self.poems[i] for i in order[:n_held]]
        train = [self.poems[i] for i in order[n_held:]]
        return train, held


def verses(text: str) -> list[str]:
    """Cut Chinese text into verse lines, each ending at one of ``，。？！；、``.

    Newlines and spaces are ignored; text after the last mark (an unfinished line) is dropped.

    >>> verses("床前明月光，疑是地上霜。\\n举头")
    ['床前明月光，', '疑是地上霜。']

    Raises:
        TypeError: if ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    return _VERSE.findall(re.sub(r"\s+", "", text))


def parse_poems(text: str) -> list[Poem]:
    """Parse the ``tang300.u8`` format: ``%``-separated fortunes, each a title, an author and lines.

    ANSI colour codes are removed first.

    Raises:
        ValueError: if a fortune has no ``《title》`` line, no ``作者：`` line or no poem lines; the
            message gives the fortune's number so the damaged entry can be found.
    """
    clean = _ANSI.sub("", text).replace("\r\n", "\n")
    poems = []
    for number, block in enumerate(re.split(r"^%\s*$", clean, flags=re.M), start=1):
        rows = [row.strip() for row in block.split("\n") if row.strip()]
        if not rows:
            continue
        title = _TITLE.match(rows[0])
        author = _AUTHOR.match(rows[1]) if len(rows) > 1 else None
        if title is None or author is None or len(rows) < 3:
            raise ValueError(f"fortune {number} is not a poem (《title》, 作者：author, lines): {rows[:3]!r}")
        poems.append(Poem(title.group(1), author.group(1).strip(), tuple(rows[2:])))
    return poems


def load_tang_poems(path: str | Path | None = None) -> PoemCorpus:
    """Load the 313 Tang poems of Debian ``fortunes-zh``.

    Args:
        path: another copy of ``tang300.u8``; the default is the Debian package's file.

    Returns:
        A :class:`PoemCorpus` in the file's order.

    Raises:
        DataPackageMissingError: if the file is missing (the message names the Debian package).
        ValueError: if the file holds no poems or a damaged entry (see :func:`parse_poems`).
    """
    file = TANG300_PATH if path is None else Path(path)
    if not file.exists():
        raise DataPackageMissingError(f"{file} is missing: the Tang poems come from the Debian package "
                                      f"fortunes-zh; install it with: {INSTALL}")
    poems = parse_poems(file.read_text(encoding="utf-8"))
    if not poems:
        raise ValueError(f"{file} holds no poems; reinstall fortunes-zh")
    return PoemCorpus(poems=tuple(poems), source=SOURCE if path is None else str(file), licence=LICENCE)
