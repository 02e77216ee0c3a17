"""Test problems for the prompting methods, generated with their answers and their least-to-most sub-problems.

- :func:`last_letter_problems`: lists of words whose answer is the concatenation of their last letters
  (Wei et al., 2022; Zhou et al., 2023), the sub-problems being the list's prefixes;
- :func:`arithmetic_problems`: a few-step word problem (a start amount, then additions and subtractions),
  the sub-problems being the story cut after each step, each with its running total;
- :data:`WORDS`: a list of common English nouns to draw the lists from.

Each problem is a :class:`Problem`; the sub-problems make the *reference decomposition*, against which a
model's own decomposition can be checked.

>>> problem = last_letter_problems(["think", "machine", "learning", "cat"], length=3, count=1, seed=0)[0]
>>> problem.question, problem.answer, problem.subquestions[0]
('machine, think, learning', 'ekg', 'machine')
>>> arithmetic_problems(steps=2, count=1, seed=1)[0].subanswers
('9', '18')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from llmbook.validation import positive_int


WORDS = (
    "apple", "river", "stone", "garden", "window", "silver", "planet", "mirror", "basket", "candle", "forest",
    "island", "rocket", "marble", "pencil", "winter", "dragon", "castle", "jacket", "ladder", "anchor",
    "bottle", "bridge", "button", "camera", "carpet", "cheese", "circle", "cloud", "coffee", "copper",
    "cotton", "desert", "dinner", "doctor", "engine", "farmer", "feather", "finger", "flower", "friend",
    "guitar", "hammer", "harbor", "helmet", "honey", "horse", "hotel", "kettle", "kitchen", "lemon", "letter",
    "lizard", "magnet", "market", "meadow", "monkey", "mountain", "needle", "ocean", "orange", "oyster",
    "palace", "parrot", "pepper", "pillow", "pirate", "pocket", "potato", "puzzle", "rabbit", "radio",
    "ribbon", "saddle", "sailor", "salad", "shadow", "shovel", "singer", "spider", "spoon", "square", "statue",
    "summer", "sunset", "sweater", "table", "teacher", "temple", "ticket", "tiger", "tomato", "tower",
    "turtle", "umbrella", "valley", "violin", "wagon", "wallet", "whale", "wheel", "wizard", "yellow", "zebra",
    "bread", "chair", "cliff", "crown", "drum", "eagle", "fence", "glove", "grape", "heart", "knife", "lamp",
    "lion", "moon", "nest", "night", "paint", "pearl", "queen", "robot", "salt", "sheep", "shirt", "snake",
    "storm", "sugar", "train", "truck", "voice", "water", "beach", "cherry", "field", "jungle", "laptop",
    "lantern", "museum", "notebook", "orchard", "quilt", "rainbow", "school", "tunnel", "village", "blanket",
    "branch", "canyon", "chicken", "cookie", "dolphin", "garlic", "hockey", "insect", "jewel", "kayak",
    "lobster", "mango", "napkin", "onion", "peach", "pumpkin", "raven", "sandal", "tablet", "tulip", "walnut",
    "yogurt", "banana", "cabbage", "donkey", "falcon", "goblin", "hamster", "iceberg", "jaguar", "koala",
    "leopard", "muffin", "noodle", "octopus", "penguin", "raccoon", "sparrow", "tractor", "unicorn", "vulture",
    "walrus", "badge", "cabin", "diary", "elbow", "fossil", "giant", "hinge", "igloo", "jelly", "karma",
    "llama", "mitten", "nickel", "opera", "pasta", "quiver", "razor", "scarf", "thumb", "vapor", "waltz",
    "yacht", "album", "bench", "coral", "dwarf", "flame", "grain", "ivory", "lemur", "medal", "novel", "olive",
    "piano", "rhyme", "sauce", "tango", "uncle", "vinyl", "wheat", "broom", "chalk", "dough", "fairy", "gravy",
    "hazel", "lilac", "maple", "nylon", "paddle", "scooter", "thorn", "velvet", "widow",
)
"""Common English nouns of 4 to 8 letters chosen for this book (no package ships a word-frequency list), the
word list of :func:`last_letter_problems` in the chapters; the paper drew its lists from a larger list of common words."""


@dataclass(frozen=True)
class Problem:
    """A question, its answer, and its sub-problems from least to most complex with their answers.

    The last sub-question is the question itself, and the last sub-answer the answer.
    """

    question: str
    answer: str
    subquestions: tuple[str, ...]
    subanswers: tuple[str, ...]


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    return np.random.default_rng(int(seed))


def last_letter_problems(words: Sequence[str], length: int, count: int, seed: int = 0) -> list[Problem]:
    """``count`` lists of ``length`` different words drawn from ``words``, with the concatenation of their
    last letters as the answer; sub-problem ``k`` is the list of the first ``k`` words.

    Args:
        words: the word list (at least ``length`` different words, each non-empty and without commas).
        length: words per list.
        count: how many lists.
        seed: the random seed (the same seed gives the same lists).

    Returns:
        A list of :class:`Problem`.

    Raises:
        ValueError: for a non-positive ``length`` or ``count``, fewer than ``length`` distinct words, or a
            word that is empty or holds a comma (it would split into two).
        TypeError: for a string instead of a word list, or a seed that is not an int.
    """
    if isinstance(words, str):
        raise TypeError("words must be a list of words, not one string: split it first")
    length, count = positive_int("length", length), positive_int("count", count)
    pool = sorted({str(word).strip() for word in words})
    bad = [word for word in pool if not word or "," in word]
    if bad:
        raise ValueError(f"words must be non-empty and without commas; got {bad[:3]}")
    if len(pool) < length:
        raise ValueError(f"{len(pool)} distinct words cannot make lists of {length} different words: give more words")
    rng, problems = _rng(seed), []
    for _ in range(count):
        chosen = [pool[i] for i in rng.choice(len(pool), size=length, replace=False)]
        subquestions = tuple(", ".join(chosen[:k]) for k in range(1, length + 1))
        subanswers = tuple("".join(word[-1] for word in chosen[:k]) for k in range(1, length + 1))
        problems.append(Problem(subquestions[-1], subanswers[-1], subquestions, subanswers))
    return problems


_NAMES = (("Anna", "she"), ("Ben", "he"), ("Carla", "she"), ("David", "he"), ("Emma", "she"), ("Farid", "he"),
          ("Grace", "she"), ("Hugo", "he"), ("Ines", "she"), ("Jonas", "he"))
_THINGS = ("apples", "marbles", "stickers", "cookies", "stamps", "pencils", "shells", "cards")
_MORE = ("buys {n} more", "finds {n} more", "gets {n} more from a friend")
_FEWER = ("gives away {n}", "loses {n}", "uses {n}")


def arithmetic_problems(steps: int, count: int, seed: int = 0, *, largest: int = 20) -> list[Problem]:
    """``count`` word problems of one start amount and ``steps`` additions or subtractions.

    A problem reads ``"Anna has 3 apples. She buys 4 more. Then she loses 2. How many apples does Anna
    have now?"``; its sub-problem ``k`` is the same story cut after step ``k`` (with the same final
    question), and its answer the running total. The start amount is 2 to 9, every change 1 to 9, and every
    running total stays between 0 and ``largest``.

    Args:
        steps: additions or subtractions per problem (at least 1).
        count: how many problems.
        seed: the random seed.
        largest: the largest running total allowed.

    Returns:
        A list of :class:`Problem`.

    Raises:
        ValueError: for a non-positive ``steps`` or ``count``, or ``largest`` < 10.
        TypeError: for a seed that is not an int.
    """
    steps, count = positive_int("steps", steps), positive_int("count", count)
    largest = positive_int("largest", largest, minimum=10)
    rng, problems = _rng(seed), []
    for _ in range(count):
        name, pronoun = _NAMES[rng.integers(len(_NAMES))]
        things = _THINGS[rng.integers(len(_THINGS))]
        total = int(rng.integers(2, 10))            # from 2: a plural noun reads right
        sentences, totals = [f"{name} has {total} {things}."], []
        for step in range(steps):
            can_add, can_take = total + 1 <= largest, total >= 1
            add = bool(rng.integers(2)) if can_add and can_take else can_add
            limit = min(9, largest - total) if add else min(9, total)
            amount = int(rng.integers(1, limit + 1))
            phrase = (_MORE if add else _FEWER)[rng.integers(3)].format(n=amount)
            total = total + amount if add else total - amount
            subject = pronoun.capitalize() if step == 0 else f"Then {pronoun}"
            sentences.append(f"{subject} {phrase}.")
            totals.append(str(total))
        ask = f"How many {things} does {name} have now?"
        subquestions = tuple(" ".join(sentences[: k + 2] + [ask]) for k in range(steps))
        problems.append(Problem(subquestions[-1], totals[-1], subquestions, tuple(totals)))
    return problems
