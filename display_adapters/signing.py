"""Signatures between the CMS and its boards: HMAC-SHA256 over a timestamp and the body.

Each board has a secret (shown once when it is registered or rotated). Both ends
derive the board key from it; the CMS keeps the key, never the secret. A message
carries `X-Panoled-Timestamp` (Unix seconds) and `X-Panoled-Signature`
(`sha256=` and the hex HMAC of `"<timestamp>." + body`). A receiver refuses a
timestamp outside its window and, with a `ReplayGuard`, a message it has seen.
"""
from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import OrderedDict

TIMESTAMP_HEADER = "X-Panoled-Timestamp"
SIGNATURE_HEADER = "X-Panoled-Signature"
WINDOW_SECONDS = 300
_KEY_LABEL = b"panoled-board-key-v1"


class SignatureError(ValueError):
    """Why a message was refused: missing or garbled headers, too old or new, or a mismatch."""


def board_key(secret: str) -> str:
    """The board's signing key (hex), derived from its secret."""
    return hmac.new(secret.encode("utf-8"), _KEY_LABEL, hashlib.sha256).hexdigest()


def sign(key_hex: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(bytes.fromhex(key_hex), f"{int(timestamp)}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signed_headers(key_hex: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The two headers for `body`, signed now."""
    stamp = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(key_hex, stamp, body)}


def verify(key_hex: str, timestamp: str | None, signature: str | None, body: bytes, now: float | None = None,
           window: int = WINDOW_SECONDS) -> int:
    """Checks a message; returns its timestamp or raises SignatureError saying why not."""
    if not key_hex:
        raise SignatureError("no signing key for this board: rotate its secret")
    if not timestamp or not signature:
        raise SignatureError(f"{TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required")
    try:
        stamp = int(timestamp)
    except ValueError:
        raise SignatureError(f"{TIMESTAMP_HEADER} must be Unix seconds") from None
    current = time.time() if now is None else now
    if abs(current - stamp) > window:
        raise SignatureError(f"timestamp {stamp} is more than {window} s from now")
    if not hmac.compare_digest(sign(key_hex, stamp, body), signature.strip()):
        raise SignatureError("signature does not match")
    return stamp


class ReplayGuard:
    """Remembers the signatures seen inside the window and refuses one seen before."""

    def __init__(self, window: int = WINDOW_SECONDS, limit: int = 100_000) -> None:
        self.window, self.limit = window, limit
        self._seen: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, signature: str, timestamp: int, now: float | None = None) -> None:
        current = time.time() if now is None else now
        with self._lock:
            while self._seen and (next(iter(self._seen.values())) < current - 2 * self.window
                                  or len(self._seen) >= self.limit):
                self._seen.popitem(last=False)
            if signature in self._seen:
                raise SignatureError("this message was already received (replay)")
            self._seen[signature] = timestamp
