"""The encoder backbone and its BERT configuration: variable paths, the configuration spelled out, other
settings (pre-LN, RoPE, no implicit padding), .keras round trips, and the sentence encoder's batching."""

import keras
import numpy as np
import pytest

from llmbook.models.bert import BertEncoder, SentenceEncoder, pool
from llmbook.models.encoder import TransformerEncoder
from tests._backend import to_numpy

IDS = np.random.default_rng(0).integers(5, 60, size=(2, 7)).astype("int32")
MASK = np.array([[True] * 7, [True] * 4 + [False] * 3])
INPUTS = {"token_ids": np.where(MASK, IDS, 0), "segment_ids": np.array([[0] * 4 + [1] * 3] * 2) * MASK,
          "padding_mask": MASK}


def bert(**overrides):
    return BertEncoder(**{**dict(vocab_size=60, hidden_dim=16, num_layers=2, num_heads=2, intermediate_dim=32,
                                 max_length=24, dropout=0.0), **overrides})


def _paths(model):
    # The encoder builds its weights in its constructor, outside its own name scope: no model-name prefix.
    return [v.path for v in model.weights]


def test_bert_variable_paths_are_the_ones_the_safetensors_loader_maps():
    block = [f"block_0/{name}" for name in (
        "attention/query/kernel", "attention/query/bias", "attention/key/kernel", "attention/key/bias",
        "attention/value/kernel", "attention/value/bias", "attention/output/kernel", "attention/output/bias",
        "attention_norm/gamma", "attention_norm/beta", "mlp/up/kernel", "mlp/up/bias", "mlp/down/kernel",
        "mlp/down/bias", "mlp_norm/gamma", "mlp_norm/beta")]
    assert _paths(bert(num_layers=1)) == [
        "embeddings/token_embedding/embeddings", "embeddings/position_embedding/embeddings",
        "embeddings/segment_embedding/embeddings", "embeddings/norm/gamma", "embeddings/norm/beta", *block,
        "pooler/kernel", "pooler/bias"]


def test_bert_is_the_backbone_with_its_options_spelled_out():
    configured = bert()
    spelled_out = TransformerEncoder(vocab_size=60, hidden_dim=16, num_layers=2, num_heads=2, intermediate_dim=32,
                                     max_length=24, num_segments=2, norm_first=False, embedding_norm=True,
                                     pooler=True, lm_head=False, norm_epsilon=1e-12, pad_id=0)
    assert _paths(spelled_out) == _paths(configured)
    for source, target in zip(configured.weights, spelled_out.weights):
        target.assign(to_numpy(source))
    np.testing.assert_allclose(to_numpy(spelled_out(INPUTS)), to_numpy(configured(INPUTS)), atol=1e-6)
    assert configured.epsilon == 1e-12 and configured.get_config()["epsilon"] == 1e-12


def test_post_ln_output_is_normalized_and_pre_ln_output_goes_through_the_final_norm():
    # Post-LN (BERT): the last operation is the block's LayerNorm; pre-LN: the backbone's final norm.
    for model in (bert(), TransformerEncoder(vocab_size=60, hidden_dim=16, num_layers=2, num_heads=2,
                                             max_length=24, lm_head=False)):
        hidden = to_numpy(model(INPUTS))[MASK]
        np.testing.assert_allclose(hidden.mean(-1), 0.0, atol=1e-5)
        np.testing.assert_allclose(hidden.var(-1), 1.0, atol=1e-3)


def test_without_pad_id_no_token_is_padding():
    model = TransformerEncoder(vocab_size=60, hidden_dim=16, num_layers=1, num_heads=2, max_length=24,
                               lm_head=False)
    ids = IDS.copy()
    ids[:, 0] = 0                                             # id 0 is an ordinary token here
    changed = ids.copy()
    changed[:, 0] = 1
    assert np.abs(to_numpy(model(ids))[:, 1:] - to_numpy(model(changed))[:, 1:]).max() > 1e-4
    padded = bert()
    assert np.abs(to_numpy(padded({"token_ids": ids}))[:, 1:] - to_numpy(padded({"token_ids": changed}))[:, 1:]).max() > 1e-4
    with pytest.raises(ValueError, match="no pooler"):
        model.pooled_output(to_numpy(model(ids)))


@pytest.mark.parametrize("options", [
    dict(),
    dict(positions="rope", norm="rms", mlp="swiglu", use_bias=False, num_kv_heads=1, tie_embeddings=True),
    dict(positions="sinusoidal", num_segments=3, pooler=True, lm_head=False, norm_first=False, embedding_norm=True),
])
def test_keras_round_trip_of_other_settings(tmp_path, options):
    model = TransformerEncoder(vocab_size=60, hidden_dim=16, num_layers=2, num_heads=2, max_length=24, **options)
    expected = to_numpy(model(INPUTS))
    assert expected.shape == (2, 7, 16 if options.get("lm_head") is False else 60)
    model.save(tmp_path / "encoder.keras")
    restored = keras.saving.load_model(tmp_path / "encoder.keras", safe_mode=True)
    assert type(restored) is TransformerEncoder and restored.get_config() == model.get_config()
    np.testing.assert_allclose(to_numpy(restored(INPUTS)), expected, atol=1e-6)


def test_attention_maps_of_a_pre_ln_encoder_are_those_its_blocks_use():
    model = TransformerEncoder(vocab_size=60, hidden_dim=16, num_layers=1, num_heads=2, max_length=24,
                               lm_head=False, pad_id=0)
    (weights,) = model.attention_maps(INPUTS)
    block = model.blocks[0]
    x = model.embeddings(INPUTS["token_ids"], INPUTS["segment_ids"])
    # By hand: softmax(q k^T / sqrt(d)) of the *normalized* input (pre-LN), padding keys masked.
    h = to_numpy(block.attention_norm(x))
    q = (h @ to_numpy(block.attention.query.kernel) + to_numpy(block.attention.query.bias)).reshape(2, 7, 2, 8)
    k = (h @ to_numpy(block.attention.key.kernel) + to_numpy(block.attention.key.bias)).reshape(2, 7, 2, 8)
    scores = np.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(8) + np.where(MASK, 0.0, -1e9)[:, None, None, :]
    expected = np.exp(scores - scores.max(-1, keepdims=True))
    np.testing.assert_allclose(weights, expected / expected.sum(-1, keepdims=True), atol=1e-5)


def test_sentence_encoder_uses_the_tokenizer_truncation_and_padding():
    from llmbook.text import WordPieceTokenizer

    words = ["the", "cat", "sat", "on", "mat", "a", "dog", "ran"]
    tokenizer = WordPieceTokenizer({t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words])})
    encoder = bert(vocab_size=len(words) + 5)
    texts = ["the cat sat on the mat " * 3, "a dog", "the dog ran", "cat"]
    got = SentenceEncoder(tokenizer, encoder, max_length=8, length_multiple=4).encode(texts, batch_size=3)
    # Independently: one batch, the tokenizer's own truncation to 8 tokens ([CLS] 6 words [SEP]), mean pooling.
    encoding = tokenizer(texts, max_length=8)
    assert encoding.token_ids.shape == (4, 8) and encoding.token_ids[0, -1] == tokenizer.sep_id
    pooled = to_numpy(pool(encoder(encoding.as_dict()), encoding.padding_mask, "mean"))
    np.testing.assert_allclose(got, pooled / np.linalg.norm(pooled, axis=1, keepdims=True), atol=1e-5)
