"""llmbook.prompting.problems: generated last-letter lists and word problems carry the right answers and
sub-problems (checked by brute force: re-reading the text), and the ARITHMETIC exemplars are consistent."""

import re

import pytest

from llmbook.prompting import ARITHMETIC, WORDS, arithmetic_problems, last_letter_problems


def test_last_letter_answers_and_subproblems():
    problems = last_letter_problems(WORDS, length=5, count=50, seed=3)
    assert len(problems) == 50 and len({p.question for p in problems}) == 50
    for problem in problems:
        words = problem.question.split(", ")
        assert len(words) == len(set(words)) == 5 and set(words) <= set(WORDS)
        assert problem.answer == "".join(word[-1] for word in words)
        assert problem.subquestions == tuple(", ".join(words[:k]) for k in range(1, 6))
        assert problem.subanswers[-1] == problem.answer
        assert all(a == problem.answer[: k + 1] for k, a in enumerate(problem.subanswers))
    assert last_letter_problems(WORDS, 5, 50, seed=3) == problems
    assert last_letter_problems(WORDS, 5, 50, seed=4) != problems


def story_total(story):
    """The amount at the end of a story, read back from its text."""
    total = int(re.search(r"has (\d+)", story).group(1))
    for verb, amount in re.findall(r"(buys|finds|gets|gives away|loses|uses) (\d+)", story):
        total += int(amount) if verb in ("buys", "finds", "gets") else -int(amount)
    return total


@pytest.mark.parametrize("steps", [1, 2, 3, 4])
def test_arithmetic_answers_and_subproblems(steps):
    problems = arithmetic_problems(steps, count=60, seed=steps)
    for problem in problems:
        assert problem.question.endswith("have now?") and len(problem.subquestions) == steps
        assert problem.subquestions[-1] == problem.question
        assert problem.subanswers == tuple(str(story_total(q)) for q in problem.subquestions)
        assert all(0 <= int(a) <= 20 for a in problem.subanswers)
        assert problem.question.count("Then") == steps - 1
    assert {p.answer for p in problems} != {problems[0].answer}


def test_arithmetic_exemplars_are_right():
    for exemplar in ARITHMETIC.standard + ARITHMETIC.chain_of_thought + ARITHMETIC.solve:
        assert exemplar.answer.endswith(f"The answer is {story_total(exemplar.question)}.")
    for equation in re.findall(r"\d+ [+-] \d+ = \d+", " ".join(e.answer for e in ARITHMETIC.chain_of_thought)):
        left, result = equation.split(" = ")
        assert eval(left) == int(result)                         # noqa: S307 (digits and +/- only)
    for decomposition in ARITHMETIC.decompose:
        assert decomposition.subquestions[-1] == decomposition.question


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="distinct words cannot make lists of 4"):
        last_letter_problems(["a", "b", "c"], 4, 1)
    with pytest.raises(ValueError, match="without commas"):
        last_letter_problems(["a, b", "c"], 1, 1)
    with pytest.raises(TypeError, match="not one string"):
        last_letter_problems("apple pear", 1, 1)
    with pytest.raises(ValueError, match="count"):
        arithmetic_problems(2, 0)
    with pytest.raises(ValueError, match="largest"):
        arithmetic_problems(2, 5, largest=5)
    with pytest.raises(TypeError, match="seed"):
        arithmetic_problems(2, 5, seed="1")
