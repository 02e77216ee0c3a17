"""Last-letter concatenation: the word list, its text formats, and exact-match evaluation of two procedures.

The task (Zhou et al., 2023, after Wei et al., 2022): given a list of words, output the last letter of
each word, concatenated. ``"think, machine"`` gives ``"ke"``. Here it is written compactly for a
character-level model:

- **direct**: the whole list, then ``>``, then the answer and ``.`` (the end): ``think,machine>ke.``
- **one least-to-most step**: the next word, ``+``, the previous sub-answer written in a field of fixed
  width (filled up with ``_``), ``>``, the new answer: ``machine+k__________>ke.`` (width 11).

The fixed field makes the copy of the previous answer a look-back by one fixed distance (``width + 1``
characters) from every letter of the new answer to the same letter of the old one, which attention with
relative positions learns quickly; without it the distance changes with the lengths of the word and the
answer. The field holds answers of up to ``width`` letters, so a least-to-most run handles lists of up to
``width + 1`` words.

**Least to most.** A list of ``L`` words is decomposed into its ``L`` prefixes, from least to most
complex (``("think",)``, ``("think", "machine")``, ...). The first prefix is a one-word list, solved in the
direct format; each later prefix is solved by one step whose input holds the previous prefix's answer and
the one new word. The last answer is the answer. Who writes the carried part of each answer is the
``carry`` option of :func:`evaluate_least_to_most`: the model (it must copy the previous answer, then add
one letter) or the program (it writes the previous answer into the output itself and asks the model only
for the letter that follows).

A model enters as a *solver*: any callable that maps a list of prompts to a list of completions (text
after the prompt, up to and including the ``.`` that ends an answer). :func:`greedy_solver` makes one from
a decoder with :func:`llmbook.generation.generate_batch`; a scripted solver tests the evaluation itself.

>>> last_letters(("think", "machine"))
'ke'
>>> direct_prompt(("think", "machine")), step_prompt("k", "machine", width=4)
('think,machine>', 'machine+k___>')
>>> prefixes(("think", "machine", "learning"))
[('think',), ('think', 'machine'), ('think', 'machine', 'learning')]
>>> def scripted(prompts):
...     words, fields = zip(*(p.rstrip(">").partition("+")[::2] for p in prompts))
...     return [field.rstrip("_") + word[-1] + "." for word, field in zip(words, fields)]
>>> result = evaluate_least_to_most(scripted, [("think", "machine", "learning")], carry="model")
>>> result.steps, result.accuracy
((('k', 'ke', 'keg'),), 1.0)

The scripted solver (a test double, not a model) copies the field after ``+`` and adds the last letter of
the word before it: right for every step prompt and for one-word lists; a trained model has to learn that.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from llmbook.text.vocabulary import Vocabulary
from llmbook.validation import positive_int

__all__ = [
    "ANSWER", "CARRY", "CARRY_MODES", "END", "FILLER", "LETTERS", "WIDTH", "SEPARATOR", "Evaluation", "WordSplit", "alphabet",
    "direct_example", "direct_prompt", "encode_examples", "evaluate_direct", "evaluate_least_to_most",
    "greedy_solver", "last_letters", "load_word_list", "WORD_SOURCES", "parse_answer", "prefixes", "sample_lists", "split_words",
    "step_example", "step_prompt", "training_examples",
]

LETTERS = "abcdefghijklmnopqrstuvwxyz"
SEPARATOR = ","   # between the words of a list
CARRY = "+"       # between the previous sub-answer and the next word
ANSWER = ">"      # the question ends, the answer begins
END = "."         # the answer ends
FILLER = "_"      # fills the field of the previous answer up to its width
WIDTH = 11        # the default field width: least-to-most on lists of up to 12 words
CARRY_MODES = ("model", "program")

Solver = Callable[[Sequence[str]], Sequence[str]]


# --- words and lists ---------------------------------------------------------------------------------
def _check_word(word, what: str = "word") -> str:
    if not isinstance(word, str) or not word or any(c not in LETTERS for c in word):
        raise ValueError(f"{what} must be a non-empty string of lower-case letters a-z, got {word!r}")
    return word


def _check_words(words, what: str = "words") -> tuple[str, ...]:
    if isinstance(words, str):
        raise TypeError(f"{what} must be a sequence of words, e.g. ({words!r},), not a single string")
    if not isinstance(words, Sequence) or len(words) == 0:
        raise ValueError(f"{what} must be a non-empty sequence of words, got {words!r}")
    return tuple(_check_word(w, f"each of {what}") for w in words)


WORD_SOURCES = ("simlex999", "wordsim353", "google-analogies")


def load_word_list(min_letters: int = 3, max_letters: int = 5,
                   sources: Sequence[str] = WORD_SOURCES) -> tuple[str, ...]:
    """The distinct lower-case English words of three word sets, with ``min_letters`` to ``max_letters`` letters.

    The sets ship with gensim (:mod:`llmbook.data`): SimLex-999 (Hill et al., 2015) and WordSim-353
    (Finkelstein et al., 2002), common nouns, verbs and adjectives, and the Google analogy questions
    (Mikolov et al., 2013), of which only the words written in lower case are kept (the capitalized ones
    are names of countries, cities and people). Short words keep the sequences, and so the training, short.

    Args:
        min_letters, max_letters: the shortest and longest word kept.
        sources: any of ``"simlex999"``, ``"wordsim353"``, ``"google-analogies"``.

    Returns:
        The words, sorted, as a tuple of lower-case ``a-z`` strings.

    Raises:
        ValueError: if ``min_letters`` < 1, ``max_letters`` < ``min_letters``, or a source is unknown.
        DataPackageMissingError: if gensim is not installed (``pip install gensim``).
    """
    import llmbook.data as data

    min_letters = positive_int("min_letters", min_letters)
    max_letters = positive_int("max_letters", max_letters, minimum=min_letters)
    if isinstance(sources, str):
        raise TypeError(f"sources must be a list of names, e.g. [{sources!r}], not a string")
    unknown = [name for name in sources if name not in WORD_SOURCES]
    if unknown or not sources:
        raise ValueError(f"unknown or no source(s) {unknown}; choose among {', '.join(WORD_SOURCES)}")
    found = set()
    for name in sources:
        loaded = data.load(name)
        if name == "google-analogies":
            found.update(w for question in loaded.questions for w in question)
        else:
            found.update(w for pair in loaded.pairs for w in (pair.word1, pair.word2))
    return tuple(sorted(w for w in found if min_letters <= len(w) <= max_letters and set(w) <= set(LETTERS)))


@dataclass(frozen=True)
class WordSplit:
    """Words for training lists and words held out for test lists (disjoint)."""

    train: tuple[str, ...]
    test: tuple[str, ...]


def split_words(words: Sequence[str], test_fraction: float = 0.2, seed: int = 0) -> WordSplit:
    """Shuffle ``words`` with ``seed`` and hold out ``test_fraction`` of them (at least one) for test lists.

    Raises:
        ValueError: for repeated or malformed words, fewer than 2 words, or a fraction outside (0, 1).
    """
    words = _check_words(words)
    if len(set(words)) != len(words):
        raise ValueError("words must be distinct; deduplicate them first (e.g. sorted(set(words)))")
    if len(words) < 2:
        raise ValueError(f"need at least 2 words to hold some out, got {len(words)}")
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real) or not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be a number in (0, 1), got {test_fraction!r}")
    order = np.random.default_rng(seed).permutation(len(words))
    n_test = min(len(words) - 1, max(1, round(test_fraction * len(words))))
    return WordSplit(train=tuple(words[i] for i in sorted(order[n_test:])),
                     test=tuple(words[i] for i in sorted(order[:n_test])))


def _check_rng(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy Generator, e.g. np.random.default_rng(0), got {type(rng).__name__}")
    return rng


def sample_lists(words: Sequence[str], length: int, count: int, rng: np.random.Generator) -> list[tuple[str, ...]]:
    """``count`` lists of ``length`` distinct words drawn uniformly from ``words`` with ``rng``.

    Raises:
        ValueError: if ``length`` or ``count`` is not a positive integer, or ``length`` exceeds the words.
        TypeError: if ``rng`` is not a ``numpy.random.Generator``.
    """
    words = _check_words(words)
    length, count, rng = positive_int("length", length), positive_int("count", count), _check_rng(rng)
    if length > len(words):
        raise ValueError(f"length={length} needs that many distinct words, but only {len(words)} are given")
    return [tuple(words[i] for i in rng.choice(len(words), size=length, replace=False)) for _ in range(count)]


# --- the task and its formats ------------------------------------------------------------------------
def last_letters(words: Sequence[str]) -> str:
    """The gold answer: the last letter of every word, concatenated (``("think", "machine")`` -> ``"ke"``).

    Raises:
        TypeError: for a single string instead of a list of words.
        ValueError: for an empty list or a word that is not lower-case ``a-z``.
    """
    return "".join(w[-1] for w in _check_words(words))


def prefixes(words: Sequence[str]) -> list[tuple[str, ...]]:
    """The least-to-most decomposition: the list's prefixes, shortest first; the last one is the list."""
    words = _check_words(words)
    return [words[:k] for k in range(1, len(words) + 1)]


def direct_prompt(words: Sequence[str]) -> str:
    """The question in the direct format: ``think,machine>``."""
    return SEPARATOR.join(_check_words(words)) + ANSWER


def direct_example(words: Sequence[str]) -> tuple[str, str]:
    """``(prompt, target)`` of the direct format: ``("think,machine>", "ke.")``."""
    return direct_prompt(words), last_letters(words) + END


def step_prompt(previous_answer: str, word: str, width: int = WIDTH) -> str:
    """One least-to-most step: the next word, then the previous sub-answer in a field of ``width``
    characters: ``step_prompt("k", "machine", width=4) == "machine+k___>"``.

    Raises:
        ValueError: if either is not a non-empty string of lower-case letters, or the previous answer is
            longer than ``width`` (pass a larger width, and train the model with it).
    """
    previous_answer = _check_word(previous_answer, "previous_answer")
    width = positive_int("width", width)
    if len(previous_answer) > width:
        raise ValueError(f"previous_answer has {len(previous_answer)} letters, more than the field's width={width}")
    return f"{_check_word(word)}{CARRY}{previous_answer.ljust(width, FILLER)}{ANSWER}"


def step_example(previous_answer: str, word: str, width: int = WIDTH) -> tuple[str, str]:
    """``(prompt, target)`` of one step: ``("machine+k___>", "ke.")`` with ``width=4``."""
    return step_prompt(previous_answer, word, width), previous_answer + word[-1] + END


def alphabet() -> Vocabulary:
    """The character vocabulary of the formats: ``<pad>`` (id 0), the 26 letters, then ``, + > . _``."""
    return Vocabulary(list(LETTERS + SEPARATOR + CARRY + ANSWER + END + FILLER), specials=("<pad>",))


def training_examples(words: Sequence[str], count: int, rng: np.random.Generator, *, max_list_length: int = 3,
                      width: int = WIDTH, direct_fraction: float = 0.5) -> list[tuple[str, str]]:
    """A training mixture of ``(prompt, target)`` pairs in both formats.

    A fraction ``direct_fraction`` are direct examples of lists of 1 to ``max_list_length`` words; the
    rest are steps whose previous answer is a string of 1 to ``width`` letters drawn uniformly (a
    copying exercise: the string comes from no list) and whose word is one of ``words``.

    Raises:
        ValueError: for malformed words, non-positive counts, or a fraction outside [0, 1].
        TypeError: if ``rng`` is not a ``numpy.random.Generator``.
    """
    words = _check_words(words)
    count, rng = positive_int("count", count), _check_rng(rng)
    max_list_length = positive_int("max_list_length", max_list_length)
    width = positive_int("width", width)
    if isinstance(direct_fraction, bool) or not isinstance(direct_fraction, numbers.Real) \
            or not 0 <= direct_fraction <= 1:
        raise ValueError(f"direct_fraction must be a number in [0, 1], got {direct_fraction!r}")
    if max_list_length > len(words):
        raise ValueError(f"max_list_length={max_list_length} needs that many distinct words; only {len(words)} given")
    examples = []
    for _ in range(count):
        if rng.random() < direct_fraction:
            length = int(rng.integers(1, max_list_length + 1))
            chosen = rng.choice(len(words), size=length, replace=False)
            examples.append(direct_example([words[i] for i in chosen]))
        else:
            previous = "".join(LETTERS[i] for i in rng.integers(0, 26, size=int(rng.integers(1, width + 1))))
            examples.append(step_example(previous, words[int(rng.integers(len(words)))], width))
    return examples


def encode_examples(examples: Sequence[tuple[str, str]], vocabulary: Vocabulary,
                    length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Next-character training arrays for a causal model, padded to ``length``, the loss on targets only.

    Each row holds ``prompt + target`` shifted by one: ``inputs[t]`` predicts ``labels[t]``. ``weights`` is
    1 where ``labels`` is a character of the target (the answer and its end) and 0 elsewhere, so the model
    is trained to answer, not to predict the random words of the question.

    Returns:
        ``(inputs, labels, weights)``: int32, int32 and float32 arrays of shape ``(len(examples), length)``.

    Raises:
        ValueError: if an example does not fit in ``length + 1`` characters, has an empty part, or uses a
            character outside ``vocabulary`` (``KeyError`` from the vocabulary says which).
    """
    length = positive_int("length", length)
    if len(examples) == 0:
        raise ValueError("examples is empty: make some with training_examples(...)")
    inputs = np.full((len(examples), length), vocabulary.pad_id, "int32")
    labels = np.full((len(examples), length), vocabulary.pad_id, "int32")
    weights = np.zeros((len(examples), length), "float32")
    for row, (prompt, target) in enumerate(examples):
        if not prompt or not target:
            raise ValueError(f"example {row} has an empty prompt or target: {(prompt, target)!r}")
        ids = vocabulary.encode(list(prompt + target), unknown="error")
        if len(ids) > length + 1:
            raise ValueError(f"example {row} has {len(ids)} characters, more than length + 1 = {length + 1}; "
                             f"pass length >= {len(ids) - 1}")
        inputs[row, : len(ids) - 1] = ids[:-1]
        labels[row, : len(ids) - 1] = ids[1:]
        weights[row, len(prompt) - 1: len(ids) - 1] = 1.0
    return inputs, labels, weights


# --- evaluation --------------------------------------------------------------------------------------
def parse_answer(completion: str) -> str | None:
    """The answer in a completion: the text before its first ``.``; None when the answer never ended, or
    is empty, or holds anything but letters (a malformed answer is wrong, not repaired)."""
    if not isinstance(completion, str):
        raise TypeError(f"a completion must be a string, got {type(completion).__name__}: {completion!r}")
    answer, ended, _ = completion.partition(END)
    if not ended or not answer or any(c not in LETTERS for c in answer):
        return None
    return answer


def _ask(solve: Solver, prompts: list[str]) -> list[str]:
    if not callable(solve):
        raise TypeError(f"solve must be a callable mapping a list of prompts to a list of completions, "
                        f"got {type(solve).__name__}")
    if not prompts:
        return []
    completions = list(solve(prompts))
    if len(completions) != len(prompts):
        raise ValueError(f"solve returned {len(completions)} completions for {len(prompts)} prompts; it must "
                         "return one per prompt, in order")
    return completions


def _check_lists(lists) -> list[tuple[str, ...]]:
    if isinstance(lists, str) or not isinstance(lists, Sequence) or len(lists) == 0:
        raise ValueError("lists must be a non-empty sequence of word lists, e.g. sample_lists(words, 4, 200, rng)")
    return [_check_words(words, f"list {i}") for i, words in enumerate(lists)]


@dataclass(frozen=True)
class Evaluation:
    """Exact-match results of one procedure on some lists.

    Attributes:
        lists: the word lists, in order.
        predictions: the final answer for each list (None when the model's answer was malformed).
        golds: the right answers.
        steps: for each list, the sub-answers from the first prefix to the last (one entry for direct
            decoding); it stops at the first malformed sub-answer.
    """

    lists: tuple[tuple[str, ...], ...]
    predictions: tuple[str | None, ...]
    golds: tuple[str, ...]
    steps: tuple[tuple[str | None, ...], ...]

    @property
    def correct(self) -> np.ndarray:
        """A boolean array: the prediction equals the gold answer exactly."""
        return np.array([p == g for p, g in zip(self.predictions, self.golds)], dtype=bool)

    @property
    def count(self) -> int:
        return len(self.lists)

    @property
    def num_correct(self) -> int:
        return int(self.correct.sum())

    @property
    def accuracy(self) -> float:
        """The fraction of lists answered exactly right."""
        return self.num_correct / self.count


def evaluate_direct(solve: Solver, lists: Sequence[Sequence[str]]) -> Evaluation:
    """Ask each whole list in the direct format, all in one call to ``solve``, and score exact matches.

    Raises:
        ValueError: for empty or malformed lists, or a solver that returns the wrong number of completions.
        TypeError: if ``solve`` is not callable or returns something other than strings.
    """
    lists = _check_lists(lists)
    answers = [parse_answer(c) for c in _ask(solve, [direct_prompt(words) for words in lists])]
    return Evaluation(tuple(lists), tuple(answers), tuple(last_letters(w) for w in lists),
                      tuple((a,) for a in answers))


def evaluate_least_to_most(solve: Solver, lists: Sequence[Sequence[str]], carry: str = "model",
                           width: int = WIDTH) -> Evaluation:
    """Solve each list prefix by prefix, least to most, and score the last answer by exact match.

    Step 1 asks every list's first word in the direct format. Step ``k`` asks, for every list with more than
    ``k - 1`` words whose sub-answers so far are well formed, ``step_prompt(previous answer, k-th word)`` in
    one call to ``solve`` (lists of different lengths share the calls). A sub-answer that is malformed, or
    too long for the field, ends its list: its prediction is None.

    Args:
        solve: prompts -> completions (see :func:`greedy_solver`).
        lists: the word lists.
        carry: ``"model"``: the completion must hold the whole new answer (the model copies the previous
            one); ``"program"``: the prompt is followed by the previous answer, written by the program,
            and the model's completion is only what comes after it (one letter, then ``.``).
        width: the field width of the step prompts (the one the model was trained with).

    Raises:
        ValueError: for an unknown ``carry``, empty or malformed lists, lists longer than ``width + 1``
            words, or a solver that returns the wrong number of completions.
        TypeError: if ``solve`` is not callable or returns something other than strings.
    """
    if carry not in CARRY_MODES:
        raise ValueError(f"carry must be one of {', '.join(CARRY_MODES)}, got {carry!r}")
    lists = _check_lists(lists)
    width = positive_int("width", width)
    longest = max(len(words) for words in lists)
    if longest > width + 1:
        raise ValueError(f"a list of {longest} words needs a field of width >= {longest - 1}, got width={width}")
    first = [parse_answer(c) for c in _ask(solve, [direct_prompt(words[:1]) for words in lists])]
    steps = [[answer] for answer in first]
    for k in range(1, longest):
        active = [i for i, words in enumerate(lists) if len(words) > k and steps[i][-1] is not None]
        stopped = [i for i in active if len(steps[i][-1]) > width]
        for i in stopped:                    # an answer that does not fit the field ends its list
            steps[i].append(None)
        active = [i for i in active if i not in stopped]
        prompts = [step_prompt(steps[i][-1], lists[i][k], width) for i in active]
        if carry == "program":
            prompts = [prompt + steps[i][-1] for prompt, i in zip(prompts, active)]
        for i, completion in zip(active, _ask(solve, prompts)):
            answer = parse_answer(completion)
            if carry == "program" and answer is not None:
                answer = steps[i][-1] + answer
            steps[i].append(answer)
    predictions = tuple(s[-1] if len(s) == len(words) else None for s, words in zip(steps, lists))
    return Evaluation(tuple(lists), predictions, tuple(last_letters(w) for w in lists), tuple(map(tuple, steps)))


# --- a solver from a decoder -------------------------------------------------------------------------
def greedy_solver(model, vocabulary: Vocabulary, *, max_new_tokens: int, batch_size: int = 512,
                  max_length: int = 128) -> Solver:
    """A solver that decodes greedily with ``model``, ``batch_size`` prompts at a time, until ``.``.

    Every call to :func:`llmbook.generation.generate_batch` gets exactly ``batch_size`` prompts (the last
    batch is filled up with copies of its first prompt, whose completions are dropped) and the same cache
    size ``max_length``, so the decoding functions are compiled once, whatever the number of prompts.

    Args:
        model: a decoder with rotary positions (``TransformerDecoder(positions="rope")``, ``LlamaDecoder``).
        vocabulary: the character vocabulary (:func:`alphabet`).
        max_new_tokens: the longest completion, ``.`` included; a longer answer is cut and so malformed.
        batch_size: prompts decoded together.
        max_length: the cache size: at least the longest prompt, rounded up to 16, plus ``max_new_tokens``.

    Returns:
        ``solve(prompts) -> completions``.

    Raises:
        ValueError: for non-positive sizes (and, when called, prompts with characters outside the
            vocabulary, or too long for ``max_length``).
    """
    max_new_tokens = positive_int("max_new_tokens", max_new_tokens)
    batch_size = positive_int("batch_size", batch_size)
    max_length = positive_int("max_length", max_length)
    end_id = vocabulary.encode([END], unknown="error")[0]

    def solve(prompts: Sequence[str]) -> list[str]:
        from llmbook.generation import generate_batch   # imports Keras: only when a model decodes

        encoded = [vocabulary.encode(list(p), unknown="error") for p in prompts]
        completions = []
        for start in range(0, len(encoded), batch_size):
            chunk = encoded[start:start + batch_size]
            padded = chunk + [chunk[0]] * (batch_size - len(chunk))
            rows = generate_batch(model, padded, max_new_tokens, stop_tokens=[end_id], max_length=max_length)
            completions += ["".join(vocabulary.decode(row)) for row in rows[: len(chunk)]]
        return completions

    return solve
