"""llmbook.tasks.translation: the copy and word-by-word baselines, on a hand-made lexicon and on Ding's."""

import pytest

from llmbook.data import ding
from llmbook.tasks.translation import copy_translate, detokenize, tokenize, word_by_word

LEXICON = {"heute": "today", "Haus": "house", "das": "the", "ist": "is", "groß": "big", "heute Abend": "tonight"}


def test_tokenize_and_detokenize_round_trip_plain_punctuation():
    tokens = tokenize("Das Haus ist groß, oder?")
    assert tokens == ["Das", "Haus", "ist", "groß", ",", "oder", "?"]
    assert detokenize(tokens) == "Das Haus ist groß, oder?"
    assert tokenize("Wer's weiß.") == ["Wer's", "weiß", "."]


def test_word_by_word_looks_up_cases_and_keeps_unknown_words():
    # "Das" found lower-cased, "haus" found capitalised, "Peter" unknown and kept, punctuation kept in place
    assert word_by_word("Das haus ist groß, Peter!", LEXICON) == "The house is big, Peter!"
    assert word_by_word("heute ist gut.", LEXICON) == "today is gut."  # no capital in, none out
    assert word_by_word("Heute", LEXICON) == "Today"


def test_longest_phrase_first():
    assert word_by_word("Heute Abend ist groß.", LEXICON, max_phrase_words=2) == "Tonight is big."
    assert word_by_word("Heute Abend ist groß.", LEXICON) == "Today Abend is big."
    # a phrase never spans punctuation
    assert word_by_word("Heute, Abend.", LEXICON, max_phrase_words=2) == "Today, Abend."


def test_bad_input():
    with pytest.raises(TypeError, match="string"):
        word_by_word(["Das"], LEXICON)
    with pytest.raises(TypeError, match="load_ding_words"):
        word_by_word("Das", [("das", "the")])
    with pytest.raises(ValueError, match="max_phrase_words"):
        word_by_word("Das", LEXICON, max_phrase_words=0)
    with pytest.raises(TypeError, match="string"):
        copy_translate(None)


def test_copy_baseline_is_the_source():
    assert copy_translate("Strafe muss sein!") == "Strafe muss sein!"


@pytest.mark.skipif(not ding.DICT_PATH.exists(), reason="needs the Debian package dict-de-en")
def test_with_the_ding_lexicon():
    lexicon = ding.load_ding_words()
    out = word_by_word("Heute gehen wir in das Haus.", lexicon)
    assert out.startswith("Today go we ") and out.endswith(" house.")
