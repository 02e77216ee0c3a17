"""llmbook.generation.generate_batch: greedy decoding of left-padded prompts with one KV cache gives, row
by row, the tokens of one-at-a-time decoding (and of a brute-force forward pass); per-row stops; bad input."""

import numpy as np
import pytest

from llmbook.generation import generate, generate_batch
from tests._backend import to_numpy

VOCAB = 48
CACHE, NEW = 64, 10                       # one cache size and length for every call: fewer compilations
LENGTHS = (5, 1, 37, 12, 33, 2)          # shorter than one batch prefill chunk (16 tokens), longer than two


@pytest.fixture(scope="module")
def llama():
    from llmbook.models import LlamaDecoder
    from llmbook.training import set_seed

    set_seed(11, keras=True)
    return LlamaDecoder(vocab_size=VOCAB, num_layers=2, hidden_dim=32, num_heads=4, num_kv_heads=2,
                        intermediate_dim=64, rope_theta=10000.0)


@pytest.fixture(scope="module")
def rope_gpt():
    from llmbook.models import GPT
    from llmbook.training import set_seed

    set_seed(12, keras=True)
    return GPT(vocab_size=VOCAB, max_length=128, num_layers=2, num_heads=2, hidden_dim=16, positions="rope")


def random_prompts(lengths=LENGTHS, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(1, VOCAB, length).tolist() for length in lengths]


def one_at_a_time(model, prompts, new_tokens, stops=None):
    stops = stops or [()] * len(prompts)
    return [generate(model, prompt, new_tokens, stop_tokens=row_stops, max_length=CACHE)
            for prompt, row_stops in zip(prompts, stops)]


@pytest.mark.parametrize("name", ["llama", "rope_gpt"])
@pytest.mark.parametrize("jit", [True, False])
def test_batched_greedy_equals_one_prompt_at_a_time(name, jit, request):
    model = request.getfixturevalue(name)
    prompts = random_prompts()
    assert generate_batch(model, prompts, NEW, jit=jit, max_length=CACHE) == one_at_a_time(model, prompts, NEW)


def test_batched_greedy_equals_a_brute_force_forward_pass(llama):
    # Independent of any cache: the full unpadded sequence through model(), the argmax appended each step.
    prompts = random_prompts(seed=1)
    expected = []
    for prompt in prompts:
        ids = list(prompt)
        for _ in range(NEW):
            ids.append(int(np.argmax(to_numpy(llama(np.array([ids], "int32")))[0, -1])))
        expected.append(ids[len(prompt):])
    assert generate_batch(llama, prompts, NEW, max_length=CACHE) == expected


def test_each_row_stops_at_its_own_stop_token(llama):
    prompts = random_prompts(seed=2)
    free = one_at_a_time(llama, prompts, NEW)
    # Row r stops at the token it emits at step r + 1 (different in every row); the others go on.
    stops = [[row[min(r + 1, len(row) - 1)]] for r, row in enumerate(free)]
    expected = [row[: row.index(stop[0]) + 1] for row, stop in zip(free, stops)]
    assert generate_batch(llama, prompts, NEW, stop_tokens=stops, max_length=CACHE) == expected
    assert expected == one_at_a_time(llama, prompts, NEW, stops)
    assert len({len(row) for row in expected}) > 1
    # One shared stop list: only the rows that emit it stop; a finished row does not change the others.
    shared = [free[0][2]]
    got = generate_batch(llama, prompts, NEW, stop_tokens=shared, max_length=CACHE)
    assert got == one_at_a_time(llama, prompts, NEW, [shared] * len(prompts))
    assert any(len(row) < NEW for row in got) and any(len(row) == NEW for row in got)


def test_a_batch_of_one_and_a_first_token_that_stops(llama):
    prompt = random_prompts((9,), seed=3)[0]
    alone = generate(llama, prompt, NEW, max_length=CACHE)
    assert generate_batch(llama, [prompt], NEW, max_length=CACHE) == [alone]
    assert generate_batch(llama, [prompt], NEW, stop_tokens=[alone[0]], max_length=CACHE) == [alone[:1]]
    assert generate_batch(llama, [prompt], NEW, max_length=CACHE, pad_id=VOCAB - 1) == [alone]
    assert generate_batch(llama, [prompt] * len(LENGTHS), 1, max_length=CACHE) == [alone[:1]] * len(LENGTHS)


@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
def test_absolute_positions_are_refused(positions):
    from llmbook.models import GPT

    model = GPT(vocab_size=VOCAB, max_length=64, num_layers=1, num_heads=2, hidden_dim=8, positions=positions)
    with pytest.raises(ValueError, match="shifts absolute positions.*rotary positions"):
        generate_batch(model, [[1, 2], [3]], 4)


def test_bad_input_is_refused_clearly(llama):
    cases = [
        ([], 4, {}, ValueError, "prompts is empty"),
        ("hello", 4, {}, TypeError, "must be a list of prompts"),
        ([[1, 2], "ab"], 4, {}, TypeError, "prompt 1 is text"),
        ([[1, 2], 3], 4, {}, TypeError, "prompt 1 must be a 1-D sequence"),
        ([[1, 2], [[3]]], 4, {}, TypeError, "prompt 1 must be a 1-D sequence"),
        ([[1], []], 4, {}, ValueError, "prompt 1: prompt_ids is empty"),
        ([[1, VOCAB]], 4, {}, ValueError, "outside the model's vocabulary"),
        ([[1, 2]], 0, {}, ValueError, "max_new_tokens"),
        ([[1, 2]], -3, {}, ValueError, "max_new_tokens"),
        ([[1, 2]], 4, {"max_length": 10}, ValueError, "max_length=10 cannot hold"),
        ([[1], [2]], 4, {"stop_tokens": [[1], [2], [3]]}, ValueError, "3 entries for 2 prompts"),
        ([[1], [2]], 4, {"stop_tokens": [1, [2]]}, TypeError, "mixes ids and lists"),
        ([[1], [2]], 4, {"stop_tokens": ["\n"]}, TypeError, "not text"),
        ([[1]], 4, {"pad_id": VOCAB}, ValueError, "pad_id"),
    ]
    for prompts, new_tokens, options, error, message in cases:
        with pytest.raises(error, match=message):
            generate_batch(llama, prompts, new_tokens, **options)


def prompts_with_a_shared_prefix(prefix_length=37, suffix_lengths=(1, 6, 17, 3, 9), seed=4):
    rng = np.random.default_rng(seed)
    prefix = rng.integers(1, VOCAB, prefix_length).tolist()
    return [prefix + rng.integers(1, VOCAB, length).tolist() for length in suffix_lengths]


def test_shared_prefix_length():
    from llmbook.generation.batch import shared_prefix_length

    assert shared_prefix_length([[1, 2, 3, 4], [1, 2, 3, 5], [1, 2, 9]]) == 2
    assert shared_prefix_length([[1, 2, 3], [1, 2, 3]]) == 2          # each row keeps its last token
    assert shared_prefix_length([[7], [7, 8]]) == 0
    assert shared_prefix_length([[1, 2], [3, 2]]) == 0
    assert shared_prefix_length([]) == 0


@pytest.mark.parametrize("name", ["llama", "rope_gpt"])
@pytest.mark.parametrize("jit", [True, False])
def test_a_shared_prefix_decodes_as_one_prompt_at_a_time(name, jit, request):
    # The prefix (37 tokens: more than two prefill chunks) is run once and its cache moved to each row's
    # padded slots; the tokens must be those of each prompt decoded alone, and of the full batched prefill.
    model = request.getfixturevalue(name)
    prompts = prompts_with_a_shared_prefix()
    shared = generate_batch(model, prompts, NEW, jit=jit, max_length=CACHE)
    assert shared == one_at_a_time(model, prompts, NEW)
    assert shared == generate_batch(model, prompts, NEW, jit=jit, max_length=CACHE, share_prefix=False)


def test_the_moved_prefix_cache_is_the_full_prefill_cache(llama):
    # Row r's slots padding[r].. hold the prefix's keys (rotated by padding[r]) and values, as a full
    # left-padded prefill writes them; every other slot is zero.
    from keras import ops

    from llmbook.generation.batch import _tile_prefix

    prompts = prompts_with_a_shared_prefix(prefix_length=20, suffix_lengths=(2, 11, 5))
    width = max(map(len, prompts))
    padding = np.array([width - len(p) for p in prompts])
    tiled = _tile_prefix(llama, prompts[0][:20], padding, CACHE, jit=True)
    tokens = np.zeros((len(prompts), width), "int32")
    for row, prompt in enumerate(prompts):
        tokens[row, padding[row]:] = prompt
    mask = np.arange(CACHE)[None, :] >= padding[:, None]
    _, full = llama.call_with_cache(tokens, llama.init_cache(len(prompts), CACHE), 0, attention_mask=mask)
    for (key, value), (full_key, full_value) in zip(tiled, full):
        key, value = to_numpy(key), to_numpy(value)
        full_key, full_value = to_numpy(full_key), to_numpy(full_value)
        for row, pad in enumerate(padding):
            window = slice(pad, pad + 20)
            np.testing.assert_allclose(key[row, :, window], full_key[row, :, window], atol=2e-5)
            np.testing.assert_allclose(value[row, :, window], full_value[row, :, window], atol=2e-5)
            assert not key[row, :, :pad].any() and not key[row, :, pad + 20:].any()
    assert ops.shape(tiled[0][0]) == (len(prompts), llama.num_kv_heads, CACHE, llama.head_dim)


@pytest.mark.parametrize("options", [{"temperature": 0.9}, {"temperature": 1.3, "top_k": 5},
                                     {"temperature": 0.7, "top_p": 0.8}])
def test_sampled_rows_are_those_of_generate_with_the_same_seed(llama, options):
    prompts = prompts_with_a_shared_prefix(prefix_length=18, suffix_lengths=(1, 6, 3))
    seeds = [7, 8, 9]
    batched = generate_batch(llama, prompts, NEW, max_length=CACHE, seed=seeds, **options)
    alone = [generate(llama, p, NEW, max_length=CACHE, seed=s, **options) for p, s in zip(prompts, seeds)]
    assert batched == alone
    assert generate_batch(llama, prompts, NEW, max_length=CACHE, seed=seeds, **options) == batched
    assert generate_batch(llama, prompts, NEW, max_length=CACHE, seed=[1, 2, 3], **options) != batched
    # An int seed gives each row its own generator: the same prompt twice gives two different rows.
    twins = generate_batch(llama, [prompts[0], prompts[0]], NEW, max_length=CACHE, seed=5, **options)
    assert twins[0] != twins[1]


def test_sampling_stops_each_row_and_refuses_bad_settings(llama):
    prompts = random_prompts(seed=6)
    free = generate_batch(llama, prompts, NEW, max_length=CACHE, temperature=1.0, seed=3)
    stops = [[row[2]] for row in free]
    stopped = generate_batch(llama, prompts, NEW, max_length=CACHE, temperature=1.0, seed=3, stop_tokens=stops)
    assert stopped == [row[: row.index(stop[0]) + 1] for row, stop in zip(free, stops)]
    with pytest.raises(ValueError, match="2 seeds for 6 prompts"):
        generate_batch(llama, prompts, 4, temperature=1.0, seed=[1, 2])
    with pytest.raises(TypeError, match="seed"):
        generate_batch(llama, prompts, 4, temperature=1.0, seed="x")
    with pytest.raises(ValueError, match="temperature"):
        generate_batch(llama, prompts, 4, temperature=-1.0)
