"""llmbook.weights.gguf: name/shape mapping on a tiny GGUF written here, error cases, and parity with transformers.

The tiny checkpoint is a randomly initialised transformers ``LlamaForCausalLM`` written to GGUF the way
llama.cpp's converter writes it (``[out, in]`` matrices, RoPE rows of q/k permuted), so loading it back and
comparing logits with the transformers model checks the whole chain in seconds. The last test does the same
with the real SmolLM2-135M-Instruct file.
"""

import numpy as np
import pytest

gguf = pytest.importorskip("gguf")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from llmbook.data.pretrained import smollm2_gguf_path  # noqa: E402
from llmbook.weights.gguf import (  # noqa: E402
    GGUFError, llama_config, load_llama, permute_rope_rows, read_chat_template, read_gguf, unpermute_rope_rows,
)

TEMPLATE = "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"


def tiny_reference(tie=True):
    torch.manual_seed(0)
    config = transformers.LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, rope_theta=500.0,
                                      rms_norm_eps=1e-5, tie_word_embeddings=tie, max_position_embeddings=64)
    model = transformers.LlamaForCausalLM(config).eval()
    with torch.no_grad():                      # non-trivial norms, so a mis-mapped norm is visible
        for name, parameter in model.named_parameters():
            if "norm" in name:
                parameter.add_(0.3 * torch.randn_like(parameter))
    return model


#: A byte-level BPE tokenizer of 64 tokens for the tiny model: two control tokens, letters, "Ġ", digits, merges.
TINY_TOKENS = ["<|im_start|>", "<|im_end|>", *"abcdefghijklmnopqrstuvwxyz", "\u0120", *"0123456789",
               "ab", "abc", *("\u0120" + c for c in "abcdefghijklmnopqrstuvw")]
TINY_MERGES = ["a b", "ab c", *(f"\u0120 {c}" for c in "abcdefghijklmnopqrstuvw")]


def interleave_rope_rows(weight, num_heads):
    """llama.cpp's converter reorders the q/k rows of each head from transformers' half-split layout
    (the first half of the head's features, then the second) to interleaved pairs (x0, x_half, x1, ...).
    Written here row by row, independently of llmbook's reshape-based ``permute_rope_rows``, so that the
    logit-parity tests check llmbook's inverse against a file permuted by other code."""
    out = np.empty_like(weight)
    head_rows = weight.shape[0] // num_heads
    half = head_rows // 2
    for head in range(num_heads):
        base = head * head_rows
        for i in range(half):
            out[base + 2 * i] = weight[base + i]
            out[base + 2 * i + 1] = weight[base + half + i]
    return out


def write_gguf(path, model, architecture="llama", drop=(), add=None, reshape=None, tokenizer=False, quantized=None):
    """Write ``model`` (a transformers Llama) as llama.cpp would, with optional damage for the error tests.

    ``tokenizer=True`` adds a byte-level BPE tokenizer (:data:`TINY_TOKENS`) and metadata of every value type;
    ``quantized`` maps tensor names to a ``gguf.GGMLQuantizationType`` whose (zero) blocks are stored instead."""
    c = model.config
    writer = gguf.GGUFWriter(str(path), architecture)
    if tokenizer:
        assert len(TINY_TOKENS) == c.vocab_size
        writer.add_basename("tiny-llama")
        writer.add_tokenizer_model("gpt2")
        writer.add_tokenizer_pre("smollm")
        writer.add_token_list(TINY_TOKENS)
        writer.add_token_types([3, 3] + [1] * (len(TINY_TOKENS) - 2))
        writer.add_token_merges(TINY_MERGES)
        writer.add_bool("test.flag", True)
        writer.add_int8("test.int8", -3)
        writer.add_uint16("test.uint16", 65000)
        writer.add_int64("test.int64", -2**40)
        writer.add_float64("test.float64", 0.1)
        writer.add_array("test.floats", [0.5, -1.25])
        writer.add_array("test.empty_strings", ["", "é", "∑"])
    writer.add_block_count(c.num_hidden_layers)
    writer.add_context_length(c.max_position_embeddings)
    writer.add_embedding_length(c.hidden_size)
    writer.add_feed_forward_length(c.intermediate_size)
    writer.add_head_count(c.num_attention_heads)
    writer.add_head_count_kv(c.num_key_value_heads)
    writer.add_rope_freq_base(c.rope_theta if hasattr(c, "rope_theta") else c.rope_parameters["rope_theta"])
    writer.add_layer_norm_rms_eps(c.rms_norm_eps)
    writer.add_vocab_size(c.vocab_size)
    writer.add_chat_template(TEMPLATE)
    state = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    tensors = {"token_embd.weight": state["model.embed_tokens.weight"], "output_norm.weight": state["model.norm.weight"]}
    if not c.tie_word_embeddings:
        tensors["output.weight"] = state["lm_head.weight"]
    names = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
             "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output", "post_attention_layernorm": "ffn_norm",
             "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}
    for i in range(c.num_hidden_layers):
        for hf, ours in names.items():
            weight = state[f"model.layers.{i}.{hf}.weight"]
            if ours == "attn_q":
                weight = interleave_rope_rows(weight, c.num_attention_heads)
            if ours == "attn_k":
                weight = interleave_rope_rows(weight, c.num_key_value_heads)
            tensors[f"blk.{i}.{ours}.weight"] = weight
    for name in drop:
        del tensors[name]
    tensors.update(add or {})
    for name, shape in (reshape or {}).items():
        tensors[name] = np.zeros(shape, np.float32)
    for name, array in tensors.items():
        kind = (quantized or {}).get(name)
        if kind is None:
            writer.add_tensor(name, np.ascontiguousarray(array))
        else:
            block, block_bytes = gguf.GGML_QUANT_SIZES[kind]
            rows, columns = array.shape
            writer.add_tensor(name, np.zeros((rows, columns // block * block_bytes), np.uint8), raw_dtype=kind)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture(scope="module")
def reference():
    return tiny_reference()


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory, reference):
    return write_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf", reference)


def test_rope_row_permutation_round_trips():
    weight = np.arange(8 * 3 * 2, dtype=np.float32).reshape(8 * 2, 3)
    np.testing.assert_array_equal(unpermute_rope_rows(permute_rope_rows(weight, 2), 2), weight)
    assert not np.array_equal(permute_rope_rows(weight, 2), weight)
    np.testing.assert_array_equal(permute_rope_rows(weight, 2), interleave_rope_rows(weight, 2))
    np.testing.assert_array_equal(unpermute_rope_rows(interleave_rope_rows(weight, 4), 4), weight)


@pytest.mark.parametrize("tie", [True, False])
def test_tiny_checkpoint_matches_transformers(tmp_path, tie):
    reference = tiny_reference(tie)
    path = write_gguf(tmp_path / "tiny.gguf", reference)
    model, checkpoint = load_llama(path)
    assert model.tie_embeddings == tie and model.num_kv_heads == 2 and model.rope_theta == 500.0
    ids = np.array([[3, 17, 5, 60, 9, 1, 33, 2]])
    ours = np.asarray(model(ids.astype("int32")))
    with torch.no_grad():
        theirs = reference(torch.tensor(ids)).logits.numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-4)
    assert read_chat_template(checkpoint) == TEMPLATE


def test_truncated_file_is_refused(tmp_path, tiny_file):
    data = tiny_file.read_bytes()
    for keep in (10, len(data) // 3, len(data) - 100):
        broken = tmp_path / f"cut{keep}.gguf"
        broken.write_bytes(data[:keep])
        with pytest.raises(GGUFError, match="truncated|not a readable GGUF"):
            load_llama(broken)


def test_not_a_gguf_file_and_missing_file(tmp_path):
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    with pytest.raises(GGUFError, match="not a readable GGUF"):
        read_gguf(fake)
    with pytest.raises(FileNotFoundError, match="no GGUF file"):
        read_gguf(tmp_path / "absent.gguf")


def test_wrong_architecture_is_refused(tmp_path, reference):
    path = write_gguf(tmp_path / "gpt2.gguf", reference, architecture="gpt2")
    with pytest.raises(GGUFError, match="'gpt2' model; this loader maps only llama"):
        load_llama(path)


def test_missing_extra_and_mismatched_tensors_are_all_named(tmp_path, reference):
    path = write_gguf(tmp_path / "bad.gguf", reference, drop=["blk.1.ffn_up.weight"],
                      add={"blk.0.attn_q.bias": np.zeros(32, np.float32)},
                      reshape={"blk.0.ffn_down.weight": (32, 40)})
    with pytest.raises(GGUFError) as error:
        load_llama(path)
    message = str(error.value)
    assert "missing tensors (1): blk.1.ffn_up.weight" in message
    assert "unexpected tensors (1): blk.0.attn_q.bias" in message
    assert ("mis-shaped tensors (1): blk.0.ffn_down.weight: checkpoint (32, 40) (transpose: (40, 32)), model variable "
            "llama/block_0/mlp/down/kernel expects (48, 32)") in message


def test_smollm2_logits_match_transformers_on_the_same_gguf():
    """Parity on the real weights. Both sides dequantize the same Q4_1/Q8_0 tensors to float32 and run in float32,
    so the only differences are summation order (oneDNN/XLA vs torch kernels) over 30 layers: with logits of size
    ~10-30, a max |delta| of 1e-2 is ~1e-3 relative, while any mapping error (a transposed or unpermuted matrix,
    a wrong epsilon or RoPE base) moves logits by whole units."""
    from llmbook.text.bpe import ByteLevelBPE

    path = smollm2_gguf_path()
    model, checkpoint = load_llama(path)
    assert llama_config(checkpoint) == dict(vocab_size=49152, num_layers=30, hidden_dim=576, num_heads=9,
                                            num_kv_heads=3, intermediate_dim=1536, head_dim=64, rope_theta=100000.0,
                                            norm_epsilon=pytest.approx(1e-5), tie_embeddings=True, max_length=8192)
    reference = transformers.AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name,
                                                                  dtype=torch.float32).eval()
    tokenizer = ByteLevelBPE.from_gguf(path)
    for prompt in ["The capital of France is", "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"]:
        ids = np.array([tokenizer.encode(prompt)])
        ours = np.asarray(model(ids.astype("int32")))
        with torch.no_grad():
            theirs = reference(torch.tensor(ids)).logits.numpy()
        assert np.abs(ours - theirs).max() < 1e-2, np.abs(ours - theirs).max()
        assert (ours[0, -1].argmax() == theirs[0, -1].argmax())
