"""llmbook.prompting.analysis: reading least-to-most and chain-of-thought traces step by step, on traces made
by scripted test doubles whose right and wrong steps are known."""

import pytest

from llmbook.prompting import (
    LAST_LETTER, decomposition_matches, last_letter_problems, least_to_most, letter_claims, step_results,
)

PROBLEM = last_letter_problems(["apple", "river", "stone", "tiger"], 3, 1, seed=1)[0]


def scripted(replies):
    replies = iter(replies)
    return lambda prompt: next(replies)         # a test double, not a language model


def solve(decomposition, answers):
    steps = [f'So, "x" outputs "{answer}".' for answer in answers]
    return least_to_most(scripted([decomposition] + steps), PROBLEM.question,
                         decompose_exemplars=LAST_LETTER.decompose, solve_exemplars=LAST_LETTER.solve)


def test_a_right_decomposition_and_its_steps():
    reference = ", ".join(f'"{q}"' for q in PROBLEM.subquestions)
    wrong_middle = [PROBLEM.subanswers[0], "zz", PROBLEM.subanswers[2]]
    trace = solve(reference, wrong_middle)
    assert decomposition_matches(trace, PROBLEM)
    assert step_results(trace, PROBLEM) == [True, False, True]
    assert step_results(solve(reference, PROBLEM.subanswers), PROBLEM) == [True, True, True]


def test_a_wrong_decomposition_is_seen():
    words = PROBLEM.question.split(", ")
    trace = solve(", ".join(f'"{w}"' for w in words), ["a", "b", "c", "d"])   # the words, not the prefixes
    assert trace.subquestions[-1] == PROBLEM.question                          # the question is appended
    assert not decomposition_matches(trace, PROBLEM)
    with pytest.raises(ValueError, match="4 steps but the problem 3"):
        step_results(trace, PROBLEM)


def test_letter_claims():
    reply = ('The last letter of "apple" is "e". The Last letter of "river"  is "r". '
             'Concatenating "e", "r" leads to "er".')
    assert letter_claims(reply) == [("apple", "e"), ("river", "r")]
    assert letter_claims("no claims here") == []
    with pytest.raises(TypeError, match="string"):
        letter_claims(None)
    with pytest.raises(TypeError, match="Trace"):
        decomposition_matches("trace", PROBLEM)
