"""Prompting a language model: standard, chain-of-thought and least-to-most (Zhou et al., 2023).

The methods work over any language model given as a callable: ``prompt -> continuation`` (a function,
:func:`local_model` for the book's decoders) or a :class:`ChatModel` (``messages -> reply``:
:func:`local_chat` for SmolLM2 with its chat template, :class:`OpenAIChat` for a local server). Each
method returns a :class:`Trace` with every prompt, reply and answer; :func:`exact_match` scores answers.
The exemplars of the paper's tasks are data in :mod:`llmbook.prompting.exemplars`.

Nothing here imports Keras until :func:`local_model` or :func:`local_chat` generates text.
"""

from llmbook.prompting.exemplars import LAST_LETTER, SCAN, Decomposition, Exemplar, TaskExemplars
from llmbook.prompting.http import OpenAIChat
from llmbook.prompting.methods import (
    STOP, Prompt, Step, Trace, ask, chain_of_thought, decompose, least_to_most, parse_subquestions, standard,
)
from llmbook.prompting.models import ChatModel, LanguageModelError, local_chat, local_model
from llmbook.prompting.scoring import accuracy, exact_match, extract_answer, normalize_answer

__all__ = [
    "LAST_LETTER", "SCAN", "STOP", "ChatModel", "Decomposition", "Exemplar", "LanguageModelError", "OpenAIChat",
    "Prompt", "Step", "TaskExemplars", "Trace", "accuracy", "ask", "chain_of_thought", "decompose",
    "exact_match", "extract_answer", "least_to_most", "local_chat", "local_model", "normalize_answer",
    "parse_subquestions", "standard",
]
