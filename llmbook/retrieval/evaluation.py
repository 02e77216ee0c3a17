"""Scoring retrieval: did the top ``k`` passages include one from the gold page?

>>> hit_at_k(["faq", "errata", "chapters/09-gpt"], "errata", 1), hit_at_k(["faq", "errata"], "errata", 2)
(False, True)
"""

from __future__ import annotations

from llmbook.validation import positive_int

__all__ = ["hit_at_k", "recall_at_k"]


def hit_at_k(ranked_pages, gold: str, k: int) -> bool:
    """Whether ``gold`` is among the first ``k`` entries of ``ranked_pages`` (the pages of the ranked passages)."""
    return gold in list(ranked_pages)[:positive_int("k", k)]


def recall_at_k(ranked_pages_per_query, gold_pages, k: int) -> tuple[int, int]:
    """``(hits, n)``: for how many of ``n`` queries the gold page is in the top ``k``.

    Raises:
        ValueError: if the two lists differ in length, or are empty.
    """
    ranked_pages_per_query, gold_pages = list(ranked_pages_per_query), list(gold_pages)
    if len(ranked_pages_per_query) != len(gold_pages):
        raise ValueError(f"{len(ranked_pages_per_query)} rankings for {len(gold_pages)} gold pages; give one each")
    if not gold_pages:
        raise ValueError("no queries to score")
    hits = sum(hit_at_k(pages, gold, k) for pages, gold in zip(ranked_pages_per_query, gold_pages))
    return hits, len(gold_pages)
