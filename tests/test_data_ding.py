"""The Ding dictionary's German->English sentence pairs: parsing rules, counts, and a leak-free split."""

import gzip
import shutil
from collections import defaultdict

import pytest

from llmbook import data
from llmbook.data import DataPackageMissingError
from llmbook.data import ding

pytestmark = pytest.mark.skipif(not ding.DICT_PATH.exists(), reason="needs the Debian package dict-de-en")


@pytest.fixture(scope="module")
def corpus():
    return ding.load_ding_sentences()


def test_counts_within_stated_bounds(corpus):
    # the module docstring says "about 17k pairs"; the data notes say about 19k sentence headwords
    assert 15_000 <= len(corpus) <= 19_000
    short = ding.load_ding_sentences(max_words=10)
    assert 12_000 <= len(short) < len(corpus)
    assert all(len(p.german.split()) <= 10 and len(p.english.split()) <= 10 for p in short.pairs)
    assert corpus.licence == "GPL-2+" and "Ding" in corpus.source
    assert data.load("ding-sentences") is corpus  # registered, and cached


def test_every_pair_follows_the_rules(corpus):
    germans = [p.german for p in corpus.pairs]
    assert len(set(germans)) == len(germans)  # one pair per German sentence
    for pair in corpus.pairs:
        assert pair.references[0] == pair.english
        assert len(set(pair.references)) == len(pair.references)
        for text in (pair.german,) + pair.references:
            assert ding.is_sentence(text), text
            assert not any(mark in text for mark in "{}[]<>"), text


def test_known_entries(corpus):
    by_german = {p.german: p for p in corpus.pairs}
    # "[Sprw.]" label removed; two English alternatives ("; "), both kept as references
    proverb = by_german["Wer zuletzt lacht, lacht am besten."]
    assert proverb.english == "He who laughs last, laughs longest/best." or "/" not in proverb.english
    assert all("[" not in r for r in proverb.references)
    assert by_german["Strafe muss sein!"].english == "Discipline is necessary!"
    # the acronym note /TINWIS/ is markup
    assert by_german["Das hatte ich nicht gesagt."].english == "That is not what I said."
    # the German headword wraps over two lines in the file
    assert "Ich hatte schon lange vor, einen Ratgeber über das Organisieren von Festen zu schreiben." in by_german
    # the remark "(biblisch)" after the sentence is dropped
    assert by_german["Seid fruchtbar und mehret euch."].english == "Be fruitful and multiply."
    # placeholders and word alternatives are not sentences
    assert not any(p.german.startswith("die Grenze ziehen") for p in corpus.pairs)
    assert "Wir haben es mit unserem Urlaub gut / schlecht getroffen." not in by_german
    # the entry whose headword the conversion cut at "bot." is dropped, not left as a broken sentence
    assert not any(p.german.startswith("Es sich ihnen") for p in corpus.pairs)
    assert not any(p.german.endswith((". .", "! !")) for p in corpus.pairs)


def test_rules_on_small_texts():
    assert ding.is_sentence("Sind Sie schwanger?")
    assert not ding.is_sentence("Sind Sie?")                      # fewer than 3 words
    assert ding.is_sentence("Sind Sie?", min_words=2)
    assert not ding.is_sentence("sind Sie schwanger?")            # lower-case start
    assert not ding.is_sentence("Sind Sie schwanger")             # no final mark
    assert not ding.is_sentence("Er gab es jdm. zurück.")         # placeholder
    assert not ding.is_sentence("I have a feeling (that) it is.")  # optional words
    assert not ding.is_sentence("Ich bin … Jahre alt.")            # a gap to fill: a template
    assert not ding.is_sentence("Applaus für …!")
    assert ding.is_sentence("Was zum Teufel…?")
    assert ding.clean("Aal {m} [cook.] <Aale>") == "Aal"
    assert ding.clean("Leck mich am Arsch! /LMAA/") == "Leck mich am Arsch!"      # an acronym note
    assert ding.clean("Er hält die Familie/Firma zusammen.") == "Er hält die Familie/Firma zusammen."  # words
    assert ding.clean("Die Götter haben den Schweiß gesetzt. [Sprw.].") == "Die Götter haben den Schweiß gesetzt."
    assert ding._markup_inside("Es [bot.] sich ihnen ein Ausblick.")             # a word taken for a label
    assert not ding._markup_inside("Artikel 5 bleibt vorbehalten. [Schw.] (Vertragsklausel) [jur.]")
    assert ding.normalized_key("Los, wir  gehen!") == ding.normalized_key("los wir gehen")


def test_no_german_and_no_group_in_two_splits(corpus):
    parts = corpus.split(seed=0)
    sizes = [len(p) for p in parts]
    assert sum(sizes) == len(corpus)
    for size, fraction in zip(sizes, (0.8, 0.1, 0.1)):
        assert abs(size - fraction * len(corpus)) <= 10  # groups hold at most a few pairs
    side_of_key = defaultdict(set)
    for side, part in enumerate(parts):
        for pair in part.pairs:
            side_of_key[("de", ding.normalized_key(pair.german))].add(side)
            for reference in pair.references:
                side_of_key[("en", ding.normalized_key(reference))].add(side)
    split_keys = [key for key, sides in side_of_key.items() if len(sides) > 1]
    assert split_keys == []
    # and the groups themselves are never cut
    group_ids = corpus.groups()
    side_of_german = {p.german: side for side, part in enumerate(parts) for p in part.pairs}
    sides_of_group = defaultdict(set)
    for pair, group in zip(corpus.pairs, group_ids):
        sides_of_group[group].add(side_of_german[pair.german])
    assert max(len(s) for s in sides_of_group.values()) == 1
    assert len(set(group_ids.tolist())) < len(corpus)  # some groups really have several pairs


def test_groups_join_near_duplicates():
    pairs = (ding.SentencePair("Sag ich doch!", "My words exactly!", ("My words exactly!",)),
             ding.SentencePair("Ganz meine Rede!", "My words, exactly!", ("My words, exactly!", "Quite so!")),
             ding.SentencePair("Genau so!", "Quite so.", ("Quite so.",)),
             ding.SentencePair("sag ich DOCH", "I said so.", ("I said so.",)),
             ding.SentencePair("Ganz anders.", "Quite different.", ("Quite different.",)))
    groups = ding.ParallelCorpus(pairs).groups().tolist()
    assert groups[0] == groups[1] == groups[2] == groups[3] != groups[4]


def test_split_is_deterministic(corpus):
    first, again, other = corpus.split(seed=3), corpus.split(seed=3), corpus.split(seed=4)
    assert [p.german for p in first.test.pairs] == [p.german for p in again.test.pairs]
    assert [p.german for p in first.test.pairs] != [p.german for p in other.test.pairs]
    with pytest.raises(ValueError, match="sum to 1"):
        corpus.split(fractions=(0.8, 0.1))


def test_missing_file_names_the_install_command(tmp_path):
    with pytest.raises(DataPackageMissingError, match="apt install dict-de-en"):
        ding.load_ding_sentences(path=tmp_path / "german-english.dict.dz")
    copy = tmp_path / "german-english.dict.dz"  # the dictionary without its index
    shutil.copy(ding.DICT_PATH, copy)
    with pytest.raises(DataPackageMissingError, match="apt install dict-de-en"):
        ding.load_ding_sentences(path=copy)


def _small_dictionary(tmp_path, entries):
    """A ``.dict.dz`` with its ``.index`` holding ``entries``, in dictd's layout."""
    text = "".join(entries).encode("utf-8")
    path = tmp_path / "german-english.dict.dz"
    with gzip.open(path, "wb") as handle:
        handle.write(text)
    b64 = ding._B64

    def encode(number):
        digits = ""
        while True:
            digits = b64[number % 64] + digits
            number //= 64
            if number == 0:
                return digits

    offset, index = 0, []
    for entry in entries:
        size = len(entry.encode("utf-8"))
        index.append(f"{entry.split(chr(10))[0].lower()}\t{encode(offset)}\t{encode(size)}\n")
        offset += size
    path.with_name("german-english.index").write_text("".join(index), encoding="utf-8")
    return path


def test_parses_a_small_dictionary(tmp_path):
    entries = ["Aal\n {m}\n   eel\n",
               "Das hatte ich nicht\ngesagt.\n\n   That is not what I said. /TINWIS/; I did not\nsay that.\n",
               "Das hatte ich nicht gesagt.\n\n   I never said that.\n"]
    path = _small_dictionary(tmp_path, entries)
    small = ding.load_ding_sentences(path=path)
    assert [p.german for p in small.pairs] == ["Das hatte ich nicht gesagt."]
    assert small.pairs[0].references == ("That is not what I said.", "I did not say that.", "I never said that.")
    with pytest.raises(ValueError, match="max_words"):
        ding.load_ding_sentences(min_words=5, max_words=4, path=path)


@pytest.fixture(scope="module")
def lexicon():
    return ding.load_ding_words()


def test_word_lexicon_follows_its_rules(lexicon):
    assert 200_000 <= len(lexicon) <= 350_000  # the docstring says about 290k single words
    assert data.load_ding_words is ding.load_ding_words
    for german, english in lexicon.items():
        assert len(german.split()) == 1 and ding._WORD.match(german), german
        assert english and 1 <= len(english.split()) <= 3, (german, english)
        assert not any(c in english for c in "{}[]<>()/…"), (german, english)
        assert not english.startswith("to "), (german, english)
    # the most often given translation wins; infinitive "to" dropped; "{went; gone}" is markup, not two senses
    assert lexicon["heute"] == "today"
    assert lexicon["gehen"] == "go"
    # a tie is broken towards an entry without a subject label: "Haus {n}" (house) over "Haus {n} [adm.]"
    assert lexicon["Haus"] == "house"
    assert lexicon["und"] == "and" and lexicon["Buch"] == "book"
    phrases = ding.load_ding_words(max_words=2)
    assert phrases["heute Abend"] == "tonight" and len(phrases) > len(lexicon)


def test_word_lexicon_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="max_words"):
        ding.load_ding_words(max_words=0)
    with pytest.raises(DataPackageMissingError, match="apt install dict-de-en"):
        ding.load_ding_words(path=tmp_path / "missing.dict.dz")


def test_word_entries_parse_a_small_dictionary(tmp_path):
    entries = ["Aal\n {m}\n   eel; eel; to slither (fish); sth. slippery\n",
               "Hund {m} [zool.]\n   dog; canine; a very big animal\n",
               "heute Abend\n   tonight\n",
               "Das hatte ich nicht gesagt.\n\n   I never said that.\n"]
    path = _small_dictionary(tmp_path, entries)
    parsed = list(ding.word_entries(path=path))
    # repeats dropped, "to" dropped, placeholders and alternatives of more than 3 words skipped; a
    # two-word headword and a sentence are no single-word entries
    assert parsed == [ding.WordEntry("Aal", ("eel", "slither"), False),
                      ding.WordEntry("Hund", ("dog", "canine"), True)]
    assert [e.german for e in ding.word_entries(max_words=2, path=path)] == ["Aal", "Hund", "heute Abend"]
    assert ding.word_entries(max_english_words=4, path=path).__next__().alternatives == ("eel", "slither")
    assert list(ding.word_entries(max_english_words=4, path=path))[1].alternatives == (
        "dog", "canine", "a very big animal")
    assert ding.load_ding_words(path=path) == {"Aal": "eel", "Hund": "dog"}
    with pytest.raises(ValueError, match="max_english_words"):
        ding.word_entries(max_english_words=0, path=path)
    with pytest.raises(DataPackageMissingError, match="apt install dict-de-en"):
        ding.word_entries(path=tmp_path / "missing.dict.dz")
