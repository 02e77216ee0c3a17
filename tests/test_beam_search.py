"""llmbook.generation.beam_search: beam 1 is greedy decoding; a beam as large as the search space finds the
brute-force argmax (with stop tokens and a length penalty); beam 2 beats greedy where greedy is provably
worse; the length penalty and stop tokens; a prompt's result does not depend on its batch; an
encoder-decoder plugs in with its context; bad input."""

import itertools

import numpy as np
import pytest
from keras import ops

from llmbook.generation import beam_search, generate
from llmbook.generation.beam import EncoderDecoderBeams, length_penalty_factor
from tests._backend import to_numpy

VOCAB, CACHE = 48, 64


@pytest.fixture(scope="module")
def rope_gpt():
    from llmbook.models import GPT
    from llmbook.training import set_seed

    set_seed(12, keras=True)
    return GPT(vocab_size=VOCAB, max_length=128, num_layers=2, num_heads=2, hidden_dim=16, positions="rope")


@pytest.fixture(scope="module")
def tiny_gpt():
    """Vocabulary 5, with large weights: peaked distributions, so the best sequences are far from ties."""
    from llmbook.models import GPT
    from llmbook.training import set_seed

    set_seed(3, keras=True)
    return GPT(vocab_size=5, max_length=16, num_layers=1, num_heads=2, hidden_dim=8, positions="rope",
               initializer_range=1.0)


def log_softmax(logits):
    logits = np.asarray(logits, "float64")
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class Bigram:
    """A decoder-only model whose next-token distribution is a fixed table row chosen by the last token.

    The cache records the tokens (so that beam search has something to reorder); the logits read only
    the table. It has the KV-cache interface that ``generate`` and ``beam_search`` drive."""

    position_embedding = None

    def __init__(self, probabilities):
        probabilities = np.asarray(probabilities, "float64")
        assert np.allclose(probabilities.sum(axis=1), 1)
        self.table = np.log(probabilities)
        self.vocab_size = len(probabilities)

    def init_cache(self, batch, max_length):
        return [ops.zeros((batch, max_length), "int32")]

    def call_with_cache(self, token_ids, cache, cache_index, logits_at=None, attention_mask=None):
        token_ids = ops.cast(token_ids, "int32")
        logits = ops.take(ops.convert_to_tensor(self.table.astype("float32")), token_ids, axis=0)
        if logits_at is not None:
            logits = ops.take(logits, ops.reshape(ops.cast(logits_at, "int32"), (1,)), axis=1)
        written = ops.slice_update(cache[0], (ops.zeros((), "int32"), ops.cast(cache_index, "int32")), token_ids)
        return logits, [written]

    def log_prob(self, prompt, tokens):
        previous = [prompt[-1], *tokens[:-1]]
        return float(sum(self.table[a, b] for a, b in zip(previous, tokens)))


def hypotheses(vocab, max_new_tokens, stops):
    """Every hypothesis beam search can return: sequences of up to ``max_new_tokens`` tokens with a stop
    token only at the end, shorter ones ending in a stop token."""
    for length in range(1, max_new_tokens + 1):
        for tokens in itertools.product(range(vocab), repeat=length):
            if any(t in stops for t in tokens[:-1]) or (length < max_new_tokens and tokens[-1] not in stops):
                continue
            yield list(tokens)


def gpt_log_probs(model, prompt, sequences):
    """Summed log-probabilities of each continuation, from full forward passes without a cache."""
    longest = max(len(s) for s in sequences)
    ids = np.zeros((len(sequences), len(prompt) + longest), "int32")
    for row, tokens in enumerate(sequences):
        ids[row, : len(prompt) + len(tokens)] = prompt + tokens
    log_probs = log_softmax(to_numpy(model(ids)))
    totals = []
    for row, tokens in enumerate(sequences):
        positions = np.arange(len(prompt) - 1, len(prompt) - 1 + len(tokens))
        totals.append(float(log_probs[row, positions, tokens].sum()))
    return np.array(totals)


def brute_force_best(sequences, log_probs, alpha):
    scores = np.array([lp / length_penalty_factor(len(s), alpha) for s, lp in zip(sequences, log_probs)])
    order = np.argsort(-scores, kind="stable")
    return order, scores


def random_prompts(lengths, seed=0, vocab=VOCAB):
    rng = np.random.default_rng(seed)
    return [rng.integers(1, vocab, length).tolist() for length in lengths]


@pytest.mark.parametrize("with_stop", [False, True])
def test_beam_of_one_is_greedy_decoding(rope_gpt, with_stop):
    prompts = random_prompts((5, 1, 20, 12))
    greedy = [generate(rope_gpt, prompt, 10, max_length=CACHE) for prompt in prompts]
    stops = []
    if with_stop:                  # a token some greedy run emits after its first token, and not before
        index, row = next((i, row) for row in greedy for i in range(1, len(row)) if row[i] not in row[:i])
        stops = [row[index]]
        greedy = [generate(rope_gpt, prompt, 10, stop_tokens=stops, max_length=CACHE) for prompt in prompts]
        assert index + 1 in [len(row) for row in greedy]           # that run now ends at the stop token
    results = beam_search(rope_gpt, prompts, 1, 10, stop_tokens=stops, max_length=CACHE)
    assert [hyps[0].tokens for hyps in results] == greedy
    for prompt, hyps in zip(prompts, results):           # the score is the sequence's log-probability
        expected = gpt_log_probs(rope_gpt, prompt, [hyps[0].tokens])[0]
        assert hyps[0].log_prob == pytest.approx(expected, abs=1e-4) and hyps[0].score == hyps[0].log_prob


def test_beam_of_one_is_greedy_with_absolute_positions():
    from llmbook.models import GPT
    from llmbook.training import set_seed

    set_seed(5, keras=True)
    model = GPT(vocab_size=VOCAB, max_length=32, num_layers=1, num_heads=2, hidden_dim=16)   # learned positions
    prompts = random_prompts((6, 6, 6), seed=4)
    results = beam_search(model, prompts, 1, 8)
    assert [hyps[0].tokens for hyps in results] == [generate(model, prompt, 8) for prompt in prompts]
    with pytest.raises(ValueError, match="absolute position"):
        beam_search(model, random_prompts((6, 3)), 2, 4)
    with pytest.raises(ValueError, match="learned positions"):
        beam_search(model, prompts, 2, 40)


@pytest.mark.parametrize("stops, alpha, beam", [((), 0.0, 25), ((2,), 0.0, 125), ((2,), 1.0, 125), ((2,), -1.0, 125)])
def test_a_beam_as_large_as_the_search_space_finds_the_brute_force_argmax(tiny_gpt, stops, alpha, beam):
    prompt, new = [1, 3], 3
    sequences = list(hypotheses(5, new, set(stops)))
    log_probs = gpt_log_probs(tiny_gpt, prompt, sequences)
    order, scores = brute_force_best(sequences, log_probs, alpha)
    assert scores[order[0]] - scores[order[1]] > 1e-3          # no near tie: the argmax is well defined
    (results,) = beam_search(tiny_gpt, [prompt], beam, new, stop_tokens=stops, length_penalty=alpha,
                             num_return=3, max_length=CACHE)
    assert [h.tokens for h in results] == [sequences[i] for i in order[:3]]
    for hypothesis, index in zip(results, order):
        assert hypothesis.log_prob == pytest.approx(log_probs[index], abs=1e-4)
        assert hypothesis.score == pytest.approx(scores[index], abs=1e-4)
    if stops:
        assert any(len(h.tokens) < new for h in results) or len(sequences[order[0]]) == new


def test_beam_two_beats_greedy_where_the_greedy_path_is_worse():
    # From token 0: 1 (p 0.6) or 2 (p 0.4). After 1 the distribution is flat (best 0.3); after 2, token 3
    # has p 0.97. Greedy takes 1 then 0: 0.18; the beam keeps 2 and finds 2, 3: 0.388.
    model = Bigram([[0.0001, 0.6, 0.3998, 0.0001],
                    [0.3, 0.25, 0.25, 0.2],
                    [0.01, 0.01, 0.01, 0.97],
                    [0.25, 0.25, 0.25, 0.25]])
    greedy = generate(model, [0], 2)
    assert greedy == [1, 0]
    ((one,),) = beam_search(model, [[0]], 1, 2)
    ((two,),) = beam_search(model, [[0]], 2, 2)
    assert one.tokens == greedy and two.tokens == [2, 3]
    assert two.log_prob == pytest.approx(np.log(0.3998 * 0.97), abs=1e-5)
    assert two.log_prob > model.log_prob([0], greedy) + 0.5
    assert one.log_prob == pytest.approx(model.log_prob([0], greedy), abs=1e-5)


def length_choice_model():
    # Tokens: 0 start, 1 eos, 2 a, 3 b, 4 c. Stopping at once: log 0.37 = -0.994; "a b eos":
    # log(0.55 * 0.76 * 0.76) = -1.147, less probable but longer: with alpha = 1 it scores -1.147 / (8/6) = -0.860.
    return Bigram([[0.02, 0.37, 0.55, 0.03, 0.03],
                   [0.2, 0.2, 0.2, 0.2, 0.2],
                   [0.06, 0.06, 0.06, 0.76, 0.06],
                   [0.06, 0.76, 0.06, 0.06, 0.06],
                   [0.2, 0.2, 0.2, 0.2, 0.2]])


def test_the_length_penalty_changes_the_choice():
    model = length_choice_model()
    ((raw,),) = beam_search(model, [[0]], 3, 4, eos_id=1, length_penalty=0.0)
    ((normalized,),) = beam_search(model, [[0]], 3, 4, eos_id=1, length_penalty=1.0)
    assert raw.tokens == [1] and normalized.tokens == [2, 3, 1]
    assert raw.score == pytest.approx(np.log(0.37), abs=1e-5)
    assert normalized.log_prob == pytest.approx(np.log(0.55 * 0.76 * 0.76), abs=1e-5)
    assert normalized.score == pytest.approx(normalized.log_prob / (8 / 6), abs=1e-5)
    for alpha, best in ((0.0, raw), (1.0, normalized)):         # and each is the brute-force best
        sequences = list(hypotheses(5, 4, {1}))
        order, _ = brute_force_best(sequences, [model.log_prob([0], s) for s in sequences], alpha)
        assert sequences[order[0]] == best.tokens


# Tokens: 0 start, 1 eos, 2, 3. Long: stopping at once scores log 0.55 = -0.598. Going on costs log 0.4 and
# then almost nothing (2 and 3 follow each other with p 0.97): after 6 tokens log_prob -1.068, which alpha = 1
# divides by 11/6 to -0.583 and wins. At the first step that live hypothesis (-0.916) could not win at length
# 2 (-0.785); only the bound at the longest length keeps it. Short: alpha = -3 favours short hypotheses;
# stopping at once scores log 0.37 = -0.994, token 2 then eos log(0.6 * 0.99) / (7/6)^-3 = -0.827 wins. At
# the first step token 2 (-0.511) could not win at length 6 (-3.15); only the bound at length 2 keeps it.
LONG = ([[0.02, 0.55, 0.4, 0.03], [0.25] * 4, [0.01, 0.01, 0.01, 0.97], [0.01, 0.01, 0.97, 0.01]], 1.0,
        [2, 3, 2, 3, 2, 3])
SHORT = ([[0.01, 0.37, 0.6, 0.02], [0.25] * 4, [0.003, 0.99, 0.004, 0.003], [0.25] * 4], -3.0, [2, 1])


@pytest.mark.parametrize("table, alpha, winner", [LONG, SHORT], ids=["long", "short"])
def test_the_early_stop_never_drops_the_winner(table, alpha, winner):
    model = Bigram(table)
    sequences = list(hypotheses(4, 6, {1}))
    log_probs = [model.log_prob([0], s) for s in sequences]
    order, scores = brute_force_best(sequences, log_probs, alpha)
    assert sequences[order[0]] == winner
    ((best,),) = beam_search(model, [[0]], 2, 6, eos_id=1, length_penalty=alpha)
    assert best.tokens == winner and best.score == pytest.approx(scores[order[0]], abs=1e-5)


def test_decoding_ends_once_no_live_hypothesis_can_win():
    calls = []

    class Counting(Bigram):
        def call_with_cache(self, *args, **kwargs):
            calls.append(1)
            return super().call_with_cache(*args, **kwargs)

    # With alpha = 0, "eos" (-0.994) is finished at the first step; two steps later every live hypothesis
    # has a lower log-probability, and no more tokens can raise it.
    model = Counting(np.exp(length_choice_model().table))
    ((best,),) = beam_search(model, [[0]], 3, 20, eos_id=1, jit=False)
    assert best.tokens == [1]
    assert len(calls) <= 4                           # the prefill and at most 3 steps, not 19


def test_finished_hypotheses_stop_growing_at_the_stop_token(rope_gpt):
    prompts = random_prompts((4, 9, 2), seed=3)
    free = beam_search(rope_gpt, prompts, 4, 8, num_return=4, max_length=CACHE)
    stop = free[0][0].tokens[2]                  # a token the best hypothesis of prompt 0 emits
    results = beam_search(rope_gpt, prompts, 4, 8, num_return=4, eos_id=stop, max_length=CACHE)
    ended = 0
    for hyps in results:
        assert len(hyps) == 4 and [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)
        for hypothesis in hyps:
            assert stop not in hypothesis.tokens[:-1]         # nothing after the stop token
            assert len(hypothesis.tokens) == 8 or hypothesis.tokens[-1] == stop
            ended += hypothesis.tokens[-1] == stop and len(hypothesis.tokens) < 8
    assert ended > 0
    for prompt, hyps in zip(prompts, results):
        expected = gpt_log_probs(rope_gpt, prompt, [h.tokens for h in hyps])
        np.testing.assert_allclose([h.log_prob for h in hyps], expected, atol=1e-4)


@pytest.mark.parametrize("jit", [True, False])
def test_each_prompt_in_a_batch_gets_its_result_alone(rope_gpt, jit):
    prompts = random_prompts((5, 1, 20), seed=5)
    together = beam_search(rope_gpt, prompts, 3, 6, num_return=3, eos_id=9, length_penalty=0.6,
                           max_length=CACHE, jit=jit)
    for prompt, hyps in zip(prompts, together):
        (alone,) = beam_search(rope_gpt, [prompt], 3, 6, num_return=3, eos_id=9, length_penalty=0.6,
                               max_length=CACHE, jit=jit)
        assert [h.tokens for h in hyps] == [h.tokens for h in alone]
        np.testing.assert_allclose([h.score for h in hyps], [h.score for h in alone], atol=1e-4)


@pytest.mark.parametrize("alpha", [0.0, 0.8])
def test_the_device_loop_makes_the_host_loops_choices(rope_gpt, alpha):
    # jit=True runs the search as one compiled loop on the device, jit=False step by step with the
    # bookkeeping in NumPy: the same hypotheses, in the same order.
    prompts = random_prompts((3, 8, 1, 14), seed=6)
    free = beam_search(rope_gpt, prompts, 3, 7, max_length=CACHE)
    stop = free[1][0].tokens[1]
    kwargs = dict(eos_id=stop, length_penalty=alpha, num_return=3, max_length=CACHE)
    device = beam_search(rope_gpt, prompts, 3, 7, **kwargs)
    host = beam_search(rope_gpt, prompts, 3, 7, jit=False, **kwargs)
    assert [[h.tokens for h in hyps] for hyps in device] == [[h.tokens for h in hyps] for hyps in host]
    np.testing.assert_allclose([[h.score for h in hyps] for hyps in device],
                               [[h.score for h in hyps] for hyps in host], atol=1e-4)
    assert any(len(h.tokens) < 7 for hyps in device for h in hyps)        # some hypotheses stopped


class ToySeq2Seq:
    """An encoder-decoder with the interface beam_search expects: the next-token logits are a bigram
    table's row plus the masked mean of the context (the encoder output) projected to the vocabulary."""

    vocab_size = 4

    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self.table = rng.normal(0, 1.5, (4, 4)).astype("float32")
        self.projection = rng.normal(0, 1.5, (3, 4)).astype("float32")

    def init_cache(self, batch, max_length):
        return [ops.zeros((batch, max_length), "int32")]

    def bias(self, context, context_mask):
        context, weights = ops.convert_to_tensor(context), ops.cast(context_mask, "float32")[:, :, None]
        summary = ops.sum(context * weights, axis=1) / ops.sum(weights, axis=1)
        return ops.matmul(summary, ops.convert_to_tensor(self.projection))

    def call_with_cache(self, target_ids, cache, cache_index, context, context_mask, logits_at=None):
        logits = ops.take(ops.convert_to_tensor(self.table), target_ids, axis=0)
        logits = logits + self.bias(context, context_mask)[:, None, :]
        if logits_at is not None:
            logits = ops.take(logits, ops.reshape(ops.cast(logits_at, "int32"), (1,)), axis=1)
        written = ops.slice_update(cache[0], (ops.zeros((), "int32"), ops.cast(cache_index, "int32")), target_ids)
        return logits, [written]


def test_an_encoder_decoder_plugs_in_with_its_context():
    model = ToySeq2Seq()
    rng = np.random.default_rng(1)
    context = rng.normal(size=(3, 5, 3)).astype("float32")
    mask = np.arange(5)[None, :] < np.array([5, 2, 4])[:, None]
    context[~mask] = 100.0                                    # padding that must be masked out
    results = beam_search(model, [[0]] * 3, 4, 3, eos_id=3, context=context, context_mask=mask, num_return=2)
    for row, hyps in enumerate(results):
        length = int(mask[row].sum())
        (alone,) = beam_search(model, [[0]], 4, 3, eos_id=3, context=context[row:row + 1, :length],
                               context_mask=np.ones((1, length), bool), num_return=2)
        assert [h.tokens for h in hyps] == [h.tokens for h in alone]
        bias = to_numpy(model.bias(context[row:row + 1], mask[row:row + 1]))[0]
        table = log_softmax(model.table + bias)
        sequences = list(hypotheses(4, 3, {3}))
        log_probs = [sum(table[a, b] for a, b in zip([0, *s[:-1]], s)) for s in sequences]
        order, _ = brute_force_best(sequences, log_probs, 0.0)
        assert hyps[0].tokens == sequences[order[0]]
        assert hyps[0].log_prob == pytest.approx(log_probs[order[0]], abs=1e-4)
    assert len({tuple(hyps[0].tokens) for hyps in results}) > 1     # the context changes the translation
    with pytest.raises(ValueError, match="context has 3 rows for 2"):
        beam_search(model, [[0]] * 2, 2, 3, context=context, context_mask=mask)
    with pytest.raises(ValueError, match="one length"):
        beam_search(model, [[0], [0, 1], [0]], 2, 3, context=context, context_mask=mask)
    with pytest.raises(ValueError, match="context_mask must have shape"):
        EncoderDecoderBeams(model, context, mask[:, :3])


def test_bad_input_is_refused_with_a_clear_error(rope_gpt):
    prompts = [[1, 2], [3]]
    with pytest.raises(ValueError, match="beam_size"):
        beam_search(rope_gpt, prompts, 0, 4)
    with pytest.raises(ValueError, match="larger than the search space"):
        beam_search(rope_gpt, prompts, VOCAB + 1, 1)
    with pytest.raises(ValueError, match="prompt 1: prompt_ids is empty"):
        beam_search(rope_gpt, [[1], []], 2, 4)
    with pytest.raises(ValueError, match="prompts is empty"):
        beam_search(rope_gpt, [], 2, 4)
    with pytest.raises(ValueError, match="max_length=20 cannot hold"):
        beam_search(rope_gpt, prompts, 2, 10, max_length=20)
    with pytest.raises(ValueError, match="max_new_tokens"):
        beam_search(rope_gpt, prompts, 2, 0)
    with pytest.raises(ValueError, match="num_return=3 is more than beam_size=2"):
        beam_search(rope_gpt, prompts, 2, 4, num_return=3)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        beam_search(rope_gpt, prompts, 2, 4, eos_id=VOCAB)
    with pytest.raises(ValueError, match="length_penalty must be finite"):
        beam_search(rope_gpt, prompts, 2, 4, length_penalty=float("nan"))
    with pytest.raises(TypeError, match="encode it first"):
        beam_search(rope_gpt, ["some text"], 2, 4)
