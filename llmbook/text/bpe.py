r"""Byte-level byte-pair encoding (BPE): one tokenizer class with a trainer, an encoder, a decoder and a fast engine.

Byte-level BPE (Sennrich et al. 2016; GPT-2, Radford et al. 2019) starts from the 256 byte values,
so every string has an encoding and nothing is ever out of vocabulary, then learns *merges*: the pair
of adjacent tokens seen most often in the training text becomes a new token, again and again.

The jobs live in small modules, and :class:`ByteLevelBPE` puts them behind one set of methods:

- :mod:`llmbook.text.byte_level`: the byte alphabet, pre-tokenization and the from-scratch Python encoder;
- :mod:`llmbook.text.bpe_train`: training (:meth:`ByteLevelBPE.train`);
- :mod:`llmbook.text.bpe_engine`: the HF ``tokenizers`` engine (``engine="tokenizers"``, the production path;
  ``engine="python"`` runs the from-scratch encoder). Both give identical ids;
- :mod:`llmbook.text.bpe_gguf`: a tokenizer from a GGUF file's metadata (:meth:`ByteLevelBPE.from_gguf`).

>>> bpe = ByteLevelBPE.train(["low lower lowest"] * 3, vocab_size=262)
>>> bpe.merges[:2]
[('l', 'o'), ('lo', 'w')]
>>> bpe.decode(bpe.encode("slowest")) == "slowest"
True
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import regex

from llmbook.text.bpe_engine import build_tokenizers_engine
from llmbook.text.bpe_gguf import read_tokenizer_metadata, tokenizer_parts
from llmbook.text.bpe_train import train_bpe
from llmbook.text.byte_level import (  # BYTE_TO_CHAR and pre_tokenize: chapter 3 imports them from here
    BYTE_ALPHABET,
    BYTE_TO_CHAR,
    CHAR_TO_BYTE,
    apply_merges,
    check_pre_tokenizer,
    from_byte_chars,
    pre_tokenize,
    to_byte_chars,
)


class ByteLevelBPE:
    """A byte-level BPE tokenizer: a vocabulary, ranked merges, special tokens and a pre-tokenizer.

    Args:
        vocab: token (byte-level spelling, e.g. ``"Ġthe"``) -> id. It must contain every merge's two
            parts and its result, and every special token. It should contain the 256 one-byte tokens;
            a byte without one is listed in :attr:`missing_bytes`, and :meth:`encode` refuses text that
            needs it (HF ``tokenizers`` would silently drop it).
        merges: ``(left, right)`` pairs, highest priority first.
        special_tokens: tokens such as ``"<|im_end|>"`` that are matched in the raw text before
            anything else and never split; they must be in ``vocab``.
        pre_tokenizer: a name from :data:`PRE_TOKENIZERS` (``"gpt2"`` or ``"smollm"``).
        engine: ``"tokenizers"`` (HF, fast) or ``"python"`` (the from-scratch encoder of :mod:`llmbook.text.byte_level`).

    Raises:
        ValueError: if the vocabulary and the merges do not belong together (the message names the
            first bad merge), if ids repeat, or for an unknown pre-tokenizer or engine.
        TypeError: if ``vocab`` is not a mapping or the merges are not pairs of strings.
    """

    ENGINES = ("tokenizers", "python")

    def __init__(self, vocab: Mapping[str, int], merges: Sequence[tuple[str, str]],
                 special_tokens: Sequence[str] = (), pre_tokenizer: str = "gpt2", engine: str = "tokenizers"):
        if not isinstance(vocab, Mapping):
            raise TypeError(f"vocab must be a mapping token -> id, got {type(vocab).__name__}")
        check_pre_tokenizer(pre_tokenizer)
        if engine not in self.ENGINES:
            raise ValueError(f"unknown engine {engine!r}; use one of {self.ENGINES}")
        self.vocab = dict(vocab)
        self.merges = [tuple(m) for m in merges]
        self.special_tokens = tuple(special_tokens)
        self.pre_tokenizer = pre_tokenizer
        self.engine = engine
        self._check_consistency()
        #: Bytes with no one-byte token (SmolLM2 has none for 21 bytes): text that needs one cannot be encoded.
        self.missing_bytes = bytes(sorted(CHAR_TO_BYTE[c] for c in BYTE_ALPHABET if c not in self.vocab))
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        self.ranks = {pair: rank for rank, pair in enumerate(self.merges)}
        self._cache: dict[str, tuple[str, ...]] = {}  # pre-token -> its tokens (python engine)
        specials = sorted(self.special_tokens, key=len, reverse=True)  # longest first: leftmost-longest match
        self._special_pattern = regex.compile("|".join(map(regex.escape, specials))) if specials else None
        self._fast = self._build_engine() if engine == "tokenizers" else None

    def _check_consistency(self) -> None:
        if len(set(self.vocab.values())) != len(self.vocab):
            repeated = [i for i, n in Counter(self.vocab.values()).items() if n > 1][:3]
            raise ValueError(f"vocabulary ids must be unique; ids {repeated} are used more than once")
        if any(not isinstance(i, int) or i < 0 for i in self.vocab.values()):
            raise ValueError("vocabulary ids must be non-negative integers")
        vocab = self.vocab
        # One quick pass (SmolLM2 has 48,900 merges); only if it fails, the loop below finds and names the first bad one.
        merges_fine = all(len(m) == 2 and isinstance(m[0], str) and isinstance(m[1], str) and m[0] in vocab
                          and m[1] in vocab and m[0] + m[1] in vocab for m in self.merges)
        for rank, merge in enumerate(() if merges_fine else self.merges):
            if len(merge) != 2 or not all(isinstance(part, str) for part in merge):
                raise TypeError(f"merge {rank} is {merge!r}; each merge must be a pair of two token strings")
            for what, token in (("left part", merge[0]), ("right part", merge[1]), ("result", merge[0] + merge[1])):
                if token not in self.vocab:
                    raise ValueError(
                        f"vocabulary/merges mismatch: merge {rank} {merge!r} has {what} {token!r}, which is not in "
                        "the vocabulary; the merges and the vocabulary must come from the same tokenizer "
                        "(or the vocabulary was truncated)"
                    )
        missing_specials = [t for t in self.special_tokens if t not in self.vocab]
        if missing_specials:
            raise ValueError(f"special tokens {missing_specials} are not in the vocabulary; add them to vocab first")

    # ------------------------------------------------------------------ training (from scratch)
    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int, special_tokens: Sequence[str] = (),
              pre_tokenizer: str = "gpt2", min_frequency: int = 1, engine: str = "tokenizers",
              on_merge: Callable[[int, tuple[str, str], int], None] | None = None) -> "ByteLevelBPE":
        """Learn merges from ``texts`` until the vocabulary has ``vocab_size`` tokens.

        See :func:`llmbook.text.bpe_train.train_bpe`: ids are the special tokens first, then the 256 byte
        tokens, then one per merge; the rules are those of HF's ``BpeTrainer``. Training stops early when no
        pair occurs ``min_frequency`` times.

        Args:
            texts: the training text, as strings (documents, lines, ...).
            vocab_size: the wanted size, specials and the 256 bytes included.
            on_merge: called as ``on_merge(rank, (left, right), count)`` after each merge.

        Returns:
            A :class:`ByteLevelBPE` with the learned vocabulary and merges.

        Raises:
            ValueError: if the corpus is empty (or holds only empty strings), if ``vocab_size`` is
                smaller than 256 plus the special tokens, or if ``min_frequency`` < 1.
            TypeError: if a text is not a string.
        """
        vocab, merges = train_bpe(texts, vocab_size, special_tokens, pre_tokenizer, min_frequency, on_merge)
        return cls(vocab, merges, special_tokens, pre_tokenizer, engine)

    # ------------------------------------------------------------------ encoding and decoding
    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``; special tokens written in the text become their own id.

        Raises:
            TypeError: if ``text`` is not a string.
            ValueError: if the text needs a byte that has no token (see :attr:`missing_bytes`).
            UnicodeEncodeError: (a ValueError) if the text holds a lone surrogate, which has no UTF-8 bytes.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        if self.missing_bytes:
            self._check_encodable(text)
        if self._fast is not None:
            return self._fast.encode(text, add_special_tokens=False).ids
        ids: list[int] = []
        for chunk, is_special in self._split_specials(text):
            if is_special:
                ids.append(self.vocab[chunk])
            else:
                for piece in pre_tokenize(chunk, self.pre_tokenizer):
                    ids.extend(self.vocab[token] for token in self._bpe(to_byte_chars(piece)))
        return ids

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """:meth:`encode` for many texts (the ``tokenizers`` engine uses its threads)."""
        texts = list(texts)
        bad = [type(t).__name__ for t in texts if not isinstance(t, str)]
        if bad:
            raise TypeError(f"texts must be strings, got {bad[0]}")
        if self.missing_bytes:
            for text in texts:
                self._check_encodable(text)
        if self._fast is not None:
            return [e.ids for e in self._fast.encode_batch(texts, add_special_tokens=False)]
        return [self.encode(t) for t in texts]

    def tokenize(self, text: str) -> list[str]:
        """The tokens of ``text`` as readable strings (each token's bytes decoded; a token holding part of a
        multi-byte character shows as ``"\\ufffd"``)."""
        return [self.decode([i]) for i in self.encode(text)]

    def decode(self, ids: Iterable[int]) -> str:
        """The text of a sequence of ids (bytes that are not valid UTF-8 become ``"\\ufffd"``).

        Raises:
            ValueError: if an id is not in the vocabulary.
        """
        data = bytearray()
        for i in ids:
            token = self.id_to_token.get(int(i))
            if token is None:
                raise ValueError(f"id {i} is not in the vocabulary (ids run from 0 to {max(self.id_to_token)})")
            data += token.encode("utf-8") if token in self.special_tokens else from_byte_chars(token)
        return data.decode("utf-8", errors="replace")

    def _check_encodable(self, text: str) -> None:
        data = text.encode("utf-8", errors="surrogatepass")
        if len(data.translate(None, self.missing_bytes)) == len(data):
            return
        for position, char in enumerate(text):
            lacking = [b for b in char.encode("utf-8", errors="surrogatepass") if b in self.missing_bytes]
            if lacking:
                raise ValueError(
                    f"cannot encode {char!r} (U+{ord(char):04X}) at position {position}: its UTF-8 byte "
                    f"0x{lacking[0]:02X} has no token in this vocabulary ({len(self.missing_bytes)} of the 256 "
                    "bytes have none); remove or replace that character"
                )

    def _split_specials(self, text: str) -> list[tuple[str, bool]]:
        if self._special_pattern is None:
            return [(text, False)]
        chunks, start = [], 0
        for match in self._special_pattern.finditer(text):
            chunks += [(text[start:match.start()], False), (match.group(), True)]
            start = match.end()
        chunks.append((text[start:], False))
        return [(c, s) for c, s in chunks if c]

    def _bpe(self, word: str) -> tuple[str, ...]:
        """Apply the merges to one pre-token: repeatedly merge the adjacent pair of lowest rank (leftmost on ties)."""
        if word not in self._cache:
            self._cache[word] = apply_merges(word, self.ranks)
        return self._cache[word]

    # ------------------------------------------------------------------ the production engine
    def _build_engine(self):
        return build_tokenizers_engine(self.vocab, self.merges, self.special_tokens, self.pre_tokenizer)

    def to_tokenizers(self):
        """A HF ``tokenizers.Tokenizer`` with this vocabulary, merges, specials and pre-tokenizer
        (:func:`llmbook.text.bpe_engine.build_tokenizers_engine`)."""
        return self._fast if self._fast is not None else self._build_engine()

    def with_engine(self, engine: str) -> "ByteLevelBPE":
        """The same tokenizer with another engine (``"tokenizers"`` or ``"python"``)."""
        return type(self)(self.vocab, self.merges, self.special_tokens, self.pre_tokenizer, engine)

    @property
    def vocab_size(self) -> int:
        """The number of tokens, special tokens included."""
        return len(self.vocab)

    def __repr__(self) -> str:
        return (f"ByteLevelBPE(vocab_size={self.vocab_size}, merges={len(self.merges)}, "
                f"special_tokens={len(self.special_tokens)}, pre_tokenizer={self.pre_tokenizer!r}, "
                f"engine={self.engine!r})")

    # ------------------------------------------------------------------ a real tokenizer from a GGUF file
    @classmethod
    def from_gguf(cls, path: str | Path, engine: str = "tokenizers") -> "ByteLevelBPE":
        """The tokenizer stored in a GGUF file's metadata (``tokenizer.ggml.*``), parsed by :mod:`llmbook.gguf_format`.

        Tokens of type CONTROL (3) or USER_DEFINED (4) become special tokens; ``tokenizer.ggml.pre``
        selects the pre-tokenizer.

        Args:
            path: the ``.gguf`` file (SmolLM2's: :func:`llmbook.data.pretrained.smollm2_gguf_path`).
            engine: ``"tokenizers"`` or ``"python"``.

        Raises:
            FileNotFoundError: if the file does not exist.
            ValueError: if the file is not a readable GGUF file (``llmbook.gguf_format.GGUFFormatError``), or
                for the metadata errors of :meth:`from_gguf_metadata` (no byte-level BPE tokenizer, an
                unsupported pre-tokenizer, a missing token list, vocabulary and merges that differ).
        """
        path = Path(path)
        return cls.from_gguf_metadata(read_tokenizer_metadata(path), engine, source=path.name)

    @classmethod
    def from_gguf_metadata(cls, metadata: Mapping, engine: str = "tokenizers", *,
                           source: str = "the GGUF file") -> "ByteLevelBPE":
        """The tokenizer described by GGUF metadata that is already read: key -> value for the keys in
        :data:`~llmbook.text.bpe_gguf.GGUF_TOKENIZER_KEYS` (other keys are ignored). :meth:`from_gguf` reads them
        from a file; ``llmbook.weights.gguf`` passes the metadata it parsed, so the file is not read twice.

        Args:
            metadata: a mapping such as ``GGUFCheckpoint.metadata``.
            source: the file's name, for error messages.

        Raises:
            ValueError: see :func:`llmbook.text.bpe_gguf.tokenizer_parts`, or vocabulary and merges that differ.
            TypeError: if ``metadata`` is not a mapping.
        """
        vocab, merges, specials, pre = tokenizer_parts(metadata, source)
        return cls(vocab, merges, specials, pre, engine)


__all__ = ["BYTE_ALPHABET", "BYTE_TO_CHAR", "ByteLevelBPE", "from_byte_chars", "pre_tokenize", "to_byte_chars"]
