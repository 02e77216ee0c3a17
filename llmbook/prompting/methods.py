"""Standard, chain-of-thought and least-to-most prompting (Zhou et al., 2023), each returning a :class:`Trace`.

A few-shot prompt shows solved examples, then the question::

    Q: "think, machine"
    A: "ke"

    Q: "cat, dog"
    A:

*Standard* prompting shows bare answers; *chain-of-thought* shows answers that reason step by step; both
are one call to the model. *Least-to-most* prompting makes two stages: a **decomposition** prompt lists
the sub-problems from least to most complex, then each sub-problem is **solved in turn** by a prompt that
holds the solving exemplars, the earlier sub-questions with the model's own answers, and the next
sub-question. The last answer is the answer. Every prompt and reply is kept in the trace.

The model is any ``prompt -> continuation`` callable, or a :class:`~llmbook.prompting.models.ChatModel`,
which gets the same prompt as a conversation (one user turn per question, one assistant turn per answer).
Here a scripted test double gives three fixed replies in turn (the decomposition, then two steps):

>>> from llmbook.prompting.exemplars import LAST_LETTER
>>> replies = iter(['"cat", "cat, dog"',
...                 'The last letter of "cat" is "t". So, "cat" outputs "t".',
...                 '"cat" outputs "t". The last letter of "dog" is "g". So, "cat, dog" outputs "tg".'])
>>> scripted = lambda prompt: next(replies)       # a test double, not a language model
>>> trace = least_to_most(scripted, "cat, dog", decompose_exemplars=LAST_LETTER.decompose,
...                       solve_exemplars=LAST_LETTER.solve)
>>> trace.subquestions, trace.answer
(('cat', 'cat, dog'), 'tg')
>>> print(trace.steps[1].prompt.text.split("\\n\\n", 2)[2])      # after the two exemplars
Q: "cat"
A: The last letter of "cat" is "t". So, "cat" outputs "t".
<BLANKLINE>
Q: "cat, dog"
A:

One job, kept in one module: the three prompting methods share their drivers (about 45 % of the lines
are docstrings and examples).
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

from llmbook.prompting.models import ChatModel
from llmbook.prompting.scoring import extract_answer
from llmbook.prompting.trace import Prompt, Step, Trace

STOP = ("\n\n", "\nQ:")
"""Where a completion model's reply ends: it goes on with a next ``Q:`` of its own, and that part is cut.
A chat model ends its turn itself, so its reply is kept whole (unless ``stop`` is given)."""

_QUOTED = re.compile(r'"([^"]*)"')


def _shots(exemplars, name: str) -> tuple[tuple[str, str], ...]:
    """Exemplars (objects with ``question`` and ``answer``, or ``(question, answer)`` pairs) as string pairs."""
    if isinstance(exemplars, (str, bytes)) or not isinstance(exemplars, Sequence):
        raise TypeError(f"{name} must be a sequence of exemplars (see llmbook.prompting.exemplars), "
                        f"got {type(exemplars).__name__}")
    shots = []
    for index, exemplar in enumerate(exemplars):
        if hasattr(exemplar, "question") and hasattr(exemplar, "answer"):
            pair = (exemplar.question, exemplar.answer)
        elif isinstance(exemplar, tuple) and len(exemplar) == 2:
            pair = exemplar
        else:
            raise TypeError(f"{name}[{index}] must be an Exemplar or a (question, answer) pair, got {exemplar!r}")
        if not all(isinstance(part, str) for part in pair):
            raise TypeError(f"{name}[{index}]: question and answer must be strings, got {pair!r}")
        shots.append(pair)
    return tuple(shots)


def _check_question(question) -> str:
    if not isinstance(question, str) or not question.strip():
        raise ValueError(f"question must be a non-empty string, got {question!r}")
    return question.strip()


def _check_model(model) -> None:
    if not callable(model):
        raise TypeError(f"model must be a callable prompt -> text (or a ChatModel), got {type(model).__name__}")


def _clean(reply, chat: bool, stop: Sequence[str] | None) -> str:
    if not isinstance(reply, str):
        raise TypeError(f"the model returned {type(reply).__name__}, not text: a language model here is a "
                        "callable prompt -> continuation string")
    if stop is None:
        stop = () if chat else STOP
    ends = [reply.find(marker) for marker in stop if marker and marker in reply]
    reply = (reply[: min(ends)] if ends else reply).strip()
    return reply[2:].lstrip() if reply.startswith("A:") else reply


def ask(model, prompt: Prompt, stop: Sequence[str] | None = None) -> str:
    """The model's reply to ``prompt``: up to the first ``stop`` string, stripped, without a leading ``A:``.

    Args:
        model: a ``prompt -> continuation`` callable, or a :class:`ChatModel` (sent ``prompt.messages``).
        prompt: the prompt.
        stop: strings that end the reply; default :data:`STOP` for a completion model, none for a chat model.

    Returns:
        The reply text.

    Raises:
        TypeError: if the model is not callable or does not return a string.
    """
    return ask_all(model, [prompt], stop, batch=False)[0]


def ask_all(model, prompts: Sequence[Prompt], stop: Sequence[str] | None = None, *, batch: bool = True) -> list[str]:
    """The replies to many prompts, each as :func:`ask` gives it.

    A model with a ``batch`` method (:class:`~llmbook.prompting.models.LocalModel`'s, which decodes the
    prompts together) gets them in one call, ``model.batch(texts_or_conversations) -> replies``; any
    other model is called once per prompt.

    Raises:
        TypeError: if the model is not callable or does not return strings.
        ValueError: if ``model.batch`` returns a different number of replies.
    """
    _check_model(model)
    chat = isinstance(model, ChatModel)
    inputs = [prompt.messages if chat else prompt.text for prompt in prompts]
    many = getattr(model, "batch", None) if batch else None
    replies = list(many(inputs)) if callable(many) else [model(item) for item in inputs]
    if len(replies) != len(inputs):
        raise ValueError(f"model.batch returned {len(replies)} replies for {len(inputs)} prompts: it must return "
                         "one reply per prompt, in order")
    return [_clean(reply, chat, stop) for reply in replies]


def _drive(model, steps, stop):
    """Run a method's steps (a generator of prompts, sent each reply) against one model; its trace."""
    _check_model(model)
    try:
        prompt = next(steps)
        while True:
            prompt = steps.send(ask(model, prompt, stop))
    except StopIteration as finished:
        return finished.value


def _few_shot_steps(method: str, question: str, exemplars, extract):
    question = _check_question(question)
    prompt = Prompt(_shots(exemplars, "exemplars"), question)
    reply = yield prompt
    return Trace(method, question, (Step(question, prompt, reply, extract(reply)),))


def standard(model, question: str, exemplars, *, stop: Sequence[str] | None = None,
             extract: Callable[[str], str] = extract_answer) -> Trace:
    """Standard few-shot prompting: exemplars with bare answers, then the question; one call.

    Args:
        model: a ``prompt -> continuation`` callable or a :class:`ChatModel`.
        question: the question, without quotes.
        exemplars: e.g. ``LAST_LETTER.standard``; an empty sequence makes a zero-shot prompt.
        stop: strings that end the reply (default: see :func:`ask`).
        extract: takes the answer out of the reply (default :func:`extract_answer`).

    Returns:
        A :class:`Trace` with one step.

    Raises:
        ValueError: for an empty question.
        TypeError: for a model that is not callable or does not return text, or malformed exemplars.
    """
    return _drive(model, _few_shot_steps("standard", question, exemplars, extract), stop)


def chain_of_thought(model, question: str, exemplars, *, stop: Sequence[str] | None = None,
                     extract: Callable[[str], str] = extract_answer) -> Trace:
    """Chain-of-thought prompting (Wei et al., 2022): exemplars whose answers reason step by step; one call.

    The mechanics are those of :func:`standard`; only the exemplars differ (e.g.
    ``LAST_LETTER.chain_of_thought``). Args, returns and raises as for :func:`standard`.
    """
    return _drive(model, _few_shot_steps("chain-of-thought", question, exemplars, extract), stop)


def parse_subquestions(reply: str) -> list[str]:
    """The sub-questions in a decomposition reply: every double-quoted text, in order.

    >>> parse_subquestions('"think", "think, machine", "think, machine, learning"')
    ['think', 'think, machine', 'think, machine, learning']

    Raises:
        TypeError: if ``reply`` is not a string.
    """
    if not isinstance(reply, str):
        raise TypeError(f"reply must be a string, got {type(reply).__name__}")
    return [found.strip() for found in _QUOTED.findall(reply) if found.strip()]


def _decompose_steps(question: str, exemplars):
    question = _check_question(question)
    shots = _shots(exemplars, "decompose_exemplars")
    if not shots:
        raise ValueError("decompose_exemplars is empty: the model needs at least one example of a decomposition "
                         "(e.g. llmbook.prompting.exemplars.LAST_LETTER.decompose)")
    prompt = Prompt(shots, question)
    reply = yield prompt
    subquestions = parse_subquestions(reply)
    if not subquestions or " ".join(subquestions[-1].split()) != " ".join(question.split()):
        subquestions.append(question)
    return tuple(subquestions), Step(question, prompt, reply, ", ".join(f'"{s}"' for s in subquestions))


def decompose(model, question: str, exemplars, *, stop: Sequence[str] | None = None) -> tuple[tuple[str, ...], Step]:
    """Least-to-most's first stage: the sub-questions of ``question``, from least to most complex.

    The list always ends with ``question`` itself: appended when the model's list does not end with it
    (the last sub-problem must be the problem), and alone when the reply lists nothing.

    Args:
        model: a ``prompt -> continuation`` callable or a :class:`ChatModel`.
        question: the question, without quotes.
        exemplars: decomposition exemplars, e.g. ``LAST_LETTER.decompose`` (at least one).
        stop: strings that end the reply (default: see :func:`ask`).

    Returns:
        ``(subquestions, step)``: the sub-questions and the call (its answer is the list as quoted text).

    Raises:
        ValueError: for an empty question or no exemplars.
        TypeError: as for :func:`standard`.
    """
    return _drive(model, _decompose_steps(question, exemplars), stop)


def _least_to_most_steps(question: str, decompose_exemplars, solve_exemplars, subquestions, extract):
    question = _check_question(question)
    shots = _shots(solve_exemplars, "solve_exemplars")
    decomposition = None
    if subquestions is None:
        if decompose_exemplars is None:
            raise ValueError("least_to_most needs decompose_exemplars (to ask the model for the sub-questions) "
                             "or subquestions (to give them)")
        subquestions, decomposition = yield from _decompose_steps(question, decompose_exemplars)
    else:
        if isinstance(subquestions, str) or not subquestions:
            raise ValueError(f"subquestions must be a non-empty list of strings, got {subquestions!r}")
        subquestions = tuple(_check_question(subquestion) for subquestion in subquestions)
    steps, solved = [], []
    for subquestion in subquestions:
        prompt = Prompt(shots + tuple(solved), subquestion)
        reply = yield prompt
        steps.append(Step(subquestion, prompt, reply, extract(reply)))
        solved.append((subquestion, reply))
    return Trace("least-to-most", question, tuple(steps), decomposition)


def least_to_most(model, question: str, *, decompose_exemplars=None, solve_exemplars,
                  subquestions: Sequence[str] | None = None, stop: Sequence[str] | None = None,
                  extract: Callable[[str], str] = extract_answer) -> Trace:
    """Least-to-most prompting: decompose, then solve the sub-questions in order, each with the earlier ones.

    The prompt of sub-question ``k`` holds the solving exemplars, then sub-questions ``1..k-1`` each with
    the model's own reply, then sub-question ``k``. The answer of the last sub-question (the question
    itself) is the answer.

    Args:
        model: a ``prompt -> continuation`` callable or a :class:`ChatModel`.
        question: the question, without quotes.
        decompose_exemplars: for the first stage (see :func:`decompose`); not needed with ``subquestions``.
        solve_exemplars: for the second stage, e.g. ``LAST_LETTER.solve``.
        subquestions: give the decomposition instead of asking the model for it (the last one should be
            the question).
        stop: strings that end each reply (default: see :func:`ask`).
        extract: takes each answer out of its reply (default :func:`extract_answer`).

    Returns:
        A :class:`Trace`: ``decomposition`` (None with ``subquestions``), one step per sub-question.

    Raises:
        ValueError: for an empty question, neither ``decompose_exemplars`` nor ``subquestions``, or an
            empty or non-string sub-question.
        TypeError: as for :func:`standard`.
    """
    steps = _least_to_most_steps(question, decompose_exemplars, solve_exemplars, subquestions, extract)
    return _drive(model, steps, stop)


_STEPS = {
    standard: lambda question, exemplars, extract=extract_answer: _few_shot_steps(
        "standard", question, exemplars, extract),
    chain_of_thought: lambda question, exemplars, extract=extract_answer: _few_shot_steps(
        "chain-of-thought", question, exemplars, extract),
    least_to_most: lambda question, *, solve_exemplars, decompose_exemplars=None, subquestions=None,
    extract=extract_answer: _least_to_most_steps(question, decompose_exemplars, solve_exemplars, subquestions,
                                                 extract),
}


def run_batch(method, model, questions: Sequence[str], *, stop: Sequence[str] | None = None, **options) -> list[Trace]:
    """Run a prompting method on many questions in lockstep: each round asks every unfinished question's
    next prompt together (:func:`ask_all`), so a model with a ``batch`` method decodes them as one batch.

    Each trace is the one ``method(model, question, **options)`` gives alone (up to the model's own
    batched round-off). Least-to-most questions with fewer sub-questions finish in earlier rounds.

    Args:
        method: :func:`standard`, :func:`chain_of_thought` or :func:`least_to_most`.
        model: a ``prompt -> continuation`` callable or a :class:`ChatModel`, best with a ``batch`` method.
        questions: the questions.
        stop: as for the method.
        **options: the method's other arguments (exemplars, ``extract``). For :func:`least_to_most`,
            ``subquestions`` is one list of sub-questions per question (a list of lists, in the order of
            ``questions``): the given decomposition instead of the model's, for example each problem's
            reference decomposition.

    Returns:
        One :class:`Trace` per question, in order.

    Raises:
        ValueError: for an unknown method, no questions, or ``subquestions`` that are not one list per
            question of a least-to-most run; the method's own errors.

    >>> replies = {'"a"': '"x"', '"b"': '"y"'}
    >>> scripted = lambda prompt: replies[prompt.rsplit("Q: ", 1)[1][:-len("\\nA:")]]   # a test double
    >>> [trace.answer for trace in run_batch(standard, scripted, ["a", "b"], exemplars=[])]
    ['x', 'y']
    """
    if method not in _STEPS:
        raise ValueError(f"method must be standard, chain_of_thought or least_to_most, got {method!r}")
    if isinstance(questions, str) or not questions:
        raise ValueError(f"questions must be a non-empty list of strings, got {questions!r}")
    per_question = options.pop("subquestions", None)
    if per_question is None:
        per_question = [None] * len(questions)
    elif method is not least_to_most:
        raise ValueError("subquestions are for least_to_most only")
    elif (isinstance(per_question, str) or len(per_question) != len(questions)
          or any(isinstance(subquestions, str) for subquestions in per_question)):
        raise ValueError(f"run_batch takes subquestions as one list per question ({len(questions)} lists of "
                         f"strings, in the order of the questions), got {per_question!r}")
    _check_model(model)
    extra = [{} if subquestions is None else {"subquestions": subquestions} for subquestions in per_question]
    runs = [_STEPS[method](question, **options, **more) for question, more in zip(questions, extra)]
    traces, pending = [None] * len(runs), {}
    for index, run in enumerate(runs):
        pending[index] = next(run)
    while pending:
        indices = list(pending)
        replies = ask_all(model, [pending[index] for index in indices], stop)
        for index, reply in zip(indices, replies):
            try:
                pending[index] = runs[index].send(reply)
            except StopIteration as finished:
                traces[index] = finished.value
                del pending[index]
    return traces
