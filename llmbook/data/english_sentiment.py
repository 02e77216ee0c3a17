"""English sentiment data: labelled movie-review sentences and two sentiment lexicons.

Sources:

- ``pang_lee_polarity.cor`` in the PyPI package ``gensim`` (4.x), folder ``gensim/test/test_data``:
  200 sentences (100 negative, 100 positive) from the sentence polarity data set v1.0 of Pang and Lee
  (2005), snippets of Rotten Tomatoes reviews, lower-cased and tokenized, one ``__label__neg|pos text``
  per line, Windows-1252 encoded. Licence: gensim is LGPL-2.1; Pang and Lee distribute the data for
  research use. Install: ``pip install gensim``.
- ``vader_lexicon.txt`` in the PyPI package ``vadersentiment`` (3.3): 7,506 distinct tokens (words, emoticons,
  slang) with a mean valence from -4 to +4 rated by 10 people (Hutto and Gilbert, 2014). Licence: MIT.
  Install: ``pip install vadersentiment``.
- ``data/AFINN-en-165.txt`` in the PyPI package ``afinn``: 3,382 English words and phrases with an
  integer valence from -5 to +5 (Nielsen, 2011). Licence: ODbL 1.0 (the package's ``data/LICENSE``).
  Install: ``pip install afinn``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from llmbook.data._common import LabelledTexts, numbered_lines, package_file

LABELS = ("negative", "positive")
_LEXICONS = {
    # name: (module, file inside it, install command, licence, valence range)
    "vader": ("vaderSentiment", "vader_lexicon.txt", "pip install vadersentiment", "MIT", (-4.0, 4.0)),
    "afinn": ("afinn", "data/AFINN-en-165.txt", "pip install afinn", "ODbL 1.0", (-5.0, 5.0)),
}


def load_pang_lee_polarity() -> LabelledTexts:
    """The 200 labelled review sentences of gensim's test data: label 0 negative, 1 positive.

    The texts are as in the file (lower-cased, tokens separated by spaces), without the
    ``__label__`` prefix; the order is the file's (the 100 negatives come first).

    Raises:
        DataPackageMissingError: if gensim is not installed.
        ValueError: if a line does not start with ``__label__neg`` or ``__label__pos`` (a damaged file).
    """
    path = package_file("gensim", "test/test_data/pang_lee_polarity.cor", "pip install gensim")
    texts, labels = [], []
    for number, line in numbered_lines(path, encoding="cp1252"):
        tag, _, text = line.partition(" ")
        if tag not in ("__label__neg", "__label__pos") or not text.strip():
            raise ValueError(f"{path}:{number}: expected '__label__neg|pos <text>', got {line[:60]!r}")
        texts.append(text.strip())
        labels.append(int(tag == "__label__pos"))
    return LabelledTexts(tuple(texts), np.asarray(labels, dtype=np.int64), LABELS)


@dataclass(frozen=True)
class SentimentLexicon:
    """Token -> valence, as a sentiment lexicon rates it.

    Attributes:
        name: ``"vader"`` or ``"afinn"``.
        valence: token (or phrase), as the file writes it -> valence; negative means negative sentiment.
        scale: the (lowest, highest) valence the lexicon can give.
        source: the file the entries come from.
        licence: the licence of the lexicon.
    """

    name: str
    valence: dict[str, float]
    scale: tuple[float, float]
    source: str
    licence: str

    def __len__(self) -> int:
        return len(self.valence)

    def __contains__(self, token: str) -> bool:
        return token in self.valence

    def get(self, token: str, default: float = 0.0) -> float:
        """The valence of ``token`` (tried as written, then lower-cased), or ``default`` if it is not rated."""
        if token in self.valence:
            return self.valence[token]
        return self.valence.get(token.lower(), default)


def load_sentiment_lexicon(lexicon: str = "vader") -> SentimentLexicon:
    """The VADER (``lexicon="vader"``) or AFINN-165 (``lexicon="afinn"``) lexicon.

    Raises:
        ValueError: for another name, or for a line that is not ``token<TAB>valence...`` (a damaged file).
        DataPackageMissingError: if the lexicon's package is not installed; the message says how to install it.
    """
    if lexicon not in _LEXICONS:
        raise ValueError(f"lexicon must be one of {sorted(_LEXICONS)}, got {lexicon!r}")
    module, relative, install, licence, scale = _LEXICONS[lexicon]
    path = package_file(module, relative, install)
    valence: dict[str, float] = {}
    for number, line in numbered_lines(path):
        fields = line.split("\t")
        try:
            valence[fields[0].strip()] = float(fields[1])
        except (IndexError, ValueError):
            raise ValueError(f"{path}:{number}: expected 'token<TAB>valence', got {line[:60]!r}") from None
    return SentimentLexicon(lexicon, valence, scale, f"{module} package, {relative}", licence)
