"""Downloading optional, larger data: always through pooch, always checked against a SHA-256.

Nothing on the book's default path calls this module: every chapter runs from packaged data.
It exists for readers who are online and want more data; a file whose checksum does not match
is refused and never handed to the caller.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ChecksumError(ValueError):
    """A downloaded file's SHA-256 is not the expected one; the file was not kept."""


def cache_dir() -> Path:
    """Where downloads are kept: ``$LLMBOOK_DATA`` if set, else the user cache folder ``llmbook``."""
    import pooch  # imported here: it pulls in tqdm and requests, which the default path never needs

    return Path(os.environ.get("LLMBOOK_DATA") or pooch.os_cache("llmbook"))


def fetch(url: str, sha256: str, *, filename: str | None = None, folder: str | os.PathLike | None = None) -> Path:
    """Download ``url`` once into the cache and return its path, refusing any file whose SHA-256 differs.

    A cached file is checked again on every call; if it no longer matches it is downloaded anew,
    and the new download must match too.

    Args:
        url: an http(s) or ftp address.
        sha256: the expected SHA-256, 64 lower-case hex digits (a ``sha256:`` prefix is allowed).
        filename: the name to cache it under (default: derived from the URL).
        folder: the cache folder (default: :func:`cache_dir`).

    Raises:
        ValueError: if ``sha256`` is not 64 hex digits.
        ChecksumError: if the downloaded file's SHA-256 differs; the file is deleted, never returned.
        ConnectionError: if the file cannot be downloaded (the message names the URL).
    """
    digest = sha256.lower().removeprefix("sha256:")
    if not _SHA256.match(digest):
        raise ValueError(f"sha256 must be 64 hex digits, got {sha256!r}; compute it with: sha256sum FILE")
    folder = Path(folder) if folder is not None else cache_dir()
    import pooch

    logging.getLogger("pooch").setLevel(logging.WARNING)
    try:
        return Path(pooch.retrieve(url, known_hash=f"sha256:{digest}", fname=filename, path=folder,
                                   progressbar=False))
    except ValueError as error:
        if "hash" not in str(error).lower():
            raise
        raise ChecksumError(
            f"the file downloaded from {url} does not have the expected SHA-256 {digest}; "
            "it was deleted and not used. The server may be serving a different version: "
            "check the URL and the checksum."
        ) from error
    except OSError as error:  # requests' ConnectionError/HTTPError derive from OSError
        raise ConnectionError(f"could not download {url}: {error}. The default path of the book needs no "
                              "network; this download is optional.") from error
