"""The language models the prompting methods call: any ``prompt -> text`` callable, or a chat model.

A *completion* model is any callable that takes the prompt text and returns the continuation: a Python
function, :class:`LocalModel` (one of the book's decoders with its tokenizer), or a test double. A *chat*
model takes a conversation, ``[{"role": ..., "content": ...}, ...]``, and returns the assistant's reply;
wrap such a callable in :class:`ChatModel` so the prompting methods send it messages instead of text.
:func:`local_chat` (an instruction-tuned decoder such as SmolLM2 and its chat template) and
:class:`~llmbook.prompting.http.OpenAIChat` (a server: llama.cpp, Ollama, vLLM) are chat models.

>>> echo = ChatModel(lambda messages: messages[-1]["content"].upper())   # a test double
>>> echo([{"role": "user", "content": "hi"}])
'HI'
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

from llmbook.generation.chat import check_messages
from llmbook.validation import positive_int


class LanguageModelError(RuntimeError):
    """A language model could not give a reply: no server, a timeout, an error status or a malformed reply."""


class ChatModel:
    """A chat model: called with a list of messages, returns the reply text.

    Args:
        reply: a callable ``messages -> str``.
        system: an optional system message put before every conversation.

    Raises:
        TypeError: if ``reply`` is not callable or ``system`` not a string.
    """

    def __init__(self, reply: Callable[[list[dict]], str], system: str | None = None):
        if not callable(reply):
            raise TypeError(f"reply must be a callable messages -> text, got {type(reply).__name__}")
        if system is not None and not isinstance(system, str):
            raise TypeError(f"system must be a string or None, got {type(system).__name__}")
        self.reply, self.system = reply, system

    def __call__(self, messages: Sequence[Mapping[str, str]]) -> str:
        """The reply to ``messages`` (checked by :func:`llmbook.generation.check_messages`).

        Raises:
            ValueError: for malformed messages.
            TypeError: if the wrapped callable does not return a string.
        """
        messages = check_messages(messages)
        if self.system is not None and messages[0]["role"] != "system":
            messages = [{"role": "system", "content": self.system}] + messages
        reply = self.reply(messages)
        if not isinstance(reply, str):
            raise TypeError(f"the chat model returned {type(reply).__name__}, not the reply text")
        return reply


def _default_stop_tokens(tokenizer) -> list[int]:
    vocab = getattr(tokenizer, "vocab", {})
    return [vocab[token] for token in ("<|im_end|>", "<|endoftext|>", "</s>") if token in vocab]


class LocalModel:
    """A completion model ``prompt -> text`` from one of the book's decoders and its tokenizer.

    Call it with one prompt, or give :meth:`batch` many: with rotary positions (SmolLM2, ``LlamaDecoder``,
    ``GPT(positions="rope")``) and greedy decoding they are decoded together by
    :func:`llmbook.generation.generate_batch`, ``batch_size`` at a time; otherwise one at a time.

    Args:
        model: a decoder with the KV-cache interface (``GPT``, ``LlamaDecoder``, SmolLM2 from
            :func:`llmbook.weights.gguf.load_smollm2`).
        tokenizer: an object with ``encode(text) -> ids`` and ``decode(ids) -> text``.
        max_new_tokens: the longest continuation, in tokens.
        stop_tokens: ids that end the continuation (not included in the text), besides the tokenizer's
            end-of-text tokens (``<|im_end|>``, ``<|endoftext|>``, ``</s>`` where its ``vocab`` has them).
            A few-shot reply ends at a blank line: where ``"\\n\\n"`` is one token,
            ``stop_tokens=tokenizer.encode("\\n\\n")`` saves decoding past it.
        max_length: static cache size; reuse one value so that prompts of different lengths share the
            compiled decoder.
        batch_size: the most prompts :meth:`batch` decodes together.
        **sampling: ``temperature``, ``top_k``, ``top_p``, ``seed`` for :func:`llmbook.generation.generate`
            (default greedy; sampling decodes one prompt at a time).

    Raises:
        ValueError: for a non-positive ``max_new_tokens`` or ``batch_size``.
    """

    def __init__(self, model, tokenizer, *, max_new_tokens: int = 64, stop_tokens: Sequence[int] | None = None,
                 max_length: int | None = None, batch_size: int = 32, **sampling):
        self.model, self.tokenizer = model, tokenizer
        self.max_new_tokens = positive_int("max_new_tokens", max_new_tokens)
        self.batch_size = positive_int("batch_size", batch_size)
        extra = [] if stop_tokens is None else [int(t) for t in stop_tokens]
        self.stop_tokens = sorted(set(_default_stop_tokens(tokenizer)) | set(extra))
        self.max_length, self.sampling = max_length, sampling

    def _text(self, ids: list[int]) -> str:
        if ids and ids[-1] in self.stop_tokens:
            ids = ids[:-1]
        return self.tokenizer.decode(ids)

    def __call__(self, prompt: str) -> str:
        """The continuation of ``prompt``."""
        from llmbook.generation.decoding import generate

        ids = self.tokenizer.encode(prompt)
        length = None if self.max_length is None else max(self.max_length, len(ids) + self.max_new_tokens)
        return self._text(generate(self.model, ids, self.max_new_tokens, stop_tokens=self.stop_tokens,
                                   max_length=length, **self.sampling))

    def batch(self, prompts: Sequence[str]) -> list[str]:
        """The continuations of ``prompts``, in order; decoded together where the model allows it."""
        from llmbook.generation.batch import generate_batch
        from llmbook.generation.decoding import PREFILL_CHUNK

        greedy = not self.sampling.get("temperature", 0)
        if getattr(self.model, "position_embedding", None) is not None or not greedy:
            return [self(prompt) for prompt in prompts]
        texts = []
        for start in range(0, len(prompts), self.batch_size):
            rows = [self.tokenizer.encode(prompt) for prompt in prompts[start:start + self.batch_size]]
            needed = max(PREFILL_CHUNK, max(map(len, rows))) + self.max_new_tokens
            length = None if self.max_length is None else max(self.max_length, needed)
            texts += [self._text(ids) for ids in generate_batch(self.model, rows, self.max_new_tokens,
                                                                stop_tokens=self.stop_tokens, max_length=length)]
        return texts


class LocalChat(ChatModel):
    """A :class:`ChatModel` from an instruction-tuned decoder, its tokenizer and chat template, with a
    :meth:`batch` method that decodes many conversations together.

    One conversation: rendered with ``template``, answered by :func:`llmbook.generation.chat`. Many
    (:meth:`batch`, which :func:`~llmbook.prompting.run_batch` uses): rendered, then decoded greedily
    ``batch_size`` at a time by :func:`llmbook.generation.generate_batch`, which prefills the rendered
    prompts' common beginning (the system turn and the few-shot exemplars) once per batch.

    Args:
        model, tokenizer, template: for example ``load_smollm2()``'s three results.
        system: an optional system message before every conversation (else the template's default).
        max_new_tokens: the longest reply, in tokens.
        max_length: static cache size (reuse one value to reuse the compiled decoder); it grows for a
            batch that needs more.
        batch_size: how many conversations :meth:`batch` decodes together; every group is decoded at this
            size (a short one filled up with copies), so that one compiled decoder serves them all.
        **sampling: ``temperature``, ``top_k``, ``top_p``, ``seed`` (default greedy; sampling answers
            one conversation at a time).

    Raises:
        ValueError: for a non-positive ``max_new_tokens`` or ``batch_size``.
    """

    def __init__(self, model, tokenizer, template: str, *, system: str | None = None, max_new_tokens: int = 64,
                 max_length: int | None = None, batch_size: int = 32, **sampling):
        from llmbook.generation.chat import chat

        self.max_new_tokens = positive_int("max_new_tokens", max_new_tokens)
        self.batch_size = positive_int("batch_size", batch_size)
        self.model, self.tokenizer, self.template = model, tokenizer, template
        self.max_length, self.sampling = max_length, sampling
        self.stop_tokens = _default_stop_tokens(tokenizer)
        super().__init__(lambda messages: chat(model, tokenizer, template, messages, max_new_tokens=self.max_new_tokens,
                                               max_length=self.max_length, **sampling), system=system)

    def _conversation(self, messages) -> list[dict]:
        messages = check_messages(messages)
        if self.system is not None and messages[0]["role"] != "system":
            messages = [{"role": "system", "content": self.system}] + messages
        return messages

    def batch(self, conversations: Sequence[Sequence[Mapping[str, str]]]) -> list[str]:
        """The replies to ``conversations``, in order: each the reply that calling the model on it gives (up to
        round-off on near ties), decoded ``batch_size`` at a time.

        Raises:
            ValueError: for malformed messages.
        """
        from llmbook.generation.batch import BATCH_PREFILL_CHUNK, generate_batch
        from llmbook.generation.chat import render_chat

        if self.sampling.get("temperature", 0):
            return [self(conversation) for conversation in conversations]
        rows = [self.tokenizer.encode(render_chat(self.template, self._conversation(conversation)))
                for conversation in conversations]
        replies = []
        for start in range(0, len(rows), self.batch_size):
            group = rows[start:start + self.batch_size]
            real = len(group)
            # A short group is filled up with copies of its first row (their replies are dropped): every
            # group then has one shape, and one compiled decoder serves them all instead of one per size.
            group = group + [group[0]] * (self.batch_size - real)
            needed = max(BATCH_PREFILL_CHUNK, max(map(len, group))) + self.max_new_tokens
            length = needed if self.max_length is None else max(self.max_length, needed)
            for ids in generate_batch(self.model, group, self.max_new_tokens, stop_tokens=self.stop_tokens,
                                      max_length=length)[:real]:
                if ids and ids[-1] in self.stop_tokens:
                    ids = ids[:-1]
                replies.append(self.tokenizer.decode(ids))
        return replies


def local_chat(model, tokenizer, template: str, *, system: str | None = None, max_new_tokens: int = 64,
               max_length: int | None = None, batch_size: int = 32, **sampling) -> LocalChat:
    """A :class:`LocalChat`: a chat model from an instruction-tuned decoder, its tokenizer and chat template.

    Each call renders the conversation with ``template`` and generates the reply with
    :func:`llmbook.generation.chat` (which stops at ``<|im_end|>`` or ``<|endoftext|>``); its ``batch``
    method decodes many conversations together.

    Args:
        model, tokenizer, template: for example ``load_smollm2()``'s three results.
        system: an optional system message before every conversation.
        max_new_tokens: the longest reply, in tokens.
        max_length: static cache size (reuse one value to reuse the compiled decoder).
        batch_size: the most conversations ``batch`` decodes together.
        **sampling: ``temperature``, ``top_k``, ``top_p``, ``seed`` (default greedy).

    Returns:
        A chat model.

    Raises:
        ValueError: for a non-positive ``max_new_tokens`` or ``batch_size``.
    """
    return LocalChat(model, tokenizer, template, system=system, max_new_tokens=max_new_tokens,
                     max_length=max_length, batch_size=batch_size, **sampling)
