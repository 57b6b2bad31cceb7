"""Keeping uploads: streamed to disk, checked, then kept under a generated key or removed."""
from __future__ import annotations

import hashlib
import io
import os
import stat
import struct
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image

from media.errors import MediaRejected
from media.storage import KEY_PATTERN, SUFFIX_FOR_FORMAT, LocalStorage
from media.types import Limits, ReceivedUpload
from media.validation import inspect

LIMITS = Limits()


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "media")


def files_under(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if not path.is_dir())


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 16), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (30, 120, 60)).save(out, "JPEG")
    return out.getvalue()


def crafted_png_header(width: int, height: int) -> bytes:
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr))


class ReadRecorder(io.RawIOBase):
    """A request body that remembers how much each read asked for; endless when `size` is None."""

    def __init__(self, size: int | None, fail_after: int | None = None) -> None:
        self.remaining = size
        self.fail_after = fail_after
        self.requests: list[int] = []
        self.served = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.requests.append(size)
        if self.fail_after is not None and self.served >= self.fail_after:
            raise ConnectionResetError("client went away")
        count = size if self.remaining is None else min(size, self.remaining)
        if self.remaining is not None:
            self.remaining -= count
        self.served += count
        return b"\x5a" * count


def receive_and_inspect(storage: LocalStorage, data: bytes) -> None:
    """What the upload view does: keep the file only when inspection accepts it."""
    upload = storage.save_stream(io.BytesIO(data), max_bytes=10 * 1024 * 1024)
    try:
        info = inspect(upload.path, LIMITS)
    except MediaRejected:
        storage.discard(upload)
        raise
    storage.commit(upload, SUFFIX_FOR_FORMAT[info.format])


# --- receiving ------------------------------------------------------------------------

def test_received_upload_is_hashed_and_sized_inside_the_storage_root(storage: LocalStorage) -> None:
    data = png_bytes()
    upload = storage.save_stream(io.BytesIO(data), max_bytes=len(data))
    assert upload.size == len(data)
    assert upload.sha256 == hashlib.sha256(data).hexdigest()
    assert upload.path.read_bytes() == data
    assert storage.root in upload.path.parents


def test_committed_upload_gets_a_generated_sharded_key_and_leaves_the_incoming_area(
    storage: LocalStorage,
) -> None:
    data = png_bytes()
    upload = storage.save_stream(io.BytesIO(data), max_bytes=len(data))
    stored = storage.commit(upload, ".png")
    assert KEY_PATTERN.fullmatch(stored.key)
    assert (stored.size, stored.sha256) == (upload.size, upload.sha256)
    assert storage.path(stored.key) == storage.root / stored.key[:2] / stored.key[2:4] / stored.key
    assert storage.open(stored.key).read() == data
    assert files_under(storage.root) == [storage.path(stored.key)]


def test_stored_files_are_readable_by_owner_and_group_only(storage: LocalStorage) -> None:
    old_umask = os.umask(0o000)  # even a permissive umask must not widen the mode
    try:
        upload = storage.save_stream(io.BytesIO(b"x" * 10), max_bytes=10)
    finally:
        os.umask(old_umask)
    stored = storage.commit(upload, ".jpg")
    assert stat.S_IMODE(storage.path(stored.key).stat().st_mode) == 0o640


def test_same_content_uploaded_twice_gets_two_keys(storage: LocalStorage) -> None:
    keys = {storage.commit(storage.save_stream(io.BytesIO(b"same"), 10), ".jpg").key for _ in range(2)}
    assert len(keys) == 2


def test_upload_is_read_in_chunks_so_memory_stays_flat(storage: LocalStorage) -> None:
    stream = ReadRecorder(size=5 * 64 * 1024)
    upload = storage.save_stream(stream, max_bytes=10**9, chunk_size=64 * 1024)
    assert upload.size == 5 * 64 * 1024
    assert set(stream.requests) == {64 * 1024}


def test_endless_upload_is_cut_off_just_past_the_limit(storage: LocalStorage) -> None:
    stream = ReadRecorder(size=None)
    with pytest.raises(MediaRejected) as caught:
        storage.save_stream(stream, max_bytes=1_000_000, chunk_size=64 * 1024)
    assert caught.value.code == "media_too_large"
    assert 1_000_000 < stream.served <= 1_000_000 + 64 * 1024
    assert files_under(storage.root) == []


def test_upload_one_byte_over_the_limit_is_refused(storage: LocalStorage) -> None:
    with pytest.raises(MediaRejected) as caught:
        storage.save_stream(io.BytesIO(b"x" * 101), max_bytes=100, chunk_size=7)
    assert caught.value.code == "media_too_large"
    assert files_under(storage.root) == []


def test_dropped_connection_leaves_no_partial_file(storage: LocalStorage) -> None:
    with pytest.raises(ConnectionResetError):
        stream = ReadRecorder(size=None, fail_after=3 * 4096)
        storage.save_stream(stream, max_bytes=10**9, chunk_size=4096)
    assert files_under(storage.root) == []


# --- refusing -------------------------------------------------------------------------

@pytest.mark.parametrize(
    "data",
    [
        png_bytes() + b"<?php system($_GET['c']); ?>",
        b"",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"%PDF-1.4\n%%EOF\n",
        jpeg_bytes()[:300],
        crafted_png_header(30_000, 30_000),
    ],
    ids=["png+php", "empty", "svg", "pdf", "truncated-jpeg", "30000x30000"],
)
def test_rejected_upload_leaves_no_file(storage: LocalStorage, data: bytes) -> None:
    with pytest.raises(MediaRejected):
        receive_and_inspect(storage, data)
    assert files_under(storage.root) == []


def test_accepted_upload_is_kept_with_the_extension_of_its_content(storage: LocalStorage) -> None:
    receive_and_inspect(storage, jpeg_bytes())
    (kept,) = files_under(storage.root)
    assert kept.suffix == ".jpg"


def test_only_uploads_this_storage_received_can_be_discarded(
    storage: LocalStorage, tmp_path: Path
) -> None:
    bystander = tmp_path / "config.toml"
    bystander.write_text("secret = 1")
    with pytest.raises(ValueError):
        storage.discard(ReceivedUpload(path=bystander, size=10, sha256="0" * 64))
    with pytest.raises(ValueError):
        storage.discard(storage.root / ".incoming" / ".." / ".." / "config.toml")
    assert bystander.exists()


def test_commit_refuses_extensions_that_could_be_executed_or_rendered(storage: LocalStorage) -> None:
    upload = storage.save_stream(io.BytesIO(b"<?php"), max_bytes=100)
    for suffix in (".php", ".html", ".svg", "", ".jpg/../../x", ".JPG"):
        with pytest.raises(ValueError):
            storage.commit(upload, suffix)
    assert upload.path.exists()  # still waiting to be discarded, not half-committed


def test_abandoned_uploads_are_purged(storage: LocalStorage) -> None:
    old = storage.save_stream(io.BytesIO(b"old"), max_bytes=10)
    os.utime(old.path, (time.time() - 7200, time.time() - 7200))
    fresh = storage.save_stream(io.BytesIO(b"fresh"), max_bytes=10)
    assert storage.purge_incoming(older_than=time.time() - 3600) == 1
    assert not old.path.exists() and fresh.path.exists()


# --- keys -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "key",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "0123456789abcdef0123456789abcdef",
        "0123456789abcdef0123456789abcdef.php",
        "0123456789ABCDEF0123456789ABCDEF.jpg",
        "01/23/0123456789abcdef0123456789abcdef.jpg",
        "0123456789abcdef0123456789abcdef.jpg\x00.php",
        "0123456789abcdef0123456789abcdef.jpg\n",
        "",
    ],
)
def test_keys_that_are_not_generated_keys_never_reach_the_filesystem(
    storage: LocalStorage, key: str
) -> None:
    for operation in (storage.path, storage.open, storage.exists, storage.delete):
        with pytest.raises(ValueError):
            operation(key)


def test_derivative_key_can_be_written_at_once(storage: LocalStorage) -> None:
    key = storage.new_key(".jpg")
    assert KEY_PATTERN.fullmatch(key) and key.endswith(".jpg")
    storage.path(key).write_bytes(b"thumbnail")
    assert storage.exists(key)


def test_deleted_file_is_gone_and_deleting_again_is_harmless(storage: LocalStorage) -> None:
    stored = storage.commit(storage.save_stream(io.BytesIO(b"x"), 1), ".webp")
    storage.delete(stored.key)
    storage.delete(stored.key)
    assert not storage.exists(stored.key)


def test_generated_keys_do_not_repeat(storage: LocalStorage) -> None:
    keys = [storage.new_key(".png") for _ in range(200)]
    assert len(set(keys)) == 200

