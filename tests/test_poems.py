"""The Tang-poem loader (Debian fortunes-zh) and the diversity metrics."""

import re

import pytest

from llmbook import data
from llmbook.data.poems import TANG300_PATH, parse_poems, verses
from llmbook.metrics import distinct_n, ngrams, repetition_rate

needs_file = pytest.mark.skipif(not TANG300_PATH.exists(), reason="Debian fortunes-zh not installed")

SAMPLE = "\x1b[32m《静夜思》\x1b[m\n\x1b[33m作者：李白\x1b[m\n床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n%\n"


def test_parse_strips_colour_codes_and_splits_fields():
    (poem,) = parse_poems(SAMPLE)
    assert poem.title == "静夜思" and poem.author == "李白"
    assert poem.lines == ("床前明月光，疑是地上霜。", "举头望明月，低头思故乡。")
    assert [len(v) - 1 for v in poem.verses()] == [5, 5, 5, 5]


def test_parse_names_the_damaged_fortune():
    with pytest.raises(ValueError, match="fortune 2"):
        parse_poems(SAMPLE + "no title here\n%\n")


def test_verses_drop_unfinished_text_and_refuse_bytes():
    assert verses("白日依山尽，黄河\n入海流。欲穷") == ["白日依山尽，", "黄河入海流。"]
    with pytest.raises(TypeError):
        verses(b"abc")


def test_missing_file_names_the_debian_package(tmp_path):
    with pytest.raises(data.DataPackageMissingError, match="fortunes-zh"):
        data.load_tang_poems(tmp_path / "absent.u8")


@needs_file
def test_the_corpus():
    corpus = data.load("tang-poems")
    assert len(corpus) == 313 and corpus.licence == "GPL-3+"
    text = "".join(p.text for p in corpus.poems)
    assert "\x1b" not in text and not re.search(r"\[\d*m", text)
    assert all(p.title and p.author and p.lines for p in corpus.poems)
    lengths = [len(v) - 1 for p in corpus.poems for v in p.verses()]
    # regular (5- or 7-character) verse lines dominate
    assert sum(n in (5, 7) for n in lengths) / len(lengths) > 0.9
    train, held = corpus.split(0.1, seed=0)
    assert len(held) == 31 and len(train) == 282
    assert len(set(held) | set(train)) == len(set(corpus.poems))
    assert corpus.split(0.1, seed=0) == (train, held)
    with pytest.raises(ValueError, match="between 0 and 1"):
        corpus.split(1.0)


def test_distinct_n_against_brute_force():
    tokens = "the cat sat on the mat the cat sat".split()
    for n in (1, 2, 3):
        grams = [" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
        assert distinct_n(tokens, n) == pytest.approx(len(set(grams)) / len(grams))
        assert repetition_rate(tokens, n) == pytest.approx(1 - len(set(grams)) / len(grams))
    assert distinct_n(list("abcd"), 2) == 1.0 and repetition_rate(list("abcd"), 2) == 0.0
    assert repetition_rate(list("abababab"), 2) == pytest.approx(5 / 7)


def test_diversity_errors():
    with pytest.raises(TypeError, match="not a string"):
        distinct_n("a b c", 1)
    with pytest.raises(ValueError, match="no 3-grams"):
        distinct_n(["a", "b"], 3)
    with pytest.raises(ValueError, match="positive integer"):
        ngrams(["a"], 0)
