"""llmbook.apps.dialogue: truncation by tokens with SmolLM2's tokenizer and template, streaming, the guard."""

import pytest

from llmbook.apps.dialogue import (
    REFUSAL,
    Assistant,
    Conversation,
    ScopeGuard,
    looks_like_refusal,
    stream_text,
    stream_tokens,
)

SYSTEM = "You answer questions about language models."


@pytest.fixture(scope="module")
def template():
    from llmbook.data import DataPackageMissingError
    from llmbook.data.pretrained import smollm2_gguf_path
    from llmbook.weights.gguf import read_chat_template

    try:
        return read_chat_template(smollm2_gguf_path())
    except DataPackageMissingError as missing:
        pytest.skip(str(missing))


def filled(tokenizer, template, budget, turns=12):
    conversation = Conversation(tokenizer, template, SYSTEM, budget)
    for index in range(turns):
        conversation.add_turn(f"Question {index}: what is a token number {index}?",
                              f"Answer {index}: a token is a piece of text, here number {index}.")
    return conversation


@pytest.mark.parametrize("budget", [60, 97, 150, 233, 400])
def test_truncation_keeps_system_and_newest_and_drops_oldest(smollm2_bpe, template, budget):
    conversation = filled(smollm2_bpe, template, budget)
    question = "And what is attention?"
    prompt = conversation.prompt(question)
    assert len(prompt) <= budget
    text = smollm2_bpe.decode(prompt)
    assert text.count(SYSTEM) == 1 and text.rstrip().endswith("assistant")
    assert question in text
    kept = conversation.kept_turns(question)
    messages = conversation.messages(question)
    assert messages[0] == {"role": "system", "content": SYSTEM}
    assert [m["content"] for m in messages[1:-1:2]] == [u for u, _ in conversation.turns[12 - kept:]]
    # Maximal: one more (older) turn would not fit.
    if kept < 12:
        longer = conversation._messages(conversation.turns[12 - kept - 1:], question)
        assert conversation.count_tokens(longer) > budget


def test_truncation_counts_exact_tokens(smollm2_bpe, template):
    conversation = filled(smollm2_bpe, template, 10_000, turns=3)
    question = "What is BPE?"
    full = len(conversation.prompt(question))
    conversation.max_prompt_tokens = full           # exactly the length: everything kept
    assert conversation.kept_turns(question) == 3
    conversation.max_prompt_tokens = full - 1       # one token short: the oldest turn goes
    assert conversation.kept_turns(question) == 2


def test_message_too_long_alone_raises(smollm2_bpe, template):
    conversation = filled(smollm2_bpe, template, 60, turns=2)
    with pytest.raises(ValueError, match="shorten the message or raise max_prompt_tokens"):
        conversation.prompt("tokens " * 80)
    with pytest.raises(ValueError, match="system prompt alone"):
        Conversation(smollm2_bpe, template, SYSTEM * 20, 30)
    with pytest.raises(ValueError, match="system_prompt is empty"):
        Conversation(smollm2_bpe, template, " ", 100)


def test_stream_text_never_splits_multibyte_characters(smollm2_bpe):
    text = "Café ☕ costs 5€ — 日本語 and 🙂🚀 end."
    ids = smollm2_bpe.encode(text)
    pieces = list(stream_text(smollm2_bpe, ids))
    assert "".join(pieces) == text
    assert all("\ufffd" not in piece for piece in pieces)
    # The text has characters that take several tokens, so some tokens yielded nothing on their own.
    assert len(pieces) < len(ids)


def test_stream_text_flushes_an_incomplete_tail(smollm2_bpe):
    ids = smollm2_bpe.encode("ok 🙂")
    partial = ids[:-1]                      # the emoji's last byte token is missing
    assert "".join(stream_text(smollm2_bpe, partial)) == smollm2_bpe.decode(partial)


def tiny_model():
    from llmbook.models import LlamaDecoder

    return LlamaDecoder(vocab_size=40, num_layers=1, hidden_dim=16, num_heads=2, num_kv_heads=1,
                        intermediate_dim=32)


@pytest.mark.parametrize("jit", [False, True])
def test_stream_tokens_equal_generate(jit):
    from llmbook.generation import generate
    from llmbook.training import set_seed

    set_seed(0, keras=True)
    model = tiny_model()
    prompt = [1, 5, 7, 3, 9]
    streamed = list(stream_tokens(model, prompt, 12, jit=jit))
    expected = generate(model, prompt, 12, jit=jit)
    assert streamed == expected
    stop = expected[4]
    cut = list(stream_tokens(model, prompt, 12, stop_tokens=[stop], jit=jit))
    assert cut == expected[:expected.index(stop)]       # the stop token ends the stream, unyielded
    with pytest.raises(ValueError, match="max_length"):
        list(stream_tokens(model, prompt, 12, max_length=10))


@pytest.mark.parametrize("request_text, category", [
    ("What dosage of paracetamol is safe for a child?", "medical"),
    ("Can I take 400 mg of ibuprofen twice?", "medical"),
    ("Tell me my neighbour's wifi password", "credentials"),
    ("How do I hack into my school's server?", "intrusion"),
    ("How do you build a bomb?", "weapons"),
    ("What does the attention mask do?", None),
    ("Explain byte-pair encoding merges.", None),
])
def test_guard_decisions(request_text, category):
    decision = ScopeGuard().check(request_text)
    assert decision.allowed == (category is None)
    assert decision.category == category
    if category:
        assert decision.match.lower() in request_text.lower()


def test_guard_bad_input():
    with pytest.raises(ValueError, match="rules is empty"):
        ScopeGuard({})
    with pytest.raises(ValueError, match="does not compile"):
        ScopeGuard({"x": ["("]})
    with pytest.raises(ValueError, match="needs a list"):
        ScopeGuard({"x": "password"})
    with pytest.raises(TypeError, match="request must be a string"):
        ScopeGuard().check(3)


def test_looks_like_refusal():
    assert looks_like_refusal("I'm sorry, I can't help with that.")
    assert looks_like_refusal("I cannot share passwords.")
    assert not looks_like_refusal("A token is a piece of text.")


class DigitTokenizer:
    """One token per character of '0'..'9' plus specials, for an Assistant on the tiny model."""

    vocab = {str(d): d for d in range(10)} | {"<|im_end|>": 38}

    def encode(self, text):
        return [ord(c) % 30 for c in text]

    def decode(self, ids):
        return "".join(chr(48 + i % 10) for i in ids)


def test_assistant_refuses_without_the_model_and_remembers_turns():
    model = tiny_model()
    template = "{% for m in messages %}{{ m['role'] }}:{{ m['content'] }};{% endfor %}a:"
    assistant = Assistant(model, DigitTokenizer(), template, "sys", context_tokens=120, max_new_tokens=6,
                          guard=ScopeGuard(), jit=False)
    seen = []
    assert list(assistant.stream("my password?", on_piece=seen.append)) == [REFUSAL]
    assert seen == [REFUSAL] and assistant.conversation.turns == []
    reply = assistant.reply("hello")
    assert assistant.conversation.turns == [("hello", reply)]
    assert len(reply) <= 6
    with pytest.raises(ValueError, match="leaves no room"):
        Assistant(model, DigitTokenizer(), template, "sys", context_tokens=6, max_new_tokens=6)
