"""Retrieval over the book's own pages: MyST chunking, BM25, a dense MiniLM index and rank fusion.

Used by :mod:`llmbook.apps.ask` and chapter 20 (which reads a frozen snapshot of the passages,
:mod:`llmbook.retrieval.snapshot`). The modules depend only on numpy (the dense index takes
any encoder with an ``encode`` method), so ``retrieval`` sits below ``models`` and ``apps``.
"""

from llmbook.retrieval.bm25 import BM25, STOPWORDS, tokenize
from llmbook.retrieval.chunking import Chunk, book_pages, chunk_myst, find_book, glue_values, load_book_chunks
from llmbook.retrieval.dense import DenseIndex, passages_key
from llmbook.retrieval.evaluation import hit_at_k, recall_at_k
from llmbook.retrieval.fusion import reciprocal_rank_fusion
from llmbook.retrieval.snapshot import CorpusSnapshot, load_corpus_snapshot, write_corpus_snapshot

__all__ = ["BM25", "STOPWORDS", "Chunk", "CorpusSnapshot", "DenseIndex", "book_pages", "chunk_myst", "find_book",
           "glue_values", "hit_at_k", "load_book_chunks", "load_corpus_snapshot", "passages_key", "recall_at_k",
           "reciprocal_rank_fusion", "tokenize", "write_corpus_snapshot"]
