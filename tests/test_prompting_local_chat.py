"""llmbook.prompting.LocalChat: a local decoder as a chat model whose batch() decodes many conversations
together (shared few-shot prefix, the last group filled up) and gives each the reply it gets alone."""

import pytest

TEMPLATE = ("{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}"
            "{% if add_generation_prompt %}<assistant>{% endif %}")


class ByteTokenizer:
    """UTF-8 bytes as ids 1..256; id 0 is never produced (the pad)."""

    vocab = {}

    def encode(self, text):
        return [byte + 1 for byte in text.encode("utf-8")]

    def decode(self, ids):
        return bytes(i - 1 for i in ids if i).decode("utf-8", "replace")


@pytest.fixture(scope="module")
def tiny():
    from llmbook.models import GPT
    from llmbook.training import set_seed

    set_seed(5, keras=True)
    return GPT(vocab_size=257, max_length=256, num_layers=1, num_heads=2, hidden_dim=16, positions="rope")


def conversations():
    from llmbook.prompting import LAST_LETTER, Prompt

    shots = tuple((e.question, e.answer) for e in LAST_LETTER.standard)
    return [Prompt(shots, question).messages for question in ("ab, cd", "x", "tree, leaf, root", "q, r", "moon")]


def test_batch_gives_each_conversation_its_own_reply(tiny):
    from llmbook.prompting import LocalChat, local_chat

    chat_model = local_chat(tiny, ByteTokenizer(), TEMPLATE, system="Be brief.", max_new_tokens=5,
                            max_length=160, batch_size=2)
    assert isinstance(chat_model, LocalChat)
    alone = [chat_model(messages) for messages in conversations()]
    assert chat_model.batch(conversations()) == alone           # 3 groups of 2, the last one filled up
    assert len(set(alone)) > 1                                  # the replies depend on the conversation
    # The system message is part of what the model sees: another one changes some reply.
    other = local_chat(tiny, ByteTokenizer(), TEMPLATE, system="Answer in full sentences, please.",
                       max_new_tokens=5, max_length=160, batch_size=2)
    assert other.batch(conversations()) != alone


def test_run_batch_uses_the_batch_method(tiny):
    from llmbook.prompting import LAST_LETTER, LocalChat, run_batch, standard

    calls = []

    class Counting(LocalChat):
        def batch(self, conversations):
            calls.append(len(conversations))
            return super().batch(conversations)

    chat_model = Counting(tiny, ByteTokenizer(), TEMPLATE, max_new_tokens=4, max_length=160, batch_size=8)
    traces = run_batch(standard, chat_model, ["ab, cd", "x", "q, r"], exemplars=LAST_LETTER.standard)
    assert calls == [3]
    assert [t.steps[0].reply for t in traces] == [
        standard(chat_model, q, LAST_LETTER.standard).steps[0].reply for q in ["ab, cd", "x", "q, r"]]


def test_bad_arguments_are_refused(tiny):
    from llmbook.prompting import LocalChat

    with pytest.raises(ValueError, match="batch_size"):
        LocalChat(tiny, ByteTokenizer(), TEMPLATE, batch_size=0)
    with pytest.raises(ValueError, match="max_new_tokens"):
        LocalChat(tiny, ByteTokenizer(), TEMPLATE, max_new_tokens=0)
    with pytest.raises(ValueError, match="role"):
        LocalChat(tiny, ByteTokenizer(), TEMPLATE).batch([[{"role": "robot", "content": "hi"}]])
