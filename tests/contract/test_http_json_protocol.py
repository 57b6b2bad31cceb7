"""The http-json protocol as docs/http-json-protocol.md writes it, checked against the
driver and the reference receiver over real HTTP on 127.0.0.1."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from display_adapters.base import BoardRef, Rejected
from display_adapters.http_json import HttpJsonAdapter
from display_adapters.http_json_receiver import HttpJsonReceiver
from display_adapters.signing import board_key, sign, signed_headers
from manifest_samples import sample_manifest

DOC = (Path(__file__).resolve().parents[2] / "docs" / "http-json-protocol.md").read_text(encoding="utf-8")
SECRET = "pnb_example-secret"
KEY = board_key(SECRET)


@pytest.fixture
def receiver() -> Iterator[HttpJsonReceiver]:
    server = HttpJsonReceiver(KEY).start()
    yield server
    server.stop()


def adapter_for(receiver: HttpJsonReceiver, key: str = KEY) -> HttpJsonAdapter:
    return HttpJsonAdapter(BoardRef(1, "VT-01", "http-json", 960, 320, {"url": receiver.url}, key), timeout=2)


def test_the_worked_example_in_the_document_is_what_the_code_computes() -> None:
    body = b'{"schema":"panoled.manifest/1","version":12,"push_id":"0f6b1c3a9e2d4c5b8a7f6e5d4c3b2a19"}'
    key = "b7a34865644145ad9e273e78641a9da6de77839263d1bc808b15a970bca9e87d"
    pushed = "sha256=94adb5897a81bb9886eb9f3014eef3f0921e4867748b3f92876afa43214403da"
    status = "sha256=e01d943dcaa95a22647a1b3680327d4f1e9575adfacbd6edaa5254150422e378"
    assert board_key(SECRET) == key
    assert sign(key, 1717549200, body) == pushed
    assert sign(key, 1717549260, b"") == status
    for value in (SECRET, key, "1717549200", body.decode(), pushed, status):
        assert value in DOC, f"the document no longer shows {value}"


def test_a_push_names_the_board_and_the_manifest_arrives_whole(receiver: HttpJsonReceiver) -> None:
    assert adapter_for(receiver).push_manifest(sample_manifest(7)).current_version == 7
    held = receiver.state.manifest
    assert receiver.state.board == "VT-01"
    assert held is not None and held["media"][0]["name"] == "Giờ Trái Đất 2024.png" and len(held["push_id"]) == 32
    assert {k: v for k, v in held.items() if k != "push_id"} == sample_manifest(7)


def test_a_replayed_request_a_stale_one_and_an_unsigned_one_are_refused(receiver: HttpJsonReceiver) -> None:
    body = json.dumps(sample_manifest(3)).encode()
    headers = {"Content-Type": "application/json", **signed_headers(KEY, body)}
    assert requests.post(f"{receiver.url}/manifest", data=body, headers=headers, timeout=2).status_code == 200
    replay = requests.post(f"{receiver.url}/manifest", data=body, headers=headers, timeout=2)
    assert replay.status_code == 401 and "replay" in replay.json()["error"]
    stale = {"Content-Type": "application/json", **signed_headers(KEY, body, now=time.time() - 301)}
    answer = requests.post(f"{receiver.url}/manifest", data=body, headers=stale, timeout=2)
    assert answer.status_code == 401 and "300 s" in answer.json()["error"]
    assert requests.post(f"{receiver.url}/manifest", data=body, timeout=2).status_code == 401
    assert requests.get(f"{receiver.url}/status", timeout=2).status_code == 401
    assert receiver.state.accepted == [3] and receiver.state.unauthorised == 4


def test_a_manifest_without_a_version_is_refused_for_good(receiver: HttpJsonReceiver) -> None:
    with pytest.raises(Rejected, match="400"):
        adapter_for(receiver).push_manifest({"schema": "panoled.manifest/1"})


def test_a_board_without_a_signing_key_is_not_pushed_to(receiver: HttpJsonReceiver) -> None:
    with pytest.raises(Rejected, match="rotate its secret"):
        adapter_for(receiver, key="").push_manifest(sample_manifest(1))
    assert receiver.state.accepted == [] and receiver.state.unauthorised == 0


def test_status_reports_what_is_on_screen(receiver: HttpJsonReceiver) -> None:
    adapter = adapter_for(receiver)
    assert adapter.fetch_status().current_version == 0
    adapter.push_manifest(sample_manifest(2))
    receiver.playing(7)
    status = adapter.fetch_status()
    assert (status.online, status.current_version, status.asset_id) == (True, 2, 7)
