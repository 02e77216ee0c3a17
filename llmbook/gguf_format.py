"""The GGUF file format (llama.cpp's single-file checkpoints): header, metadata and tensor infos, read with
NumPy only, so that both the tokenizer (:mod:`llmbook.text`) and the weight loader (:mod:`llmbook.weights`) use
one parser.

A GGUF v2/v3 file (little-endian) is: the magic ``GGUF``, a version, the number of tensors and of metadata
entries; the metadata as key / type / value; one info per tensor (name, dimensions fastest first, a
``ggml`` type id, an offset); then, aligned to ``general.alignment`` (default 32) bytes, the tensor data.
This module reads everything up to the data; turning a tensor's bytes into numbers (dequantizing) is the
weight loader's job.

Parsing here takes a few hundred milliseconds for SmolLM2's 49k-token vocabulary (the ``gguf`` package's
``GGUFReader`` builds a numpy view per entry and takes seconds); ``tests/test_gguf_cache.py`` checks that both
read the same values.

>>> info = read_gguf_file("model.gguf")            # doctest: +SKIP
>>> info.metadata["general.architecture"]           # doctest: +SKIP
'llama'
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class GGUFFormatError(ValueError):
    """A file that is not a readable GGUF file: not GGUF at all, truncated, corrupt, or a version or byte order
    this reader does not handle. The message names the file and says what to do."""


@dataclass(frozen=True)
class TensorInfo:
    """One tensor as the header describes it.

    Attributes:
        name: the tensor's name (``"blk.0.attn_q.weight"``).
        dims: its dimensions in GGUF order, fastest first (a matrix stored ``(out, in)`` in numpy is ``(in, out)``).
        type_id: the ``ggml`` type (0 F32, 1 F16, 3 Q4_1, 8 Q8_0, ...; ``gguf.GGMLQuantizationType`` names them).
        offset: where its data starts, in bytes from the start of the file.
    """

    name: str
    dims: tuple[int, ...]
    type_id: int
    offset: int


@dataclass
class GGUFFile:
    """What :func:`read_gguf_file` found.

    Attributes:
        path: the file.
        size: its size in bytes.
        metadata: key -> Python value (int, float, bool, str or list), in file order.
        tensors: name -> :class:`TensorInfo`, in file order.
        data: the whole file as a read-only, memory-mapped ``uint8`` array (tensor data is sliced from it).
    """

    path: Path
    size: int
    metadata: dict
    tensors: dict
    data: np.ndarray


# GGUF value types (gguf.GGUFValueType): struct formats of the scalars, numpy dtypes of scalar arrays.
_STRING, _ARRAY = 8, 9
_SCALAR_FORMATS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_ARRAY_DTYPES = {0: "u1", 1: "i1", 2: "<u2", 3: "<i2", 4: "<u4", 5: "<i4", 6: "<f4", 7: "?", 10: "<u8", 11: "<i8",
                 12: "<f8"}
_U32, _U64 = struct.Struct("<I"), struct.Struct("<Q")
_UINT32_TYPE = 4
_VERSIONS = (2, 3)  # those gguf.GGUFReader reads; version 1 had 32-bit lengths


class _Truncated(Exception):
    """The header ends before a value it announces (a truncated or corrupt file)."""


class _HeaderParser:
    """GGUF v2/v3 little-endian header: key/value metadata, then tensor infos (the layout ``gguf.GGUFWriter``
    writes). Values come out as ``gguf.ReaderField.contents()`` gives them (Python ints, floats, bools, str, lists)."""

    def __init__(self, buffer):
        self.buffer, self.size, self.offset = buffer, len(buffer), 0

    def take(self, count: int) -> int:
        start, self.offset = self.offset, self.offset + count
        if self.offset > self.size:
            raise _Truncated
        return start

    def u32(self) -> int:
        return _U32.unpack_from(self.buffer, self.take(4))[0]

    def u64(self) -> int:
        return _U64.unpack_from(self.buffer, self.take(8))[0]

    def string(self) -> str:
        length = self.u64()
        start = self.take(length)
        return str(self.buffer[start:start + length], "utf-8")

    def value(self, kind: int):
        if kind == _STRING:
            return self.string()
        if kind in _SCALAR_FORMATS:
            fmt = _SCALAR_FORMATS[kind]
            return struct.unpack_from(fmt, self.buffer, self.take(struct.calcsize(fmt)))[0]
        if kind == _ARRAY:
            item_kind, count = self.u32(), self.u64()
            if item_kind in _ARRAY_DTYPES:
                dtype = np.dtype(_ARRAY_DTYPES[item_kind])
                start = self.take(count * dtype.itemsize)
                return np.frombuffer(self.buffer, dtype, count, start).tolist()
            if item_kind == _STRING:
                return self.strings(count)
            return [self.value(item_kind) for _ in range(count)]
        raise ValueError(f"unknown GGUF value type {kind}")

    def strings(self, count: int) -> list[str]:
        buffer, size, offset, out = self.buffer, self.size, self.offset, []
        unpack = _U64.unpack_from
        for _ in range(count):          # the hot loop: 49,152 tokens and 48,900 merges for SmolLM2
            if offset + 8 > size:
                raise _Truncated
            start = offset + 8
            offset = start + unpack(buffer, offset)[0]
            if offset > size:
                raise _Truncated
            out.append(str(buffer[start:offset], "utf-8"))
        self.offset = offset
        return out


def _parse_gguf(data: np.ndarray):
    """``(metadata, tensor_infos, data_start)`` of a GGUF file memory-mapped as ``data`` (uint8)."""
    buffer = memoryview(data)
    parser = _HeaderParser(buffer)
    if bytes(buffer[:4]) != b"GGUF":
        raise ValueError("GGUF magic invalid")
    parser.take(4)
    version = parser.u32()
    if version & 0xFFFF == 0:
        raise ValueError("the file was written for a big-endian machine; only little-endian GGUF is supported")
    if version not in _VERSIONS:
        raise ValueError(f"GGUF version {version} is not supported (only versions {_VERSIONS})")
    tensor_count, kv_count = parser.u64(), parser.u64()
    metadata = {}
    for _ in range(kv_count):
        key = parser.string()
        kind = parser.u32()
        if key in metadata:
            raise ValueError(f"duplicate metadata key {key!r}")
        value = parser.value(kind)
        if key == "general.alignment" and kind != _UINT32_TYPE:
            raise ValueError("general.alignment must be a uint32")
        metadata[key] = value
    infos = []
    for _ in range(tensor_count):
        name, n_dims = parser.string(), parser.u32()
        dims = [parser.u64() for _ in range(n_dims)]
        infos.append((name, dims, parser.u32(), parser.u64()))
    alignment = metadata.get("general.alignment", 32)
    if alignment <= 0 or alignment & (alignment - 1):
        raise ValueError(f"general.alignment {alignment} is not a power of two")
    return metadata, infos, -(-parser.offset // alignment) * alignment


def read_gguf_file(path) -> GGUFFile:
    """Parse a GGUF file's header: its metadata and the infos of its tensors (their data stays on disk).

    Args:
        path: the ``.gguf`` file.

    Returns:
        A :class:`GGUFFile`.

    Raises:
        FileNotFoundError: if there is no such file.
        GGUFFormatError: if the file is not GGUF (or a GGUF version or byte order this reader does not handle),
            its header is truncated, or the header cannot be parsed (an unknown value type, a duplicate key or
            tensor, text that is not UTF-8, an alignment that is not a power of two).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no GGUF file at {path}")
    size = path.stat().st_size
    try:
        data = np.memmap(path, mode="r")
        metadata, infos, data_start = _parse_gguf(data)
    except _Truncated:
        raise GGUFFormatError(f"{path.name} ({size} bytes) is not a readable GGUF file: it is truncated (its header "
                              "ends early). Re-install or re-download it") from None
    except Exception as error:  # ValueError, UnicodeDecodeError, struct.error, OSError (empty file) ...
        raise GGUFFormatError(f"{path.name} ({size} bytes) is not a readable GGUF file; it may be truncated or "
                              f"corrupt ({type(error).__name__}: {error}). Re-install or re-download it") from error
    tensors = {}
    for name, dims, type_id, offset in infos:
        if name in tensors:
            raise GGUFFormatError(f"{path.name} is corrupt: the tensor {name!r} appears twice. Re-install or "
                                  "re-download it")
        tensors[name] = TensorInfo(name, tuple(dims), type_id, data_start + offset)
    return GGUFFile(path, size, metadata, tensors, data)


__all__ = ["GGUFFile", "GGUFFormatError", "TensorInfo", "read_gguf_file"]
