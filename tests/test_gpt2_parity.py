"""llmbook's GPT (learned positions, pre-LN, tanh-GELU, tied head) against transformers' GPT2LMHeadModel.

Both get the same random weights, copied from the transformers model by an explicit name map written
here (not with any llmbook helper), so the test fails if either the architecture or the map is wrong:
logits must agree to float32 round-off, for a batch with padding-free sequences of several lengths.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def pair():
    from llmbook.book import setup_chapter

    setup_chapter()
    from llmbook.models import GPT

    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=97, n_positions=32, n_embd=48, n_layer=2, n_head=4,
                                     activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0,
                                     attn_pdrop=0.0, layer_norm_epsilon=1e-5, tie_word_embeddings=True)
    reference = transformers.GPT2LMHeadModel(config).eval()
    with torch.no_grad():  # non-trivial norms and biases, so a mis-mapped one is visible
        for name, parameter in reference.named_parameters():
            if "ln" in name or name.endswith(".bias"):
                parameter.add_(0.2 * torch.randn_like(parameter))
    ours = GPT(vocab_size=97, max_length=32, num_layers=2, num_heads=4, hidden_dim=48, positions="learned",
               tie_embeddings=True, norm_epsilon=1e-5)
    ours.build((None, None))
    state = {k: v.detach().numpy() for k, v in reference.state_dict().items()}
    d = config.n_embd
    ours.token_embedding.embeddings.assign(state["transformer.wte.weight"])
    ours.position_embedding.embeddings.assign(state["transformer.wpe.weight"])
    ours.final_norm.gamma.assign(state["transformer.ln_f.weight"])
    ours.final_norm.beta.assign(state["transformer.ln_f.bias"])
    for i, block in enumerate(ours.blocks):
        p = f"transformer.h.{i}."
        block.attention_norm.gamma.assign(state[p + "ln_1.weight"])
        block.attention_norm.beta.assign(state[p + "ln_1.bias"])
        block.mlp_norm.gamma.assign(state[p + "ln_2.weight"])
        block.mlp_norm.beta.assign(state[p + "ln_2.bias"])
        # GPT-2's Conv1D stores (in, out), as Keras Dense kernels do; c_attn is [q | k | v] along out.
        qkv_w, qkv_b = state[p + "attn.c_attn.weight"], state[p + "attn.c_attn.bias"]
        for j, dense in enumerate((block.attention.query, block.attention.key, block.attention.value)):
            dense.kernel.assign(qkv_w[:, j * d:(j + 1) * d])
            dense.bias.assign(qkv_b[j * d:(j + 1) * d])
        block.attention.output_projection.kernel.assign(state[p + "attn.c_proj.weight"])
        block.attention.output_projection.bias.assign(state[p + "attn.c_proj.bias"])
        block.mlp.up.kernel.assign(state[p + "mlp.c_fc.weight"])
        block.mlp.up.bias.assign(state[p + "mlp.c_fc.bias"])
        block.mlp.down.kernel.assign(state[p + "mlp.c_proj.weight"])
        block.mlp.down.bias.assign(state[p + "mlp.c_proj.bias"])
    return ours, reference


@pytest.mark.parametrize("length", [1, 7, 32])
def test_gpt_logits_equal_gpt2lmheadmodel(pair, length):
    ours, reference = pair
    ids = np.random.default_rng(length).integers(0, 97, size=(3, length))
    mine = np.asarray(ours(ids.astype("int32")))
    with torch.no_grad():
        theirs = reference(torch.tensor(ids)).logits.numpy()
    np.testing.assert_allclose(mine, theirs, atol=2e-5, rtol=1e-5)


def test_the_map_is_not_trivially_right(pair):
    """Swapping the two LayerNorm scales of a block must break parity: the comparison can fail."""
    ours, reference = pair
    ids = np.arange(10)[None, :]
    block = ours.blocks[0]
    first, second = np.array(block.attention_norm.gamma), np.array(block.mlp_norm.gamma)
    with torch.no_grad():
        theirs = reference(torch.tensor(ids)).logits.numpy()
    block.attention_norm.gamma.assign(second)
    block.mlp_norm.gamma.assign(first)
    try:
        assert np.abs(np.asarray(ours(ids.astype("int32"))) - theirs).max() > 1e-4
    finally:
        block.attention_norm.gamma.assign(first)
        block.mlp_norm.gamma.assign(second)
    np.testing.assert_allclose(np.asarray(ours(ids.astype("int32"))), theirs, atol=2e-5, rtol=1e-5)
