"""Where accepted media files live.

An upload is kept in two steps so that nothing unchecked becomes permanent:

    upload = storage.save_stream(request_stream, max_bytes)   # incoming area, hashed
    try:
        info = inspect(upload.path, limits)
    except MediaRejected:
        storage.discard(upload)                                # nothing left behind
        raise
    stored = storage.commit(upload, SUFFIX_FOR_FORMAT[info.format])

Keys are generated (random hex plus an extension picked from the detected format)
and never derived from the user's file name; every key is checked against a strict
pattern before it touches the filesystem.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
from abc import ABC, abstractmethod
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

from media.errors import MediaRejected, N_
from media.types import ReceivedUpload, StoredFile

CHUNK_SIZE = 4 * 1024 * 1024
FILE_MODE = 0o640
DIRECTORY_MODE = 0o750
INCOMING = ".incoming"

# Only extensions we produce: a stored ".php" or ".svg" could be executed or rendered.
SUFFIXES = frozenset({".jpg", ".png", ".webp", ".mp4", ".webm", ".mov"})
SUFFIX_FOR_FORMAT = {
    "jpeg": ".jpg", "png": ".png", "webp": ".webp", "mp4": ".mp4", "webm": ".webm", "mov": ".mov",
}
KEY_PATTERN = re.compile(r"[0-9a-f]{32}\.(?:jpg|png|webp|mp4|webm|mov)")
_INCOMING_NAME = re.compile(r"[0-9a-f]{32}\.part")

TOO_LARGE_MESSAGE = N_("This file is too large. The limit is %(limit_mb)s MB.")


class Storage(ABC):
    """Keeps media files under generated keys."""

    @abstractmethod
    def save_stream(
        self, stream: BinaryIO, max_bytes: int, chunk_size: int = CHUNK_SIZE
    ) -> ReceivedUpload:
        """Copy `stream` into the incoming area, hashing as it goes; raise
        MediaRejected("media_too_large") past `max_bytes`, leaving nothing behind."""

    @abstractmethod
    def commit(self, upload: ReceivedUpload, suffix: str) -> StoredFile:
        """Keep an inspected upload under a new key ending in `suffix`."""

    @abstractmethod
    def discard(self, upload: ReceivedUpload | Path) -> None:
        """Remove an upload that will not be kept."""

    @abstractmethod
    def new_key(self, suffix: str) -> str:
        """A fresh key for a derivative (thumbnail, rendition); its path can be written at once."""

    @abstractmethod
    def path(self, key: str) -> Path:
        """The file behind `key`."""

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """The stored file, opened for reading bytes."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether something is stored under `key`."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the file behind `key`; nothing happens when it is already gone."""


class LocalStorage(Storage):
    """Files under `root`, sharded as `ab/cd/<key>`; uploads arrive in `root/.incoming`
    so that committing is a rename on the same filesystem."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._incoming = root / INCOMING
        self._incoming.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)

    # --- receiving ------------------------------------------------------------------

    def save_stream(
        self, stream: BinaryIO, max_bytes: int, chunk_size: int = CHUNK_SIZE
    ) -> ReceivedUpload:
        path = self._incoming / f"{secrets.token_hex(16)}.part"
        out = _create(path)
        try:
            with out:
                size, sha256 = _copy_limited(stream, out, max_bytes, chunk_size)
        except BaseException:
            # Also on a dropped connection or a cancelled request: no partial files.
            path.unlink(missing_ok=True)
            raise
        return ReceivedUpload(path=path, size=size, sha256=sha256)

    def commit(self, upload: ReceivedUpload, suffix: str) -> StoredFile:
        source = self._incoming_path(upload.path)
        key = self.new_key(suffix)
        # link() refuses to replace an existing file, unlike rename().
        os.link(source, self.path(key))
        source.unlink()
        return StoredFile(key=key, size=upload.size, sha256=upload.sha256)

    def discard(self, upload: ReceivedUpload | Path) -> None:
        path = upload.path if isinstance(upload, ReceivedUpload) else upload
        self._incoming_path(path).unlink(missing_ok=True)

    def purge_incoming(self, older_than: float) -> int:
        """Remove uploads abandoned before `older_than` (a Unix time), e.g. after a crash.
        Returns how many were removed."""
        removed = 0
        for path in self._incoming.iterdir():
            if _INCOMING_NAME.fullmatch(path.name) and path.stat().st_mtime < older_than:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    # --- stored files ---------------------------------------------------------------

    def new_key(self, suffix: str) -> str:
        if suffix not in SUFFIXES:
            raise ValueError(f"not a suffix media produces: {suffix!r}")
        key = secrets.token_hex(16) + suffix
        self.path(key).parent.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
        return key

    def path(self, key: str) -> Path:
        if not KEY_PATTERN.fullmatch(key):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key[0:2] / key[2:4] / key

    def open(self, key: str) -> BinaryIO:
        return self.path(key).open("rb")

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def _incoming_path(self, path: Path) -> Path:
        """Only files this storage received may be committed or discarded."""
        if path.parent != self._incoming or not _INCOMING_NAME.fullmatch(path.name):
            raise ValueError(f"not an upload received by this storage: {path}")
        return path


def _copy_limited(
    stream: BinaryIO, out: BinaryIO, max_bytes: int, chunk_size: int
) -> tuple[int, str]:
    """Copy block by block (memory stays flat: two blocks), stopping as soon as
    `max_bytes` is passed. Returns the size and the SHA-256 of what was copied.

    A socket hands over a few dozen kilobytes per read, so reads are gathered into
    whole blocks first; each block is hashed on a second thread while this one writes
    it and fills the other block (hashlib and file writes release the GIL)."""
    digest = hashlib.sha256()
    size = 0
    blocks = (bytearray(chunk_size), bytearray(chunk_size))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="upload-sha256") as hasher:
        hashing: Future[None] | None = None
        turn = 0
        while filled := _fill(stream, blocks[turn]):
            size += filled
            if size > max_bytes:
                raise MediaRejected("media_too_large", TOO_LARGE_MESSAGE, limit_mb=_megabytes(max_bytes))
            block = memoryview(blocks[turn])[:filled]
            if hashing is not None:
                hashing.result()  # the digest stays in order, and the other block is free again
            hashing = hasher.submit(digest.update, block)
            out.write(block)
            turn = 1 - turn
        if hashing is not None:
            hashing.result()
    out.flush()
    os.fsync(out.fileno())  # the upload must survive a crash between commit and the database
    return size, digest.hexdigest()


def _fill(stream: BinaryIO, block: bytearray) -> int:
    """Read until `block` is full or the stream ends; returns how many bytes it holds."""
    view, got = memoryview(block), 0
    readinto = getattr(stream, "readinto", None)
    while got < len(block):
        count = None
        if readinto is not None:
            try:
                count = readinto(view[got:])
            except (NotImplementedError, io.UnsupportedOperation):
                readinto = None  # a stream that only knows read()
        if count is None:
            data = stream.read(len(block) - got)
            count = len(data)
            view[got:got + count] = data
        if not count:
            break
        got += count
    return got


def _create(path: Path) -> BinaryIO:
    """A new file with FILE_MODE whatever the umask; O_EXCL and O_NOFOLLOW so a
    planted file or symlink is never written through."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "wb")


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0")
