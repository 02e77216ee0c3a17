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


def test_noise_table_refuses_counts_with_no_word():
    from llmbook.embeddings import negative_table

    with pytest.raises(ValueError, match="every count is 0"):
        negative_table(np.zeros(5))  # before: numpy's "repeats may not contain negative values"
    with pytest.raises(ValueError, match="finite and non-negative"):
        negative_table(np.array([3.0, -1.0]))
    with pytest.raises(ValueError, match="non-empty 1-D array"):
        negative_table(np.array([]))


def test_word_vectors_refuse_nan():
    from llmbook.embeddings import WordVectors

    vectors = np.ones((3, 4), np.float32)
    vectors[1, 2] = np.nan
    with pytest.raises(ValueError, match="1 vectors hold NaN or infinity \\(first: 'b'\\)"):
        WordVectors(["a", "b", "c"], vectors)


def test_binary_cross_entropy_refuses_nan_probabilities():
    from llmbook.models.neuron import binary_cross_entropy

    with pytest.raises(ValueError, match="probabilities contain NaN"):
        binary_cross_entropy(np.array([0.5, np.nan]), np.array([1, 0]))  # before: nan
    assert binary_cross_entropy(np.array([0.5]), np.array([1])) == pytest.approx(np.log(2))


def test_wordpiece_refuses_a_list_vocabulary():
    from llmbook.text.wordpiece import WordPieceTokenizer

    with pytest.raises(TypeError, match="vocab must map each token to its id"):
        WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])  # before: AttributeError


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, "0.1", True])
def test_mlps_refuse_bad_dropout_rates(rate):
    from llmbook.book import setup_chapter

    setup_chapter()
    from llmbook.layers.mlp import GELUMLP, SwiGLUMLP

    for layer in (GELUMLP, SwiGLUMLP):
        with pytest.raises(ValueError, match=r"dropout must be a rate in \[0, 1\)"):
            layer(8, dropout=rate)


def test_encoder_config_refuses_a_null_pad_id():
    from llmbook.weights.safetensors_bert import encoder_config

    config = {"vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
              "intermediate_size": 16, "max_position_embeddings": 16, "type_vocab_size": 2,
              "layer_norm_eps": 1e-12, "pad_token_id": None}
    with pytest.raises(ValueError, match="pad_token_id to null"):
        encoder_config(config)
    config["pad_token_id"] = 0
    assert encoder_config(config)["pad_id"] == 0


def test_bert_pretrainer_refuses_mask_positions_past_the_sequence():
    from llmbook.book import setup_chapter

    setup_chapter()
    from llmbook.models.bert import BertEncoder, BertPretrainer

    encoder = BertEncoder(vocab_size=20, hidden_dim=8, num_layers=1, num_heads=2, intermediate_dim=16, max_length=8)
    model = BertPretrainer(encoder)
    token_ids = np.array([[2, 5, 6, 3, 0], [2, 7, 3, 0, 0]])
    ok = model({"token_ids": token_ids, "mask_positions": np.array([[1], [4]])})
    assert tuple(ok["mlm"].shape) == (2, 1, 20)
    with pytest.raises(ValueError, match=r"mask_positions must lie in 0\.\.4"):
        model({"token_ids": token_ids, "mask_positions": np.array([[1], [5]])})  # before: row 1's token 0


def test_bpe_from_a_corrupt_gguf_says_so(tmp_path):
    from llmbook.gguf_format import GGUFFormatError
    from llmbook.text.bpe import ByteLevelBPE

    fake = tmp_path / "broken.gguf"
    fake.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\xff" * 64)
    with pytest.raises(GGUFFormatError, match=r"broken.gguf \(72 bytes\) is not a readable GGUF file: it is truncated"):
        ByteLevelBPE.from_gguf(fake)  # before: a raw numpy ValueError
    fake.write_bytes(b"PK\x03\x04" + bytes(60))
    with pytest.raises(ValueError, match="broken.gguf .* is not a readable GGUF file; .*GGUF magic invalid"):
        ByteLevelBPE.from_gguf(fake)


def test_an_unsupported_quantization_type_leaves_the_model_unchanged(tmp_path):
    """One tensor stored as Q8_1, which gguf cannot dequantize: loading fails and no variable changes (before:
    the tensors before it in the map were assigned, a half-loaded model)."""
    gguf = pytest.importorskip("gguf")
    pytest.importorskip("transformers")
    from tests.test_gguf import tiny_reference, write_gguf

    from llmbook.weights import GGUFError, WeightLoadError, load_llama, load_llama_weights, read_gguf

    reference = tiny_reference()
    model, _ = load_llama(write_gguf(tmp_path / "tiny.gguf", reference))
    bad = write_gguf(tmp_path / "q8_1.gguf", reference, quantized={"blk.1.attn_v.weight": gguf.GGMLQuantizationType.Q8_1})
    for variable in model.weights:
        variable.assign(np.full(variable.shape, 0.5, variable.dtype))
    with pytest.raises(GGUFError, match=r"unusable tensors \(1\): blk.1.attn_v.weight: its type Q8_1 cannot be "
                                        r"dequantized \(NotImplementedError") as caught:
        load_llama_weights(model, read_gguf(bad))
    assert isinstance(caught.value, WeightLoadError) and "nothing was assigned" in str(caught.value)
    assert all(np.all(v.numpy() == 0.5) for v in model.weights)
    with pytest.raises(WeightLoadError, match="Q8_1 cannot be dequantized"):
        load_llama(bad)
