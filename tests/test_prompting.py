"""llmbook.prompting: the prompts the model receives (written out by hand), answers carried forward by
least-to-most, answer extraction and exact match, the exemplars checked against independent solvers, and
the OpenAI-compatible client against a local HTTP server started here."""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from llmbook.prompting import (
    LAST_LETTER, SCAN, ChatModel, Exemplar, LanguageModelError, OpenAIChat, Prompt, ask_all,
    chain_of_thought, decompose, exact_match, exact_match_accuracy, extract_answer, least_to_most, normalize_answer, parse_subquestions,
    run_batch, standard,
)

SHOTS = (Exemplar("ab, cd", '"bd"'), Exemplar("x", '"x"'))


class Recorder:
    """A test double: records every prompt and gives the scripted replies in turn."""

    def __init__(self, *replies):
        self.replies, self.prompts = list(replies), []

    def __call__(self, prompt):
        self.prompts.append(prompt)
        return self.replies.pop(0)


# ------------------------------------------------------------------------------------------ prompts
def test_standard_prompt_is_the_exemplars_then_the_question():
    model = Recorder(' "ef"\n\nQ: "another"\nA: "zz"')
    trace = standard(model, "ee, ff", SHOTS)
    assert model.prompts == ['Q: "ab, cd"\nA: "bd"\n\nQ: "x"\nA: "x"\n\nQ: "ee, ff"\nA:']
    assert trace.steps[0].reply == '"ef"'                    # cut where the model goes on with a new Q
    assert trace.answer == "ef" and trace.method == "standard" and trace.decomposition is None


def test_least_to_most_prompts_for_a_two_step_problem():
    solve = (Exemplar("ab", 'So, "ab" outputs "b".'), Exemplar("ab, cd", '"ab" outputs "b". So, "ab, cd" outputs "bd".'))
    decomposition = (("ab, cd", '"ab", "ab, cd"'),)
    model = Recorder('"pq", "pq, rs"', 'So, "pq" outputs "q".', '"pq" outputs "q". So, "pq, rs" outputs "qs".')
    trace = least_to_most(model, "pq, rs", decompose_exemplars=decomposition, solve_exemplars=solve)
    expected = [
        'Q: "ab, cd"\nA: "ab", "ab, cd"\n\nQ: "pq, rs"\nA:',
        'Q: "ab"\nA: So, "ab" outputs "b".\n\nQ: "ab, cd"\nA: "ab" outputs "b". So, "ab, cd" outputs "bd".\n\n'
        'Q: "pq"\nA:',
        'Q: "ab"\nA: So, "ab" outputs "b".\n\nQ: "ab, cd"\nA: "ab" outputs "b". So, "ab, cd" outputs "bd".\n\n'
        'Q: "pq"\nA: So, "pq" outputs "q".\n\nQ: "pq, rs"\nA:',
    ]
    assert model.prompts == expected
    assert trace.subquestions == ("pq", "pq, rs")
    assert [step.answer for step in trace.steps] == ["q", "qs"] and trace.answer == "qs"
    assert trace.decomposition.prompt.text == expected[0] and trace.decomposition.reply == '"pq", "pq, rs"'
    assert [step.prompt.text for step in trace.steps] == expected[1:]


def carrying_model(prompt):
    """A test double that solves one last-letter step from the prompt alone: the previous sub-question's
    answer as the prompt carries it, plus the last letter of the new word. A decomposition prompt gets
    the prefixes of the list."""
    blocks = prompt.split("\n\n")
    question = blocks[-1].split('"')[1]
    if "outputs" not in prompt:                                      # the decomposition stage
        words = question.split(", ")
        return ", ".join('"' + ", ".join(words[: i + 1]) + '"' for i in range(len(words)))
    words = question.split(", ")
    previous = ", ".join(words[:-1])
    carried = ""
    for block in blocks[:-1]:
        if block.startswith(f'Q: "{previous}"\n'):
            carried = extract_answer(block)
    if previous and not carried:
        return "I cannot see the previous answer."
    answer = carried + words[-1][-1]
    return f'"{previous}" outputs "{carried}". So, "{question}" outputs "{answer}".'


def test_least_to_most_carries_the_models_own_answers_forward():
    trace = least_to_most(carrying_model, "alpha, beta, gamma, delta", decompose_exemplars=LAST_LETTER.decompose,
                          solve_exemplars=LAST_LETTER.solve)
    assert trace.subquestions == ("alpha", "alpha, beta", "alpha, beta, gamma", "alpha, beta, gamma, delta")
    assert [step.answer for step in trace.steps] == ["a", "aa", "aaa", "aaaa"]
    # A wrong first answer is carried, not silently corrected: the program does not solve the task itself.
    wrong_first = Recorder('So, "alpha" outputs "Z".')

    def model(prompt):
        return wrong_first(prompt) if not wrong_first.prompts else carrying_model(prompt)

    trace = least_to_most(model, "alpha, beta, gamma", subquestions=["alpha", "alpha, beta", "alpha, beta, gamma"],
                          solve_exemplars=LAST_LETTER.solve)
    assert trace.answer == "Zaa" and trace.decomposition is None


def test_decomposition_always_ends_with_the_question():
    subquestions, step = decompose(Recorder('"a", "a, b"'), "a, b, c", LAST_LETTER.decompose)
    assert subquestions == ("a", "a, b", "a, b, c") and step.answer == '"a", "a, b", "a, b, c"'
    assert decompose(Recorder("no idea"), "a, b", LAST_LETTER.decompose)[0] == ("a, b",)
    assert decompose(Recorder('"a",  "a,  b"'), "a,  b", LAST_LETTER.decompose)[0] == ("a", "a,  b")
    assert parse_subquestions('"walk", "" , "look left"') == ["walk", "look left"]


def test_chain_of_thought_and_the_trace_text():
    model = Recorder('The last letter of "hi" is "i". So, "hi" outputs "i".')
    trace = chain_of_thought(model, "hi", LAST_LETTER.chain_of_thought)
    assert model.prompts[0].startswith('Q: "think, machine"\nA: The last letter of "think" is "k".')
    assert model.prompts[0].endswith('outputs "ggn".\n\nQ: "hi"\nA:')
    assert trace.answer == "i" and trace.method == "chain-of-thought"
    assert str(trace) == ('chain-of-thought: "hi"\n1. Q: "hi"\n'
                          '   A: The last letter of "hi" is "i". So, "hi" outputs "i".\nanswer: i')
    assert trace.format(prompts=True).count(model.prompts[0]) == 1


def test_a_chat_model_gets_the_prompt_as_turns():
    received = []
    model = ChatModel(lambda messages: received.append(messages) or 'A: "ef"', system="Be brief.")
    trace = standard(model, "ee, ff", SHOTS)
    assert received == [[
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": 'Q: "ab, cd"'}, {"role": "assistant", "content": '"bd"'},
        {"role": "user", "content": 'Q: "x"'}, {"role": "assistant", "content": '"x"'},
        {"role": "user", "content": 'Q: "ee, ff"'},
    ]]
    assert trace.answer == "ef"                                # the mimicked "A:" is dropped
    # A chat model ends its turn itself: a reply in paragraphs is kept whole, unless stop is given.
    model = ChatModel(lambda messages: 'The last letter of "ee" is "e".\n\nSo, "ee, ff" outputs "ef".')
    assert standard(model, "ee, ff", SHOTS).answer == "ef"
    assert standard(model, "ee, ff", SHOTS, stop=["\n\n"]).answer == 'The last letter of "ee" is "e".'


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="question must be a non-empty string"):
        standard(Recorder("x"), "  ", SHOTS)
    with pytest.raises(TypeError, match="model must be a callable"):
        standard("gpt", "q", SHOTS)
    with pytest.raises(TypeError, match="returned int, not text"):
        standard(lambda prompt: 3, "q", SHOTS)
    with pytest.raises(TypeError, match=r"exemplars\[1\] must be an Exemplar"):
        standard(Recorder("x"), "q", [("a", "b"), "c"])
    with pytest.raises(TypeError, match="must be a sequence of exemplars"):
        standard(Recorder("x"), "q", "a: b")
    with pytest.raises(ValueError, match="decompose_exemplars is empty"):
        least_to_most(Recorder("x"), "q", decompose_exemplars=[], solve_exemplars=SHOTS)
    with pytest.raises(ValueError, match="needs decompose_exemplars"):
        least_to_most(Recorder("x"), "q", solve_exemplars=SHOTS)
    with pytest.raises(ValueError, match="subquestions must be a non-empty list"):
        least_to_most(Recorder("x"), "q", subquestions=[], solve_exemplars=SHOTS)
    with pytest.raises(TypeError, match="chat model returned NoneType"):
        ChatModel(lambda messages: None)([{"role": "user", "content": "hi"}])


class BatchCarrier:
    """A test double with a batch method: answers like carrying_model and records each batch it gets."""

    def __init__(self):
        self.batches = []

    def __call__(self, prompt):
        raise AssertionError("run_batch must use the batch method")

    def batch(self, prompts):
        self.batches.append(list(prompts))
        return [carrying_model(prompt) for prompt in prompts]


def test_run_batch_gives_each_question_its_own_trace_in_lockstep():
    questions = ["alpha, beta, gamma", "one", "sun, moon", "x, y, z, w"]
    options = dict(decompose_exemplars=LAST_LETTER.decompose, solve_exemplars=LAST_LETTER.solve)
    model = BatchCarrier()
    traces = run_batch(least_to_most, model, questions, **options)
    alone = [least_to_most(carrying_model, question, **options) for question in questions]
    assert traces == alone
    assert [trace.answer for trace in traces] == ["aaa", "e", "nn", "xyzw"]
    # Round 1 decomposes all four; then one round per sub-question, the shorter questions dropping out.
    assert [len(batch) for batch in model.batches] == [4, 4, 3, 2, 1]
    assert model.batches[1][1] == alone[1].steps[0].prompt.text
    few = run_batch(standard, model, ["ab, cd"], exemplars=SHOTS)
    assert few[0] == standard(carrying_model, "ab, cd", SHOTS)


def test_run_batch_takes_one_decomposition_per_question():
    questions = ["ab, cd", "ef, gh, ij"]
    given = [["ab", "ab, cd"], ["ef", "ef, gh", "ef, gh, ij"]]
    model = BatchCarrier()
    traces = run_batch(least_to_most, model, questions, solve_exemplars=SHOTS, subquestions=given)
    alone = [least_to_most(carrying_model, q, solve_exemplars=SHOTS, subquestions=s) for q, s in zip(questions, given)]
    assert traces == alone
    assert [trace.subquestions for trace in traces] == [tuple(s) for s in given]
    assert all(trace.decomposition is None for trace in traces)
    # No decomposition round: one round per sub-question, the shorter question dropping out after two.
    assert [len(batch) for batch in model.batches] == [2, 2, 1]


def test_run_batch_and_ask_all_refuse_bad_input():
    with pytest.raises(ValueError, match="method must be standard"):
        run_batch(print, carrying_model, ["a"])
    with pytest.raises(ValueError, match="one list per question"):
        run_batch(least_to_most, carrying_model, ["a"], solve_exemplars=SHOTS, subquestions=["a"])
    with pytest.raises(ValueError, match="one list per question"):
        run_batch(least_to_most, carrying_model, ["a", "b"], solve_exemplars=SHOTS, subquestions=[["a"]])
    with pytest.raises(ValueError, match="for least_to_most only"):
        run_batch(standard, carrying_model, ["a"], exemplars=SHOTS, subquestions=[["a"]])
    with pytest.raises(ValueError, match="questions must be a non-empty list"):
        run_batch(standard, carrying_model, "a", exemplars=SHOTS)
    model = BatchCarrier()
    model.batch = lambda prompts: ["x"]
    with pytest.raises(ValueError, match="returned 1 replies for 2 prompts"):
        ask_all(model, [Prompt((), "a"), Prompt((), "b")])


# ------------------------------------------------------------------------------------------ scoring
@pytest.mark.parametrize("reply, answer", [
    ('The last letter of "think" is "k". So, "think, machine" outputs "ke".', "ke"),
    ('"a" outputs "x". So, "a, b" outputs "xy".', "xy"),                  # the last "outputs", not the first
    ('"ke"', "ke"),
    (' "ke". ', "ke"),
    ('"a" and "b"', '"a" and "b"'),
    ("We add them. The answer is 42.\nQ: next", "42."),
    ("The Answer is: I_WALK I_LOOK", "I_WALK I_LOOK"),
    ("  just this  ", "just this"),
])
def test_extract_answer(reply, answer):
    assert extract_answer(reply) == answer


def test_normalization_and_exact_match():
    assert normalize_answer(' "I_WALK\n  I_LOOK". ') == "i_walk i_look"
    assert normalize_answer("\u201cKe\u201d.") == "ke"
    assert exact_match('"keg".', "KEG") and exact_match("42.", "42")
    assert not exact_match("ke", "keg") and not exact_match("kge", "keg") and not exact_match("", "k")
    assert exact_match_accuracy(['"ke"', "keg", "ggn"], ["ke", "keg", "gg"]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="no predictions"):
        exact_match_accuracy([], [])
    with pytest.raises(ValueError, match="2 predictions but 1 gold"):
        exact_match_accuracy(["a", "b"], ["a"])
    with pytest.raises(TypeError, match="answer must be a string"):
        exact_match(None, "a")


# ------------------------------------------------------------------------------------------ exemplars
def last_letters(question):
    return "".join(word.strip()[-1] for word in question.split(","))


def scan_actions(command):
    """SCAN's meaning, written from the grammar (Lake & Baroni, 2018), independently of the exemplars."""
    def primitive(words):
        action = {"walk": ["I_WALK"], "look": ["I_LOOK"], "run": ["I_RUN"], "jump": ["I_JUMP"], "turn": []}[words[0]]
        if len(words) == 1:
            return action
        turn = ["I_TURN_" + words[-1].upper()]
        return {"left": turn + action, "right": turn + action, "opposite": turn * 2 + action,
                "around": (turn + action) * 4}[words[1]]

    def repeated(words):
        times = {"twice": 2, "thrice": 3}.get(words[-1])
        return primitive(words[:-1]) * times if times else primitive(words)

    words = command.split()
    for joiner, first_part_first in (("and", True), ("after", False)):
        if joiner in words:
            i = words.index(joiner)
            first, second = repeated(words[:i]), repeated(words[i + 1:])
            return " ".join(first + second if first_part_first else second + first)
    return " ".join(repeated(words))


@pytest.mark.parametrize("task, solve", [(LAST_LETTER, last_letters), (SCAN, scan_actions)])
def test_every_exemplar_answer_is_right(task, solve):
    for exemplar in task.standard + task.chain_of_thought + task.solve:
        assert exact_match(extract_answer(exemplar.answer), solve(exemplar.question)), exemplar
    for decomposition in task.decompose:
        assert decomposition.subquestions[-1] == decomposition.question
        assert parse_subquestions(decomposition.answer) == list(decomposition.subquestions)
    assert len(task.standard) == len(task.chain_of_thought) >= 2


def test_scan_solver_itself_on_the_notes_rules():
    assert scan_actions("turn left") == "I_TURN_LEFT"
    assert scan_actions("walk opposite left") == "I_TURN_LEFT I_TURN_LEFT I_WALK"
    assert scan_actions("jump after run twice") == "I_RUN I_RUN I_JUMP"
    assert scan_actions("look around right and walk").split() == ["I_TURN_RIGHT", "I_LOOK"] * 4 + ["I_WALK"]


# ------------------------------------------------------------------------------------------ HTTP client
class Server:
    """A local OpenAI-compatible test server on 127.0.0.1: records each request, answers as ``mode`` says."""

    def __init__(self):
        self.requests, self.mode = [], "ok"
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                server.requests.append({"path": self.path, "json": json.loads(body),
                                        "authorization": self.headers.get("Authorization")})
                if server.mode == "slow":
                    time.sleep(1.0)
                status, payload = {
                    "ok": (200, json.dumps({"choices": [{"message": {"role": "assistant", "content": '"ke"'}}]})),
                    "error": (404, json.dumps({"error": {"message": "model 'nope' not found"}})),
                    "not json": (200, "<html>proxy page</html>"),
                    "no content": (200, json.dumps({"choices": []})),
                    "slow": (200, "{}"),
                }[server.mode]
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                try:
                    self.wfile.write(payload.encode())
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    server = Server()
    yield server
    server.close()


def test_openai_chat_sends_the_request_and_parses_the_reply(server):
    client = OpenAIChat(server.url + "/", model="smollm2", temperature=0, max_tokens=48, stop=["\n\n"],
                        api_key="secret")
    trace = standard(client, "think, machine", LAST_LETTER.standard)
    assert trace.answer == "ke"
    request = server.requests[0]
    assert request["path"] == "/v1/chat/completions" and request["authorization"] == "Bearer secret"
    assert request["json"] == {
        "model": "smollm2", "temperature": 0.0, "max_tokens": 48, "stop": ["\n\n"],
        "messages": [{"role": "user", "content": 'Q: "think, machine"'}, {"role": "assistant", "content": '"ke"'},
                     {"role": "user", "content": 'Q: "learning, reasoning, generalization"'},
                     {"role": "assistant", "content": '"ggn"'},
                     {"role": "user", "content": 'Q: "think, machine"'}],
    }
    OpenAIChat(server.url, model="m")([{"role": "user", "content": "hi"}])
    assert "stop" not in server.requests[1]["json"] and server.requests[1]["authorization"] is None


@pytest.mark.parametrize("mode, message", [
    ("error", r"answered HTTP 404 .*model 'nope' not found"),
    ("not json", "did not answer JSON: '<html>proxy page</html>'"),
    ("no content", r"without choices\[0\]\.message\.content"),
    ("slow", r"gave no reply within 0\.2 s: pass a larger timeout="),
])
def test_openai_chat_errors_say_what_happened(server, mode, message):
    server.mode = mode
    with pytest.raises(LanguageModelError, match=message):
        OpenAIChat(server.url, timeout=0.2)([{"role": "user", "content": "hi"}])


def test_openai_chat_without_a_server():
    with socket.socket() as probe:                       # a port that was free a moment ago and now is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(LanguageModelError, match="cannot reach .* Is the server running"):
        OpenAIChat(f"http://127.0.0.1:{port}/v1", timeout=5)([{"role": "user", "content": "hi"}])


def test_openai_chat_refuses_bad_settings():
    with pytest.raises(ValueError, match="must start with http"):
        OpenAIChat("127.0.0.1:8080")
    with pytest.raises(ValueError, match="max_tokens"):
        OpenAIChat(max_tokens=0)
    with pytest.raises(ValueError, match="temperature"):
        OpenAIChat(temperature=-1)
    with pytest.raises(ValueError, match="stop must be a list of non-empty strings"):
        OpenAIChat(stop=[""])
    with pytest.raises(ValueError, match="unknown role|role"):
        OpenAIChat()([{"role": "robot", "content": "hi"}])


# ------------------------------------------------------------------------------------------ local models
class CharTokenizer:
    """A test double: one id per character, id 0 is the end of text."""

    alphabet = '\n "QA:,.abcdefghijklmnopqrstuvwxyz'
    vocab = {"<|endoftext|>": 0}

    def encode(self, text):
        return [1 + self.alphabet.index(c) for c in text]

    def decode(self, ids):
        return "".join(self.alphabet[i - 1] for i in ids if i)


def test_local_model_is_the_greedy_continuation_up_to_the_stop_token():
    import numpy as np

    from llmbook.models import GPT
    from llmbook.prompting import LocalModel
    from llmbook.training import set_seed

    set_seed(3, keras=True)
    tokenizer = CharTokenizer()
    model = GPT(vocab_size=len(tokenizer.alphabet) + 1, max_length=64, num_layers=1, num_heads=2, hidden_dim=16,
                positions="rope")

    def brute_force(prompt, steps=6):                         # the full forward pass per token
        ids, greedy = tokenizer.encode(prompt), []
        for _ in range(steps):
            logits = np.asarray(model(np.array([ids + greedy], "int32")))
            greedy.append(int(np.argmax(logits[0, -1])))
        return greedy

    prompt = 'Q: "ab"\nA:'
    greedy = brute_force(prompt)
    assert LocalModel(model, tokenizer, max_new_tokens=6, max_length=40)(prompt) == tokenizer.decode(greedy)
    stop = greedy[3]
    text = LocalModel(model, tokenizer, max_new_tokens=6, stop_tokens=[stop], max_length=40)(prompt)
    assert text == tokenizer.decode(greedy[: greedy.index(stop)])
    # batch(): the prompts decoded together, two at a time, each as alone
    prompts = [prompt, 'Q: "xyz, w"\nA: "z', "a"]
    batched = LocalModel(model, tokenizer, max_new_tokens=6, max_length=48, batch_size=2).batch(prompts)
    assert batched == [tokenizer.decode(brute_force(p)) for p in prompts]
