"""llmbook.tasks.last_letter: gold answers, the prefix decomposition, the text formats and training arrays,
exact-match evaluation driven by scripted solvers with known right and wrong answers, and bad input."""

import numpy as np
import pytest

from llmbook.tasks import last_letter as ll


class Scripted:
    """A test double: answers every prompt right (it parses the formats itself), except where told, and
    records what it was asked."""

    def __init__(self, wrong=(), malformed=(), carried=False):
        self.wrong, self.malformed, self.carried, self.calls = set(wrong), set(malformed), carried, []

    def answer(self, prompt):
        question, _, written = prompt.partition(ll.ANSWER)
        if ll.CARRY in question:
            word, previous = question.split(ll.CARRY)
            assert len(previous) == ll.WIDTH, "the field has a fixed width"
            previous = previous.rstrip(ll.FILLER)
            right = previous + word[-1]
        else:
            right = "".join(w[-1] for w in question.split(ll.SEPARATOR))
        if question in self.malformed:
            return right                                   # no end mark: malformed
        if question in self.wrong:
            right = right[:-1] + ("z" if right[-1] != "z" else "y")
        assert right.startswith(written), "the program wrote a wrong carried answer"
        return right[len(written):] + ll.END

    def __call__(self, prompts):
        self.calls.append(list(prompts))
        return [self.answer(p) for p in prompts]


# --------------------------------------------------------------------------------- the task itself
def test_last_letters_is_the_concatenated_last_letters():
    assert ll.last_letters(("think", "machine")) == "ke"
    assert ll.last_letters(["think", "machine", "learning", "a"]) == "kega"
    rng = np.random.default_rng(0)
    for _ in range(50):
        words = ["".join(rng.choice(list(ll.LETTERS), size=rng.integers(1, 8))) for _ in range(rng.integers(1, 13))]
        assert ll.last_letters(words) == "".join(w[len(w) - 1] for w in words)


def test_prefixes_go_from_least_to_most():
    words = ("think", "machine", "learning")
    assert ll.prefixes(words) == [("think",), ("think", "machine"), ("think", "machine", "learning")]
    assert ll.prefixes(["a"]) == [("a",)]
    # each prefix's answer is the previous prefix's answer plus one letter
    answers = [ll.last_letters(p) for p in ll.prefixes(words)]
    assert all(b == a + w[-1] for a, b, w in zip(answers, answers[1:], words[1:]))


def test_formats():
    assert ll.direct_prompt(("think", "machine")) == "think,machine>"
    assert ll.direct_example(("think", "machine")) == ("think,machine>", "ke.")
    assert ll.step_prompt("k", "machine") == "machine+k__________>"          # width 11 by default
    assert ll.step_prompt("k", "machine", width=3) == "machine+k__>"
    assert ll.step_example("ke", "learning", width=3) == ("learning+ke_>", "keg.")
    # the field puts every letter of the previous answer width + 1 characters before the same letter of the answer
    prompt, target = ll.step_example("abcd", "dog", width=6)
    text = prompt + target
    assert all(text[text.index("+") + 1 + j] == text[len(prompt) + j] for j in range(4))
    assert len(prompt) - (text.index("+") + 1) == 6 + 1
    vocabulary = ll.alphabet()
    assert len(vocabulary) == 32 and vocabulary.pad_id == 0
    text = "learning+ke_________>keg."
    assert "".join(vocabulary.decode(vocabulary.encode(list(text), unknown="error"))) == text


def test_parse_answer():
    assert ll.parse_answer("ke.") == "ke"
    assert ll.parse_answer("ke.zz") == "ke"                 # what follows the end is ignored
    assert ll.parse_answer("ke") is None                    # never ended
    assert ll.parse_answer(".") is None                     # empty
    assert ll.parse_answer("k>e.") is None                  # not letters only


# --------------------------------------------------------------------------------------- data
def test_word_list_is_lower_case_words_of_the_asked_lengths():
    words = ll.load_word_list(3, 5)
    assert len(words) > 650 and list(words) == sorted(set(words))
    assert all(3 <= len(w) <= 5 and set(w) <= set(ll.LETTERS) for w in words)
    assert {"cat", "dog", "happy", "eagle"} <= set(words) and "machine" not in words
    assert "paris" not in words and "athens" not in words              # names in the analogy set are capitalized
    simlex = ll.load_word_list(3, 5, sources=["simlex999"])
    assert set(simlex) < set(words) and set(ll.load_word_list(3, 6)) > set(words)
    with pytest.raises(ValueError, match="unknown or no source"):
        ll.load_word_list(sources=["wordnet"])


def test_split_words_is_disjoint_complete_and_seeded():
    words = [f"w{c}" for c in "abcdefghij"]
    words = [w.replace("w", "q") for w in words]
    split = ll.split_words(words, 0.3, seed=1)
    assert len(split.test) == 3 and set(split.train) | set(split.test) == set(words)
    assert not set(split.train) & set(split.test)
    assert ll.split_words(words, 0.3, seed=1) == split and ll.split_words(words, 0.3, seed=2) != split


def test_sample_lists_are_distinct_words_of_one_length_and_reproducible():
    words = ll.load_word_list()[:30]
    lists = ll.sample_lists(words, 4, 100, np.random.default_rng(3))
    assert len(lists) == 100 and all(len(x) == 4 == len(set(x)) and set(x) <= set(words) for x in lists)
    assert lists == ll.sample_lists(words, 4, 100, np.random.default_rng(3))
    assert lists != ll.sample_lists(words, 4, 100, np.random.default_rng(4))


def test_training_examples_are_right_and_follow_the_limits():
    words = ll.load_word_list()[:40]
    examples = ll.training_examples(words, 2000, np.random.default_rng(0), max_list_length=3, width=11)
    direct = [(p, t) for p, t in examples if ll.CARRY not in p]
    steps = [(p, t) for p, t in examples if ll.CARRY in p]
    assert 900 < len(direct) < 1100                          # direct_fraction 0.5
    for prompt, target in direct:
        listed = prompt[:-1].split(ll.SEPARATOR)
        assert 1 <= len(listed) <= 3 and set(listed) <= set(words) and target == ll.last_letters(listed) + "."
    assert {len(p[:-1].split(ll.SEPARATOR)) for p, _ in direct} == {1, 2, 3}
    previous_lengths = set()
    for prompt, target in steps:
        word, field = prompt[:-1].split(ll.CARRY)
        previous = field.rstrip(ll.FILLER)
        assert len(field) == 11 and set(previous) <= set(ll.LETTERS)
        previous_lengths.add(len(previous))
        assert word in words and target == previous + word[-1] + "."
    assert previous_lengths == set(range(1, 12))
    assert ll.training_examples(words, 50, np.random.default_rng(0)) == examples[:50]
    assert all(ll.CARRY not in p for p, _ in ll.training_examples(words, 50, np.random.default_rng(0),
                                                                      direct_fraction=1.0))


def test_encode_examples_shifts_by_one_and_weights_the_target_only():
    vocabulary = ll.alphabet()
    inputs, labels, weights = ll.encode_examples([("cd+ab>", "abd."), ("x>", "x.")], vocabulary, length=12)
    assert inputs.shape == labels.shape == weights.shape == (2, 12)
    ids = vocabulary.encode(list("cd+ab>abd."), unknown="error")
    assert inputs[0, :9].tolist() == ids[:-1] and labels[0, :9].tolist() == ids[1:]
    assert (inputs[0, 9:] == 0).all() and (labels[0, 9:] == 0).all()
    # the weights cover exactly the positions whose label is a target character: a, b, d, .
    assert weights[0].tolist() == [0] * 5 + [1] * 4 + [0] * 3
    assert "".join(vocabulary.decode(labels[0][weights[0] == 1])) == "abd."
    assert "".join(vocabulary.decode(labels[1][weights[1] == 1])) == "x."


# --------------------------------------------------------------------------------- evaluation
LISTS = [("cat", "dog", "sun"), ("red", "blue"), ("one",), ("big", "fish", "swim", "fast")]


def test_direct_evaluation_scores_exact_matches():
    solver = Scripted(wrong={"red,blue"}, malformed={"one"})
    result = ll.evaluate_direct(solver, LISTS)
    assert solver.calls == [["cat,dog,sun>", "red,blue>", "one>", "big,fish,swim,fast>"]]   # one batched call
    assert result.golds == ("tgn", "de", "e", "ghmt")
    assert result.predictions == ("tgn", "dz", None, "ghmt")
    assert result.correct.tolist() == [True, False, False, True]
    assert result.num_correct == 2 and result.count == 4 and result.accuracy == 0.5


def test_least_to_most_asks_each_prefix_with_the_previous_answer():
    solver = Scripted()
    result = ll.evaluate_least_to_most(solver, LISTS, carry="model")
    assert solver.calls == [
        ["cat>", "red>", "one>", "big>"],
        ["dog+t__________>", "blue+d__________>", "fish+g__________>"],
        ["sun+tg_________>", "swim+gh_________>"],
        ["fast+ghm________>"],
    ]
    assert result.accuracy == 1.0 and result.predictions == result.golds
    assert result.steps[0] == ("t", "tg", "tgn") and result.steps[2] == ("e",)


def test_least_to_most_carries_a_wrong_sub_answer_forward():
    solver = Scripted(wrong={"dog+t__________"}, malformed={"fish+g__________"})
    result = ll.evaluate_least_to_most(solver, LISTS, carry="model")
    assert solver.calls[2] == ["sun+tz_________>"]                     # the wrong answer is carried; the malformed list stops
    assert result.steps[0] == ("t", "tz", "tzn") and result.steps[3] == ("g", None)
    assert result.predictions == ("tzn", "de", "e", None)
    assert result.correct.tolist() == [False, True, True, False] and result.accuracy == 0.5


def test_an_answer_too_long_for_the_field_ends_its_list():
    too_long = lambda prompts: ["abcd." for _ in prompts]      # noqa: E731
    result = ll.evaluate_least_to_most(too_long, [("cat", "dog", "sun", "hat")], width=3)
    assert result.steps == (("abcd", None),) and result.predictions == (None,) and result.accuracy == 0.0


def test_program_carry_writes_the_previous_answer_itself():
    solver = Scripted(wrong={"blue+d__________"})
    result = ll.evaluate_least_to_most(solver, LISTS, carry="program")
    assert solver.calls[1] == ["dog+t__________>t", "blue+d__________>d", "fish+g__________>g"]
    assert solver.calls[3] == ["fast+ghm________>ghm"]
    assert result.predictions == ("tgn", "dz", "e", "ghmt") and result.accuracy == 0.75


def test_program_carry_keeps_the_carried_part_whatever_the_model_writes():
    # a model that answers every step with one fixed letter: under the program carry its first letters stay
    fixed = lambda prompts: ["q." for _ in prompts]          # noqa: E731
    result = ll.evaluate_least_to_most(fixed, [("cat", "dog", "sun")], carry="program")
    assert result.predictions == ("qqq",)
    result = ll.evaluate_least_to_most(fixed, [("cat", "dog", "sun")], carry="model")
    assert result.predictions == ("q",) and result.accuracy == 0.0


def test_greedy_solver_decodes_in_fixed_batches_like_generate_batch():
    from llmbook.generation import generate_batch
    from llmbook.models.decoder import TransformerDecoder
    from llmbook.training import set_seed

    set_seed(0, keras=True)
    vocabulary = ll.alphabet()
    model = TransformerDecoder(len(vocabulary), hidden_dim=16, num_layers=1, num_heads=2, max_length=64,
                               positions="rope")
    prompts = ["cat,dog>", "machine+k__________>", "sun>"]
    solve = ll.greedy_solver(model, vocabulary, max_new_tokens=5, batch_size=2, max_length=48)
    completions = solve(prompts)
    end = vocabulary.encode(["."], unknown="error")
    expected = generate_batch(model, [vocabulary.encode(list(p), unknown="error") for p in prompts], 5,
                              stop_tokens=end, max_length=48)
    assert completions == ["".join(vocabulary.decode(row)) for row in expected]
    assert all(len(c) <= 5 for c in completions)


# ---------------------------------------------------------------------------------------- bad input
def test_bad_input_is_refused_with_a_clear_message():
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match="not a single string"):
        ll.last_letters("think")
    with pytest.raises(ValueError, match="lower-case letters"):
        ll.last_letters(["Think"])
    with pytest.raises(ValueError, match="non-empty sequence"):
        ll.prefixes([])
    with pytest.raises(ValueError, match="previous_answer"):
        ll.step_prompt("", "dog")
    with pytest.raises(ValueError, match="distinct words, but only 2"):
        ll.sample_lists(["cat", "dog"], 3, 5, rng)
    with pytest.raises(TypeError, match="numpy Generator"):
        ll.sample_lists(["cat", "dog"], 1, 5, 0)
    with pytest.raises(ValueError, match="count must be a positive integer"):
        ll.sample_lists(["cat", "dog"], 1, 0, rng)
    with pytest.raises(ValueError, match="distinct"):
        ll.split_words(["cat", "cat", "dog"])
    with pytest.raises(ValueError, match="test_fraction"):
        ll.split_words(["cat", "dog"], 1.0)
    with pytest.raises(ValueError, match="direct_fraction"):
        ll.training_examples(["cat"], 5, rng, max_list_length=1, direct_fraction=2)
    with pytest.raises(ValueError, match="pass length >= 9"):
        ll.encode_examples([("cd+ab>", "abd.")], ll.alphabet(), length=4)
    with pytest.raises(ValueError, match="more than the field's width=2"):
        ll.step_prompt("abc", "dog", width=2)
    with pytest.raises(ValueError, match="a list of 4 words needs a field of width >= 3"):
        ll.evaluate_least_to_most(Scripted(), LISTS, width=2)
    with pytest.raises(KeyError):
        ll.encode_examples([("AB>", "B.")], ll.alphabet(), length=8)
    with pytest.raises(ValueError, match="carry must be one of model, program"):
        ll.evaluate_least_to_most(Scripted(), LISTS, carry="both")
    with pytest.raises(ValueError, match="returned 1 completions for 4 prompts"):
        ll.evaluate_direct(lambda prompts: ["x."], LISTS)
    with pytest.raises(TypeError, match="solve must be a callable"):
        ll.evaluate_direct("model", LISTS)
    with pytest.raises(TypeError, match="a completion must be a string"):
        ll.evaluate_direct(lambda prompts: [1] * len(prompts), LISTS)
    with pytest.raises(ValueError, match="non-empty sequence of word lists"):
        ll.evaluate_direct(Scripted(), [])
    with pytest.raises(ValueError, match="max_new_tokens"):
        ll.greedy_solver(object(), ll.alphabet(), max_new_tokens=0)
