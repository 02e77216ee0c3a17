"""Generating text: sampling strategies, decoding with a KV cache, chat templates."""

from llmbook.generation.chat import chat, check_messages, render_chat
from llmbook.generation.decoding import compile_function, generate
from llmbook.generation.sampling import (
    next_token_distribution,
    sample_next_token,
    softmax,
    top_k_filter,
    top_p_filter,
)

__all__ = [
    "chat", "check_messages", "compile_function", "generate", "next_token_distribution", "render_chat",
    "sample_next_token", "softmax", "top_k_filter", "top_p_filter",
]
