"""SCAN (Lake & Baroni, 2018) generated from its grammar: the commands, their meaning, the length split,
a rule-based least-to-most decomposer, and exact-match evaluation of any translator given as a callable.

**Grammar.** A command ``C`` is ``S``, ``S and S`` or ``S after S``; ``S`` is ``U``, ``U twice`` or
``U thrice``; ``U`` is a verb (``walk``, ``look``, ``run``, ``jump``), or a verb or ``turn`` followed by a
direction (``left``, ``right``), optionally with ``opposite`` or ``around`` before the direction. That is
34 units, 102 sequences and 102 + 2 * 102**2 = 20,910 commands (:func:`commands`).

**Meaning** (:func:`interpret`). ``x and y`` does x, then y; ``x after y`` does y, then x; ``twice`` and
``thrice`` repeat; ``v left`` turns left, then does v; ``v opposite left`` turns left twice, then does v;
``v around left`` does (turn left, v) four times; ``turn`` does nothing by itself. Actions are ``I_WALK``,
``I_LOOK``, ``I_RUN``, ``I_JUMP``, ``I_TURN_LEFT`` and ``I_TURN_RIGHT``, written separated by spaces.

**Length split** (:func:`length_split`). Train on every command whose action sequence has at most 22
actions (16,990 commands), test on those with 24 to 48 actions (3,920); no command has 23.

**Least to most** (:func:`decompose`, :func:`least_to_most`). A command is cut at ``and``/``after``
(``level="conjunction"``: the pieces are sequences ``S``) and, with ``level="unit"``, also at
``twice``/``thrice`` (the pieces are units ``U``). A translator solves each piece; the program then composes
the pieces' action sequences by the grammar's rules (repeat, and put them in order). The decomposer is a
program, not a model: it is exact on every command of the grammar and on nothing else.

>>> interpret("jump around left twice after turn right")
'I_TURN_RIGHT I_TURN_LEFT I_JUMP I_TURN_LEFT I_JUMP I_TURN_LEFT I_JUMP I_TURN_LEFT I_JUMP I_TURN_LEFT I_JUMP I_TURN_LEFT I_JUMP I_TURN_LEFT I_JUMP I_TURN_LEFT I_JUMP'
>>> plan = decompose("run left twice and look")
>>> [(part.command, part.times) for part in plan.parts]
[('run left', 2), ('look', 1)]
>>> plan.compose([interpret(part.command) for part in plan.parts])
'I_TURN_LEFT I_RUN I_TURN_LEFT I_RUN I_LOOK'
>>> subquestions("look opposite right thrice after walk")
('look opposite right', 'look opposite right thrice', 'walk', 'look opposite right thrice after walk')
>>> train, test = length_split()
>>> len(train), len(test)
(16990, 3920)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from llmbook.validation import positive_int

VERBS = ("walk", "look", "run", "jump")
DIRECTIONS = ("left", "right")
MODIFIERS = ("opposite", "around")
REPEATS = {"twice": 2, "thrice": 3}
CONNECTIVES = ("and", "after")
#: Every word a command may contain.
COMMAND_WORDS = VERBS + ("turn",) + DIRECTIONS + MODIFIERS + tuple(REPEATS) + CONNECTIVES
#: The six actions, in the order of Lake & Baroni's output vocabulary.
ACTIONS = ("I_WALK", "I_LOOK", "I_RUN", "I_JUMP", "I_TURN_LEFT", "I_TURN_RIGHT")
_VERB_ACTION = {verb: f"I_{verb.upper()}" for verb in VERBS}
_TURN_ACTION = {direction: f"I_TURN_{direction.upper()}" for direction in DIRECTIONS}

#: In the length split (Lake & Baroni, 2018), training commands have at most this many actions; test ones at least TEST_MIN.
TRAIN_MAX_ACTIONS = 22
TEST_MIN_ACTIONS = 24
LEVELS = ("conjunction", "unit")


# --- the grammar ----------------------------------------------------------------------------------------
def units() -> list[str]:
    """The 34 units ``U`` of the grammar, in a fixed order."""
    found = list(VERBS)
    for modifier in ("",) + MODIFIERS:
        for verb in VERBS + ("turn",):
            for direction in DIRECTIONS:
                found.append(" ".join(word for word in (verb, modifier, direction) if word))
    return found


def sequences() -> list[str]:
    """The 102 sequences ``S``: every unit, alone, ``twice`` and ``thrice``."""
    return [f"{unit}{suffix}" for unit in units() for suffix in ("", " twice", " thrice")]


def commands() -> list[str]:
    """All 20,910 SCAN commands, in a fixed order: every ``S``, then ``S and S``, then ``S after S``."""
    found = sequences()
    for connective in CONNECTIVES:
        found += [f"{first} {connective} {second}" for first in sequences() for second in sequences()]
    return found


# --- the meaning ----------------------------------------------------------------------------------------
def _words(command) -> list[str]:
    if not isinstance(command, str):
        raise TypeError(f"a SCAN command is a string of words, got {type(command).__name__} {command!r}")
    words = command.split()
    if not words:
        raise ValueError("the command is empty; a SCAN command has 1 to 9 words, e.g. 'walk twice'")
    unknown = [word for word in words if word not in COMMAND_WORDS]
    if unknown:
        raise ValueError(f"{command!r} has word(s) {unknown} outside SCAN's vocabulary {list(COMMAND_WORDS)} "
                         "(write the command in lower case, words separated by spaces)")
    return words


def _malformed(words, what: str) -> ValueError:
    return ValueError(f"{' '.join(words)!r} is not a SCAN {what}; a unit is a verb ({'/'.join(VERBS)}), or a verb or "
                      "'turn' followed by [opposite|around] left|right; a sequence is a unit with an optional "
                      "'twice'/'thrice'; a command is one sequence, or two joined by 'and'/'after'")


def _unit_actions(words: Sequence[str]) -> list[str]:
    """The actions of a unit ``U`` (a list of 1 to 3 words)."""
    if len(words) == 1 and words[0] in VERBS:
        return [_VERB_ACTION[words[0]]]
    if 2 <= len(words) <= 3 and words[0] in VERBS + ("turn",) and words[-1] in DIRECTIONS:
        act = [] if words[0] == "turn" else [_VERB_ACTION[words[0]]]
        turn = [_TURN_ACTION[words[-1]]]
        if len(words) == 2:
            return turn + act
        if words[1] == "opposite":
            return turn + turn + act
        if words[1] == "around":
            return (turn + act) * 4
    raise _malformed(words, "unit")


def _split_repeat(words: Sequence[str]) -> tuple[list[str], int]:
    """A sequence's unit and how many times it is done."""
    if words and words[-1] in REPEATS:
        return list(words[:-1]), REPEATS[words[-1]]
    return list(words), 1


def _split_connective(words: Sequence[str]) -> tuple[list[str], list[str] | None, str | None]:
    """A command's two sequences and its connective, or the whole as one sequence."""
    found = [i for i, word in enumerate(words) if word in CONNECTIVES]
    if not found:
        return list(words), None, None
    if len(found) > 1:
        raise _malformed(words, "command (it has more than one and/after)")
    i = found[0]
    return list(words[:i]), list(words[i + 1:]), words[i]


def _sequence_actions(words: Sequence[str]) -> list[str]:
    unit, times = _split_repeat(words)
    if not unit:
        raise _malformed(words, "sequence")
    return _unit_actions(unit) * times


def interpret(command: str) -> str:
    """The action sequence of a SCAN command, as the grammar defines it (the exact answer).

    Args:
        command: a SCAN command, words separated by spaces, e.g. ``"walk twice after turn left"``.

    Returns:
        The actions separated by single spaces, e.g. ``"I_TURN_LEFT I_WALK I_WALK"``; empty for no
        command of the grammar (``turn`` alone is not a command).

    Raises:
        TypeError: if ``command`` is not a string.
        ValueError: for an empty command, a word outside the vocabulary, or words in an order the grammar
            does not generate (the message says what the grammar allows).
    """
    words = _words(command)
    first, second, connective = _split_connective(words)
    if connective is None:
        return " ".join(_sequence_actions(first))
    if not first or not second:
        raise _malformed(words, "command")
    first_actions, second_actions = _sequence_actions(first), _sequence_actions(second)
    return " ".join(first_actions + second_actions if connective == "and" else second_actions + first_actions)


def action_length(command: str) -> int:
    """How many actions ``command`` means (errors as :func:`interpret`)."""
    return len(interpret(command).split())


def length_split(max_train: int = TRAIN_MAX_ACTIONS, min_test: int = TEST_MIN_ACTIONS
                 ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Lake & Baroni's length split: ``(train, test)`` lists of ``(command, actions)`` pairs.

    Train holds every command with at most ``max_train`` actions (16,990 with the default 22), test every
    command with at least ``min_test`` (3,920 with the default 24: lengths 24 to 48). Both keep the order of
    :func:`commands`; shuffle them yourself.

    Raises:
        ValueError: if the sizes are not positive integers or ``min_test <= max_train`` (the parts would
            overlap).
    """
    max_train, min_test = positive_int("max_train", max_train), positive_int("min_test", min_test)
    if min_test <= max_train:
        raise ValueError(f"min_test={min_test} must be larger than max_train={max_train}, or a command would be "
                         "in both parts")
    pairs = [(command, interpret(command)) for command in commands()]
    train = [(c, a) for c, a in pairs if len(a.split()) <= max_train]
    test = [(c, a) for c, a in pairs if len(a.split()) >= min_test]
    return train, test


# --- least to most --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Part:
    """One piece of a decomposed command: the ``command`` a translator solves, done ``times`` times."""

    command: str
    times: int = 1


@dataclass(frozen=True)
class Plan:
    """A command cut into pieces, in the order their actions are done.

    ``compose`` puts the pieces' action sequences together: each repeated ``times`` times, in ``parts``
    order (for ``x after y`` that order is y, then x).
    """

    command: str
    parts: tuple[Part, ...]

    def compose(self, outputs: Sequence[str]) -> str:
        """The command's actions from one action string per part (as a translator wrote them).

        Raises:
            ValueError: if there is not exactly one output per part.
            TypeError: if an output is not a string.
        """
        if isinstance(outputs, str) or len(outputs) != len(self.parts):
            count = "a string" if isinstance(outputs, str) else f"{len(outputs)} outputs"
            raise ValueError(f"{self.command!r} has {len(self.parts)} part(s) but got {count}: give one action "
                             "string per part, in the order of plan.parts")
        actions = []
        for part, output in zip(self.parts, outputs):
            if not isinstance(output, str):
                raise TypeError(f"the output for {part.command!r} must be an action string, got {output!r}")
            actions += output.split() * part.times
        return " ".join(actions)


def decompose(command: str, level: str = "unit") -> Plan:
    """Cut ``command`` where the grammar composes: at ``and``/``after``, and (``level="unit"``) at
    ``twice``/``thrice``.

    Args:
        command: a SCAN command.
        level: ``"conjunction"`` (pieces are sequences, each done once) or ``"unit"`` (pieces are units,
            each with its repetition count).

    Returns:
        A :class:`Plan`; its parts are in the order their actions are done.

    Raises:
        ValueError: for an unknown level, or a command that :func:`interpret` refuses.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; choose 'conjunction' (cut at and/after) or 'unit' "
                         "(also cut at twice/thrice)")
    interpret(command)  # refuses what the grammar does not generate, with its message
    first, second, connective = _split_connective(command.split())
    order = [first] if connective is None else [first, second] if connective == "and" else [second, first]
    parts = []
    for words in order:
        if level == "unit":
            unit, times = _split_repeat(words)
            parts.append(Part(" ".join(unit), times))
        else:
            parts.append(Part(" ".join(words)))
    return Plan(" ".join(command.split()), tuple(parts))


def subquestions(command: str) -> tuple[str, ...]:
    """The command's sub-questions from least to most complex, in the format of the paper's SCAN prompts
    (``llmbook.prompting.exemplars.SCAN.decompose``): for each sequence as written, its unit and then the
    sequence if it repeats, and last the whole command.

    Raises:
        ValueError: for a command that :func:`interpret` refuses.
    """
    interpret(command)
    first, second, _ = _split_connective(command.split())
    found = []
    for words in (first,) if second is None else (first, second):
        unit, times = _split_repeat(words)
        found.append(" ".join(unit))
        if times > 1:
            found.append(" ".join(words))
    whole = " ".join(command.split())
    if found[-1] != whole:
        found.append(whole)
    return tuple(found)


#: A translator: a batch of commands in, one action string per command out (a model, or the interpreter).
Translator = Callable[[list[str]], Sequence[str]]


def _check_commands(commands_: Sequence[str]) -> list[str]:
    if isinstance(commands_, str):
        raise TypeError("give a list of commands, not one string (for one command, pass [command])")
    commands_ = list(commands_)
    if not commands_:
        raise ValueError("the list of commands is empty")
    return commands_


def translate(translator: Translator, commands_: Sequence[str], batch_size: int = 1024) -> list[str]:
    """``translator`` applied to ``commands_`` in batches of at most ``batch_size``.

    Args:
        translator: a callable from a list of commands to one action string per command (a model's greedy
            decoding, the interpreter, ...).
        commands_: the commands.
        batch_size: the most commands per call.

    Returns:
        One action string per command, in order.

    Raises:
        TypeError: for a single string instead of a list, or a translator that returns something other
            than strings.
        ValueError: for an empty list, a bad batch size, or a translator that returns the wrong count.
    """
    commands_ = _check_commands(commands_)
    batch_size = positive_int("batch_size", batch_size)
    outputs = []
    for start in range(0, len(commands_), batch_size):
        batch = commands_[start:start + batch_size]
        answer = translator(batch)
        if isinstance(answer, str) or len(answer) != len(batch):
            raise ValueError(f"the translator returned {'a string' if isinstance(answer, str) else len(answer)} "
                             f"for {len(batch)} commands: it must return one action string per command")
        for output in answer:
            if not isinstance(output, str):
                raise TypeError(f"the translator must return action strings, got {type(output).__name__} "
                                f"{output!r}")
        outputs += list(answer)
    return outputs


def least_to_most(translator: Translator, commands_: Sequence[str], level: str = "unit",
                  batch_size: int = 1024) -> tuple[list[str], dict[str, str]]:
    """Least-to-most translation: decompose every command, translate the pieces, compose by the grammar.

    Each distinct piece is translated once (a deterministic translator, such as greedy decoding, gives one
    answer per piece wherever it occurs).

    Args:
        translator: as in :func:`translate`.
        commands_: the commands.
        level: as in :func:`decompose`.
        batch_size: the most pieces per call to the translator.

    Returns:
        ``(predictions, piece_answers)``: one composed action string per command, and the translator's
        answer for each distinct piece.

    Raises:
        as :func:`decompose` and :func:`translate`.
    """
    plans = [decompose(command, level) for command in _check_commands(commands_)]
    pieces = sorted({part.command for plan in plans for part in plan.parts})
    answers = dict(zip(pieces, translate(translator, pieces, batch_size)))
    return [plan.compose([answers[part.command] for part in plan.parts]) for plan in plans], answers


def exact_match(predictions: Sequence[str], targets: Sequence[str]) -> np.ndarray:
    """Boolean array: is each prediction the whole target action sequence (spacing aside)?

    Raises:
        ValueError: if the two lists differ in length or are empty.
    """
    if isinstance(predictions, str) or isinstance(targets, str):
        raise TypeError("give lists of action strings, not one string")
    if len(predictions) != len(targets) or not len(targets):
        raise ValueError(f"{len(predictions)} predictions for {len(targets)} targets: give one prediction per "
                         "target (and at least one)")
    return np.array([p.split() == t.split() for p, t in zip(predictions, targets)], dtype=bool)


def evaluate(translator: Translator, pairs: Sequence[tuple[str, str]], method: str = "direct",
             level: str = "unit", batch_size: int = 1024) -> np.ndarray:
    """Exact match of ``translator`` on ``(command, actions)`` pairs, one boolean per pair.

    Args:
        translator: as in :func:`translate`.
        pairs: ``(command, actions)`` pairs, e.g. a part of :func:`length_split`.
        method: ``"direct"`` (the translator reads the whole command) or ``"least-to-most"``.
        level: with least-to-most, as in :func:`decompose`.
        batch_size: the most commands per call.

    Raises:
        ValueError: for an unknown method, empty pairs; and as :func:`translate`.
    """
    if method not in ("direct", "least-to-most"):
        raise ValueError(f"unknown method {method!r}; choose 'direct' or 'least-to-most'")
    pairs = list(pairs)
    if not pairs:
        raise ValueError("pairs is empty: give (command, actions) pairs")
    commands_, targets = [c for c, _ in pairs], [a for _, a in pairs]
    if method == "direct":
        predictions = translate(translator, commands_, batch_size)
    else:
        predictions, _ = least_to_most(translator, commands_, level, batch_size)
    return exact_match(predictions, targets)


# --- the text format a small model reads and writes -----------------------------------------------------
PAD, EOS, SEP = "<pad>", "<eos>", "->"
#: Token ids: padding 0, end of sequence 1, the separator 2, then the command words, then the actions.
VOCABULARY = (PAD, EOS, SEP) + COMMAND_WORDS + ACTIONS
TOKEN_ID = {token: index for index, token in enumerate(VOCABULARY)}
PAD_ID, EOS_ID, SEP_ID = 0, 1, 2


def encode_command(command: str) -> list[int]:
    """The ids a model reads before it writes the actions: the command's words, then ``->``."""
    interpret(command)
    return [TOKEN_ID[word] for word in command.split()] + [SEP_ID]


def decode_actions(ids: Sequence[int]) -> str:
    """The action string a model wrote: its tokens up to the first ``<eos>``; any other token that is not an
    action is kept as its text (so such an answer is wrong, never silently repaired)."""
    tokens = []
    for token in ids:
        token = int(token)
        if token == EOS_ID:
            break
        if not 0 <= token < len(VOCABULARY):
            raise ValueError(f"token id {token} is outside the vocabulary 0..{len(VOCABULARY) - 1}")
        tokens.append(VOCABULARY[token])
    return " ".join(tokens)


def language_model_arrays(pairs: Sequence[tuple[str, str]], length: int | None = None
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Next-token training arrays for a decoder-only model: ``command -> actions <eos>``, right-padded.

    Returns ``(inputs, labels, weights)``, each ``(len(pairs), length)``: ``labels`` is the sequence shifted
    by one, and ``weights`` is 1 where the label is an action or ``<eos>`` (the model is trained to write the
    answer, not to predict the command).

    Raises:
        ValueError: for empty pairs, or a ``length`` shorter than the longest sequence.
    """
    pairs = list(pairs)
    if not pairs:
        raise ValueError("pairs is empty: give (command, actions) pairs")
    rows = []
    for command, actions in pairs:
        prompt = encode_command(command)
        answer = [TOKEN_ID[action] if action in ACTIONS else _not_an_action(action) for action in actions.split()]
        rows.append((prompt, answer + [EOS_ID]))
    longest = max(len(p) + len(a) for p, a in rows) - 1
    length = longest if length is None else positive_int("length", length)
    if length < longest:
        raise ValueError(f"length={length} is shorter than the longest sequence ({longest} inputs); pass at least "
                         f"{longest}")
    inputs = np.full((len(rows), length), PAD_ID, "int32")
    labels = np.full((len(rows), length), PAD_ID, "int32")
    weights = np.zeros((len(rows), length), "float32")
    for index, (prompt, answer) in enumerate(rows):
        sequence = prompt + answer
        inputs[index, : len(sequence) - 1] = sequence[:-1]
        labels[index, : len(sequence) - 1] = sequence[1:]
        weights[index, len(prompt) - 1: len(sequence) - 1] = 1.0
    return inputs, labels, weights


def is_single_sequence(command: str) -> bool:
    """True for a command without ``and``/``after`` (one sequence ``S``: a piece of least to most)."""
    return not set(_words(command)) & set(CONNECTIVES)


def hold_out(pairs: Sequence[tuple[str, str]], size: int, rng: np.random.Generator
             ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``(fit, held_out)``: ``size`` two-sequence commands drawn at random from ``pairs`` are held out for an
    in-distribution test; every single sequence stays in ``fit`` (least to most will ask for them). Both
    keep the order of ``pairs``.

    Raises:
        ValueError: if ``size`` is not a positive integer or exceeds the two-sequence commands.
    """
    pairs = list(pairs)
    size = positive_int("size", size)
    candidates = [i for i, (command, _) in enumerate(pairs) if not is_single_sequence(command)]
    if size > len(candidates):
        raise ValueError(f"cannot hold out {size} commands: the pairs have {len(candidates)} with and/after")
    held = set(rng.choice(candidates, size, replace=False).tolist())
    return ([pair for i, pair in enumerate(pairs) if i not in held], [pair for i, pair in enumerate(pairs) if i in held])


def training_order(pairs: Sequence[tuple[str, str]], examples: int, rng: np.random.Generator,
                   single_fraction: float = 0.125) -> np.ndarray:
    """Indices into ``pairs`` for ``examples`` training examples, in the order they are seen.

    ``1 - single_fraction`` of them walk through shuffled passes over all the pairs; the rest are single
    sequences drawn at random, so that the pieces least to most asks for (a few dozen among thousands of
    commands) are seen often enough. The two kinds are shuffled together.

    Raises:
        ValueError: if ``examples`` is not positive, ``single_fraction`` is outside [0, 1), or it is positive
            and ``pairs`` has no single sequence.
    """
    pairs = list(pairs)
    examples = positive_int("examples", examples)
    if not 0 <= single_fraction < 1:
        raise ValueError(f"single_fraction must be in [0, 1), got {single_fraction!r}")
    singles = np.array([i for i, (command, _) in enumerate(pairs) if is_single_sequence(command)], dtype=int)
    extra = int(round(examples * single_fraction))
    if extra and not len(singles):
        raise ValueError("pairs has no single sequence to draw; pass single_fraction=0")
    passes = -(-(examples - extra) // len(pairs))
    order = np.concatenate([rng.permutation(len(pairs)) for _ in range(passes)])[: examples - extra]
    order = np.concatenate([order, rng.choice(singles, extra)]) if extra else order
    return order[rng.permutation(len(order))]


def _not_an_action(token: str):
    raise ValueError(f"{token!r} is not a SCAN action; actions are {list(ACTIONS)}")


def greedy_translator(model, max_actions: int = 48, max_length: int | None = None, jit: bool = True,
                      rows: int | None = None) -> Translator:
    """A :data:`Translator` that decodes a decoder-only ``model`` greedily, a whole batch at once.

    ``model`` has the KV-cache interface and rotary positions (see
    :func:`llmbook.generation.generate_batch`), reads :func:`encode_command` and writes action tokens up to
    ``<eos>``. It may write ``max_actions`` actions and then ``<eos>`` (48 is the longest SCAN answer); a row
    that has not stopped by then is returned as written, ``max_actions + 1`` tokens, and so is wrong.
    ``max_length`` is the cache size (reuse one value so the compiled functions are reused); ``jit``
    compiles them with XLA. ``rows`` fills every batch up to that many rows (copies of its first command,
    whose answers are dropped), so that one compiled program serves every call: give it the batch size
    :func:`translate` uses.

    Raises:
        ValueError: if ``max_actions`` or ``rows`` is not a positive integer, or a batch has more than
            ``rows`` commands.
    """
    from llmbook.generation import generate_batch

    max_actions = positive_int("max_actions", max_actions)
    rows = None if rows is None else positive_int("rows", rows)

    def translator(batch: list[str]) -> list[str]:
        prompts = [encode_command(command) for command in batch]
        if rows is not None:
            if len(prompts) > rows:
                raise ValueError(f"{len(prompts)} commands in one batch, but the translator fills batches up to "
                                 f"rows={rows}: translate in batches of at most {rows}")
            prompts += [prompts[0]] * (rows - len(prompts))
        outputs = generate_batch(model, prompts, max_actions + 1, stop_tokens=[EOS_ID], pad_id=PAD_ID,
                                 max_length=max_length, jit=jit)
        return [decode_actions(row) for row in outputs[: len(batch)]]

    return translator
