"""English->German->English word lexicons from the Ding dictionary, for word-level back-translation.

:func:`llmbook.data.ding.load_ding_words` gives each German word its one English translation. Inverted,
it would only send an English word back to itself, so :func:`load_ding_round_trip` reads the word
entries once and keeps both directions for a given English vocabulary:

- **English -> German**: every German single-word headword whose entries list the English word as a
  whole translation alternative (case-insensitive), ranked by how many of its entries list it, then by
  entries without a subject label first, then by the alternative's rank within its entry, then file
  order; the first ``max_candidates`` are kept.
- **German -> English**: for those German words, their one translation in
  :func:`~llmbook.data.ding.load_ding_words` (rule 3 of its docstring: the alternative given most
  often, ties to an unlabelled entry, the earlier rank in the entry, fewer words, the first in file
  order), taken from it.

Both read the entries through :func:`llmbook.data.ding.word_entries`, the one parser of word entries.

So a round trip often returns the word (``good -> gut -> good``), sometimes paraphrases it
(``movie -> Spielfilm -> fiction film``) and often picks another sense (``the -> der -> who``,
``bad -> Fehler -> fault``). Source and licence are the Ding
dictionary's (:mod:`llmbook.data.ding`: GPL-2+, Debian ``dict-de-en``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from llmbook.data._common import DataPackageMissingError
from llmbook.data.ding import DICT_PATH, INSTALL, LICENCE, SOURCE, load_ding_words, word_entries
from llmbook.validation import positive_int

__all__ = ["RoundTripLexicon", "load_ding_round_trip"]


@dataclass(frozen=True)
class RoundTripLexicon:
    """Both directions of a word-level English<->German round trip.

    Attributes:
        english_to_german: English word -> German headwords, best first (at most ``max_candidates``).
        german_to_english: German headword -> its one English translation (possibly several words).
        lowercase: whether the English keys and translations were lower-cased.
        source, licence: the dictionary's.
    """

    english_to_german: dict[str, tuple[str, ...]]
    german_to_english: dict[str, str]
    lowercase: bool = True
    source: str = SOURCE
    licence: str = LICENCE

    def round_trip(self, word: str) -> tuple[str, ...]:
        """The English each German candidate of ``word`` translates back to (empty if it has none)."""
        return tuple(self.german_to_english[g] for g in self.english_to_german.get(word, ()))


def load_ding_round_trip(vocabulary: Iterable[str], max_candidates: int = 3, lowercase: bool = True,
                         path: str | Path = DICT_PATH) -> RoundTripLexicon:
    """Word lexicons English->German (several candidates) and German->English (one each) for a vocabulary.

    Args:
        vocabulary: the English words to cover (e.g. every token of a corpus); words the dictionary
            does not list as a translation get no entry.
        max_candidates: the most German words kept per English word.
        lowercase: match English case-insensitively and return lower-cased English (for a
            lower-cased corpus such as Pang and Lee's sentences).
        path: the Ding ``.dict.dz`` file (its ``.index`` must sit next to it).

    Returns:
        A :class:`RoundTripLexicon`.

    Raises:
        DataPackageMissingError: if the dictionary is missing; the message says ``sudo apt install dict-de-en``.
        ValueError: if ``max_candidates`` is not a positive integer or ``vocabulary`` is empty.
        TypeError: if ``vocabulary`` is a string.
    """
    if isinstance(vocabulary, str):
        raise TypeError("vocabulary must be a collection of words, not one string; pass set(text.split())")
    max_candidates = positive_int("max_candidates", max_candidates)
    words = frozenset(w.lower() if lowercase else w for w in vocabulary)
    if not words:
        raise ValueError("vocabulary is empty: pass the English words to translate")
    path = Path(path)
    if not path.exists():
        raise DataPackageMissingError(f"the Ding dictionary {path} is missing: {INSTALL}")
    forward, backward = _load(path.resolve(), words, max_candidates, bool(lowercase))
    return RoundTripLexicon(dict(forward), dict(backward), bool(lowercase))


@functools.lru_cache(maxsize=4)
def _load(path: Path, words: frozenset, max_candidates: int, lowercase: bool):
    # the defaults of load_ding_words: single German words, English of at most 3 words
    max_words, max_english_words = 1, 3
    # english word -> german -> [count, best (labelled, rank in entry), first position]
    listed: dict[str, dict[str, list]] = {}
    position = 0
    for entry in word_entries(max_words, max_english_words, path):
        for rank, alternative in enumerate(entry.alternatives):
            key = alternative.lower() if lowercase else alternative
            if key in words:
                record = listed.setdefault(key, {}).setdefault(entry.german, [0, (entry.labelled, rank), position])
                record[0] += 1
                record[1] = min(record[1], (entry.labelled, rank))
            position += 1
    best = load_ding_words(max_words, max_english_words, path)
    forward, backward = [], {}
    for english, germans in sorted(listed.items()):
        ranked = sorted(germans.items(), key=lambda item: (-item[1][0], item[1][1], item[1][2]))
        chosen = tuple(g for g, _ in ranked[:max_candidates])
        forward.append((english, chosen))
        for german in chosen:
            if german not in backward:
                backward[german] = best[german].lower() if lowercase else best[german]
    return tuple(forward), tuple(backward.items())
