"""Chat templates: turning a list of messages into the exact text an instruction-tuned model was trained on.

Instruction-tuned models are trained on conversations rendered with a Jinja template that is stored
with the model (the GGUF key ``tokenizer.chat_template``). SmolLM2 uses ChatML::

    <|im_start|>system
    You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>
    <|im_start|>user
    Hi<|im_end|>
    <|im_start|>assistant

Rendering runs in Jinja's sandbox (a template is data from a file, not trusted code), as transformers does.
"""

from __future__ import annotations

import functools
from typing import Mapping, Sequence

ROLES = ("system", "user", "assistant")


def check_messages(messages: Sequence[Mapping[str, str]]) -> list[dict]:
    """Validate ``[{"role": ..., "content": ...}, ...]`` and return plain dicts.

    Raises:
        ValueError: for an empty list, a message without ``role``/``content``, an unknown role, or
            non-string content.
    """
    if not messages:
        raise ValueError("messages is empty: give at least one {'role': 'user', 'content': ...}")
    checked = []
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping) or "role" not in message or "content" not in message:
            raise ValueError(f"message {index} must be a dict with 'role' and 'content', got {message!r}")
        if message["role"] not in ROLES:
            raise ValueError(f"message {index} has role {message['role']!r}; use one of {', '.join(ROLES)}")
        if not isinstance(message["content"], str):
            raise ValueError(f"message {index} content must be a string, got {type(message['content']).__name__}")
        checked.append({"role": message["role"], "content": message["content"]})
    return checked


@functools.lru_cache(maxsize=16)
def _compiled(template: str):
    """The template compiled once in Jinja's sandbox (a template is data, not trusted code)."""
    from jinja2.exceptions import TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise TemplateError(message)

    environment = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    environment.globals["raise_exception"] = raise_exception
    return environment.from_string(template)


def render_chat(template: str, messages: Sequence[Mapping[str, str]], add_generation_prompt: bool = True,
                **variables) -> str:
    """Render ``messages`` with a Jinja chat ``template``.

    Args:
        template: the template text (for SmolLM2, :func:`llmbook.weights.gguf.read_chat_template`).
        messages: the conversation, checked by :func:`check_messages`.
        add_generation_prompt: end with the header of an assistant turn, so the model answers.
        **variables: extra template variables (``bos_token``, ``eos_token``, ...).

    Returns:
        The rendered text.

    Raises:
        ValueError: for bad messages, an empty template, or a template that raises an error itself.
    """
    from jinja2.exceptions import TemplateError

    if not isinstance(template, str) or not template.strip():
        raise ValueError("the chat template is empty; read it from the model file (tokenizer.chat_template)")
    messages = check_messages(messages)
    try:
        return _compiled(template).render(messages=messages, add_generation_prompt=add_generation_prompt,
                                          **variables)
    except TemplateError as error:
        raise ValueError(f"the chat template failed to render: {error}") from error


def chat(model, tokenizer, template: str, messages, max_new_tokens: int = 64, stop_tokens=None,
         max_length: int | None = None, **sampling) -> str:
    """One assistant reply: render, encode, :func:`~llmbook.generation.generate`, decode.

    Args:
        model: a decoder with the KV-cache interface.
        tokenizer: an object with ``encode(text) -> ids``, ``decode(ids) -> text`` and ``vocab`` (token -> id).
        template: the chat template.
        messages: the conversation so far (ending with a user message).
        max_new_tokens: the longest reply, in tokens.
        stop_tokens: ids that end the reply; default ``<|im_end|>`` and ``<|endoftext|>`` when the vocabulary
            has them.
        max_length: static cache size (reuse one value to reuse the compiled step).
        **sampling: ``temperature``, ``top_k``, ``top_p``, ``seed`` for :func:`generate`.

    Returns:
        The reply text, without the stop token.
    """
    from llmbook.generation.decoding import generate

    prompt = tokenizer.encode(render_chat(template, messages, add_generation_prompt=True))
    if stop_tokens is None:
        vocab = getattr(tokenizer, "vocab", {})
        stop_tokens = [vocab[t] for t in ("<|im_end|>", "<|endoftext|>") if t in vocab]
    if max_length is not None:
        max_length = max(max_length, len(prompt) + max_new_tokens)
    ids = generate(model, prompt, max_new_tokens, stop_tokens=stop_tokens, max_length=max_length, **sampling)
    if ids and ids[-1] in set(stop_tokens):
        ids = ids[:-1]
    return tokenizer.decode(ids)
