"""Holding an uploaded plan file between its preview and the person's confirmation.

The file waits under a random name in the data folder; the name is kept only in
the uploader's signed session, so nobody else can confirm or read it. Files left
behind by abandoned previews are removed after a day.
"""
from __future__ import annotations

import secrets
import time
from pathlib import Path

STALE_SECONDS = 24 * 3600


def _folder(data_dir: Path) -> Path:
    folder = data_dir / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def stage(data_dir: Path, data: bytes) -> str:
    folder = _folder(data_dir)
    for old in folder.glob("*.upload"):
        if time.time() - old.stat().st_mtime > STALE_SECONDS:
            old.unlink(missing_ok=True)
    token = secrets.token_urlsafe(24)
    (folder / f"{token}.upload").write_bytes(data)
    return token


def read(data_dir: Path, token: str) -> bytes | None:
    if not token or not all(ch.isalnum() or ch in "-_" for ch in token):
        return None
    path = _folder(data_dir) / f"{token}.upload"
    return path.read_bytes() if path.exists() else None


def discard(data_dir: Path, token: str) -> None:
    if token and all(ch.isalnum() or ch in "-_" for ch in token):
        (_folder(data_dir) / f"{token}.upload").unlink(missing_ok=True)
