"""``ByteLevelBPE.from_gguf`` against an independent reader of the same GGUF tokenizer: transformers'
``AutoTokenizer.from_pretrained(..., gguf_file=...)``, which converts the GGUF metadata with its own code.

The texts cover English, French, Chinese, emoji, code, whitespace runs and digits. Digit runs are the
known place where GGUF converters and pre-tokenizers disagree (some split digits one by one, others in
groups of up to three); SmolLM2's pre-tokenizer splits them one by one, and the test checks that both
readers do, on runs of every length from 1 to 12 and inside numbers with separators.
"""

import pytest

transformers = pytest.importorskip("transformers")
pytest.importorskip("gguf")

TEXTS = [
    "Hello, world! It's 2026.",
    "Le café coûte 3,50 €.",
    "东京是日本的首都。我们明天见！",
    "def f(x):\n    return x**2  # square\n\n\tprint(f(3))",
    "  leading and trailing  ",
    "naïve résumé — “quotes” and ‘single’",
    "😀 emoji 🚀 and a ZWJ family 👨‍👩‍👧",
    "3.14159 and 1,000,000 and 2^31-1 = 2147483647",
    "<|im_start|>user\nWhat is 12+30?<|im_end|>\n<|im_start|>assistant\n",
    "line one\r\nline two\rline three",
] + ["7" * n for n in range(1, 13)] + ["x" + "0123456789"[:n] + "y" for n in range(1, 11)]


@pytest.fixture(scope="module")
def tokenizers(smollm2_bpe):
    from llmbook.data.pretrained import smollm2_gguf_path

    path = smollm2_gguf_path()
    reference = transformers.AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    return smollm2_bpe, reference


@pytest.mark.parametrize("text", TEXTS)
def test_ids_equal_transformers_gguf_tokenizer(tokenizers, text):
    ours, reference = tokenizers
    assert ours.encode(text) == reference.encode(text, add_special_tokens=False)


def test_digits_are_split_one_by_one_by_both(tokenizers):
    ours, reference = tokenizers
    ids = ours.encode("1234567")
    assert len(ids) == 7 and ids == reference.encode("1234567", add_special_tokens=False)


def test_decoding_round_trips_and_matches(tokenizers):
    ours, reference = tokenizers
    for text in TEXTS:
        ids = ours.encode(text)
        assert ours.decode(ids) == text
        assert reference.decode(ids) == text


def test_vocabulary_and_special_tokens_agree(tokenizers):
    ours, reference = tokenizers
    assert ours.vocab_size == len(reference.get_vocab())
    for special in ("<|im_start|>", "<|im_end|>", "<|endoftext|>"):
        assert ours.encode(special) == [reference.convert_tokens_to_ids(special)]
