"""German->English sentence pairs from the Ding dictionary, for a machine-translation chapter.

Source: the German-English dictionary "Ding" by Frank Richter (https://dict.tu-chemnitz.de/),
version devel 2023-01-30, as the Debian package ``dict-de-en`` ships it for dictd:
``/usr/share/dictd/german-english.dict.dz`` (gzip-readable) and its ``.index``. Besides words and
phrases, about 19k headwords are whole German sentences (example sentences, proverbs) with
human English translations; this loader keeps those.
Licence: GPL-2+ (GNU General Public License, version 2 or later).
Install: ``sudo apt install dict-de-en``.

:func:`load_ding_words` reads the same file's *word* entries instead: a lexicon from German words (or
short phrases) to one English translation, for a word-by-word baseline (its rules are in its docstring).

How an entry becomes a pair (each rule is tested in ``tests/test_data_ding.py``):

1. The index gives each entry's offset and length in the decompressed file. An entry is a
   headword (German), then grammar labels, then lines indented by three spaces that hold the
   English, wrapped over unindented continuation lines. Everything before the first indented line
   is the German; everything from it on is the English.
2. Markup is removed from both sides: ``{f}``-style grammar, ``[Br.]``-style labels, ``<...>``
   cross-references and ``/TINWIS/``-style acronym notes (upper case between slashes); a
   parenthesised remark after the German sentence's final mark (``Seid fruchtbar und mehret euch.
   (biblisch)``) is dropped too. An entry whose German has a ``{...}`` or ``[...]`` label *inside* the
   sentence is dropped: there the conversion to dictd took a word for a label (``Es [bot.] sich
   ihnen ...``).
3. The English is split at ``;`` into alternative translations.
4. A text is a *sentence* when it starts with an upper-case letter, ends with ``.``, ``!`` or ``?``
   (a closing quote may follow), has at least ``min_words`` words, and holds none of the
   dictionary's placeholders (``etw.``, ``jdm.``, ``jdn.``, ``jds.``, ``jd.``, ``sth.``, ``sb.``),
   no parentheses (optional words), no ``/`` (word alternatives such as ``comes/arrives``,
   which are not one sentence) and no free-standing ``…`` (a gap: ``Ich bin … Jahre alt.``). The German must be a sentence; so must each English alternative
   that is kept. An entry with no English sentence left is dropped.
5. Entries with the same German text are merged: the first kept English alternative (in file
   order) is the **target** a model is trained on, and every kept alternative is a
   **reference** for BLEU.
6. :meth:`ParallelCorpus.split` keeps near-duplicates on one side: pairs whose German is equal
   after :func:`normalized_key` (lower-cased, punctuation removed, spaces collapsed), or that
   share a normalised English reference, fall into one group (connected components), and whole
   groups are dealt to train/validation/test with a seeded shuffle.
"""

from __future__ import annotations

import functools
import gzip
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from llmbook.data._common import DataPackageMissingError, Split
from llmbook.validation import positive_int

DICT_PATH = Path("/usr/share/dictd/german-english.dict.dz")
INSTALL = "sudo apt install dict-de-en"
SOURCE = "Ding German-English dictionary (Frank Richter, TU Chemnitz), devel 2023-01-30, Debian dict-de-en"
LICENCE = "GPL-2+"

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_VALUE = {c: i for i, c in enumerate(_B64)}
_MARKUP = re.compile(r"\{[^{}]*\}|\[[^\[\]]*\]|<[^<>]*>|(?<!\S)/[A-Z0-9][A-Z0-9.&-]*/(?=[\s;,]|$)")
_TRAILING_MARKUP = re.compile(r"(?:\s*(?:\{[^{}]*\}|\[[^\[\]]*\]|<[^<>]*>|\([^()]*\)|/[A-Z0-9][A-Z0-9.&-]*/|[.!?]))*\s*$")
_REPEATED_MARK = re.compile(r"([.!?][\"'”“»«’]?)(?:\s*[.!?])+$")
_TRAILING_REMARK = re.compile(r"([.!?][\"'”“»«’]?)\s*\([^()]*\)\s*$")
_PLACEHOLDER = re.compile(r"(?<![\w])(?:etw|jdm|jdn|jds|jd|sth|sb)\.", re.IGNORECASE)
_GAP = re.compile(r"(?:^|\s)(?:…|\.\.\.)(?=[\s.!?,;:%]|$)")  # "Ich bin … Jahre alt." is a template
_SENTENCE_END = re.compile(r"[.!?][\"'”“»«’]?$")
_NOT_WORD = re.compile(r"[^\w\s]")
_END_BYTES = tuple(mark.encode("utf-8") for mark in ".!?\"'”“»«’/>")  # ``/LMAA/``, ``<aufregen>`` may follow


@dataclass(frozen=True)
class SentencePair:
    """One German sentence and its English translations.

    Attributes:
        german: the source sentence.
        english: the target a model is trained on (the first English sentence the dictionary gives).
        references: every English sentence the dictionary gives for ``german`` (``english`` first);
            the references for BLEU.
    """

    german: str
    english: str
    references: tuple[str, ...]


@dataclass(frozen=True)
class ParallelCorpus:
    """German->English sentence pairs with where they came from.

    Attributes:
        pairs: the pairs, in dictionary order, one per distinct German sentence.
        source: where the text comes from.
        licence: the licence of the text.
    """

    pairs: tuple[SentencePair, ...]
    source: str = SOURCE
    licence: str = LICENCE

    def __len__(self) -> int:
        return len(self.pairs)

    @property
    def german(self) -> list[str]:
        """The source sentences, in order."""
        return [pair.german for pair in self.pairs]

    @property
    def english(self) -> list[str]:
        """The target sentences, in order."""
        return [pair.english for pair in self.pairs]

    def groups(self) -> np.ndarray:
        """A group id per pair: pairs with the same :func:`normalized_key` German, or sharing a
        normalised English reference, are in one group (transitively)."""
        parent = list(range(len(self.pairs)))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        first_seen: dict[tuple[str, str], int] = {}
        for index, pair in enumerate(self.pairs):
            keys = [("de", normalized_key(pair.german))] + [("en", normalized_key(r)) for r in pair.references]
            for key in keys:
                other = first_seen.setdefault(key, index)
                a, b = find(index), find(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)
        roots = [find(i) for i in range(len(self.pairs))]
        _, group_ids = np.unique(roots, return_inverse=True)
        return group_ids.astype(np.int64)

    def split(self, fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0) -> Split["ParallelCorpus"]:
        """A seeded train/validation/test split by whole group (see :meth:`groups`).

        Groups are shuffled with ``seed`` and dealt in order until each part holds its fraction of
        the pairs, so part sizes match ``fractions`` up to one group's size.

        Args:
            fractions: three non-negative fractions summing to 1.
            seed: the shuffle's seed; the same seed gives the same split.

        Returns:
            A :class:`~llmbook.data.Split` of three :class:`ParallelCorpus`, each in dictionary order.

        Raises:
            ValueError: if ``fractions`` are not three non-negative numbers summing to 1, or a part with
                a positive fraction would be empty.
        """
        if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-9:
            raise ValueError(f"fractions must be three non-negative numbers that sum to 1, got {tuple(fractions)}")
        group_ids = self.groups()
        n_groups = int(group_ids.max()) + 1 if len(group_ids) else 0
        sizes = np.bincount(group_ids, minlength=n_groups)
        order = np.random.default_rng(seed).permutation(n_groups)
        bounds = np.cumsum(fractions)[:2] * len(self.pairs)
        part_of_group = np.empty(n_groups, dtype=np.int64)
        filled = 0
        for group in order:
            # deal the group to the part its first pair's position falls in
            part_of_group[group] = int(np.searchsorted(bounds, filled, side="right"))
            filled += sizes[group]
        parts = []
        for part, (name, fraction) in enumerate(zip(("train", "validation", "test"), fractions)):
            chosen = tuple(pair for pair, g in zip(self.pairs, group_ids) if part_of_group[g] == part)
            if fraction > 0 and not chosen:
                raise ValueError(f"the {name} part of a split of {len(self)} pairs is empty; use more data")
            parts.append(ParallelCorpus(chosen, self.source, self.licence))
        return Split(*parts)


def normalized_key(text: str) -> str:
    """The key that groups near-duplicates: NFKC, lower-cased, punctuation removed, spaces collapsed.

    >>> normalized_key("Los, wir  gehen!")
    'los wir gehen'
    """
    text = _NOT_WORD.sub(" ", unicodedata.normalize("NFKC", text).lower().replace("’", "'").replace("'", ""))
    return " ".join(text.split())


def is_sentence(text: str, min_words: int = 3) -> bool:
    """Whether a cleaned text counts as a sentence (rule 4 of the module docstring).

    >>> is_sentence("Strafe muss sein!"), is_sentence("die Grenze ziehen bei etw.")
    (True, False)
    """
    return (bool(text) and text[0].isupper() and bool(_SENTENCE_END.search(text))
            and len(text.split()) >= min_words and not _PLACEHOLDER.search(text)
            and not any(c in text for c in "()/") and not _GAP.search(text))


def clean(text: str) -> str:
    """Remove dictionary markup (rule 2) and collapse whitespace.

    >>> clean("Wer zuletzt lacht, lacht am besten. [Sprw.]")
    'Wer zuletzt lacht, lacht am besten.'
    """
    text = " ".join(_MARKUP.sub(" ", text).split())
    text = _TRAILING_REMARK.sub(r"\1", text)
    text = _REPEATED_MARK.sub(r"\1", text)  # "gesetzt. [Sprw.]." -> "gesetzt."
    return " ".join(text.split())


def _markup_inside(text: str) -> bool:
    """Whether labels sit inside the text rather than after it: the dictd conversion sometimes cuts a
    headword at a word it takes for a label (``Es [bot.] sich ihnen ...``), and removing it would leave
    a broken sentence."""
    body = text[:_TRAILING_MARKUP.search(text).start()]
    return bool(re.search(r"\{[^{}]*\}|\[[^\[\]]*\]", body))


def _decode_number(field: str) -> int:
    value = 0
    for char in field:
        value = value * 64 + _B64_VALUE[char]
    return value


def _entries(path: Path, sentences_only: bool = True):
    """``(offset, text)`` of every entry (or, by default, of those whose headword ends like a sentence),
    via the index next to ``path``."""
    index_path = path.with_name(path.name.removesuffix(".dict.dz") + ".index")
    if not index_path.exists():
        raise DataPackageMissingError(f"{path} has no index {index_path}; reinstall the package: {INSTALL}")
    with gzip.open(path) as handle:
        data = handle.read()
    spans = set()
    with open(index_path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 3:
                raise ValueError(f"{index_path}:{number} is not 'headword<TAB>offset<TAB>length': {line!r}")
            spans.add((_decode_number(fields[1]), _decode_number(fields[2])))
    for offset, length in sorted(spans):
        # a cheap test on the raw bytes first: the headword (wrapped over unindented lines) ends at the
        # first empty or space-led line, and a sentence's headword ends in a sentence mark (labels
        # and remarks follow on that next line), so other entries are never decoded
        end = offset + length
        cuts = [i for i in (data.find(b"\n\n", offset, end), data.find(b"\n ", offset, end)) if i >= 0]
        if not sentences_only or data[offset:min(cuts, default=end)].rstrip().endswith(_END_BYTES):
            yield offset, data[offset:offset + length].decode("utf-8")


def _parse_entry(text: str) -> tuple[str, list[str]]:
    """``(German, English alternatives)`` of one entry's text, markup removed (rules 1-3)."""
    lines = text.rstrip("\n").split("\n")
    first_english = next((i for i, line in enumerate(lines) if line.startswith("   ")), len(lines))
    header = " ".join(lines[:first_english])
    german = "" if _markup_inside(header) else clean(header)
    english = " ".join(line.strip() for line in lines[first_english:])
    alternatives = [clean(part) for part in english.split(";")]
    return german, [a for a in alternatives if a]


def load_ding_sentences(min_words: int = 3, max_words: int | None = None,
                        path: str | Path = DICT_PATH) -> ParallelCorpus:
    """The Ding dictionary's German sentences with their English translations.

    Args:
        min_words: the fewest words (split at spaces) a German or English sentence may have.
        max_words: if given, drop pairs whose German or target English has more words.
        path: the ``.dict.dz`` file (its ``.index`` must sit next to it).

    Returns:
        A :class:`ParallelCorpus`, one :class:`SentencePair` per distinct German sentence, in
        dictionary order (about 17k pairs with the defaults; see the module docstring for the rules).

    Raises:
        DataPackageMissingError: if the dictionary file or its index is missing; the message says
            ``sudo apt install dict-de-en``.
        ValueError: if ``min_words`` or ``max_words`` is not a positive integer, or
            ``max_words < min_words``.
    """
    min_words = positive_int("min_words", min_words)
    if max_words is not None:
        max_words = positive_int("max_words", max_words)
        if max_words < min_words:
            raise ValueError(f"max_words ({max_words}) must be at least min_words ({min_words})")
    path = Path(path)
    if not path.exists():
        raise DataPackageMissingError(f"the Ding dictionary {path} is missing: {INSTALL}")
    return _load(path.resolve(), min_words, max_words)


@functools.lru_cache(maxsize=8)
def _load(path: Path, min_words: int, max_words: int | None) -> ParallelCorpus:
    """The work of :func:`load_ding_sentences`, cached (the result is immutable; parsing takes seconds)."""
    merged: dict[str, list[str]] = {}
    for _, text in _entries(path):
        german, alternatives = _parse_entry(text)
        if not is_sentence(german, min_words):
            continue
        kept = [a for a in alternatives if is_sentence(a, min_words)]
        if not kept:
            continue
        references = merged.setdefault(german, [])
        for alternative in kept:  # "... [Br.]; ... [Am.]" can be one sentence twice once labels are gone
            if alternative not in references:
                references.append(alternative)
    pairs = []
    for german, references in merged.items():
        if max_words is not None and (len(german.split()) > max_words or len(references[0].split()) > max_words):
            continue
        pairs.append(SentencePair(german, references[0], tuple(references)))
    return ParallelCorpus(tuple(pairs))


# --- word entries: a lexicon ----------------------------------------------------------------------------
_WORD = re.compile(r"^[^\W\d_]+(?:[-'’][^\W\d_]+)*$")
_PARENTHESES = re.compile(r"\([^()]*\)")
_VERB_LABEL = re.compile(r"\{v[itr]*\}")


def _word_alternatives(text: str) -> tuple[str, list[str], bool] | None:
    """``(German headword, English alternatives, labelled)`` of one word entry, or None if it is no word
    entry; ``labelled`` says the headword carries a subject label or remark (``[zool.]``, ``(Freud)``)."""
    lines = text.rstrip("\n").split("\n")
    first_english = next((i for i, line in enumerate(lines) if line.startswith("   ")), len(lines))
    header = " ".join(lines[:first_english])
    labelled = bool(re.search(r"\[[^\[\]]*\]|\(", header))
    german = " ".join(_PARENTHESES.sub(" ", clean(header)).split())
    if not german or not all(_WORD.match(token) for token in german.split()):
        return None
    english = " ".join(line.strip() for line in lines[first_english:])
    # markup first: ``to go {went; gone}`` holds a ``;`` inside its braces
    english = " ".join(_MARKUP.sub(" ", english).split())
    alternatives = []
    for part in english.split(";"):
        part = " ".join(_PARENTHESES.sub(" ", part).split())
        if part.startswith("to ") and len(part) > 3:
            part = part[3:]  # "gehen" -> "to go" -> "go": the infinitive marker does not fit a sentence
        if part and not _PLACEHOLDER.search(part) and not any(c in part for c in "()/…<>{}[]"):
            alternatives.append(part)
    return german, alternatives, labelled


def load_ding_words(max_words: int = 1, max_english_words: int = 3,
                    path: str | Path = DICT_PATH) -> dict[str, str]:
    """A German->English lexicon from the Ding dictionary's word entries, for word-by-word translation.

    Rules (tested in ``tests/test_data_ding.py``):

    1. An entry's German headword is cleaned as for sentences (rule 2 of the module docstring: grammar
       ``{...}``, ``[...]`` labels, ``<...>`` cross-references and acronym notes removed), and
       parenthesised remarks are removed too (``Gehen {n} (Sport)`` -> ``Gehen``). It is kept when it has
       1 to ``max_words`` words, each made of letters only (an inner ``-`` or apostrophe allowed): no
       digits, punctuation, placeholders (``etw.``, ``jdn.``) or templates (``…``).
    2. Its English is split at ``;`` into alternatives (after removing markup, so ``to go {went; gone}``
       stays one), parenthesised remarks are removed, a leading infinitive ``to`` is dropped (``to go``
       -> ``go``), and an alternative is kept when it has 1 to ``max_english_words`` words and no
       placeholder (``sth.``, ``sb.``), ``/`` alternatives or brackets left.
    3. The dictionary lists a word's senses in many entries, in an order sorted by the English, not by
       how common a sense is. So the translation kept for a German headword is the alternative that its
       entries give **most often** (``heute`` -> ``today``, which two of its entries give); ties go to
       one from an entry without a subject label or remark (``[zool.]``, ``(Freud)``), then to the first
       alternative of its entry, then to fewer words, then to the first in file order. This picks a
       common sense often but not always (``Mann`` -> ``husband``, ``Hund`` -> ``canine``): the
       dictionary records no sense frequencies.

    Keys keep the dictionary's case (``Haus``, ``gehen``); :func:`llmbook.tasks.translation.word_by_word`
    tries other cases when it looks a word up.

    Args:
        max_words: the most words a German headword may have (1: single words only).
        max_english_words: the most words a kept English translation may have.
        path: the ``.dict.dz`` file (its ``.index`` must sit next to it).

    Returns:
        A dict from German headword to its one English translation (about 290k single words with the
        defaults: compounds make up most of them).

    Raises:
        DataPackageMissingError: if the dictionary file or its index is missing; the message says
            ``sudo apt install dict-de-en``.
        ValueError: if ``max_words`` or ``max_english_words`` is not a positive integer.
    """
    return dict(_load_words(*_word_arguments(path, max_words, max_english_words)))


@dataclass(frozen=True)
class WordEntry:
    """One word entry of the dictionary, as :func:`word_entries` yields it.

    Attributes:
        german: the cleaned German headword (rule 1 of :func:`load_ding_words`).
        alternatives: its English alternatives in entry order, without repeats, each of at most
            ``max_english_words`` words (rule 2).
        labelled: whether the headword carries a subject label or remark (``[zool.]``, ``(Freud)``).
    """

    german: str
    alternatives: tuple[str, ...]
    labelled: bool


def word_entries(max_words: int = 1, max_english_words: int = 3, path: str | Path = DICT_PATH):
    """Every word entry of the Ding dictionary in file order, parsed by rules 1 and 2 of :func:`load_ding_words`.

    The one parser of word entries: :func:`load_ding_words` and
    :func:`llmbook.data.ding_round_trip.load_ding_round_trip` both read the dictionary through it.

    Args:
        max_words: the most words a German headword may have (longer ones are skipped).
        max_english_words: the most words a kept English alternative may have.
        path: the ``.dict.dz`` file (its ``.index`` must sit next to it).

    Yields:
        :class:`WordEntry` objects (an entry may have no alternative left).

    Raises:
        DataPackageMissingError: if the dictionary file or its index is missing; the message says
            ``sudo apt install dict-de-en``.
        ValueError: if ``max_words`` or ``max_english_words`` is not a positive integer.
    """
    return _word_entries(*_word_arguments(path, max_words, max_english_words))


def _word_arguments(path, max_words, max_english_words) -> tuple[Path, int, int]:
    """The checked arguments of :func:`load_ding_words` and :func:`word_entries`: the resolved path, the limits."""
    max_words = positive_int("max_words", max_words)
    max_english_words = positive_int("max_english_words", max_english_words)
    path = Path(path)
    if not path.exists():
        raise DataPackageMissingError(f"the Ding dictionary {path} is missing: {INSTALL}")
    return path.resolve(), max_words, max_english_words


def _word_entries(path: Path, max_words: int, max_english_words: int):
    for _, text in _entries(path, sentences_only=False):
        parsed = _word_alternatives(text)
        if parsed is None or len(parsed[0].split()) > max_words:
            continue
        german, alternatives, labelled = parsed
        kept = tuple(a for a in dict.fromkeys(alternatives) if len(a.split()) <= max_english_words)
        yield WordEntry(german, kept, labelled)


@functools.lru_cache(maxsize=4)
def _load_words(path: Path, max_words: int, max_english_words: int) -> tuple[tuple[str, str], ...]:
    """The work of :func:`load_ding_words`, cached as an immutable tuple of items."""
    # german -> english -> [count, best (labelled, rank in entry), first position]
    counts: dict[str, dict[str, list]] = {}
    position = 0
    for entry in _word_entries(path, max_words, max_english_words):
        seen = counts.setdefault(entry.german, {})
        for rank, alternative in enumerate(entry.alternatives):
            record = seen.setdefault(alternative, [0, (entry.labelled, rank), position])
            record[0] += 1
            record[1] = min(record[1], (entry.labelled, rank))
            position += 1
    lexicon = []
    for german, seen in counts.items():
        if seen:
            best = min(seen.items(), key=lambda item: (-item[1][0], item[1][1], len(item[0].split()), item[1][2]))
            lexicon.append((german, best[0]))
    return tuple(lexicon)
