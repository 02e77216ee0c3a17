"""Retrieval over the book's own pages: MyST chunking, BM25, a dense MiniLM index and rank fusion.

Used by :mod:`llmbook.apps.ask` and chapter 20. The modules depend only on numpy (the dense index takes
any encoder with an ``encode`` method), so ``retrieval`` sits below ``models`` and ``apps``.
"""

from llmbook.retrieval.bm25 import BM25, STOPWORDS, tokenize
from llmbook.retrieval.chunking import Chunk, book_pages, chunk_myst, find_book, glue_values, load_book_chunks
from llmbook.retrieval.dense import DenseIndex, passages_key
from llmbook.retrieval.evaluation import hit_at_k, recall_at_k
from llmbook.retrieval.fusion import reciprocal_rank_fusion

__all__ = ["BM25", "STOPWORDS", "Chunk", "DenseIndex", "book_pages", "chunk_myst", "find_book", "glue_values",
           "hit_at_k", "load_book_chunks", "passages_key", "recall_at_k", "reciprocal_rank_fusion", "tokenize"]
