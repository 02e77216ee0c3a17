"""Reading traces: where a prompting method went wrong, step by step.

- :func:`decomposition_matches`: whether a least-to-most trace's sub-questions are the problem's reference
  sub-problems (white space and case aside);
- :func:`step_results`: for each solving step of a trace, whether its answer is the reference sub-answer;
- :func:`letter_claims`: the ``The last letter of "w" is "x"`` statements in a reply, to score a chain of
  thought's single steps.

>>> letter_claims('The last letter of "think" is "k". The last letter of "cat" is "c".')
[('think', 'k'), ('cat', 'c')]
"""

from __future__ import annotations

import re

from llmbook.prompting.problems import Problem
from llmbook.prompting.scoring import exact_match, normalize_answer
from llmbook.prompting.trace import Trace

_CLAIM = re.compile(r'last letter of\s+"([^"]*)"\s+is\s+"([^"]*)"', re.IGNORECASE)


def _check(trace, problem) -> None:
    if not isinstance(trace, Trace):
        raise TypeError(f"trace must be a llmbook.prompting.Trace, got {type(trace).__name__}")
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be a llmbook.prompting.Problem, got {type(problem).__name__}")


def decomposition_matches(trace: Trace, problem: Problem) -> bool:
    """Whether the trace's sub-questions are exactly the problem's reference sub-problems, in order.

    Raises:
        TypeError: for a trace or problem of the wrong type.
    """
    _check(trace, problem)
    return [normalize_answer(q) for q in trace.subquestions] == [normalize_answer(q) for q in problem.subquestions]


def step_results(trace: Trace, problem: Problem) -> list[bool]:
    """For each step ``k`` of ``trace``: whether its answer exact-matches the reference sub-answer ``k``.

    Meaningful when :func:`decomposition_matches` holds (step ``k`` then asks sub-problem ``k``).

    Raises:
        TypeError: for a trace or problem of the wrong type.
        ValueError: if the trace has more steps than the problem has sub-problems.
    """
    _check(trace, problem)
    if len(trace.steps) > len(problem.subanswers):
        raise ValueError(f"the trace has {len(trace.steps)} steps but the problem {len(problem.subanswers)} "
                         "sub-problems: check decomposition_matches first")
    return [exact_match(step.answer, gold) for step, gold in zip(trace.steps, problem.subanswers)]


def letter_claims(reply: str) -> list[tuple[str, str]]:
    """The ``(word, letter)`` pairs of every ``The last letter of "word" is "letter"`` in ``reply``.

    Raises:
        TypeError: if ``reply`` is not a string.
    """
    if not isinstance(reply, str):
        raise TypeError(f"reply must be a string, got {type(reply).__name__}")
    return [(word, letter) for word, letter in _CLAIM.findall(reply)]
