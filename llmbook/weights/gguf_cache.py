"""A cache of a loaded GGUF model, so that :func:`llmbook.weights.gguf.load_smollm2` is fast after the first time.

Loading a GGUF file means parsing its metadata (a 49k-token vocabulary and its merges), dequantizing every
tensor to float32 and reordering the query/key rows. The first load stores the result in one safetensors
file: every weight as float32 in the layout of the Keras variable it fills (keyed by its GGUF tensor name),
and, as JSON in the file's header, the model configuration, the tokenizer's metadata
(:data:`~llmbook.text.bpe_gguf.GGUF_TOKENIZER_KEYS`) and the chat template. No pickle: the file holds only arrays
and text.

Where: next to the GGUF file (``<name>.gguf.llmbook.safetensors``), or, where that folder is not writable, in
``$XDG_CACHE_HOME/llmbook`` (default ``~/.cache/llmbook``) as ``<stem>-<first 16 hex digits of the SHA-256>.safetensors``.
Delete the file to free the space (540 MB for SmolLM2-135M); it is rebuilt on the next load.

Trust: the header records :data:`FORMAT` and the SHA-256 of the GGUF file it came from, and a CRC-32 of the
JSON and of every array. A cache whose format, source checksum, tensor names, shapes, dtypes or CRCs do not
match, or that cannot be read at all (truncated, overwritten), is ignored and rebuilt. Writing goes to a
temporary file in the same folder that is then renamed over the old one (atomic), and never fails a load: if
no folder is writable the model is loaded without a cache and one warning says so.
"""

from __future__ import annotations

import hashlib
import json
import math
import mmap
import os
import tempfile
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Version of the cache's layout and meaning; a cache written with another version is rebuilt. Change it
#: whenever what is stored changes (the variable layout of a tensor, a metadata field, the loader's transforms).
FORMAT = 1
_HEADER_KEY = "llmbook.gguf_cache"
_HEADER_CRC_KEY = "llmbook.gguf_cache.crc32"
_warned_unwritable = False


class CacheMismatch(Exception):
    """A readable cache that does not fit the model built from its configuration (names or shapes differ)."""


@dataclass
class CacheEntry:
    """What a valid cache holds: the model's configuration and name, the tokenizer's GGUF metadata, the chat
    template (None if the file has none) and the arrays by GGUF tensor name."""

    path: Path
    config: dict
    model_name: str
    tokenizer: dict
    chat_template: str | None
    arrays: dict


def file_sha256(path) -> str:
    """The SHA-256 of a file, as hex (98 MB for SmolLM2: ~0.1 s)."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def user_cache_dir() -> Path | None:
    """``$XDG_CACHE_HOME/llmbook``, or ``~/.cache/llmbook``; None if there is no home folder."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = Path.home() / ".cache"
        except RuntimeError:
            return None
    return Path(base) / "llmbook"


def locations(gguf_path, sha256: str, cache_dir=None) -> list[Path]:
    """Where the cache of ``gguf_path`` may be, in the order they are read and tried for writing.

    With ``cache_dir``, only that folder; otherwise next to the GGUF file, then :func:`user_cache_dir`.
    """
    gguf_path = Path(gguf_path)
    shared_name = f"{gguf_path.stem}-{sha256[:16]}.safetensors"
    if cache_dir is not None:
        return [Path(cache_dir) / shared_name]
    found = [gguf_path.parent / f"{gguf_path.name}.llmbook.safetensors"]
    user = user_cache_dir()
    if user is not None:
        found.append(user / shared_name)
    return found


def _crc(array: np.ndarray) -> int:
    return zlib.crc32(memoryview(np.ascontiguousarray(array)).cast("B"))


def _map(path) -> np.ndarray:
    """The file as a read-only uint8 array backed by a memory map, read ahead by the kernel (the arrays that
    view it keep the map open)."""
    with open(path, "rb") as file:
        mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    if hasattr(mapped, "madvise") and hasattr(mmap, "MADV_WILLNEED"):
        mapped.madvise(mmap.MADV_WILLNEED)      # start reading it all now, not page by page on first touch
    return np.frombuffer(mapped, np.uint8)


def read(path, sha256: str) -> CacheEntry | None:
    """The cache at ``path`` if it is complete and was made by this :data:`FORMAT` from the GGUF file whose
    SHA-256 is ``sha256``; None otherwise (absent, another format or source, or damaged: nothing in it is
    trusted before its CRC is checked, and no error escapes).

    The arrays are read-only views of the memory-mapped file (no copy: the model's variables copy them).
    """
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        return None
    try:
        with safe_open(path, framework="np") as file:   # checks the header: offsets, dtypes, sizes, coverage
            header = file.metadata() or {}
        text = header.get(_HEADER_KEY)
        if text is None or header.get(_HEADER_CRC_KEY) != str(zlib.crc32(text.encode("utf-8"))):
            return None
        payload = json.loads(text)
        if payload.get("format") != FORMAT or payload.get("source", {}).get("sha256") != sha256:
            return None
        crcs = payload["crc32"]
        data = _map(path)
        header_size = int.from_bytes(bytes(data[:8]), "little")
        layout = json.loads(bytes(data[8:8 + header_size]))
        layout.pop("__metadata__", None)
        if not isinstance(crcs, dict) or set(layout) != set(crcs):
            return None
        arrays, start = {}, 8 + header_size
        for name, info in layout.items():
            shape, (begin, end) = tuple(info["shape"]), info["data_offsets"]
            if info["dtype"] != "F32" or end - begin != 4 * math.prod(shape):
                return None
            array = data[start + begin:start + end].view(np.float32).reshape(shape)
            if _crc(array) != crcs[name]:
                return None
            arrays[name] = array
        entry = CacheEntry(path, payload["config"], payload["model_name"], payload["tokenizer"],
                           payload["chat_template"], arrays)
    except Exception:  # a damaged file: safetensors, JSON, key and type errors alike mean "rebuild"
        return None
    if not (isinstance(entry.config, dict) and isinstance(entry.model_name, str) and isinstance(entry.tokenizer, dict)
            and isinstance(entry.chat_template, (str, type(None)))):
        return None
    return entry


def values_for(model, entry: CacheEntry) -> dict:
    """Variable path -> ``(variable, array)`` for ``model``: the weight map of
    :func:`llmbook.weights.gguf.llama_name_map` with the cached arrays, already in each variable's layout.

    Raises:
        CacheMismatch: if the cache's names or shapes are not exactly the model's.
    """
    from llmbook.weights.gguf import llama_name_map
    from llmbook.weights.loading import Source, WeightLoadError, resolve

    stored = {path: Source(source.tensor) for path, source in llama_name_map(model).items()}  # no transform again
    try:
        return resolve(model, stored, entry.arrays, entry.arrays.__getitem__, checkpoint=entry.path.name)
    except WeightLoadError as error:
        raise CacheMismatch(str(error)) from None


def write(targets, sha256: str, checkpoint, config: dict, model_name: str, arrays: dict) -> Path | None:
    """Store a loaded model in the first of ``targets`` (paths from :func:`locations`) that can be written.

    Atomic: the file is written under a temporary name in the same folder and renamed. Never raises: if no
    target works the model simply has no cache (one warning per process says so).

    Returns:
        The path written, or None.
    """
    from safetensors.numpy import save_file

    from llmbook.text.bpe_gguf import GGUF_TOKENIZER_KEYS

    global _warned_unwritable
    try:
        metadata = checkpoint.metadata
        payload = {
            "format": FORMAT,
            "source": {"name": checkpoint.path.name, "size": checkpoint.path.stat().st_size, "sha256": sha256},
            "model_name": model_name,
            "config": config,
            "tokenizer": {key: metadata[key] for key in GGUF_TOKENIZER_KEYS if key in metadata},
            "chat_template": metadata.get("tokenizer.chat_template"),
            "crc32": {name: _crc(array) for name, array in arrays.items()},
        }
        text = json.dumps(payload, ensure_ascii=False)
        header = {_HEADER_KEY: text, _HEADER_CRC_KEY: str(zlib.crc32(text.encode("utf-8")))}
        contiguous = {name: np.ascontiguousarray(array, dtype=np.float32) for name, array in arrays.items()}
    except Exception as error:  # never fatal
        warnings.warn(f"the GGUF cache was not written ({type(error).__name__}: {error})", RuntimeWarning,
                      stacklevel=3)
        return None
    failures = []
    for target in map(Path, targets):
        temporary = None
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            os.close(handle)
            save_file(contiguous, temporary, metadata=header)
            os.chmod(temporary, 0o644)                 # mkstemp makes it private; the GGUF is world-readable
            os.replace(temporary, target)
            return target
        except Exception as error:  # a read-only folder, a full disk, ...: try the next place
            failures.append(f"{target.parent}: {type(error).__name__}: {error}")
            if temporary is not None:
                try:
                    os.unlink(temporary)
                except OSError:
                    pass
    if not _warned_unwritable:
        _warned_unwritable = True
        warnings.warn("the GGUF cache could not be written in any folder (" + "; ".join(failures) + "), so every "
                      "load parses and dequantizes the GGUF file again", RuntimeWarning, stacklevel=3)
    return None


__all__ = ["FORMAT", "CacheEntry", "CacheMismatch", "file_sha256", "locations", "read", "user_cache_dir",
           "values_for", "write"]
