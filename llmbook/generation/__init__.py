"""Generating text: sampling strategies, decoding with a KV cache, chat templates.

The sampling and chat helpers are NumPy and Jinja only; ``generate``, ``generate_batch`` and ``beam_search``
(which need Keras) are imported on first use, so ``from llmbook.generation import top_p_filter`` does not import
TensorFlow.
"""

from llmbook.backend import compile_function
from llmbook.generation.chat import chat, check_messages, render_chat
from llmbook.generation.sampling import (
    next_token_distribution,
    sample_next_token,
    softmax,
    top_k_filter,
    top_p_filter,
)

__all__ = [
    "beam_search", "chat", "check_messages", "compile_function", "generate", "generate_batch", "next_token_distribution", "render_chat",
    "sample_next_token", "softmax", "top_k_filter", "top_p_filter",
]


def __getattr__(name):
    if name == "generate":
        from llmbook.generation.decoding import generate

        return generate
    if name == "generate_batch":
        from llmbook.generation.batch import generate_batch

        return generate_batch
    if name == "beam_search":
        from llmbook.generation.beam import beam_search

        return beam_search
    raise AttributeError(f"module 'llmbook.generation' has no attribute {name!r}")
