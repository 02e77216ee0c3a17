"""A small sample of English Wikipedia, from gensim's test data.

Source: the PyPI package ``gensim`` (4.x), file
``gensim/test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2``: the first
articles of an April 2016 English Wikipedia dump (article namespace only; redirects are skipped here),
about 0.48M words after gensim's ``filter_wiki`` removes the markup.
Licence: Wikipedia text is CC BY-SA 3.0 (and GFDL); gensim is LGPL-2.1.
Install: ``pip install gensim``.
"""

from __future__ import annotations

import bz2

from llmbook.data._common import DataPackageMissingError, TextCorpus, package_file

INSTALL = "pip install gensim"
FILE = "test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"


def load_enwiki_sample() -> TextCorpus:
    """The 107 non-redirect articles of gensim's shortened Wikipedia dump, as plain text.

    Returns:
        A :class:`TextCorpus` keyed by article title, in dump order.

    Raises:
        DataPackageMissingError: if gensim is not installed.
    """
    path = package_file("gensim", FILE, INSTALL)
    try:
        from gensim.corpora.wikicorpus import extract_pages, filter_wiki
    except ImportError as error:  # pragma: no cover - package_file already found gensim
        raise DataPackageMissingError(f"gensim cannot be imported ({error}): {INSTALL}") from error
    documents = {}
    with bz2.open(path, "rb") as handle:
        for title, text, _page_id in extract_pages(handle, filter_namespaces=("0",)):
            if text.lstrip().lower().startswith("#redirect"):
                continue
            documents[title] = filter_wiki(text)
    return TextCorpus(
        name="enwiki-sample",
        documents=documents,
        titles={title: title for title in documents},
        source=f"gensim test data, {path.name}",
        licence="CC BY-SA 3.0 (Wikipedia), distributed with gensim (LGPL-2.1)",
    )
