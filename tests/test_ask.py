"""llmbook.apps.ask: the evaluation questions file, answer containment, sentence evidence, the prompt, the
citations attached by our code, and the command line (with a toy encoder and a tiny decoder, so the tests
need neither MiniLM nor SmolLM2)."""

from pathlib import Path

import numpy as np
import pytest

from llmbook.apps import ask
from llmbook.apps.ask import (
    Answer, Asker, BookIndex, Evidence, best_sentences, build_messages, contains_answer, load_questions,
    split_sentences,
)
from llmbook.retrieval import Chunk, chunk_myst

QUESTIONS = Path("book/data/ask-questions.json")


class BagEncoder:
    """A toy sentence encoder: hashed bag of lower-cased words, so shared words mean similar vectors."""

    max_length = 0

    def encode(self, texts):
        vectors = np.zeros((len(texts), 64), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in ask._words(text):
                vectors[row, sum(map(ord, word)) % 64] += 1
        return vectors + 1e-3


PAGES = {
    "chapters/01-a": "# Counting\n\n## Smoothing\n\nKneser-Ney subtracts a discount. Laplace adds one to every count.\n",
    "chapters/02-b": "# Attention\n\n## Scaling\n\nScores are divided by the square root of the width. Softmax follows.\n",
    "faq": "# FAQ\n\n## Training\n\nA model is pre-trained, then post-trained on instructions.\n",
}


def toy_chunks():
    return [chunk for page, text in PAGES.items() for chunk in chunk_myst(text, page)]


# --- the questions file -----------------------------------------------------------------------------

def test_the_questions_file_is_well_formed():
    test, dev = load_questions(QUESTIONS, "test"), load_questions(QUESTIONS, "dev")
    assert 30 <= len(test) <= 60 and len(dev) >= 3
    texts = [q["question"] for q in test + dev]
    assert len(set(texts)) == len(texts), "a question appears twice (or in both splits)"
    for entry in test + dev:
        for page in entry["pages"]:
            assert Path("book", f"{page}.md").is_file(), f"{entry['question']!r}: no page {page}"
        assert all(ask._words(answer) for answer in entry["answers"])


def test_load_questions_refuses_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="repository root"):
        load_questions(tmp_path / "none.json")
    with pytest.raises(ValueError, match="unknown split"):
        load_questions(QUESTIONS, "train")
    bad = tmp_path / "bad.json"
    bad.write_text('{"test": [{"question": "q", "pages": []}], "dev": []}')
    with pytest.raises(ValueError, match="needs a question, its pages and its answers"):
        load_questions(bad)


# --- scoring ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("reply,answers,expected", [
    ("BERT is encoder-only.", ["encoder only"], True),
    ("It is Zipf's law.", ["zipf"], True),
    ("according to the text", ["ding"], False),       # whole words, not substrings
    ("The People’s Daily corpus", ["people's daily"], True),
    ("four heads", ["3", "three"], False),
])
def test_contains_answer(reply, answers, expected):
    assert contains_answer(reply, answers) is expected


def test_contains_answer_refuses_empty_gold():
    with pytest.raises(ValueError, match="answers is empty"):
        contains_answer("x", [])
    with pytest.raises(ValueError, match="no letters or digits"):
        contains_answer("x", ["##"])


# --- evidence, prompt, citations --------------------------------------------------------------------

def test_split_sentences():
    assert split_sentences("One. Two? Three!\n- item\n| a | b |\n- 42") == ["One.", "Two?", "Three!", "- item", "| a | b |"]


def test_best_sentences_picks_the_matching_sentence_and_keeps_its_chunk():
    chunks = toy_chunks()
    evidence = best_sentences(BagEncoder(), "what does laplace add to every count", chunks, n=2)
    assert evidence[0].sentence == "Laplace adds one to every count." and evidence[0].chunk.page == "chapters/01-a"
    assert evidence[0].score >= evidence[1].score
    with pytest.raises(ValueError, match="no sentences"):
        best_sentences(BagEncoder(), "q", [Chunk("p", "t", "s", "123")])


def test_build_messages_puts_the_evidence_before_the_question():
    messages = build_messages("What is added?", [Evidence("Laplace adds one.", toy_chunks()[0], 0.9), "Plain."])
    assert messages == [{"role": "user", "content": "Laplace adds one. Plain.\n\n"
                                                    "Answer briefly, using the text above: What is added?"}]
    with pytest.raises(ValueError, match="non-empty"):
        build_messages(" ", ["x"])
    with pytest.raises(ValueError, match="no evidence"):
        build_messages("q", [])


def test_citations_come_from_the_evidence_not_the_reply():
    chunk_a, chunk_b, _ = toy_chunks()
    answer = Answer("q", "See chapters/99-invented.", [Evidence("s1", chunk_a, 0.9), Evidence("s2", chunk_a, 0.8),
                                                      Evidence("s3", chunk_b, 0.7)])
    assert answer.citations == ["chapters/01-a § Smoothing", "chapters/02-b § Scaling"]
    assert answer.extract == "s1" and "99-invented" not in "".join(answer.citations)
    assert "attached by the retriever" in str(answer)


def test_book_index_methods_find_the_right_page():
    index = BookIndex(toy_chunks(), BagEncoder())
    rankings = index.rankings(["divided by the square root", "laplace smoothing discount"])
    for method in ("bm25", "dense", "hybrid"):
        assert index.chunks[rankings[method][0][0]].page == "chapters/02-b"
        assert index.chunks[rankings[method][1][0]].page == "chapters/01-a"
    assert [c.page for c in index.rank("pre-trained instructions", "bm25", k=1)] == ["faq"]
    with pytest.raises(ValueError, match="unknown method"):
        index.rank("q", "tfidf")
    with pytest.raises(ValueError, match="non-empty"):
        index.rankings(["ok", ""])
    with pytest.raises(ValueError, match="chunks is empty"):
        BookIndex([], BagEncoder())


class CharTokenizer:
    """Bytes as ids, plus <|im_end|> = 256."""

    vocab = {"<|im_end|>": 256}

    def encode(self, text):
        return list(text.encode("utf-8"))[-40:]

    def decode(self, ids):
        return bytes(i for i in ids if i < 256).decode("utf-8", errors="replace")


def test_asker_generates_one_reply_per_question_with_a_tiny_decoder():
    from llmbook.models import LlamaDecoder

    model = LlamaDecoder(vocab_size=257, num_layers=1, hidden_dim=16, num_heads=2, num_kv_heads=1,
                         intermediate_dim=32)
    template = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}assistant:"
    asker = Asker(BookIndex(toy_chunks(), BagEncoder()), model, CharTokenizer(), template)
    answers = asker.answer(["laplace count", "square root width"], k=1, n_sentences=1, max_new_tokens=3)
    assert [a.citations for a in answers] == [["chapters/01-a § Smoothing"], ["chapters/02-b § Scaling"]]
    assert all(isinstance(a.text, str) for a in answers)
    with pytest.raises(ValueError, match="tokenizer and chat template"):
        Asker(asker.index, model)


# --- the command line -------------------------------------------------------------------------------

def test_main_retrieves_from_a_book_folder(tmp_path, monkeypatch, capsys):
    (tmp_path / "chapters").mkdir()
    for page, text in PAGES.items():
        (tmp_path / f"{page}.md").write_text(text)
    monkeypatch.setattr(ask, "load_encoder", lambda max_length=128: BagEncoder())
    status = ask.main(["--book", str(tmp_path), "--retrieve-only", "--no-cache", "--k", "1",
                       "divided", "by", "the", "square", "root"])
    out = capsys.readouterr().out
    assert status == 0 and out.startswith("[1] chapters/02-b § Scaling")


def test_main_says_where_the_book_is_missing(tmp_path, capsys):
    assert ask.main(["--book", str(tmp_path / "nowhere"), "--retrieve-only", "q"]) == 2
    assert "repository root" in capsys.readouterr().err


def test_best_sentences_batch_equals_one_at_a_time_and_checks_lengths():
    from llmbook.apps.ask import best_sentences_batch

    chunks = toy_chunks()
    questions = ["laplace count", "square root"]
    batch = best_sentences_batch(BagEncoder(), questions, [chunks, chunks[1:]], n=2)
    single = [best_sentences(BagEncoder(), questions[0], chunks, 2),
              best_sentences(BagEncoder(), questions[1], chunks[1:], 2)]
    assert [[e.sentence for e in row] for row in batch] == [[e.sentence for e in row] for row in single]
    with pytest.raises(ValueError, match="2 questions but 1 passage lists"):
        best_sentences_batch(BagEncoder(), questions, [chunks])
