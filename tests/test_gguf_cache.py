"""The fast GGUF path: the header parser against gguf.GGUFReader, the loader's cache (bit-identical weights,
rebuilt when stale or damaged, atomic and never fatal to write) and building without random initializers.

Timings are not asserted here; ``benchmarks/decode.py`` measures them.
"""

import json
import struct
import warnings
import zlib

import llmbook  # noqa: F401
import numpy as np
import pytest

gguf = pytest.importorskip("gguf")
pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("safetensors")

from llmbook.text.bpe import ByteLevelBPE  # noqa: E402
from llmbook.weights import gguf as loader  # noqa: E402
from llmbook.weights import gguf_cache  # noqa: E402
from llmbook.data.pretrained import smollm2_gguf_path  # noqa: E402
from llmbook.weights.gguf import GGUFError, load_llama, load_smollm2, read_gguf  # noqa: E402
from tests.test_gguf import TEMPLATE, TINY_TOKENS, tiny_reference, write_gguf  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny llama GGUF with a tokenizer and a chat template, in a folder of its own."""
    return write_gguf(tmp_path_factory.mktemp("tiny") / "tiny.gguf", tiny_reference(tie=False), tokenizer=True)


@pytest.fixture
def reads(monkeypatch):
    """Counts the GGUF files parsed: a load from a valid cache parses none."""
    calls = []
    real = loader.read_gguf
    monkeypatch.setattr(loader, "read_gguf", lambda path: calls.append(path) or real(path))
    return calls


def weights(model):
    return {v.path: v.numpy() for v in model.weights}


def assert_same_load(a, b):
    """Bit-identical weights (same variables, same bytes), same configuration, tokenizer and template."""
    (model_a, tok_a, template_a), (model_b, tok_b, template_b) = a, b
    wa, wb = weights(model_a), weights(model_b)
    assert list(wa) == list(wb)
    for path in wa:
        assert wa[path].dtype == wb[path].dtype == np.float32
        assert wa[path].tobytes() == wb[path].tobytes(), path
    assert model_a.get_config() == model_b.get_config() and model_a.name == model_b.name
    assert (tok_a.vocab, tok_a.merges, tok_a.special_tokens, tok_a.pre_tokenizer, tok_a.engine) == \
           (tok_b.vocab, tok_b.merges, tok_b.special_tokens, tok_b.pre_tokenizer, tok_b.engine)
    assert template_a == template_b


def only_cache_file(folder):
    files = sorted(p.name for p in folder.iterdir())
    assert len(files) == 1 and files[0].endswith(".safetensors"), files   # no temporary file left behind
    return folder / files[0]


def rewrite_payload(path, change):
    """Rewrite a cache with its JSON payload changed by ``change(payload)`` (and a matching CRC)."""
    from safetensors.numpy import load_file, save_file
    from safetensors import safe_open

    with safe_open(path, framework="np") as file:
        header = file.metadata()
    payload = json.loads(header[gguf_cache._HEADER_KEY])
    change(payload)
    text = json.dumps(payload)
    save_file(load_file(path), path, metadata={gguf_cache._HEADER_KEY: text,
                                               gguf_cache._HEADER_CRC_KEY: str(zlib.crc32(text.encode()))})


# ---------------------------------------------------------------------------------------------- the header parser
def assert_same_as_gguf_reader(path):
    checkpoint = read_gguf(path)
    reader = gguf.GGUFReader(path)
    expected = {key: field.contents() for key, field in reader.fields.items() if not key.startswith("GGUF.")}
    assert list(checkpoint.metadata) == list(expected)
    for key, value in expected.items():
        assert checkpoint.metadata[key] == value and type(checkpoint.metadata[key]) is type(value), key
    assert list(checkpoint.tensors) == [t.name for t in reader.tensors]
    for theirs in reader.tensors:
        ours = checkpoint.tensors[theirs.name]
        assert ours.tensor_type == theirs.tensor_type and ours.n_elements == theirs.n_elements
        assert ours.n_bytes == theirs.n_bytes and ours.data_offset == theirs.data_offset
        assert ours.shape.dtype == theirs.shape.dtype and np.array_equal(ours.shape, theirs.shape)
        assert ours.data.dtype == theirs.data.dtype and ours.data.shape == theirs.data.shape
        assert np.array_equal(ours.data, theirs.data) and not ours.data.flags.writeable


def test_read_gguf_matches_gguf_reader_on_every_value_type(tiny):
    assert_same_as_gguf_reader(tiny)
    metadata = read_gguf(tiny).metadata
    assert metadata["test.flag"] is True and metadata["test.int64"] == -2**40
    assert metadata["test.empty_strings"] == ["", "é", "∑"] and metadata["tokenizer.ggml.tokens"] == TINY_TOKENS


def test_read_gguf_matches_gguf_reader_on_smollm2():
    assert_same_as_gguf_reader(smollm2_gguf_path())


def test_a_damaged_header_is_a_gguf_error_never_another_exception(tmp_path, tiny):
    data = tiny.read_bytes()
    header_end = read_gguf(tiny).tensors["token_embd.weight"].data_offset
    broken = tmp_path / "broken.gguf"
    for keep in range(0, header_end, 7):                    # cut anywhere in the header
        broken.write_bytes(data[:keep])
        with pytest.raises(GGUFError, match="truncated|not a readable GGUF"):
            read_gguf(broken)
    rng = np.random.default_rng(0)
    for _ in range(300):                                    # flip bytes in the header: read or refuse, never crash
        damaged = bytearray(data)
        for position in rng.integers(4, header_end, size=3):
            damaged[position] ^= int(rng.integers(1, 256))
        broken.write_bytes(bytes(damaged))
        try:
            read_gguf(broken)
        except GGUFError:
            pass


def test_read_gguf_refuses_what_it_cannot_read(tmp_path, tiny):
    data = tiny.read_bytes()
    big_endian = tmp_path / "be.gguf"
    big_endian.write_bytes(data[:4] + struct.pack(">I", 3) + data[8:])
    with pytest.raises(GGUFError, match="big-endian"):
        read_gguf(big_endian)
    version_1 = tmp_path / "v1.gguf"
    version_1.write_bytes(data[:4] + struct.pack("<I", 1) + data[8:])
    with pytest.raises(GGUFError, match="version 1 is not supported"):
        read_gguf(version_1)
    empty = tmp_path / "empty.gguf"
    empty.write_bytes(b"")
    with pytest.raises(GGUFError, match="not a readable GGUF"):
        read_gguf(empty)


# ---------------------------------------------------------------------------------------------- the cache
def test_cached_load_is_bit_identical_to_an_uncached_load(tmp_path, tiny, reads):
    first = load_smollm2(tiny, cache_dir=tmp_path)          # parses the GGUF file, writes the cache
    assert len(reads) == 1
    only_cache_file(tmp_path)
    second = load_smollm2(tiny, cache_dir=tmp_path)         # from the cache: no GGUF parsing
    assert len(reads) == 1
    uncached = load_smollm2(tiny, cache=False)
    assert len(reads) == 2
    assert_same_load(first, uncached)
    assert_same_load(second, uncached)
    model, tokenizer, template = second
    assert template == TEMPLATE and tokenizer.special_tokens == ("<|im_start|>", "<|im_end|>")
    assert tokenizer.pre_tokenizer == "smollm" and model.name == "tiny-llama" and not model.tie_embeddings
    ids = np.array([[0, *tokenizer.encode("abc 12")]], "int32")       # 0: <|im_start|>
    np.testing.assert_array_equal(np.asarray(model(ids)), np.asarray(uncached[0](ids)))


def test_cached_smollm2_is_bit_identical_to_an_uncached_load(tmp_path, reads):
    cold = load_smollm2(cache_dir=tmp_path)
    warm = load_smollm2(cache_dir=tmp_path)
    assert len(reads) == 1
    uncached = load_smollm2(cache=False)
    assert_same_load(warm, uncached)
    assert_same_load(cold, uncached)
    reference = ByteLevelBPE.from_gguf(smollm2_gguf_path())
    assert (warm[1].vocab, warm[1].merges, warm[1].special_tokens) == \
           (reference.vocab, reference.merges, reference.special_tokens)


def test_a_cache_of_another_gguf_checksum_or_format_is_rebuilt(tmp_path, tiny, reads, monkeypatch):
    expected = load_smollm2(tiny, cache=False)
    load_smollm2(tiny, cache_dir=tmp_path)
    cache = only_cache_file(tmp_path)
    rewrite_payload(cache, lambda payload: payload["source"].update(sha256="0" * 64))
    reads.clear()
    assert_same_load(load_smollm2(tiny, cache_dir=tmp_path), expected)
    assert len(reads) == 1                                  # ignored and rebuilt ...
    load_smollm2(tiny, cache_dir=tmp_path)
    assert len(reads) == 1                                  # ... and the rebuilt one is used
    monkeypatch.setattr(gguf_cache, "FORMAT", gguf_cache.FORMAT + 1)
    assert_same_load(load_smollm2(tiny, cache_dir=tmp_path), expected)
    assert len(reads) == 2
    assert gguf_cache.read(cache, gguf_cache.file_sha256(tiny)) is not None   # now in the new format
    assert only_cache_file(tmp_path) == cache


def damage(kind, data):
    middle = len(data) // 2
    return {
        "truncated": data[: len(data) - 1000],
        "empty": b"",
        "garbage": bytes(range(256)) * 40,
        "flipped weight byte": data[:-100] + bytes([data[-100] ^ 0x40]) + data[-99:],
        "zeroed middle": data[:middle] + bytes(4096) + data[middle + 4096:],
        "flipped header byte": data[:200] + bytes([data[200] ^ 0x01]) + data[201:],
        "huge header size": struct.pack("<Q", 2**62) + data[8:],
    }[kind]


@pytest.mark.parametrize("kind", ["truncated", "empty", "garbage", "flipped weight byte", "zeroed middle",
                                  "flipped header byte", "huge header size"])
def test_a_damaged_cache_is_rebuilt_not_trusted(tmp_path, tiny, reads, kind):
    expected = load_smollm2(tiny, cache=False)
    load_smollm2(tiny, cache_dir=tmp_path)
    cache = only_cache_file(tmp_path)
    cache.write_bytes(damage(kind, cache.read_bytes()))
    assert gguf_cache.read(cache, gguf_cache.file_sha256(tiny)) is None
    reads.clear()
    assert_same_load(load_smollm2(tiny, cache_dir=tmp_path), expected)
    assert len(reads) == 1
    assert gguf_cache.read(cache, gguf_cache.file_sha256(tiny)) is not None


def test_a_cache_that_does_not_fit_the_model_is_rebuilt(tmp_path, tiny, reads):
    expected = load_smollm2(tiny, cache=False)
    load_smollm2(tiny, cache_dir=tmp_path)
    cache = only_cache_file(tmp_path)
    rewrite_payload(cache, lambda payload: payload["config"].update(intermediate_dim=40))   # shapes differ
    reads.clear()
    assert_same_load(load_smollm2(tiny, cache_dir=tmp_path), expected)
    assert len(reads) == 1


def test_cache_false_neither_reads_nor_writes(tmp_path, tiny, reads):
    load_smollm2(tiny, cache_dir=tmp_path, cache=False)
    assert list(tmp_path.iterdir()) == []


def test_default_places_next_to_the_gguf_then_the_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    gguf_file = tmp_path / "pkg" / "model.Q4.gguf"
    digest = "ab" * 32
    assert gguf_cache.locations(gguf_file, digest) == [tmp_path / "pkg" / "model.Q4.gguf.llmbook.safetensors",
                                                        tmp_path / "xdg" / "llmbook" / "model.Q4-abababababababab.safetensors"]
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert gguf_cache.locations(gguf_file, digest)[1].parent == tmp_path / "home" / ".cache" / "llmbook"
    assert gguf_cache.locations(gguf_file, digest, tmp_path / "mine") == [
        tmp_path / "mine" / "model.Q4-abababababababab.safetensors"]


def test_an_unwritable_place_falls_back_to_the_next(tmp_path, tiny, reads, monkeypatch):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")                      # (as root, permissions would not stop a write)
    targets = [blocked / "cache.safetensors", tmp_path / "user" / "cache.safetensors"]
    monkeypatch.setattr(gguf_cache, "locations", lambda path, digest, cache_dir=None: targets)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        first = load_smollm2(tiny)
    assert targets[1].is_file() and only_cache_file(tmp_path / "user") == targets[1]
    assert_same_load(load_smollm2(tiny), first)
    assert len(reads) == 1


def test_no_writable_place_loads_anyway_and_warns_once(tmp_path, tiny, reads, monkeypatch):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setattr(gguf_cache, "locations", lambda path, digest, cache_dir=None: [blocked / "c.safetensors"])
    monkeypatch.setattr(gguf_cache, "_warned_unwritable", False)
    expected = load_smollm2(tiny, cache=False)
    with pytest.warns(RuntimeWarning, match="GGUF cache could not be written in any folder"):
        first = load_smollm2(tiny)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = load_smollm2(tiny)
    assert_same_load(first, expected)
    assert_same_load(second, expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_a_failed_write_leaves_no_file_and_the_old_cache_intact(tmp_path, tiny, monkeypatch):
    import safetensors.numpy

    load_smollm2(tiny, cache_dir=tmp_path)
    cache = only_cache_file(tmp_path)
    digest = gguf_cache.file_sha256(tiny)
    rewrite_payload(cache, lambda payload: payload["source"].update(sha256="0" * 64))   # stale: will be rewritten
    stale = cache.read_bytes()

    def half_written(tensors, filename, metadata=None):
        with open(filename, "wb") as file:
            file.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.numpy, "save_file", half_written)
    monkeypatch.setattr(gguf_cache, "_warned_unwritable", False)
    with pytest.warns(RuntimeWarning, match="disk full"):
        load_smollm2(tiny, cache_dir=tmp_path)
    assert only_cache_file(tmp_path) == cache and cache.read_bytes() == stale   # atomic: no partial file
    assert gguf_cache.read(cache, digest) is None
    monkeypatch.undo()
    load_smollm2(tiny, cache_dir=tmp_path)
    assert gguf_cache.read(cache, digest) is not None and only_cache_file(tmp_path) == cache


def test_bad_arguments(tmp_path, tiny):
    with pytest.raises(TypeError, match="cache must be True or False"):
        load_smollm2(tiny, cache="yes")
    with pytest.raises(TypeError, match="cache_dir must be a folder path"):
        load_smollm2(tiny, cache_dir=3)
    with pytest.raises(FileNotFoundError, match="no GGUF file"):
        load_smollm2(tmp_path / "absent.gguf", cache_dir=tmp_path)
    no_tokenizer = write_gguf(tmp_path / "plain.gguf", tiny_reference())
    with pytest.raises(ValueError, match="not byte-level BPE"):
        load_smollm2(no_tokenizer, cache_dir=tmp_path / "c")
    assert not (tmp_path / "c").exists()


# ---------------------------------------------------------------------------------------------- no random init
def uninitialized():
    from keras.src.backend.common import global_state

    return global_state.get_global_attribute("uninitialized_variables") or []


def test_models_are_built_without_random_initialization_and_leave_keras_clean(tmp_path, tiny, monkeypatch):
    import keras

    calls = []
    real = keras.initializers.GlorotUniform.__call__
    monkeypatch.setattr(keras.initializers.GlorotUniform, "__call__",
                        lambda self, *a, **k: calls.append(1) or real(self, *a, **k))
    model, _ = load_llama(tiny)
    assert calls == [] and uninitialized() == []
    assert all(v.numpy().dtype == np.float32 for v in model.weights)
    with keras.StatelessScope():                            # Keras' deferred-variable machinery still works
        pass
    bad = write_gguf(tmp_path / "bad.gguf", tiny_reference(tie=False), drop=["blk.1.ffn_up.weight"])
    with pytest.raises(GGUFError, match=r"missing tensors \(1\): blk.1.ffn_up.weight"):
        load_llama(bad)
    assert uninitialized() == []                            # the half-built model left nothing registered


def test_tokenizer_from_metadata_errors():
    with pytest.raises(TypeError, match="metadata must be a mapping"):
        ByteLevelBPE.from_gguf_metadata([("tokenizer.ggml.model", "gpt2")])
    with pytest.raises(ValueError, match="x.gguf holds a None tokenizer"):
        ByteLevelBPE.from_gguf_metadata({}, source="x.gguf")
    with pytest.raises(ValueError, match="no tokenizer.ggml.tokens"):
        ByteLevelBPE.from_gguf_metadata({"tokenizer.ggml.model": "gpt2"})
    with pytest.raises(ValueError, match="2 tokens but 1 token types"):
        ByteLevelBPE.from_gguf_metadata({"tokenizer.ggml.model": "gpt2", "tokenizer.ggml.tokens": ["a", "b"],
                                         "tokenizer.ggml.token_type": [1]})


def test_a_keras_that_does_not_defer_initialization_still_loads_the_same_weights(tmp_path, tiny, monkeypatch):
    expected = weights(load_llama(tiny)[0])

    def ordinary_build(model):
        model.build((None, None))
        return False

    monkeypatch.setattr(loader, "build_deferred", ordinary_build)
    for cached in (False, True, True):                      # uncached, then writing and reading the cache
        model = load_smollm2(tiny, cache=cached, cache_dir=tmp_path)[0]
        got = weights(model)
        assert list(got) == list(expected)
        assert all(got[path].tobytes() == expected[path].tobytes() for path in expected)
