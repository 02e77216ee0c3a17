"""llmbook.retrieval: MyST chunking, BM25 against rank_bm25 and against its formula, the dense index with its
cache, reciprocal rank fusion and recall@k."""

import json
import math

import numpy as np
import pytest

from llmbook.retrieval import (
    BM25, DenseIndex, chunk_myst, glue_values, hit_at_k, load_book_chunks, recall_at_k, reciprocal_rank_fusion,
    tokenize,
)

CORPUS = [
    "the cat sat on the mat",
    "the dog sat on the log and the dog barked",
    "cats and dogs are pets",
    "a log of the training loss",
    "gradient descent on the loss surface of a network network network",
    "",
]
DOCUMENTS = [text.split() for text in CORPUS]
QUERIES = [["dog", "log"], ["the", "cat"], ["network", "loss", "unknown"], ["sat", "sat"]]


# --- BM25 -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("k1,b", [(1.5, 0.75), (1.2, 0.5), (2.0, 1.0), (0.9, 0.0)])
def test_okapi_scores_equal_rank_bm25(k1, b):
    rank_bm25 = pytest.importorskip("rank_bm25")
    documents = DOCUMENTS[:-1]   # rank_bm25 gives an empty document 0/0 = NaN when b = 1
    reference = rank_bm25.BM25Okapi(documents, k1=k1, b=b, epsilon=0.25)
    ours = BM25(documents, k1=k1, b=b, idf="okapi", epsilon=0.25)
    for query in QUERIES:
        np.testing.assert_allclose(ours.scores(query), reference.get_scores(query), rtol=1e-12, atol=1e-12)


def test_okapi_replaces_negative_idf_like_rank_bm25():
    # "the" is in 4 of 6 documents: its Robertson/Sparck Jones idf is negative and gets the floor.
    ours = BM25(DOCUMENTS, idf="okapi")
    raw = {t: math.log((6 - df + 0.5) / (df + 0.5)) for t, df in [("the", 4)]}
    assert raw["the"] < 0 and ours.idf["the"] > 0


def brute_force_lucene(documents, query, k1, b):
    n = len(documents)
    mean = sum(map(len, documents)) / n
    scores = []
    for document in documents:
        total = 0.0
        for term in query:
            df = sum(term in d for d in documents)
            if df == 0:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            f = document.count(term)
            if f == 0:
                continue
            total += idf * f * (k1 + 1) / (f + k1 * (1 - b + b * len(document) / mean))
        scores.append(total)
    return np.array(scores)


@pytest.mark.parametrize("k1,b", [(1.5, 0.75), (0.0, 0.75), (1.2, 0.0)])
def test_lucene_scores_equal_the_formula(k1, b):
    index = BM25(DOCUMENTS, k1=k1, b=b)
    for query in QUERIES:
        np.testing.assert_allclose(index.scores(query), brute_force_lucene(DOCUMENTS, query, k1, b), rtol=1e-12)


def test_k1_zero_scores_presence_only_and_b_zero_ignores_length():
    index = BM25([["a", "a", "a"], ["a"], ["b"]], k1=0.0)
    scores = index.scores(["a"])
    assert scores[0] == pytest.approx(scores[1]) and scores[2] == 0
    long_and_short = BM25([["a", "x", "y", "z"], ["a"], ["b"]], b=0.0).scores(["a"])
    assert long_and_short[0] == pytest.approx(long_and_short[1])


def test_an_empty_document_scores_zero_not_nan():
    scores = BM25(DOCUMENTS, b=1.0).scores(["dog"])
    assert np.isfinite(scores).all() and scores[-1] == 0


def test_rank_orders_by_score_and_breaks_ties_by_position():
    index = BM25(DOCUMENTS)
    assert int(index.rank(["dog"])[0]) == 1
    assert list(index.rank(["nothing"], k=3)) == [0, 1, 2]


def test_tokenize_lowercases_and_drops_stopwords():
    assert tokenize("The KV cache stores Keys") == ["kv", "cache", "stores", "keys"]
    assert tokenize("The cat", stopwords=()) == ["the", "cat"]


@pytest.mark.parametrize("call,error", [
    (lambda: BM25([]), "documents is empty"),
    (lambda: BM25([[], []]), "every document is empty"),
    (lambda: BM25([["a"]], k1=-1), "k1 must be"),
    (lambda: BM25([["a"]], b=1.5), "b must be between"),
    (lambda: BM25([["a"]], idf="bm11"), "unknown idf"),
])
def test_bm25_refuses_bad_settings(call, error):
    with pytest.raises(ValueError, match=error):
        call()


def test_bm25_refuses_strings_for_token_lists():
    with pytest.raises(TypeError, match="tokenize it first"):
        BM25(["the cat sat"])
    with pytest.raises(TypeError, match="tokenize it first"):
        BM25(DOCUMENTS).scores("the cat")
    with pytest.raises(TypeError, match="must be a str"):
        tokenize(["a"])


# --- chunking ---------------------------------------------------------------------------------------

PAGE = """---
jupytext:
  formats: ipynb,md:myst
---

# The title

Intro with a citation {cite}`devlin2019` and a link to {doc}`09-gpt`.

## First section

Text of the first section has {glue:text}`n_layers` layers and {glue:text}`ratio:.2f` ratio.

```{code-cell} ipython3
# a comment, not a heading
x = 1
```

```{exercise} A title
:label: ex-99-1
The exercise body.
```

## References

```{bibliography}
:filter: docname in docnames
```
"""


def test_chunks_keep_sections_and_drop_front_matter_code_and_references():
    chunks = chunk_myst(PAGE, "chapters/99-demo", glued={"n_layers": "6", "ratio": "0.12345"})
    assert [c.section for c in chunks] == ["The title", "First section"]
    assert all(c.title == "The title" and c.page == "chapters/99-demo" for c in chunks)
    intro, first = chunks
    assert intro.text == "Intro with a citation and a link to 09-gpt."
    assert "6 layers and 0.12 ratio" in first.text
    assert "x = 1" not in first.text and "comment" not in first.text and "jupytext" not in intro.text
    assert "The exercise body." in first.text and "A title" in first.text and ":label:" not in first.text
    assert first.citation == "chapters/99-demo § First section"
    assert first.indexed_text.startswith("The title. First section. ")


def test_keep_code_keeps_code_cells():
    chunks = chunk_myst(PAGE, "demo", keep_code=True)
    assert "x = 1" in chunks[1].text and len(chunks) == 2   # the comment inside code stays no heading


def test_missing_glue_values_become_an_ellipsis():
    assert "has … layers" in chunk_myst(PAGE, "demo")[1].text


def test_a_long_section_is_cut_at_paragraphs_and_a_table_by_rows():
    paragraphs = "\n\n".join(" ".join(f"w{p}x{i}" for i in range(30)) for p in range(5))
    table = "\n".join("| " + " ".join(f"r{r}c{i}" for i in range(20)) + " |" for r in range(10))
    chunks = chunk_myst(f"# T\n\n{paragraphs}\n\n{table}\n", "demo", max_words=70)
    assert all(len(c.text.split()) <= 70 for c in chunks)
    assert [c.part for c in chunks] == list(range(len(chunks)))
    assert " ".join(c.text for c in chunks).split() == (paragraphs + " " + table).split()


def test_glue_values_read_a_notebook(tmp_path):
    notebook = {"cells": [{"cell_type": "code", "outputs": [{
        "output_type": "display_data", "data": {"application/papermill.record/text/plain": "134.5"},
        "metadata": {"scrapbook": {"name": "n_params", "mime_prefix": "application/papermill.record/"}}}]}]}
    path = tmp_path / "x.ipynb"
    path.write_text(json.dumps(notebook))
    assert glue_values(path) == {"n_params": "134.5"}
    assert glue_values(tmp_path / "missing.ipynb") == {}


def test_chunk_myst_refuses_bad_input():
    with pytest.raises(TypeError, match="as a str"):
        chunk_myst(b"# x", "demo")
    with pytest.raises(ValueError, match="page is empty"):
        chunk_myst("# x", "")
    with pytest.raises(ValueError, match="max_words"):
        chunk_myst("# x", "demo", max_words=0)


def test_the_book_chunks_cite_pages_that_exist():
    chunks = load_book_chunks("book")
    pages = {c.page for c in chunks}
    assert {"faq", "errata", "chapters/10-real-llm"} <= pages
    for page in pages:
        assert (__import__("pathlib").Path("book") / f"{page}.md").is_file()
    assert all(c.text.strip() and c.section for c in chunks)
    assert not any("code-cell" in c.text or c.section == "References" for c in chunks)
    assert "chapters/10-real-llm" not in {c.page for c in load_book_chunks("book", exclude="chapters/10-real-llm")}


def test_load_book_chunks_names_the_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="repository root"):
        load_book_chunks(tmp_path)


# --- dense index ------------------------------------------------------------------------------------

class CountingEncoder:
    """A toy encoder: counts of 'a', 'b', 'c'; records how many texts it embedded."""

    def __init__(self):
        self.calls = 0

    def encode(self, texts):
        self.calls += len(texts)
        return np.array([[t.count("a"), t.count("b"), t.count("c")] for t in texts], dtype=np.float32) + 0.01


def test_dense_ranks_by_cosine_similarity():
    index = DenseIndex(CountingEncoder(), ["aaaa", "bb", "cc c", "ab"])
    assert list(index.rank("b")[:2]) == [1, 3]
    assert index.scores("a").max() == pytest.approx(1.0, abs=1e-3)
    np.testing.assert_allclose(np.linalg.norm(index.vectors, axis=1), 1.0, rtol=1e-6)


def test_dense_cache_is_reused_only_for_the_same_passages(tmp_path):
    cache = tmp_path / "emb.npz"
    first = CountingEncoder()
    DenseIndex(first, ["aa", "bb"], cache=cache)
    again = CountingEncoder()
    index = DenseIndex(again, ["aa", "bb"], cache=cache)
    assert first.calls == 2 and again.calls == 0 and len(index) == 2
    changed = CountingEncoder()
    DenseIndex(changed, ["aa", "bc"], cache=cache)
    assert changed.calls == 2


def test_dense_refuses_bad_input():
    with pytest.raises(TypeError, match="encode"):
        DenseIndex(object(), ["a"])
    with pytest.raises(ValueError, match="texts is empty"):
        DenseIndex(CountingEncoder(), [])
    with pytest.raises(ValueError, match="dimensions"):
        DenseIndex(CountingEncoder(), ["a"]).scores(np.ones(5))


# --- fusion and evaluation --------------------------------------------------------------------------

def test_reciprocal_rank_fusion_by_hand():
    fused = reciprocal_rank_fusion([[0, 1, 2], [1, 2, 0]], constant=60)
    scores = {0: 1 / 61 + 1 / 63, 1: 1 / 62 + 1 / 61, 2: 1 / 63 + 1 / 62}
    assert list(fused) == sorted(scores, key=lambda d: -scores[d])
    assert list(reciprocal_rank_fusion([[3, 4], [5]], k=2)) == [3, 5]   # ties: first-seen order


def test_reciprocal_rank_fusion_refuses_bad_input():
    with pytest.raises(ValueError, match="rankings is empty"):
        reciprocal_rank_fusion([])
    with pytest.raises(ValueError, match="twice"):
        reciprocal_rank_fusion([[1, 1]])


def test_recall_at_k():
    ranked = [["a", "b", "c"], ["c", "a"], ["b", "b"]]
    assert recall_at_k(ranked, ["a", "a", "a"], 1) == (1, 3)
    assert recall_at_k(ranked, ["a", "a", "a"], 2) == (2, 3)
    assert hit_at_k(["x"], "x", 5)
    with pytest.raises(ValueError, match="one each"):
        recall_at_k(ranked, ["a"], 1)
    with pytest.raises(ValueError, match="k must"):
        hit_at_k(["x"], "x", 0)


def test_find_book_from_the_root_from_a_chapter_folder_and_nowhere(tmp_path):
    from pathlib import Path

    from llmbook.retrieval import find_book

    root = find_book(".")
    assert root == Path("book").resolve()
    assert find_book(root / "chapters") == root
    with pytest.raises(FileNotFoundError, match="inside the repository"):
        find_book(tmp_path)


def test_only_pages_in_the_table_of_contents_are_read(tmp_path):
    from llmbook.retrieval import book_pages

    book = tmp_path / "book"
    (book / "chapters").mkdir(parents=True)
    for name in ("01-in", "02-draft"):
        (book / "chapters" / f"{name}.md").write_text(f"# {name}\n\ntext\n")
    assert [p.stem for p in book_pages(book)] == ["01-in", "02-draft"]        # no _toc.yml: every page
    (tmp_path / "_toc.yml").write_text("chapters:\n  - file: book/chapters/01-in\n")
    assert [p.stem for p in book_pages(book)] == ["01-in"]
    assert [p.stem for p in book_pages(book, toc=False)] == ["01-in", "02-draft"]


# --- the frozen corpus snapshot (chapter 20 evaluates on it) ---

SNAPSHOT = __import__("pathlib").Path("book/data/ask-corpus.json")


def _chunks():
    from llmbook.retrieval import Chunk
    return [Chunk("chapters/01-a", "A", "A", "First passage, with ünïcode."),
            Chunk("chapters/01-a", "A", "Part", "Second.", part=1),
            Chunk("faq", "FAQ", "Why?", "Because.")]


@pytest.mark.parametrize("name", ["corpus.json", "corpus.json.gz"])
def test_snapshot_round_trip(tmp_path, name):
    from llmbook.retrieval import load_corpus_snapshot, write_corpus_snapshot
    path = write_corpus_snapshot(tmp_path / name, _chunks(), source={"commit": "abc"}, created="2026-01-01")
    snapshot = load_corpus_snapshot(path)
    assert snapshot.chunks == _chunks()
    assert snapshot.pages == ["chapters/01-a", "faq"]
    assert snapshot.header == {"created": "2026-01-01", "pages": ["chapters/01-a", "faq"], "n_passages": 3,
                               "source": {"commit": "abc"}}
    if name.endswith(".gz"):
        assert path.read_bytes()[:2] == b"\x1f\x8b"


def test_snapshot_errors_name_the_problem(tmp_path):
    from llmbook.retrieval import load_corpus_snapshot, write_corpus_snapshot
    with pytest.raises(FileNotFoundError, match="tools/ask_corpus.py"):
        load_corpus_snapshot(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="not readable JSON"):
        load_corpus_snapshot(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text('{"cells": []}', encoding="utf-8")
    with pytest.raises(ValueError, match="not a corpus snapshot"):
        load_corpus_snapshot(tmp_path / "other.json")
    path = write_corpus_snapshot(tmp_path / "s.json", _chunks())
    document = json.loads(path.read_text(encoding="utf-8"))
    document["passages"].pop()
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ValueError, match="header says 3 passages, the file holds 2"):
        load_corpus_snapshot(path)
    document["header"]["n_passages"] = 2
    del document["passages"][0]["section"]
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ValueError, match="passage 0 lacks"):
        load_corpus_snapshot(path)
    with pytest.raises(ValueError, match="chunks is empty"):
        write_corpus_snapshot(tmp_path / "e.json", [])
    with pytest.raises(ValueError, match="must all be"):
        write_corpus_snapshot(tmp_path / "e.json", ["text"])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_corpus_snapshot(tmp_path / "no" / "e.json", _chunks())


def test_the_committed_snapshot_holds_the_questions_pages():
    from llmbook.retrieval import load_corpus_snapshot
    snapshot = load_corpus_snapshot()    # the default: the book's data/ask-corpus.json
    assert snapshot == load_corpus_snapshot(SNAPSHOT)
    pages = set(snapshot.pages)
    assert "chapters/20-ask-the-book" not in pages and {"faq", "errata"} <= pages
    assert snapshot.header["source"]["commit"] and set(snapshot.header["source"]["pages"]) == pages
    questions = json.loads(__import__("pathlib").Path("book/data/ask-questions.json").read_text("utf-8"))
    entries = questions["test"] + questions["dev"]
    assert entries and all(set(e["pages"]) <= pages for e in entries)
    assert SNAPSHOT.stat().st_size < 1_000_000   # small enough to commit uncompressed
