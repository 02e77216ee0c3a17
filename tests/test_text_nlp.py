"""llmbook.text.nlp (spaCy wrappers) against the libraries they wrap, and llmbook.text.zipf against brute force."""

import numpy as np
import pytest

from llmbook.text import nlp
from llmbook.text.zipf import rank_frequency, zipf_exponent

CHINESE = ["我爱编程，编程让我快乐。", "人民日报发表了新年献词。", "自然语言处理很有意思"]


def test_english_tokenizer_splits_contractions_and_punctuation():
    tokens = [t.text for t in nlp.english_tokenizer()("Don't panic, it's 4:30 p.m. in the U.K.!")]
    assert tokens[:3] == ["Do", "n't", "panic"]
    assert "p.m." in tokens and "U.K." in tokens and tokens[-1] == "!"


@pytest.mark.parametrize("text", CHINESE)
def test_chinese_tokenizer_equals_jieba(text):
    import jieba

    assert [t.text for t in nlp.chinese_tokenizer()(text)] == [w for w in jieba.lcut(text) if w.strip()]


def test_english_pipeline_tags():
    doc = nlp.english_pipeline()("The quick brown fox jumps over the lazy dog in London.")
    tags = {t.text: t.pos_ for t in doc}
    assert tags["fox"] == "NOUN" and tags["jumps"] == "VERB" and tags["the"] == "DET"
    assert [(e.text, e.label_) for e in doc.ents] == [("London", "GPE")]


def test_stop_words():
    assert {"the", "and", "of"} <= nlp.stop_words("en") and "king" not in nlp.stop_words("en")
    assert {"的", "了"} <= nlp.stop_words("zh")
    with pytest.raises(ValueError, match="'en' and 'zh', not 'fr'"):
        nlp.stop_words("fr")


def test_zipf_exponent_recovers_a_power_law():
    counts = {f"w{r}": int(round(1e6 / r**1.1)) for r in range(1, 2001)}
    exponent, constant = zipf_exponent(counts, max_rank=1000)
    assert exponent == pytest.approx(1.1, abs=1e-3) and constant == pytest.approx(1e6, rel=1e-2)


def test_zipf_fit_equals_linear_regression():
    from scipy import stats

    counts = {"a": 50, "b": 30, "c": 12, "d": 11, "e": 4, "f": 1}
    ranks, frequencies = rank_frequency(counts)
    assert ranks.tolist() == [1, 2, 3, 4, 5, 6] and frequencies.tolist() == [50, 30, 12, 11, 4, 1]
    reference = stats.linregress(np.log(ranks[1:5]), np.log(frequencies[1:5]))
    exponent, constant = zipf_exponent(counts, min_rank=2, max_rank=5)
    assert exponent == pytest.approx(-reference.slope) and constant == pytest.approx(np.exp(reference.intercept))


def test_zipf_errors():
    with pytest.raises(ValueError, match="counts is empty"):
        rank_frequency({})
    with pytest.raises(ValueError, match="counts must be >= 1"):
        rank_frequency({"a": 0})
    with pytest.raises(ValueError, match="at least 2 ranks"):
        zipf_exponent({"a": 3, "b": 1}, min_rank=2)
