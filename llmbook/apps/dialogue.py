"""A multi-turn assistant: memory of the turns cut to the context window by tokens, streamed replies,
and a scope guard in front of the model.

Three parts, each usable alone:

- :class:`Conversation` keeps the system prompt and the finished turns, and renders the prompt for the
  next user message with the model's chat template. When the rendered prompt would exceed the token
  budget, it drops the **oldest whole turns** first; the system prompt and the newest user message are
  always kept, and a message that cannot fit even alone raises an error (it is never cut silently).
- :func:`stream_tokens` and :func:`stream_text` decode greedily one token at a time and yield text
  pieces as they are decoded, holding back the bytes of a character that is not complete yet, so a
  multi-byte character (``é``, ``€``, an emoji) is never shown as broken text.
- :class:`ScopeGuard` is a keyword rule that refuses out-of-scope requests (medical dosages, passwords
  and credentials, break-ins, weapons) before they reach the model: a deterministic rule, because a
  135M model does not follow a system prompt that tells it to refuse.

:class:`Assistant` puts them together:

>>> from llmbook.apps.dialogue import ScopeGuard
>>> ScopeGuard().check("What dosage of ibuprofen should I take?").category
'medical'
>>> ScopeGuard().check("How does byte-pair encoding work?").allowed
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Mapping, Sequence

from llmbook.generation.chat import render_chat
from llmbook.validation import positive_int

# What the assistant answers, and what it says instead when the guard refuses.
SCOPE = ("questions about language models and this book's topics: text as data, tokenizers, embeddings, "
         "attention, Transformers, training, generation, retrieval")
REFUSAL = ("I can only help with questions about language models and this book. "
           "I can't help with that request.")

# Out-of-scope categories and the patterns that mark a request as one (matched case-insensitively).
OUT_OF_SCOPE_RULES: dict[str, tuple[str, ...]] = {
    "medical": (r"\bdos(e|es|age|ages|ing)\b", r"\b\d+\s?(mg|milligrams?|ml)\b", r"\bprescri(be|ption)\w*",
                r"\boverdose\b", r"\bhow many (pills|tablets|capsules)\b"),
    "credentials": (r"\bpass(word|words|code|codes|phrase)\b", r"\bpin (code|number)\b",
                    r"\blog-?in details\b", r"\bcredentials?\b", r"\bapi keys?\b", r"\bsecret keys?\b"),
    "intrusion": (r"\bhack(s|ing|ed)?\b", r"\bbreak into\b", r"\bphish\w*", r"\bmalware\b", r"\bkeylogger\b",
                  r"\bsteal\w*\b"),
    "weapons": (r"\bbombs?\b", r"\bexplosives?\b", r"\bweapons?\b", r"\bfirearms?\b"),
}

# Phrases by which a reply declines (used to measure whether the bare model refuses).
REFUSAL_PATTERN = re.compile(r"\b(sorry|apologi[sz]e|can(no|')t|can not|unable|not able|won't|not allowed|"
                             r"not appropriate|refuse|i must decline)\b", re.IGNORECASE)


def looks_like_refusal(text: str) -> bool:
    """Whether ``text`` declines, by ``REFUSAL_PATTERN`` ("sorry", "I can't", "unable", ...).

    Raises:
        TypeError: if ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    return bool(REFUSAL_PATTERN.search(text))


@dataclass(frozen=True)
class GuardDecision:
    """The guard's verdict on one request: ``allowed``, and for a refusal the ``category`` and the text
    that matched (``match``), so every refusal can be explained."""

    allowed: bool
    category: str | None = None
    match: str | None = None


class ScopeGuard:
    """A deterministic scope rule: a request that matches any pattern of ``OUT_OF_SCOPE_RULES`` (or of
    ``rules``) is refused; everything else goes to the model.

    Keywords are blunt: a question *about* passwords in a tokenizer's vocabulary is refused too (a false
    refusal), and a harmful request phrased without the keywords gets through. The chapter measures both
    on a labelled set.

    Args:
        rules: category -> regular expressions; default ``OUT_OF_SCOPE_RULES``.

    Raises:
        ValueError: for no rules, a category without patterns, or a pattern that does not compile.
    """

    def __init__(self, rules: Mapping[str, Sequence[str]] | None = None):
        rules = OUT_OF_SCOPE_RULES if rules is None else rules
        if not isinstance(rules, Mapping) or not rules:
            raise ValueError("rules is empty: give {category: [regular expressions]}")
        self.rules = {}
        for category, patterns in rules.items():
            if isinstance(patterns, str) or not patterns:
                raise ValueError(f"category {category!r} needs a list of patterns, got {patterns!r}")
            try:
                self.rules[category] = [re.compile(p, re.IGNORECASE) for p in patterns]
            except re.error as error:
                raise ValueError(f"a pattern of category {category!r} does not compile: {error}") from error

    def check(self, request: str) -> GuardDecision:
        """The decision for one request: the first matching category refuses it.

        Raises:
            TypeError: if ``request`` is not a string.
        """
        if not isinstance(request, str):
            raise TypeError(f"request must be a string, got {type(request).__name__}")
        for category, patterns in self.rules.items():
            for pattern in patterns:
                found = pattern.search(request)
                if found:
                    return GuardDecision(False, category, found.group(0))
        return GuardDecision(True)


class Conversation:
    """The turns so far, and the prompt for the next message cut to a token budget.

    The prompt is the chat template's rendering of ``[system] + kept turns + [new user message]`` with
    the assistant header at the end. Turns are dropped whole, oldest first, until the encoded prompt has
    at most ``max_prompt_tokens`` tokens; the system prompt and the new user message are never dropped.

    Args:
        tokenizer: with ``encode(text) -> ids`` (the model's own: the budget is in its tokens).
        template: the chat template (:func:`llmbook.weights.gguf.load_smollm2` returns it).
        system_prompt: the system message, kept in every prompt.
        max_prompt_tokens: the budget for the prompt: the context window minus the reply's tokens.

    Raises:
        ValueError: for an empty system prompt, or if the system prompt alone (with an empty user
            message) does not fit the budget.
        TypeError: if ``max_prompt_tokens`` is not an int.
    """

    def __init__(self, tokenizer, template: str, system_prompt: str, max_prompt_tokens: int):
        if not isinstance(system_prompt, str) or not system_prompt.strip():
            raise ValueError("system_prompt is empty: say what the assistant is and what it answers")
        self.tokenizer, self.template = tokenizer, template
        self.system_prompt = system_prompt
        self.max_prompt_tokens = positive_int("max_prompt_tokens", max_prompt_tokens)
        self.turns: list[tuple[str, str]] = []
        floor = self.count_tokens(self._messages([], ""))
        if floor > self.max_prompt_tokens:
            raise ValueError(f"the system prompt alone renders to {floor} tokens, over max_prompt_tokens="
                             f"{self.max_prompt_tokens}: shorten it or raise the budget")

    def add_turn(self, user: str, assistant: str) -> None:
        """Remember a finished turn (the user's message and the assistant's reply).

        Raises:
            TypeError: if either is not a string.
        """
        if not isinstance(user, str) or not isinstance(assistant, str):
            raise TypeError("a turn is two strings: the user's message and the assistant's reply")
        self.turns.append((user, assistant))

    def _messages(self, turns, user_message: str) -> list[dict]:
        messages = [{"role": "system", "content": self.system_prompt}]
        for user, assistant in turns:
            messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
        return messages + [{"role": "user", "content": user_message}]

    def count_tokens(self, messages) -> int:
        """The length in tokens of ``messages`` rendered with the assistant header."""
        return len(self.tokenizer.encode(render_chat(self.template, messages, add_generation_prompt=True)))

    def kept_turns(self, user_message: str) -> int:
        """How many of the newest turns fit in the budget with the system prompt and ``user_message``.

        Raises:
            ValueError: if ``user_message`` does not fit even with no turns; the message gives both
                token counts and the fixes (a shorter message, a larger budget).
            TypeError: if ``user_message`` is not a string.
        """
        if not isinstance(user_message, str):
            raise TypeError(f"user_message must be a string, got {type(user_message).__name__}")
        def fits(kept: int) -> bool:
            turns = self.turns[len(self.turns) - kept:] if kept else []
            return self.count_tokens(self._messages(turns, user_message)) <= self.max_prompt_tokens

        # Keeping fewer (newest) turns never makes the prompt longer, so the largest number that fits is
        # found by bisection: O(log turns) renderings instead of one per turn.
        low, high = 0, len(self.turns)
        if fits(high):
            return high
        if fits(0):
            while high - low > 1:                       # fits(low) and not fits(high)
                middle = (low + high) // 2
                low, high = (middle, high) if fits(middle) else (low, middle)
            return low
        alone = self.count_tokens(self._messages([], user_message))
        raise ValueError(f"the message renders to {alone} tokens with the system prompt, over the budget of "
                         f"{self.max_prompt_tokens}: shorten the message or raise max_prompt_tokens")

    def messages(self, user_message: str) -> list[dict]:
        """The messages that go to the model for ``user_message``: system, kept turns, the message."""
        kept = self.kept_turns(user_message)
        return self._messages(self.turns[len(self.turns) - kept:], user_message)

    def prompt(self, user_message: str) -> list[int]:
        """The token ids of the prompt for ``user_message``, at most ``max_prompt_tokens`` long."""
        text = render_chat(self.template, self.messages(user_message), add_generation_prompt=True)
        return self.tokenizer.encode(text)


def stream_tokens(model, prompt_ids: Sequence[int], max_new_tokens: int, *, stop_tokens: Iterable[int] = (),
                  max_length: int | None = None, jit: bool = True) -> Iterator[int]:
    """Greedy decoding that yields each new token id as soon as it is chosen; a stop token ends the stream
    and is not yielded.

    The prefill and the step are :func:`~llmbook.generation.generate`'s own (with ``jit=False`` both run
    eagerly, with no compilation), so the ids are the ones ``generate`` gives greedily.

    Raises:
        ValueError: as :func:`~llmbook.generation.generate` does (empty prompt, ids outside the vocabulary,
            ``max_new_tokens < 1``, ``max_length`` too small).
    """
    import numpy as np
    from keras import ops

    from llmbook.generation.decoding import _check_prompt, _compiled, _prefill

    prompt = _check_prompt(prompt_ids, getattr(model, "vocab_size", None))
    max_new_tokens = positive_int("max_new_tokens", max_new_tokens)
    needed = len(prompt) + max_new_tokens
    max_length = needed if max_length is None else positive_int("max_length", max_length)
    if max_length < needed:
        raise ValueError(f"max_length={max_length} cannot hold the {len(prompt)}-token prompt plus "
                         f"{max_new_tokens} new tokens; pass max_length >= {needed}")
    stops = {int(t) for t in stop_tokens}
    logits, cache = _prefill(model, prompt, model.init_cache(1, max_length), max_length, jit)
    step, no_offset = _compiled(model, "extend", jit), ops.zeros((), "int32")
    position = len(prompt)
    for index in range(max_new_tokens):
        token = int(np.argmax(logits))
        if token in stops:
            return
        yield token
        if index == max_new_tokens - 1:
            return
        last, cache = step(ops.convert_to_tensor([[token]], "int32"), cache,
                           ops.convert_to_tensor(position, "int32"), no_offset)
        logits = ops.convert_to_numpy(last)[0]
        position += 1


def stream_text(tokenizer, token_ids: Iterable[int]) -> Iterator[str]:
    """Text pieces for a stream of token ids, each yielded as soon as it is complete.

    A byte-level token can end in the middle of a UTF-8 character; its text then ends with U+FFFD
    (``decode``'s replacement), so the piece is held back until a later token completes the character.
    The pieces join to ``tokenizer.decode(all ids)``. Bytes still incomplete when the stream ends are
    given as they decode (U+FFFD), as ``decode`` gives them.
    """
    ids, shown = [], ""
    for token in token_ids:
        ids.append(token)
        text = tokenizer.decode(ids)
        if text.endswith("\ufffd"):
            continue                                   # a character not complete yet: wait for its bytes
        if text[:len(shown)] != shown:
            raise ValueError("the tokenizer's decode is not prefix-stable; stream_text needs byte-level "
                             "decoding, where the text of a prefix of ids is a prefix of the text")
        if len(text) > len(shown):
            yield text[len(shown):]
        shown = text
    text = tokenizer.decode(ids) if ids else ""
    if len(text) > len(shown):
        yield text[len(shown):]


class Assistant:
    """SmolLM2 (or any chat model) behind a :class:`ScopeGuard`, with a :class:`Conversation` for memory.

    Args:
        model, tokenizer, template: as :func:`llmbook.weights.gguf.load_smollm2` returns them.
        system_prompt: the system message.
        context_tokens: the context window the conversation may use, prompt and reply together.
        max_new_tokens: the longest reply; the prompt budget is ``context_tokens - max_new_tokens``.
        guard: a :class:`ScopeGuard`, or ``None`` to send every request to the model.
        jit: compile decoding (False runs it eagerly: no compilation, slower per token).

    Raises:
        ValueError: if ``max_new_tokens >= context_tokens``, and as :class:`Conversation` does.
    """

    def __init__(self, model, tokenizer, template: str, system_prompt: str, *, context_tokens: int = 512,
                 max_new_tokens: int = 24, guard: ScopeGuard | None = None, jit: bool = True):
        context_tokens = positive_int("context_tokens", context_tokens)
        self.max_new_tokens = positive_int("max_new_tokens", max_new_tokens)
        if self.max_new_tokens >= context_tokens:
            raise ValueError(f"max_new_tokens={max_new_tokens} leaves no room for a prompt in "
                             f"context_tokens={context_tokens}")
        self.model, self.tokenizer, self.guard, self.jit = model, tokenizer, guard, jit
        self.context_tokens = context_tokens
        self.conversation = Conversation(tokenizer, template, system_prompt, context_tokens - max_new_tokens)
        vocab = getattr(tokenizer, "vocab", {})
        self.stop_tokens = [vocab[t] for t in ("<|im_end|>", "<|endoftext|>") if t in vocab]

    def stream(self, user_message: str, on_piece: Callable[[str], None] | None = None) -> Iterator[str]:
        """Yield the reply to ``user_message`` in pieces as it is decoded (and pass each to ``on_piece``);
        when the stream ends the turn is remembered. A refused request yields ``REFUSAL`` at once and
        is not remembered, so it never reaches the model's context."""
        if self.guard is not None and not self.guard.check(user_message).allowed:
            if on_piece is not None:
                on_piece(REFUSAL)
            yield REFUSAL
            return
        prompt = self.conversation.prompt(user_message)
        tokens = stream_tokens(self.model, prompt, self.max_new_tokens, stop_tokens=self.stop_tokens,
                               max_length=self.context_tokens, jit=self.jit)
        pieces = []
        for piece in stream_text(self.tokenizer, tokens):
            pieces.append(piece)
            if on_piece is not None:
                on_piece(piece)
            yield piece
        self.conversation.add_turn(user_message, "".join(pieces))

    def reply(self, user_message: str) -> str:
        """The whole reply to ``user_message`` (the joined pieces of :meth:`stream`)."""
        return "".join(self.stream(user_message))
