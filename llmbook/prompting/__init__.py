"""Prompting a language model: standard, chain-of-thought and least-to-most (Zhou et al., 2023).

The methods work over any language model given as a callable: ``prompt -> continuation`` (a function,
:class:`LocalModel` for the book's decoders) or a :class:`ChatModel` (``messages -> reply``:
:func:`local_chat` for SmolLM2 with its chat template, :class:`OpenAIChat` for a local server). Each
method returns a :class:`Trace` with every prompt, reply and answer; :func:`exact_match` scores answers.
The exemplars of the paper's tasks are data in :mod:`llmbook.prompting.exemplars`.

:func:`run_batch` runs a method on many questions in lockstep, so that :class:`LocalModel` decodes each
round's prompts as one batch. Nothing here imports Keras until a local model generates text.
"""

from llmbook.prompting.analysis import decomposition_matches, letter_claims, step_results
from llmbook.prompting.exemplars import ARITHMETIC, LAST_LETTER, SCAN, Decomposition, Exemplar, TaskExemplars
from llmbook.prompting.http import OpenAIChat
from llmbook.prompting.methods import (
    STOP, ask, ask_all, chain_of_thought, decompose, least_to_most, parse_subquestions, run_batch, standard,
)
from llmbook.prompting.problems import WORDS, Problem, arithmetic_problems, last_letter_problems
from llmbook.prompting.models import ChatModel, LanguageModelError, LocalChat, LocalModel, local_chat
from llmbook.prompting.scoring import exact_match, exact_match_accuracy, extract_answer, normalize_answer
from llmbook.prompting.trace import Prompt, Step, Trace

__all__ = [
    "ARITHMETIC", "LAST_LETTER", "Problem", "SCAN", "STOP", "ChatModel", "Decomposition", "Exemplar", "LanguageModelError", "LocalChat", "LocalModel",
    "OpenAIChat", "Prompt", "Step", "TaskExemplars", "Trace", "ask", "ask_all", "chain_of_thought",
    "decompose", "decomposition_matches", "exact_match", "exact_match_accuracy", "extract_answer", "least_to_most", "letter_claims", "local_chat", "normalize_answer",
    "WORDS", "arithmetic_problems", "last_letter_problems", "parse_subquestions", "run_batch", "standard", "step_results",
]
