"""Reciprocal rank fusion (Cormack, Clarke and Büttcher, 2009): several rankings -> one.

Each ranking gives a document :math:`1 / (c + r)` for its rank :math:`r` (1 = best); the fused score is
the sum over rankings. It needs no score calibration (BM25 scores and cosine similarities are on
unrelated scales), and the constant :math:`c` (60 in the paper) keeps one ranking's top hit from
outweighing agreement between rankings.

>>> [int(i) for i in reciprocal_rank_fusion([[0, 1, 2], [1, 2, 0]])]
[1, 0, 2]
"""

from __future__ import annotations

import numpy as np

from llmbook.validation import positive_int

__all__ = ["reciprocal_rank_fusion"]


def reciprocal_rank_fusion(rankings, constant: int = 60, k: int | None = None) -> np.ndarray:
    """Fuse rankings (each a sequence of document ids, best first) by reciprocal rank.

    Args:
        rankings: a list of rankings; a document missing from one ranking gets nothing from it.
        constant: the :math:`c` in :math:`1/(c + r)`, >= 1.
        k: keep the top ``k`` of the fused ranking.

    Returns:
        Document ids by decreasing fused score; ties go to the id first seen in the earlier ranking.

    Raises:
        ValueError: for no rankings, or a ranking that lists a document twice.
    """
    rankings = [list(np.asarray(r).tolist()) for r in rankings]
    if not rankings:
        raise ValueError("rankings is empty: give at least one ranking")
    constant = positive_int("constant", constant)
    scores: dict = {}
    for ranking in rankings:
        if len(set(ranking)) != len(ranking):
            raise ValueError("a ranking lists the same document twice; give each document once")
        for rank, document in enumerate(ranking, start=1):
            scores[document] = scores.get(document, 0.0) + 1.0 / (constant + rank)
    order = sorted(scores, key=lambda d: -scores[d])  # sorted is stable: first-seen order on ties
    if k is not None:
        order = order[:positive_int("k", k)]
    return np.array(order)
