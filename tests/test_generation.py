"""llmbook.generation: truncation sets on hand-made distributions, seeded sampling, stop tokens,
KV-cache decoding against the full forward pass at every step, chat-template rendering."""

import llmbook  # noqa: F401
import numpy as np
import pytest

from llmbook.generation import (
    chat, generate, next_token_distribution, render_chat, sample_next_token, softmax, top_k_filter, top_p_filter,
)
from tests._backend import to_numpy  # noqa: E402

PROBS = np.array([0.05, 0.4, 0.1, 0.3, 0.15])          # descending order: 1, 3, 4, 2, 0


def support(probs):
    return set(np.flatnonzero(probs).tolist())


def test_top_k_keeps_the_k_most_probable_and_renormalizes():
    assert support(top_k_filter(PROBS, 1)) == {1}
    assert support(top_k_filter(PROBS, 3)) == {1, 3, 4}
    np.testing.assert_allclose(top_k_filter(PROBS, 2)[[1, 3]], [0.4 / 0.7, 0.3 / 0.7])
    np.testing.assert_allclose(top_k_filter(PROBS, 10), PROBS)
    assert support(top_k_filter([0.4, 0.2, 0.2, 0.2], 2)) == {0, 1, 2, 3}     # ties with the k-th are kept


def test_top_p_keeps_the_smallest_prefix_reaching_p():
    assert support(top_p_filter(PROBS, 0.4)) == {1}               # 0.4 alone reaches 0.4
    assert support(top_p_filter(PROBS, 0.41)) == {1, 3}
    assert support(top_p_filter(PROBS, 0.7)) == {1, 3}            # 0.7 reached exactly
    assert support(top_p_filter(PROBS, 0.71)) == {1, 3, 4}
    assert support(top_p_filter(PROBS, 1.0)) == {0, 1, 2, 3, 4}
    assert support(top_p_filter(PROBS, 1e-9)) == {1}              # the top token is always kept
    np.testing.assert_allclose(top_p_filter(PROBS, 0.8).sum(), 1.0)


def brute_top_p(probs, p):
    """Every subset, smallest first (ties broken towards the most probable), the first with mass >= p."""
    order = np.argsort(-probs, kind="stable")
    for size in range(1, len(probs) + 1):
        subset = order[:size]
        if probs[subset].sum() >= p - 1e-12:
            return set(subset.tolist())


@pytest.mark.parametrize("seed", range(20))
def test_top_p_matches_brute_force_on_random_distributions(seed):
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(7))
    p = rng.uniform(0.05, 1.0)
    assert support(top_p_filter(probs, p)) == brute_top_p(probs, p)


def test_temperature_and_the_filter_order():
    logits = np.log(PROBS)
    np.testing.assert_allclose(softmax(logits), PROBS)
    sharp, flat = softmax(logits, 0.5), softmax(logits, 2.0)
    assert sharp.max() > PROBS.max() > flat.max()
    probs = next_token_distribution(logits, temperature=1.0, top_k=3, top_p=0.6)   # top-3 first: {1,3,4}
    assert support(probs) == {1, 3}                                                # 0.4/0.85 < 0.6 <= 0.7/0.85


def test_sampling_is_seeded_and_follows_the_distribution():
    logits = np.log(PROBS)
    draws = [sample_next_token(logits, np.random.default_rng(7), temperature=1.0) for _ in range(3)]
    assert len(set(draws)) == 1                                    # same seed, same token
    rng = np.random.default_rng(0)
    counts = np.bincount([sample_next_token(logits, rng, 1.0) for _ in range(4000)], minlength=5) / 4000
    np.testing.assert_allclose(counts, PROBS, atol=0.03)
    assert sample_next_token(logits, None, temperature=0.0) == 1   # greedy needs no generator
    top1 = {sample_next_token(logits, rng, 1.0, top_k=1) for _ in range(50)}
    assert top1 == {1}


def test_bad_sampling_arguments_are_refused():
    with pytest.raises(ValueError, match="top_k must be a positive integer"):
        top_k_filter(PROBS, 0)
    with pytest.raises(ValueError, match="top_p must be in"):
        top_p_filter(PROBS, 1.5)
    with pytest.raises(ValueError, match="sum to 1"):
        top_p_filter([0.5, 0.6], 0.9)
    with pytest.raises(ValueError, match="needs a numpy Generator"):
        sample_next_token(np.zeros(3), None, temperature=1.0)
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        sample_next_token(np.zeros(3), None, temperature=-1.0)


@pytest.fixture(scope="module")
def gpt():
    from llmbook.models import GPT
    from llmbook.training import set_seed

    set_seed(0, keras=True)
    return GPT(vocab_size=40, max_length=64, num_layers=2, num_heads=2, hidden_dim=16)


@pytest.mark.parametrize("jit", [True, False])
def test_kv_cache_logits_equal_the_full_forward_pass_at_every_step(gpt, jit):
    prompt = [3, 1, 4, 1, 5]
    cached, cached_logits = generate(gpt, prompt, 12, use_cache=True, jit=jit, return_logits=True)
    full, full_logits = generate(gpt, prompt, 12, use_cache=False, jit=jit, return_logits=True)
    assert cached == full and len(cached) == 12
    np.testing.assert_allclose(cached_logits, full_logits, atol=1e-4)
    # and against a plain forward pass of the final sequence, step by step
    sequence = np.array([prompt + cached], "int32")
    direct = to_numpy(gpt(sequence))[0, len(prompt) - 1:-1]
    np.testing.assert_allclose(cached_logits, direct, atol=1e-4)


@pytest.mark.parametrize("prompt_length", [1, 31, 32, 33, 50])
def test_greedy_device_loop_equals_the_host_loop_and_the_full_pass(gpt, prompt_length):
    # Prompt lengths on both sides of the prefill's chunk boundary (32); at 50 the second chunk would run
    # past the 64-slot cache and is moved back.
    rng = np.random.default_rng(prompt_length)
    prompt = rng.integers(0, 40, prompt_length).tolist()
    new = 64 - prompt_length
    device = generate(gpt, prompt, new, max_length=64)                        # prefill + device loop
    host, host_logits = generate(gpt, prompt, new, max_length=64, return_logits=True)   # one call per token
    full = generate(gpt, prompt, new, max_length=64, use_cache=False)         # padded windows, no cache
    assert device == host == full and len(device) == new
    direct = to_numpy(gpt(np.array([prompt + device], "int32")))[0, prompt_length - 1:-1]
    np.testing.assert_allclose(host_logits, direct, atol=1e-4)
    assert device == np.argmax(direct, axis=-1).tolist()


def test_greedy_device_loop_stops_inside_the_loop_and_on_the_first_token(gpt):
    prompt = [7, 3, 9]
    free = generate(gpt, prompt, 30, max_length=40)
    for stop in (free[0], free[len(free) // 2], free[-1]):
        expected = free[: free.index(stop) + 1]
        assert generate(gpt, prompt, 30, max_length=40, stop_tokens=[stop, 99]) == expected
        assert generate(gpt, prompt, 30, max_length=40, stop_tokens=[stop], use_cache=False) == expected
    assert generate(gpt, prompt, 1, max_length=40) == free[:1]


@pytest.mark.parametrize("max_length", [20, 45, 64])
def test_chunked_prefill_fills_the_cache_like_one_pass(gpt, max_length):
    # 20 < one chunk; 45 makes the second chunk overlap the first; 64 leaves padding in the cache.
    prompt = np.random.default_rng(max_length).integers(0, 40, 19 if max_length == 20 else 40).tolist()
    new = max_length - len(prompt)
    _, logits = generate(gpt, prompt, new, max_length=max_length, return_logits=True)
    _, eager = generate(gpt, prompt, new, max_length=max_length, return_logits=True, jit=False)
    np.testing.assert_allclose(logits, eager, atol=1e-4)


@pytest.mark.tensorflow_only(reason="counts tf.function traces")
def test_the_prefill_compiles_once_for_every_prompt_length():
    from llmbook.generation.decoding import _COMPILED
    from llmbook.models import GPT

    model = GPT(vocab_size=40, max_length=64, num_layers=1, num_heads=2, hidden_dim=8)
    for length in (3, 17, 40, 60):                 # 1, 1, 2 and 2 chunks; one cache size
        generate(model, [1 + i % 39 for i in range(length)], 2, max_length=64)  # ids inside the vocabulary
    assert _COMPILED[model][("extend", True, None)].experimental_get_tracing_count() == 1


def test_logits_at_returns_one_position_of_the_full_logits(gpt):
    ids = np.array([[5, 4, 3, 2, 1, 0, 9]], "int32")
    full = to_numpy(gpt(ids))
    np.testing.assert_allclose(to_numpy(gpt(ids, logits_at=3))[:, 0], full[:, 3], atol=1e-6)
    cache = gpt.init_cache(1, 16)
    at, _ = gpt.call_with_cache(ids, cache, 0, logits_at=6)
    np.testing.assert_allclose(to_numpy(at)[:, 0], full[:, 6], atol=1e-5)


def test_call_with_cache_refuses_tokens_that_do_not_fit(gpt):
    cache = gpt.init_cache(1, 8)
    assert gpt.init_cache(1)[0][0].shape[2] == 64           # default: the model's max_length
    with pytest.raises(ValueError, match="do not fit in a cache of 8 positions"):
        gpt.call_with_cache(np.zeros((1, 5), "int32"), cache, 4)


def test_sampled_generation_is_reproducible_and_stops(gpt):
    a = generate(gpt, [1, 2, 3], 20, temperature=1.0, top_p=0.9, seed=11, max_length=32, jit=False)
    b = generate(gpt, [1, 2, 3], 20, temperature=1.0, top_p=0.9, seed=11, max_length=32, jit=False)
    c = generate(gpt, [1, 2, 3], 20, temperature=1.0, top_p=0.9, seed=12, max_length=32, jit=False)
    assert a == b and a != c
    stop = a[5]
    first = a.index(stop)
    stopped = generate(gpt, [1, 2, 3], 20, temperature=1.0, top_p=0.9, seed=11, stop_tokens=[stop], max_length=32,
                       jit=False)
    assert stopped == a[: first + 1]


def test_generate_refuses_bad_requests(gpt):
    with pytest.raises(ValueError, match="prompt_ids is empty"):
        generate(gpt, [], 3)
    with pytest.raises(ValueError, match="max_length=6 cannot hold"):
        generate(gpt, [1, 2, 3], 5, max_length=6)
    with pytest.raises(ValueError, match="64 learned positions"):
        generate(gpt, [1] * 60, 10)
    with pytest.raises(ValueError, match="max_new_tokens must be a positive integer"):
        generate(gpt, [1], 0)


SMOLLM_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def test_chat_template_rendering_fixture():
    messages = [{"role": "user", "content": "Hi!"}, {"role": "assistant", "content": "Hello."},
                {"role": "user", "content": "2+2?"}]
    expected = ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
                "<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n"
                "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n")
    assert render_chat(SMOLLM_TEMPLATE, messages) == expected
    assert render_chat(SMOLLM_TEMPLATE, messages, add_generation_prompt=False) == expected[: -len(
        "<|im_start|>assistant\n")]
    with_system = render_chat(SMOLLM_TEMPLATE, [{"role": "system", "content": "Be brief."},
                                                {"role": "user", "content": "Hi"}])
    assert with_system.startswith("<|im_start|>system\nBe brief.<|im_end|>\n") and "SmolLM" not in with_system


def test_chat_template_matches_transformers_apply_chat_template():
    tokenizers = pytest.importorskip("tokenizers")
    transformers = pytest.importorskip("transformers")
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tokenizers.Tokenizer(tokenizers.models.BPE()))
    fast.chat_template = SMOLLM_TEMPLATE
    messages = [{"role": "user", "content": "Name three colours."}, {"role": "assistant", "content": "Red."},
                {"role": "user", "content": "More?"}]
    assert render_chat(SMOLLM_TEMPLATE, messages) == fast.apply_chat_template(messages, tokenize=False,
                                                                              add_generation_prompt=True)


def test_chat_rejects_bad_messages_and_templates():
    with pytest.raises(ValueError, match="messages is empty"):
        render_chat(SMOLLM_TEMPLATE, [])
    with pytest.raises(ValueError, match="role 'robot'"):
        render_chat(SMOLLM_TEMPLATE, [{"role": "robot", "content": "x"}])
    with pytest.raises(ValueError, match="must be a dict with 'role' and 'content'"):
        render_chat(SMOLLM_TEMPLATE, ["hello"])
    with pytest.raises(ValueError, match="template is empty"):
        render_chat("", [{"role": "user", "content": "x"}])
    with pytest.raises(ValueError, match="failed to render: no system"):
        render_chat("{{ raise_exception('no system') }}", [{"role": "user", "content": "x"}])
    with pytest.raises(ValueError, match="failed to render"):
        render_chat("{% if %}", [{"role": "user", "content": "x"}])   # a syntax error, raised when compiled


def test_chat_template_is_compiled_once_per_template():
    from llmbook.generation.chat import _compiled

    _compiled.cache_clear()
    messages = [{"role": "user", "content": "Hi"}]
    first = render_chat(SMOLLM_TEMPLATE, messages)
    for content in ("a", "b", "c"):
        render_chat(SMOLLM_TEMPLATE, [{"role": "user", "content": content}])
    info = _compiled.cache_info()
    assert (info.misses, info.hits) == (1, 3)
    assert render_chat(SMOLLM_TEMPLATE, messages) == first   # the cached template renders the same text


class CharTokenizer:
    """Characters as tokens, with the two ChatML specials: enough to run chat() end to end on a tiny GPT."""

    specials = ["<|im_start|>", "<|im_end|>"]

    def __init__(self):
        self.vocab = {s: i for i, s in enumerate(self.specials)}
        for code in range(32, 127):
            self.vocab[chr(code)] = len(self.vocab)
        self.vocab["\n"] = len(self.vocab)
        self.inverse = {i: s for s, i in self.vocab.items()}

    def encode(self, text):
        ids, i = [], 0
        while i < len(text):
            special = next((s for s in self.specials if text.startswith(s, i)), None)
            token = special or text[i]
            ids.append(self.vocab[token])
            i += len(token)
        return ids

    def decode(self, ids):
        return "".join(self.inverse[i] for i in ids)


def test_chat_runs_end_to_end_and_strips_the_stop_token():
    from llmbook.models import GPT

    tokenizer = CharTokenizer()
    model = GPT(vocab_size=len(tokenizer.vocab), max_length=256, num_layers=1, num_heads=2, hidden_dim=8)
    messages = [{"role": "user", "content": "hi"}]
    reply = chat(model, tokenizer, SMOLLM_TEMPLATE, messages, max_new_tokens=8, temperature=1.0, seed=0)
    prompt = tokenizer.encode(render_chat(SMOLLM_TEMPLATE, messages))
    raw = generate(model, prompt, 8, temperature=1.0, seed=0, stop_tokens=[1])
    expected = raw[:-1] if raw[-1] == 1 else raw
    assert reply == tokenizer.decode(expected)


@pytest.mark.parametrize("positions", ["learned", "sinusoidal", "rope"])
def test_the_compiled_step_does_not_bake_the_position_into_the_program(positions):
    # If XLA treated the cache position as a compile-time constant, every new token would compile anew
    # (that happened with a slice of the learned position table): the program must not depend on it.
    import keras
    import tensorflow as tf
    from keras import ops

    from llmbook.generation.decoding import _compiled
    from llmbook.models import GPT

    if keras.backend.backend() != "tensorflow":
        pytest.skip("inspects the TensorFlow/XLA program")
    model = GPT(vocab_size=20, max_length=32, num_layers=1, num_heads=2, hidden_dim=8, positions=positions)
    step = _compiled(model, "extend", True)
    token, cache, last = ops.convert_to_tensor([[3]], "int32"), model.init_cache(1, 16), tf.constant(0, tf.int32)
    programs = {step.experimental_get_compiler_ir(token, cache, tf.constant(p, tf.int32), last)(stage="hlo")
                for p in (4, 5)}
    assert len(programs) == 1
    # and the gathered rows are the right ones
    logits, _ = step(token, cache, tf.constant(5, tf.int32), last)
    cached = model.call_with_cache(np.array([[3]], "int32"), cache, 5)[0][:, -1]
    np.testing.assert_allclose(to_numpy(logits), to_numpy(cached), atol=1e-5)
