"""Character tagging on People's Daily (llmbook.tasks.tagging) and the corpus's split by blocks."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmbook.data import load_peoples_daily, split_indices
from llmbook.metrics import extract_spans, segment_words
from llmbook.tasks.tagging import CLAUSE_ENDS, SENTENCE_ENDS, character_tags, cut

WORDS = st.sampled_from(["我", "北京", "天安门", "，", "。", "人民日报社", "说", "；", "江", "泽民"])
TAGS = st.sampled_from(["nr", "ns", "nt", "v", "w", "n"])
PAIRS = st.lists(st.tuples(WORDS, TAGS), max_size=30)


@pytest.fixture(scope="module")
def corpus():
    return load_peoples_daily()


@settings(max_examples=200, deadline=None)
@given(PAIRS, st.one_of(st.none(), st.integers(1, 12)), st.sampled_from([CLAUSE_ENDS, SENTENCE_ENDS]))
def test_cut_keeps_every_pair_and_respects_its_limits(pairs, max_chars, ends):
    pieces = cut(pairs, ends, max_chars)
    assert [p for piece in pieces for p in piece] == pairs  # nothing lost, nothing reordered
    assert all(piece for piece in pieces)
    for piece in pieces[:-1]:  # a piece ends at a mark, or before a word that would pass the limit
        nxt = pieces[pieces.index(piece) + 1][0][0]
        length = sum(len(w) for w, _ in piece)
        assert piece[-1][0] in ends or (max_chars is not None and length + len(nxt) > max_chars)
    for piece in pieces:
        assert all(w not in ends for w, _ in piece[:-1])  # no mark inside a piece
        if max_chars is not None and len(piece) > 1:
            assert sum(len(w) for w, _ in piece) <= max_chars


@settings(max_examples=200, deadline=None)
@given(PAIRS)
def test_character_tags_follow_the_words(pairs):
    characters, segmentation, entities = character_tags(pairs)
    assert characters == "".join(w for w, _ in pairs)
    assert len(segmentation) == len(entities) == len(characters)
    assert segment_words(characters, segmentation) == [w for w, _ in pairs]
    # one entity per ns/nt word and per run of adjacent nr words
    runs = sum(1 for i, (_, t) in enumerate(pairs)
               if t in ("ns", "nt") or (t == "nr" and (i == 0 or pairs[i - 1][1] != "nr")))
    assert len(extract_spans(entities)) == runs


def test_character_tags_by_hand():
    assert character_tags([("江", "nr"), ("泽民", "nr"), ("在", "p"), ("北京", "ns"), ("新华社", "nt")]) == (
        "江泽民在北京新华社", list("SBESBEBME"),
        ["B-PER", "I-PER", "I-PER", "O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "I-ORG"])


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="max_chars"):
        cut([("我", "r")], max_chars=0)
    with pytest.raises(ValueError, match="pairs"):
        cut(["我"])
    with pytest.raises(ValueError, match="non-empty"):
        character_tags([("", "n")])


def test_block_split_is_a_partition_by_document(corpus):
    n = corpus.n_blocks(20)
    assert n == -(-len(corpus) // 20) == 975
    split = corpus.block_split(20, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(split, split_indices(n, (0.8, 0.1, 0.1), 0)))
    assert sorted(np.concatenate(list(split)).tolist()) == list(range(n))
    assert [len(part) for part in split] == [780, 98, 97]
    assert corpus.block(0) == corpus.sentences[:20]
    assert len(corpus.block(n - 1)) == len(corpus) - 20 * (n - 1)
    assert sum(len(corpus.block(b)) for b in range(n)) == len(corpus)
    with pytest.raises(IndexError, match="975 blocks"):
        corpus.block(n)
    with pytest.raises(ValueError, match="size"):
        corpus.n_blocks(0)


def test_clauses_of_the_real_corpus(corpus):
    lines = corpus.sentences[:500]
    per_line = [cut(line, CLAUSE_ENDS, 32) for line in lines]
    rows = [character_tags(p) for pieces in per_line for p in pieces]
    assert "".join(r[0] for r in rows) == "".join(w for line in lines for w, _ in line)
    assert max(len(r[0]) for r in rows) <= 32 or any(len(w) > 32 for line in lines for w, _ in line)
    # the corpus's word-level entities, per line, equal the character spans over the line's pieces, plus
    # one for every piece boundary that falls between two nr words (a piece is tagged on its own)
    cut_persons = sum(1 for pieces in per_line for a, b in zip(pieces, pieces[1:])
                      if a[-1][1] == "nr" and b[0][1] == "nr")
    line_entities = sum(1 for labels in corpus.entities()[:500] for label in labels if label.startswith("B-"))
    assert sum(len(extract_spans(r[2])) for r in rows) == line_entities + cut_persons
