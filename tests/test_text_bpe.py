"""llmbook.text.bpe against brute force and against HF tokenizers (trainer, encoder, GGUF tokenizer).

Independent references: ``naive_train`` (brute force) and HF's ``BpeTrainer`` for training; for SmolLM2's ids,
transformers' own GGUF tokenizer in ``tests/test_bpe_gguf_parity.py``. The HF ``tokenizers`` engine itself is
llmbook's (``llmbook.text.bpe_engine``), compared here with the from-scratch Python encoder."""

import json
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from llmbook.text.bpe import ByteLevelBPE
from llmbook.text.byte_level import BYTE_ALPHABET, BYTE_TO_CHAR, from_byte_chars, pre_tokenize, to_byte_chars

CORPUS = [
    "To be, or not to be, that is the question:",
    "Whether 'tis nobler in the mind to suffer",
    "The slings and arrows of outrageous fortune,",
    "Or to take arms against a sea of troubles",
    "And by opposing end them. To die—to sleep, No more; 1599, 1600 and 2024!",
    "我爱编程，编程让我快乐。 Ünïcödé façade naïve café 👍🏽🎉",
] * 3
SPECIALS = ["<|endoftext|>", "<pad>"]
# Engines are compared on assigned characters: for code points that one Unicode database assigns and the
# other does not (U+3D000 is a letter to the `regex` module, unassigned to HF's Oniguruma), \p{L} differs.
ASSIGNED_TEXT = st.text(alphabet=st.characters(exclude_categories=("Cn", "Cs")))
MIXED_TEXT = st.text(alphabet=st.sampled_from("abc to be  ,.!?'0123\n\téü编程👍"), max_size=60)


def hf_byte_level(split_digits: bool):
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    return pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level]) if split_digits \
        else byte_level


def hf_train(texts, vocab_size, special_tokens=(), split_digits=False):
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = hf_byte_level(split_digits)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(special_tokens),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(texts, trainer)
    merges = [tuple(m) for m in json.loads(tokenizer.to_str())["model"]["merges"]]
    return tokenizer.get_vocab(), merges


def naive_train(texts, vocab_size):
    """Brute force: recount every pair of every word before each merge."""
    tokens = list(BYTE_ALPHABET)
    words = Counter(tuple(to_byte_chars(p)) for t in texts for p in pre_tokenize(t))
    merges = []
    while len(tokens) < vocab_size:
        pairs = Counter()
        for word, n in words.items():
            for pair in zip(word, word[1:]):
                pairs[pair] += n
        if not pairs:
            break
        ids = {t: i for i, t in enumerate(tokens)}
        best = min(pairs, key=lambda p: (-pairs[p], ids[p[0]], ids[p[1]]))
        merges.append(best)
        tokens.append(best[0] + best[1])
        merged = Counter()
        for word, n in words.items():
            out, i = [], 0
            while i < len(word):
                if word[i:i + 2] == best:
                    out.append(best[0] + best[1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            merged[tuple(out)] += n
        words = merged
    return {t: i for i, t in enumerate(tokens)}, merges


@pytest.fixture(scope="module")
def trained():
    return ByteLevelBPE.train(CORPUS, vocab_size=400, special_tokens=SPECIALS)


@pytest.fixture(scope="module")
def smollm2(smollm2_bpe):
    return smollm2_bpe


def test_byte_table_is_a_bijection_onto_printable_characters():
    assert len(set(BYTE_TO_CHAR.values())) == 256
    assert all(c.isprintable() and not c.isspace() for c in BYTE_TO_CHAR.values())
    assert BYTE_TO_CHAR[ord(" ")] == "Ġ" and BYTE_TO_CHAR[ord("\n")] == "Ċ"
    assert from_byte_chars(to_byte_chars("naïve 👍")) == "naïve 👍".encode()


@settings(max_examples=200, deadline=None)
@given(text=st.one_of(st.text(alphabet=st.characters(exclude_categories=("Cn", "Cs")), max_size=40), MIXED_TEXT),
       split_digits=st.booleans())
def test_pre_tokenize_matches_hf(text, split_digits):
    ours = [to_byte_chars(p) for p in pre_tokenize(text, "smollm" if split_digits else "gpt2")]
    theirs = [piece for piece, _ in hf_byte_level(split_digits).pre_tokenize_str(text)]
    assert ours == theirs


def test_trainer_equals_brute_force():
    vocab, merges = naive_train(CORPUS, 330)
    bpe = ByteLevelBPE.train(CORPUS, vocab_size=330)
    assert bpe.merges == merges and bpe.vocab == vocab


@pytest.mark.parametrize("split_digits", [False, True])
def test_trainer_equals_hf_bpe_trainer(split_digits):
    bpe = ByteLevelBPE.train(CORPUS, vocab_size=420, special_tokens=SPECIALS,
                             pre_tokenizer="smollm" if split_digits else "gpt2")
    vocab, merges = hf_train(CORPUS, 420, SPECIALS, split_digits)
    assert bpe.merges == merges
    assert bpe.vocab == vocab


@settings(max_examples=30, deadline=None)
@given(texts=st.lists(MIXED_TEXT, min_size=1, max_size=5).filter(lambda ts: any(ts)),
       vocab_size=st.integers(257, 300))
def test_trainer_equals_hf_on_random_corpora(texts, vocab_size):
    bpe = ByteLevelBPE.train(texts, vocab_size=vocab_size)
    vocab, merges = hf_train(texts, vocab_size)
    assert (bpe.vocab, bpe.merges) == (vocab, merges)


def test_on_merge_reports_each_merge(trained):
    seen = []
    bpe = ByteLevelBPE.train(CORPUS, vocab_size=300, on_merge=lambda rank, pair, count: seen.append((rank, pair, count)))
    assert [pair for _, pair, _ in seen] == bpe.merges
    assert [rank for rank, _, _ in seen] == list(range(len(bpe.merges)))
    counts = [count for _, _, count in seen]
    assert counts[0] >= counts[-1] >= 1


def test_training_stops_when_no_pair_is_frequent_enough():
    bpe = ByteLevelBPE.train(["ab ab"], vocab_size=1000, min_frequency=2)
    assert bpe.merges == [("a", "b")]
    assert bpe.vocab_size == 257


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.text(), MIXED_TEXT, st.sampled_from(SPECIALS).map(lambda s: f"a{s}b")))
def test_round_trip_on_trained_vocab(trained, text):
    python = trained.with_engine("python")
    assert trained.decode(trained.encode(text)) == text
    assert python.decode(python.encode(text)) == text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(ASSIGNED_TEXT, MIXED_TEXT))
def test_identical_ids_from_both_engines(trained, text):
    assert trained.with_engine("python").encode(text) == trained.encode(text)


def test_special_tokens_are_single_ids(trained):
    ids = trained.encode("to be<|endoftext|>or not")
    assert trained.vocab["<|endoftext|>"] in ids
    assert trained.with_engine("python").encode("to be<|endoftext|>or not") == ids


def test_encode_batch_equals_encode(trained):
    texts = ["to be", "", "编程 2024"]
    for engine in ("tokenizers", "python"):
        assert trained.with_engine(engine).encode_batch(texts) == [trained.encode(t) for t in texts]


def test_to_tokenizers_gives_the_same_ids(trained):
    text = "Whether 'tis nobler 1600"
    assert trained.to_tokenizers().encode(text, add_special_tokens=False).ids == trained.encode(text)


# ------------------------------------------------------------------ SmolLM2's tokenizer from the GGUF file
SMOLLM2_SAMPLES = {
    "english": "The quick brown fox doesn't jump over 12345 lazy dogs.",
    "chinese": "我爱编程，编程让我快乐。",
    "code": "def square(x: int) -> int:\n    return x ** 2  # 4 spaces\n\tprint(f'{x=}')\n",
    "emoji": "Emoji: 👍🏽🎉 and a family 👨‍👩‍👧 🇫🇷",
    "whitespace": "x  1\n\n  y   \r\n",
    "specials": "<|im_start|>user\nHi!<|im_end|>\n",
}


def test_smollm2_metadata(smollm2):
    assert smollm2.vocab_size == 49152 and len(smollm2.merges) == 48900
    assert smollm2.pre_tokenizer == "smollm"
    assert smollm2.special_tokens[:3] == ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
    assert len(smollm2.missing_bytes) == 21


@pytest.mark.parametrize("kind", sorted(SMOLLM2_SAMPLES))
def test_smollm2_engines_give_the_same_ids(smollm2, kind):
    text = SMOLLM2_SAMPLES[kind]
    expected = smollm2.to_tokenizers().encode(text, add_special_tokens=False).ids
    assert smollm2.encode(text) == expected
    assert smollm2.with_engine("python").encode(text) == expected
    assert smollm2.decode(expected) == text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(ASSIGNED_TEXT, MIXED_TEXT))
def test_smollm2_round_trip_and_identical_engines(smollm2, text):
    python = smollm2.with_engine("python")
    try:
        ids = smollm2.encode(text)
    except ValueError as error:  # only text that needs one of the 21 bytes without a token
        assert "has no token in this vocabulary" in str(error)
        assert any(b in smollm2.missing_bytes for b in text.encode())
        with pytest.raises(ValueError, match="has no token"):
            python.encode(text)
        return
    assert python.encode(text) == ids
    assert smollm2.decode(ids) == text


def test_smollm2_refuses_bytes_without_tokens(smollm2):
    with pytest.raises(ValueError, match=r"\(U\+0004\) at position 2: its UTF-8 byte 0x04 has no token"):
        smollm2.encode("ab\x04c")


# ------------------------------------------------------------------ GGUF files written here
def write_gguf(path, model="gpt2", pre="gpt2", tokens=None, merges=None, token_types=None):
    import gguf

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_tokenizer_model(model)
    writer.add_tokenizer_pre(pre)
    tokens = tokens if tokens is not None else ["<s>", *BYTE_ALPHABET, "ab"]
    writer.add_token_list(tokens)
    writer.add_token_types(token_types if token_types is not None else [3] + [1] * (len(tokens) - 1))
    writer.add_token_merges(merges if merges is not None else ["a b"])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_from_gguf_reads_a_small_file(tmp_path):
    bpe = ByteLevelBPE.from_gguf(write_gguf(tmp_path / "tiny.gguf"))
    assert bpe.merges == [("a", "b")] and bpe.special_tokens == ("<s>",)
    assert bpe.encode("<s>abc") == [0, 257, bpe.vocab["c"]]


def test_from_gguf_errors(tmp_path):
    with pytest.raises(ValueError, match="not byte-level BPE"):
        ByteLevelBPE.from_gguf(write_gguf(tmp_path / "spm.gguf", model="llama"))
    with pytest.raises(ValueError, match="pre-tokenizer 'llama-bpe'; supported"):
        ByteLevelBPE.from_gguf(write_gguf(tmp_path / "l3.gguf", pre="llama-bpe"))
    with pytest.raises(ValueError, match="vocabulary/merges mismatch"):
        ByteLevelBPE.from_gguf(write_gguf(tmp_path / "bad.gguf", merges=["a b", "ab c"]))
    with pytest.raises(FileNotFoundError, match="no GGUF file"):
        ByteLevelBPE.from_gguf(tmp_path / "absent.gguf")


# ------------------------------------------------------------------ bad input
def test_empty_training_corpus_is_refused():
    for empty in ([], [""], "", ["", ""]):
        with pytest.raises(ValueError, match="training corpus is empty"):
            ByteLevelBPE.train(empty, vocab_size=300)


def test_bad_training_arguments():
    with pytest.raises(ValueError, match=r"vocab_size must be an int >= 258"):
        ByteLevelBPE.train(["abc"], vocab_size=257, special_tokens=["<a>", "<b>"])
    with pytest.raises(TypeError, match="texts must be strings"):
        ByteLevelBPE.train(["abc", 3], vocab_size=300)
    with pytest.raises(ValueError, match="min_frequency"):
        ByteLevelBPE.train(["abc"], vocab_size=300, min_frequency=0)
    with pytest.raises(ValueError, match="unknown pre-tokenizer 'bert'"):
        ByteLevelBPE.train(["abc"], vocab_size=300, pre_tokenizer="bert")


def test_vocabulary_merges_mismatch(trained):
    truncated = {t: i for t, i in trained.vocab.items() if i < 300}
    with pytest.raises(ValueError, match=r"vocabulary/merges mismatch: merge \d+ .* is not in the vocabulary"):
        ByteLevelBPE(truncated, trained.merges)
    with pytest.raises(ValueError, match="ids must be unique"):
        ByteLevelBPE({**trained.vocab, "extra": 5}, trained.merges)
    with pytest.raises(ValueError, match="special tokens .* not in the vocabulary"):
        ByteLevelBPE(trained.vocab, trained.merges, special_tokens=["<mask>"])
    with pytest.raises(TypeError, match="pair of two token strings"):
        ByteLevelBPE(trained.vocab, [("a", "b", "c")])
    with pytest.raises(ValueError, match="unknown engine"):
        ByteLevelBPE(trained.vocab, trained.merges, engine="rust")


def test_bad_encode_decode_input(trained):
    with pytest.raises(TypeError, match="text must be a str"):
        trained.encode(b"bytes")
    with pytest.raises(ValueError, match="id 100000 is not in the vocabulary"):
        trained.decode([1, 100000])
