"""Bad input gets a clear error that names the problem and the fix, never a silent wrong answer.

One test per case found by the package review (section 4), each failing on the code before the fix.
"""

import numpy as np
import pytest

from llmbook.generation.sampling import sample_next_token
from llmbook.models.ngram import NGramLanguageModel


def test_ngram_fit_refuses_a_string_instead_of_token_lists():
    model = NGramLanguageModel(order=2, smoothing="lidstone")
    with pytest.raises(TypeError, match="got a string; tokenize it first"):
        model.fit("the cat sat")  # before: silently a character model


def test_ngram_fit_refuses_untokenized_sentences():
    model = NGramLanguageModel(order=2, smoothing="lidstone")
    with pytest.raises(TypeError, match="sentence 1 is a string, not a list of tokens"):
        model.fit([["the", "cat"], "the dog sat"])
    # A character model is still one explicit step away.
    assert "c" in NGramLanguageModel(order=2, smoothing="lidstone", min_count=1).fit([list("cat")]).vocabulary


@pytest.mark.parametrize("temperature", [0.0, 0.8])
def test_sampling_refuses_nan_logits(temperature):
    logits = np.array([np.nan, 1.0, 2.0])
    with pytest.raises(ValueError, match="logits contain 1 NaN values"):
        sample_next_token(logits, np.random.default_rng(0), temperature=temperature)  # before: token 0 at T=0


def test_damaged_data_files_name_the_line_an_editor_shows(tmp_path, monkeypatch):
    from llmbook.data import gensim_data

    bad = tmp_path / "bad.txt"
    bad.write_text(": section\n\none two three four\n\n\nonly three words\n", encoding="utf-8")
    monkeypatch.setattr(gensim_data, "package_file", lambda *a: bad)
    with pytest.raises(ValueError, match=r"bad.txt:6: expected .* four words"):  # before: line 3
        gensim_data.load_analogies()


def test_numbered_lines_keep_file_line_numbers(tmp_path):
    from llmbook.data._common import numbered_lines, read_lines

    path = tmp_path / "f.txt"
    path.write_text("\ufeffa\n\n  b  \n\t\nc", encoding="utf-8")
    assert numbered_lines(path) == [(1, "a"), (3, "b"), (5, "c")]
    assert read_lines(path) == ["a", "b", "c"]


@pytest.fixture(scope="module")
def tiny_gpt():
    from llmbook.book import setup_chapter

    setup_chapter()
    from llmbook.models.gpt import GPT

    return GPT(vocab_size=20, max_length=16, num_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=16)


def test_generate_refuses_a_batch_of_prompts(tiny_gpt):
    from llmbook.generation import generate

    with pytest.raises(ValueError, match=r"continues one prompt.*shape \(2, 2\)"):
        generate(tiny_gpt, np.array([[1, 2], [3, 4]]), 2, jit=False)  # before: one prompt [1, 2, 3, 4]
    # A single prompt with a leading batch axis of 1 is one prompt.
    assert len(generate(tiny_gpt, np.array([[1, 2]]), 2, jit=False)) == 2


@pytest.mark.parametrize("bad", [[1, 20], [-1, 3]])
def test_generate_refuses_ids_outside_the_vocabulary(tiny_gpt, bad):
    from llmbook.generation import generate

    with pytest.raises(ValueError, match=r"outside the model's vocabulary 0\.\.19"):
        generate(tiny_gpt, bad, 2, jit=False)


def test_generate_refuses_non_integer_ids(tiny_gpt):
    from llmbook.generation import generate

    with pytest.raises(ValueError, match="must be integer token ids"):
        generate(tiny_gpt, np.array([1.5, 2.0]), 2, jit=False)
