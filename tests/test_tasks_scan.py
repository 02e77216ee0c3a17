"""llmbook.tasks.scan: SCAN's grammar and counts, its meaning on hand-checked commands, the length split,
the decomposer (composing the interpreter's answers for the pieces gives the interpreter's answer for the
whole, on all 20,910 commands), the paper's exemplars, exact-match evaluation, the model's text format,
and bad input."""

from collections import Counter

import numpy as np
import pytest

from llmbook.prompting import SCAN
from llmbook.tasks import scan


@pytest.fixture(scope="module")
def split():
    return scan.length_split()


# ------------------------------------------------------------------------------------------ grammar
def test_counts_of_the_grammar():
    assert len(scan.units()) == len(set(scan.units())) == 34
    assert len(scan.sequences()) == len(set(scan.sequences())) == 102
    commands = scan.commands()
    assert len(commands) == len(set(commands)) == 20910
    assert Counter(len(c.split()) for c in commands)[1] == 4          # the four bare verbs


def test_length_split_counts(split):
    train, test = split
    assert (len(train), len(test)) == (16990, 3920)
    train_lengths = {len(a.split()) for _, a in train}
    test_lengths = {len(a.split()) for _, a in test}
    assert max(train_lengths) == 22 and min(test_lengths) == 24 and max(test_lengths) == 48
    assert 23 not in train_lengths | test_lengths                     # no command has 23 actions
    assert len(train) + len(test) == 20910
    assert not {c for c, _ in train} & {c for c, _ in test}


# ------------------------------------------------------------------------------------------ meaning
@pytest.mark.parametrize("command, actions", [
    ("walk", "I_WALK"),
    ("turn left", "I_TURN_LEFT"),
    ("turn right twice", "I_TURN_RIGHT I_TURN_RIGHT"),
    ("run left", "I_TURN_LEFT I_RUN"),
    ("look opposite right", "I_TURN_RIGHT I_TURN_RIGHT I_LOOK"),
    ("turn opposite left", "I_TURN_LEFT I_TURN_LEFT"),
    ("jump around left", "I_TURN_LEFT I_JUMP I_TURN_LEFT I_JUMP I_TURN_LEFT I_JUMP I_TURN_LEFT I_JUMP"),
    ("turn around right", "I_TURN_RIGHT I_TURN_RIGHT I_TURN_RIGHT I_TURN_RIGHT"),
    ("walk thrice", "I_WALK I_WALK I_WALK"),
    ("walk and run", "I_WALK I_RUN"),
    ("walk after run", "I_RUN I_WALK"),
    ("jump twice after turn left", "I_TURN_LEFT I_JUMP I_JUMP"),
    ("run left twice and look", "I_TURN_LEFT I_RUN I_TURN_LEFT I_RUN I_LOOK"),
    ("look opposite right thrice after walk",
     "I_WALK" + " I_TURN_RIGHT I_TURN_RIGHT I_LOOK" * 3),
])
def test_interpretation_by_hand(command, actions):
    assert scan.interpret(command) == actions
    assert scan.action_length(command) == len(actions.split())


def test_longest_commands_are_around_thrice_twice():
    longest = [c for c in scan.commands() if scan.action_length(c) == 48]
    assert len(longest) == 128                                        # (4 verbs x 2 directions)^2 x 2 connectives
    assert all(c.split()[2] in scan.DIRECTIONS and c.count("around") == 2 and c.count("thrice") == 2 for c in longest)


def test_the_paper_exemplars_agree_with_the_interpreter():
    for exemplar in SCAN.standard:
        assert scan.interpret(exemplar.question) == exemplar.answer.strip('"')
    for decomposition in SCAN.decompose:
        assert scan.subquestions(decomposition.question) == decomposition.subquestions


# ------------------------------------------------------------------------------------------ decomposition
@pytest.mark.parametrize("level", scan.LEVELS)
def test_composing_the_pieces_gives_the_whole_for_every_command(level):
    for command in scan.commands():
        plan = scan.decompose(command, level)
        pieces = [scan.interpret(part.command) for part in plan.parts]
        assert plan.compose(pieces) == scan.interpret(command), command


def test_pieces_by_level():
    unit = scan.decompose("jump around left twice after turn right thrice", "unit")
    assert [(p.command, p.times) for p in unit.parts] == [("turn right", 3), ("jump around left", 2)]
    conjunction = scan.decompose("jump around left twice after turn right thrice", "conjunction")
    assert [(p.command, p.times) for p in conjunction.parts] == [("turn right thrice", 1), ("jump around left twice", 1)]
    pieces = {p.command for c in scan.commands() for p in scan.decompose(c, "unit").parts}
    assert pieces == set(scan.units())
    pieces = {p.command for c in scan.commands() for p in scan.decompose(c, "conjunction").parts}
    assert pieces == set(scan.sequences())


def test_compose_uses_the_given_outputs_not_the_answer():
    plan = scan.decompose("walk twice after run")
    assert plan.compose(["A", "B C"]) == "A B C B C"                  # run's piece first, walk's repeated
    with pytest.raises(ValueError, match="2 part"):
        plan.compose(["A"])
    with pytest.raises(ValueError, match="a string"):
        plan.compose("A B")
    with pytest.raises(TypeError, match="action string"):
        plan.compose(["A", 3])


def test_subquestions_least_to_most():
    assert scan.subquestions("walk") == ("walk",)
    assert scan.subquestions("walk twice") == ("walk", "walk twice")
    assert scan.subquestions("run and jump thrice") == ("run", "jump", "jump thrice", "run and jump thrice")


# ------------------------------------------------------------------------------------------ evaluation
def test_evaluate_with_the_interpreter_and_a_broken_translator(split):
    _, test = split
    oracle = lambda batch: [scan.interpret(c) for c in batch]  # noqa: E731
    assert scan.evaluate(oracle, test, batch_size=1000).all()
    assert scan.evaluate(oracle, test, "least-to-most", "conjunction").all()
    # A translator that gets one unit wrong fails exactly the test commands that contain it.
    def broken(batch):
        return ["I_WALK" if c == "jump around left" else scan.interpret(c) for c in batch]
    correct = scan.evaluate(broken, test, "least-to-most", "unit")
    contains = np.array(["jump around left" in c for c, _ in test])
    assert contains.any() and (correct == ~contains).all()
    assert not scan.evaluate(broken, [("jump around left", scan.interpret("jump around left"))]).any()


def test_least_to_most_asks_each_distinct_piece_once():
    asked = []

    def recorder(batch):
        asked.extend(batch)
        return [scan.interpret(c) for c in batch]

    predictions, answers = scan.least_to_most(recorder, ["walk twice and walk", "walk after walk thrice"], batch_size=1)
    assert asked == ["walk"] and answers == {"walk": "I_WALK"}
    assert predictions == ["I_WALK I_WALK I_WALK", "I_WALK I_WALK I_WALK I_WALK"]


def test_translate_checks_what_the_translator_returns():
    with pytest.raises(ValueError, match="one action string per command"):
        scan.translate(lambda batch: ["I_WALK"], ["walk", "run"])
    with pytest.raises(TypeError, match="action strings"):
        scan.translate(lambda batch: [1 for _ in batch], ["walk"])
    with pytest.raises(TypeError, match="not one string"):
        scan.translate(lambda batch: batch, "walk")
    with pytest.raises(ValueError, match="empty"):
        scan.translate(lambda batch: batch, [])


def test_exact_match_is_whole_sequence():
    assert scan.exact_match(["I_WALK I_RUN", "I_WALK", "I_WALK  I_RUN "], ["I_WALK I_RUN", "I_WALK I_RUN",
                                                                           "I_WALK I_RUN"]).tolist() == [True, False, True]
    with pytest.raises(ValueError, match="2 predictions for 1"):
        scan.exact_match(["a", "b"], ["a"])


# ------------------------------------------------------------------------------------------ model format
def test_language_model_arrays_weight_only_the_answer():
    inputs, labels, weights = scan.language_model_arrays([("walk twice", "I_WALK I_WALK"), ("run", "I_RUN")])
    ids = scan.TOKEN_ID
    assert inputs[0].tolist() == [ids["walk"], ids["twice"], scan.SEP_ID, ids["I_WALK"], ids["I_WALK"]]
    assert labels[0].tolist() == [ids["twice"], scan.SEP_ID, ids["I_WALK"], ids["I_WALK"], scan.EOS_ID]
    assert weights[0].tolist() == [0, 0, 1, 1, 1]
    assert inputs[1].tolist() == [ids["run"], scan.SEP_ID, ids["I_RUN"], 0, 0]
    assert weights[1].tolist() == [0, 1, 1, 0, 0]
    assert scan.decode_actions([ids["I_RUN"], ids["walk"], scan.EOS_ID, ids["I_RUN"]]) == "I_RUN walk"
    with pytest.raises(ValueError, match="shorter than the longest"):
        scan.language_model_arrays([("walk twice", "I_WALK I_WALK")], length=3)
    with pytest.raises(ValueError, match="not a SCAN action"):
        scan.language_model_arrays([("walk", "WALK")])


def test_greedy_translator_decodes_each_row_as_alone():
    keras = pytest.importorskip("keras")
    from llmbook.generation import generate
    from llmbook.models import TransformerDecoder

    keras.utils.set_random_seed(0)
    model = TransformerDecoder(len(scan.VOCABULARY), hidden_dim=16, num_layers=1, num_heads=2, positions="rope")
    commands = ["walk", "run twice and jump", "turn around left thrice after look"]
    outputs = scan.greedy_translator(model, max_actions=5, max_length=32, jit=False)(commands)
    alone = [scan.decode_actions(generate(model, scan.encode_command(c), 6, stop_tokens=[scan.EOS_ID],
                                          use_cache=False, jit=False)) for c in commands]
    assert outputs == alone and all(1 <= len(o.split()) <= 6 for o in outputs)


def test_hold_out_and_training_order(split):
    train, _ = split
    fit, held = scan.hold_out(train, 500, np.random.default_rng(0))
    assert len(fit) + len(held) == len(train) and not {c for c, _ in fit} & {c for c, _ in held}
    assert not any(scan.is_single_sequence(c) for c, _ in held)
    assert sum(scan.is_single_sequence(c) for c, _ in fit) == 94     # 102 sequences less the 8 'around thrice'
    order = scan.training_order(fit, 20000, np.random.default_rng(1), single_fraction=0.25)
    assert len(order) == 20000 and order.min() >= 0 and order.max() < len(fit)
    singles = np.mean([scan.is_single_sequence(fit[i][0]) for i in order])
    assert 0.25 <= singles < 0.27                                     # the drawn quarter, plus the few in the passes
    assert len(set(scan.training_order(fit, len(fit), np.random.default_rng(2), single_fraction=0).tolist())) == len(fit)
    with pytest.raises(ValueError, match="single_fraction"):
        scan.training_order(fit, 10, np.random.default_rng(0), single_fraction=1)
    with pytest.raises(ValueError, match="no single sequence"):
        scan.training_order(held, 10, np.random.default_rng(0))
    with pytest.raises(ValueError, match="cannot hold out"):
        scan.hold_out(train[:10], 20, np.random.default_rng(0))


# ------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("command, message", [
    ("", "empty"),
    ("walk quickly", "outside SCAN's vocabulary"),
    ("Walk", "outside SCAN's vocabulary"),
    ("turn", "not a SCAN unit"),
    ("left walk", "not a SCAN unit"),
    ("walk twice twice", "not a SCAN unit"),
    ("walk and run and jump", "more than one and/after"),
    ("and walk", "not a SCAN command"),
    ("twice", "not a SCAN sequence"),
])
def test_bad_commands_are_refused(command, message):
    with pytest.raises(ValueError, match=message):
        scan.interpret(command)
    with pytest.raises(ValueError, match=message):
        scan.decompose(command)


def test_other_bad_input():
    with pytest.raises(TypeError, match="string of words"):
        scan.interpret(["walk"])
    with pytest.raises(ValueError, match="unknown level"):
        scan.decompose("walk", "word")
    with pytest.raises(ValueError, match="must be larger"):
        scan.length_split(22, 22)
    with pytest.raises(ValueError, match="unknown method"):
        scan.evaluate(lambda b: b, [("walk", "I_WALK")], method="chain")
    with pytest.raises(ValueError, match="max_actions"):
        scan.greedy_translator(object(), max_actions=0)
