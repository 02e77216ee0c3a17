"""Few-shot exemplars as data: last-letter concatenation and SCAN, in the format of Zhou et al. (2023).

Each task has four sets, one per prompting method:

- ``standard``: question and bare answer;
- ``chain_of_thought``: question and an answer that reasons step by step, then says ``So, "..." outputs "..."``;
- ``decompose``: question and its sub-questions from least to most complex, the last one the question itself
  (the first stage of least-to-most prompting);
- ``solve``: questions answered with the help of earlier sub-questions and their answers (the second stage).

The last-letter sets use the paper's words (*think, machine, learning, reasoning, generalization*) in its
two-shot format. The ARITHMETIC sets are
word problems of a few additions and subtractions, written for this book in the same shape. The SCAN sets follow the grammar of Lake & Baroni (2018): ``x and y`` gives x's actions
then y's, ``x after y`` gives y's then x's, ``opposite`` turns twice, ``around`` turns and acts four times,
``turn`` emits nothing by itself.

>>> LAST_LETTER.decompose[0].answer
'"think", "think, machine", "think, machine, learning"'
>>> ARITHMETIC.solve[1].answer
'Lena has 8 books after she buys 3 more. She gives away 4: 8 - 4 = 4. The answer is 4.'
>>> SCAN.standard[1].question, SCAN.standard[1].answer
('turn right', '"I_TURN_RIGHT"')
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Exemplar:
    """One solved example of a few-shot prompt.

    Args:
        question: the question, without quotes (the prompt shows it as ``Q: "question"``).
        answer: the answer text exactly as the prompt shows it after ``A:``.
    """

    question: str
    answer: str


@dataclass(frozen=True)
class Decomposition:
    """One solved example of the decomposition stage: a question and its sub-questions.

    Args:
        question: the question, without quotes.
        subquestions: from least to most complex; the last is the question itself.
    """

    question: str
    subquestions: tuple[str, ...]

    @property
    def answer(self) -> str:
        """The sub-questions as the prompt shows them: quoted, separated by commas."""
        return ", ".join(f'"{subquestion}"' for subquestion in self.subquestions)


@dataclass(frozen=True)
class TaskExemplars:
    """The exemplar sets of one task, one per prompting method (see the module docstring)."""

    standard: tuple[Exemplar, ...]
    chain_of_thought: tuple[Exemplar, ...]
    decompose: tuple[Decomposition, ...]
    solve: tuple[Exemplar, ...]


LAST_LETTER = TaskExemplars(
    standard=(
        Exemplar("think, machine", '"ke"'),
        Exemplar("learning, reasoning, generalization", '"ggn"'),
    ),
    chain_of_thought=(
        Exemplar("think, machine",
                 'The last letter of "think" is "k". The last letter of "machine" is "e". '
                 'Concatenating "k", "e" leads to "ke". So, "think, machine" outputs "ke".'),
        Exemplar("learning, reasoning, generalization",
                 'The last letter of "learning" is "g". The last letter of "reasoning" is "g". '
                 'The last letter of "generalization" is "n". Concatenating "g", "g", "n" leads to "ggn". '
                 'So, "learning, reasoning, generalization" outputs "ggn".'),
    ),
    decompose=(
        Decomposition("think, machine, learning", ("think", "think, machine", "think, machine, learning")),
        Decomposition("learning, reasoning, generalization",
                      ("learning", "learning, reasoning", "learning, reasoning, generalization")),
    ),
    solve=(
        Exemplar("think, machine",
                 'The last letter of "think" is "k". The last letter of "machine" is "e". '
                 'Concatenating "k", "e" leads to "ke". So, "think, machine" outputs "ke".'),
        Exemplar("think, machine, learning",
                 '"think, machine" outputs "ke". The last letter of "learning" is "g". '
                 'Concatenating "ke", "g" leads to "keg". So, "think, machine, learning" outputs "keg".'),
    ),
)

_LOOK_OPPOSITE_RIGHT = "I_TURN_RIGHT I_TURN_RIGHT I_LOOK"
_LOOK_OPPOSITE_RIGHT_THRICE = " ".join([_LOOK_OPPOSITE_RIGHT] * 3)
_JUMP_AROUND_LEFT = " ".join(["I_TURN_LEFT I_JUMP"] * 4)

SCAN = TaskExemplars(
    standard=(
        Exemplar("look opposite right thrice after walk", f'"I_WALK {_LOOK_OPPOSITE_RIGHT_THRICE}"'),
        Exemplar("turn right", '"I_TURN_RIGHT"'),
        Exemplar("jump around left", f'"{_JUMP_AROUND_LEFT}"'),
        Exemplar("run left twice and look", '"I_TURN_LEFT I_RUN I_TURN_LEFT I_RUN I_LOOK"'),
    ),
    chain_of_thought=(
        Exemplar("look opposite right thrice after walk",
                 '"x after y" does y first, then x. "walk" outputs "I_WALK". "look opposite right" turns right '
                 f'twice, then looks: "{_LOOK_OPPOSITE_RIGHT}". "thrice" repeats it three times: '
                 f'"{_LOOK_OPPOSITE_RIGHT_THRICE}". So, "look opposite right thrice after walk" outputs '
                 f'"I_WALK {_LOOK_OPPOSITE_RIGHT_THRICE}".'),
        Exemplar("turn right",
                 '"turn" is no action by itself; only the turn remains. So, "turn right" outputs "I_TURN_RIGHT".'),
        Exemplar("jump around left",
                 '"around left" turns left, then acts, four times over. So, "jump around left" outputs '
                 f'"{_JUMP_AROUND_LEFT}".'),
        Exemplar("run left twice and look",
                 '"x and y" does x first, then y. "run left" turns left, then runs: "I_TURN_LEFT I_RUN". '
                 '"twice" repeats it two times: "I_TURN_LEFT I_RUN I_TURN_LEFT I_RUN". "look" outputs "I_LOOK". '
                 'So, "run left twice and look" outputs "I_TURN_LEFT I_RUN I_TURN_LEFT I_RUN I_LOOK".'),
    ),
    decompose=(
        Decomposition("look opposite right thrice after walk",
                      ("look opposite right", "look opposite right thrice", "walk",
                       "look opposite right thrice after walk")),
        Decomposition("run left twice and look",
                      ("run left", "run left twice", "look", "run left twice and look")),
    ),
    solve=(
        Exemplar("look opposite right",
                 '"opposite right" turns right twice before the action. So, "look opposite right" outputs '
                 f'"{_LOOK_OPPOSITE_RIGHT}".'),
        Exemplar("look opposite right thrice",
                 f'"look opposite right" outputs "{_LOOK_OPPOSITE_RIGHT}". "thrice" repeats it three times. '
                 f'So, "look opposite right thrice" outputs "{_LOOK_OPPOSITE_RIGHT_THRICE}".'),
        Exemplar("walk", 'So, "walk" outputs "I_WALK".'),
        Exemplar("look opposite right thrice after walk",
                 '"x after y" does y first, then x. "walk" outputs "I_WALK". "look opposite right thrice" '
                 f'outputs "{_LOOK_OPPOSITE_RIGHT_THRICE}". So, "look opposite right thrice after walk" outputs '
                 f'"I_WALK {_LOOK_OPPOSITE_RIGHT_THRICE}".'),
        Exemplar("turn right",
                 '"turn" is no action by itself; only the turn remains. So, "turn right" outputs "I_TURN_RIGHT".'),
        Exemplar("jump around left",
                 '"around left" turns left, then acts, four times over. So, "jump around left" outputs '
                 f'"{_JUMP_AROUND_LEFT}".'),
        Exemplar("run left twice and look",
                 '"x and y" does x first, then y. "run left twice" outputs "I_TURN_LEFT I_RUN I_TURN_LEFT I_RUN". '
                 '"look" outputs "I_LOOK". So, "run left twice and look" outputs '
                 '"I_TURN_LEFT I_RUN I_TURN_LEFT I_RUN I_LOOK".'),
    ),
)

_STORY_1 = "Lena has 5 books. She buys 3 more. Then she gives away 4. How many books does Lena have now?"
_STORY_1_STEP_1 = "Lena has 5 books. She buys 3 more. How many books does Lena have now?"
_STORY_2 = ("Omar has 9 coins. He loses 2. Then he finds 6 more. Then he uses 5. "
            "How many coins does Omar have now?")
_STORY_2_STEP_1 = "Omar has 9 coins. He loses 2. How many coins does Omar have now?"
_STORY_2_STEP_2 = "Omar has 9 coins. He loses 2. Then he finds 6 more. How many coins does Omar have now?"

ARITHMETIC = TaskExemplars(
    standard=(
        Exemplar(_STORY_1, "The answer is 4."),
        Exemplar(_STORY_2, "The answer is 8."),
    ),
    chain_of_thought=(
        Exemplar(_STORY_1, "Lena starts with 5 books. She buys 3 more: 5 + 3 = 8. She gives away 4: 8 - 4 = 4. "
                           "The answer is 4."),
        Exemplar(_STORY_2, "Omar starts with 9 coins. He loses 2: 9 - 2 = 7. He finds 6 more: 7 + 6 = 13. "
                           "He uses 5: 13 - 5 = 8. The answer is 8."),
    ),
    decompose=(
        Decomposition(_STORY_1, (_STORY_1_STEP_1, _STORY_1)),
        Decomposition(_STORY_2, (_STORY_2_STEP_1, _STORY_2_STEP_2, _STORY_2)),
    ),
    solve=(
        Exemplar(_STORY_1_STEP_1, "Lena starts with 5 books. She buys 3 more: 5 + 3 = 8. The answer is 8."),
        Exemplar(_STORY_1, "Lena has 8 books after she buys 3 more. She gives away 4: 8 - 4 = 4. The answer is 4."),
    ),
)
"""Few-step word problems (:func:`llmbook.prompting.problems.arithmetic_problems`), in the format of the
last-letter sets: the decomposition cuts the story after each step, and each solving answer starts from the
amount the previous sub-problem gave."""
