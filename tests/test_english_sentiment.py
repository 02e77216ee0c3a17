"""llmbook.data.english_sentiment: the Pang-Lee sentences and the VADER/AFINN lexicons, against the raw files."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from llmbook import data
from llmbook.data import DataPackageMissingError
from llmbook.data.english_sentiment import load_pang_lee_polarity, load_sentiment_lexicon


def _package_dir(module: str) -> Path:
    return Path(list(importlib.util.find_spec(module).submodule_search_locations)[0])


def test_polarity_matches_the_raw_file():
    corpus = load_pang_lee_polarity()
    raw = (_package_dir("gensim") / "test/test_data/pang_lee_polarity.cor").read_bytes().decode("cp1252").splitlines()
    raw = [line for line in raw if line.strip()]
    assert len(corpus) == len(raw) == 200
    assert corpus.label_names == ("negative", "positive")
    assert np.bincount(corpus.labels).tolist() == [100, 100]
    for text, label, line in zip(corpus.texts, corpus.labels, raw):
        assert line.startswith("__label__pos" if label == 1 else "__label__neg")
        assert line.split(" ", 1)[1].strip() == text
    assert any("\u2014" in t for t in corpus.texts)  # cp1252 byte 0x97 is an em dash, not mojibake


def test_polarity_is_registered_and_splits():
    corpus = data.load("pang-lee-polarity")
    parts = corpus.split((0.5, 0.25, 0.25), seed=1)
    assert len(parts.train) + len(parts.validation) + len(parts.test) == 200
    assert set(parts.train.texts).isdisjoint(parts.test.texts)


@pytest.mark.parametrize("name, size, scale", [("vader", 7506, (-4.0, 4.0)), ("afinn", 3382, (-5.0, 5.0))])
def test_lexicons_match_the_raw_files(name, size, scale):
    lexicon = data.load("sentiment-lexicon", lexicon=name)
    assert lexicon.name == name and len(lexicon) == size and lexicon.scale == scale
    values = np.array(list(lexicon.valence.values()))
    assert scale[0] <= values.min() < 0 < values.max() <= scale[1]
    relative = "vader_lexicon.txt" if name == "vader" else "data/AFINN-en-165.txt"
    module = "vaderSentiment" if name == "vader" else "afinn"
    last = {}
    for line in (_package_dir(module) / relative).read_text(encoding="utf-8").splitlines():
        if line.strip():
            token, value = line.split("\t")[:2]
            last[token.strip()] = float(value)
    assert last == lexicon.valence


def test_lexicon_lookup_agrees_with_the_reference_libraries():
    from afinn import Afinn
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    vader, afinn = load_sentiment_lexicon("vader"), load_sentiment_lexicon("afinn")
    reference_vader = SentimentIntensityAnalyzer().lexicon
    reference_afinn = Afinn()
    for word in ("good", "terrible", "love", "boring", "masterpiece", "the"):
        assert vader.get(word) == reference_vader.get(word, 0.0)
        assert afinn.get(word) == reference_afinn.score(word)
    assert vader.get("GOOD") == vader.get("good") and "good" in vader and "zzzz" not in vader


def test_unknown_lexicon_is_refused():
    with pytest.raises(ValueError, match="lexicon must be one of"):
        load_sentiment_lexicon("sentiwordnet")


def test_missing_package_names_the_install_command(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "afinn" else real_find_spec(name, *a))
    with pytest.raises(DataPackageMissingError, match="pip install afinn"):
        load_sentiment_lexicon("afinn")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gensim" else real_find_spec(name, *a))
    with pytest.raises(DataPackageMissingError, match="pip install gensim"):
        load_pang_lee_polarity()
