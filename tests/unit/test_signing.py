"""Board signatures: a message signed with the board key verifies; anything else is refused with a reason."""
from __future__ import annotations

import pytest

from display_adapters.signing import ReplayGuard, SignatureError, board_key, sign, signed_headers, verify

KEY = board_key("pnb_example-secret")
NOW = 1_700_000_000


def test_a_signed_body_verifies_and_the_key_comes_from_the_secret_alone() -> None:
    headers = signed_headers(KEY, b'{"version": 3}', now=NOW)
    assert verify(board_key("pnb_example-secret"), headers["X-Panoled-Timestamp"], headers["X-Panoled-Signature"],
                  b'{"version": 3}', now=NOW + 10) == NOW
    assert board_key("pnb_other") != KEY and len(KEY) == 64


@pytest.mark.parametrize(("key", "stamp", "signature", "body", "reason"), [
    (KEY, str(NOW), sign(KEY, NOW, b"a"), b"b", "does not match"),
    (board_key("pnb_other"), str(NOW), sign(KEY, NOW, b"a"), b"a", "does not match"),
    (KEY, str(NOW - 301), sign(KEY, NOW - 301, b"a"), b"a", "more than 300 s"),
    (KEY, str(NOW + 301), sign(KEY, NOW + 301, b"a"), b"a", "more than 300 s"),
    (KEY, "yesterday", sign(KEY, NOW, b"a"), b"a", "Unix seconds"),
    (KEY, None, sign(KEY, NOW, b"a"), b"a", "are required"),
    ("", str(NOW), sign(KEY, NOW, b"a"), b"a", "rotate its secret"),
])
def test_anything_else_is_refused_with_its_reason(key: str, stamp: str | None, signature: str, body: bytes, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        verify(key, stamp, signature, body, now=NOW)


def test_a_message_seen_before_is_a_replay() -> None:
    guard = ReplayGuard()
    signature = sign(KEY, NOW, b"a")
    guard.check(signature, NOW, now=NOW)
    with pytest.raises(SignatureError, match="replay"):
        guard.check(signature, NOW, now=NOW + 1)
    guard.check(sign(KEY, NOW + 1, b"a"), NOW + 1, now=NOW + 1)
